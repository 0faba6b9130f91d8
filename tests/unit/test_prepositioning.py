"""Stochastic pre-positioning against enumeration, across solvers and methods, and on bad input.

Small instances are solved exactly by enumerating every integer first-stage plan (buy, move,
release) and every integer shipment plan per scenario; the transportation structure makes the
second-stage LP optimum integral, so the enumerated optimum is the true optimum.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from reserve_service.optimize.prepositioning import (
    ExternalSource,
    PrepositioningInputError,
    PrepositioningInstance,
    ScenarioData,
    ServiceLevelInfeasibleError,
    SizeClass,
    budget_sweep,
    expected_value_of_perfect_information,
    plot_budget_curve,
    solve_prepositioning,
    value_of_stochastic_solution,
)
from reserve_service.optimize.solvers import SolverParams

INF = math.inf


# --------------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------------


def tiny_instance(seed: int) -> PrepositioningInstance:
    """1 item, 2 depots, 2 regions, 2 scenarios, one agreement reserve; integer data."""
    rng = np.random.default_rng(seed)
    stock = rng.integers(0, 3, size=(2, 1)).astype(float)
    cap = np.array([float(rng.integers(max(stock[0, 0], 1), 5)), 4.0])
    scenarios = []
    for s, p in enumerate((0.6, 0.4)):
        need = rng.integers(0, 4, size=(2, 1)).astype(float)
        hours = rng.choice([1.0, 3.0, 12.0], size=(2, 2))  # 12 h > deadline: pair unusable
        loss = np.array([1.0 if rng.random() < 0.25 else 0.0, 0.0])
        ext = np.array([[rng.choice([2.0, 9.0]), 5.0]])
        scenarios.append(ScenarioData(f"s{s}", p, need, hours, ext, loss))
    return PrepositioningInstance(
        depot_ids=["a", "b"],
        item_ids=["tent"],
        region_ids=["r0", "r1"],
        current_stock=stock,
        capacity_m3=cap,
        item_m3=np.array([1.0]),
        buy_cost=np.array([6.0]),
        hold_cost=np.array([1.0]),
        release_value=np.array([2.0]),
        penalty=np.array([20.0]),
        scenarios=scenarios,
        move_cost_m3=np.array([[0.0, 1.5], [2.5, 0.0]]),
        transport_cost_m3h=0.5,
        depot_lead_hours=np.array([0.5, 0.5]),
        external=[ExternalSource("ag", "agreement", "tent", quantity=2, lead_hours=3, unit_cost=9)],
    )


def random_instance(seed: int, *, candidates: bool = False, ns: int = 3) -> PrepositioningInstance:
    """3 depots, 2 items, 4 regions, ``ns`` scenarios, agreement + capacity reserves."""
    rng = np.random.default_rng(seed)
    nd, ni, nr = 3, 2, 4
    stock = rng.integers(0, 6, size=(nd, ni)).astype(float)
    vol = rng.uniform(0.5, 2.0, ni).round(2)
    cap = stock @ vol + rng.uniform(2, 10, nd).round(1)
    probs = rng.dirichlet(np.ones(ns))
    scenarios = []
    for s in range(ns):
        need = rng.integers(0, 6, size=(nr, ni)).astype(float) * (rng.random((nr, 1)) < 0.7)
        hours = rng.uniform(0.5, 12, size=(nd, nr)).round(2)
        hours[rng.random((nd, nr)) < 0.15] = INF
        ext = rng.uniform(0.5, 9, size=(2, nr)).round(2)
        loss = np.where(rng.random(nd) < 0.3, rng.uniform(0, 1, nd).round(2), 0.0)
        scenarios.append(ScenarioData(f"s{s}", float(probs[s]), need, hours, ext, loss))
    return PrepositioningInstance(
        depot_ids=[f"d{j}" for j in range(nd)],
        item_ids=[f"i{i}" for i in range(ni)],
        region_ids=[f"r{r}" for r in range(nr)],
        current_stock=stock,
        capacity_m3=cap,
        item_m3=vol,
        buy_cost=rng.uniform(5, 10, ni).round(1),
        hold_cost=np.full(ni, 0.5),
        release_value=np.full(ni, 1.0),
        penalty=rng.uniform(30, 60, ni).round(1),
        scenarios=scenarios,
        move_cost_m3=rng.uniform(0.5, 2, (nd, nd)).round(2),
        transport_cost_m3h=0.3,
        depot_lead_hours=np.full(nd, 0.5),
        candidate_sizes={"d0": [SizeClass(5, 30), SizeClass(10, 50)]} if candidates else {},
        external=[
            ExternalSource("ag", "agreement", "i0", quantity=3, lead_hours=2, unit_cost=4),
            ExternalSource("cp", "capacity", "i1", rate_per_day=24, lead_hours=3, unit_cost=2),
        ],
    )


# --------------------------------------------------------------------------------------------
# Enumeration
# --------------------------------------------------------------------------------------------


def _second_stage_by_enumeration(inst: PrepositioningInstance, sc: ScenarioData, x) -> float:
    """Cheapest integer shipment plan for one scenario with stock x (1 item, 1 external)."""
    ext = inst.external[0]
    tau = inst.transport_cost_m3h * inst.item_m3[0]
    need = sc.need[:, 0]
    pairs = [
        (j, r)
        for j in range(2)
        for r in range(2)
        if sc.depot_loss[j] < 1 and inst.depot_lead_hours[j] + sc.depot_hours[j, r] <= 10
    ]
    ext_ok = [r for r in range(2) if ext.lead_hours + sc.external_hours[0, r] <= 10]
    best = INF
    ranges = [range(int(min(x[j], need[r])) + 1) for j, r in pairs]
    ranges += [range(int(min(ext.quantity, need[r])) + 1) for r in ext_ok]
    for combo in itertools.product(*ranges):
        z, w = combo[: len(pairs)], combo[len(pairs) :]
        sent = np.zeros(2)
        out = np.zeros(2)
        cost = 0.0
        for (j, r), q in zip(pairs, z, strict=True):
            sent[r] += q
            out[j] += q
            cost += q * tau * sc.depot_hours[j, r]
        for r, q in zip(ext_ok, w, strict=True):
            sent[r] += q
            cost += q * (ext.unit_cost + tau * sc.external_hours[0, r])
        if (out > np.asarray(x) * (1 - sc.depot_loss)).any() or (sent > need).any():
            continue
        if sum(w) > ext.quantity:
            continue
        cost += inst.penalty[0] * float((need - sent).sum())
        best = min(best, cost)
    return best


def _enumerate(inst: PrepositioningInstance, budget: float) -> float:
    """Optimum by enumerating integer buys, moves and releases, then shipments."""
    c = inst.current_stock[:, 0].astype(int)
    cap = inst.capacity_m3 / inst.item_m3[0]
    first: dict[tuple[int, int], float] = {}
    for b0, b1, m01, m10, l0, l1 in itertools.product(
        range(int(cap[0]) + 1), range(int(cap[1]) + 1),
        range(c[0] + 1), range(c[1] + 1), range(c[0] + 1), range(c[1] + 1),
    ):  # fmt: skip
        if m01 + l0 > c[0] or m10 + l1 > c[1]:
            continue
        x = (c[0] + b0 - l0 - m01 + m10, c[1] + b1 - l1 - m10 + m01)
        if x[0] > cap[0] or x[1] > cap[1]:
            continue
        vol = inst.item_m3[0]
        spend = (
            inst.buy_cost[0] * (b0 + b1)
            + vol * (inst.move_cost_m3[0, 1] * m01 + inst.move_cost_m3[1, 0] * m10)
            - inst.release_value[0] * (l0 + l1)
        )
        if spend > budget + 1e-9:
            continue
        total = spend + inst.hold_cost[0] * (x[0] + x[1])
        first[x] = min(first.get(x, INF), total)
    return min(
        cost
        + sum(sc.probability * _second_stage_by_enumeration(inst, sc, x) for sc in inst.scenarios)
        for x, cost in first.items()
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "method,solver",
    [("extensive", "highs"), ("extensive", "cbc"), ("extensive", "ortools"), ("benders", "highs")],
)
def test_tiny_instances_match_enumeration(seed: int, method: str, solver: str) -> None:
    inst = tiny_instance(seed)
    budget = [0.0, 6.0, 13.0, 100.0][seed]
    expected = _enumerate(inst, budget)
    res = solve_prepositioning(
        inst, budget=budget, method=method, integer_stock=True, params=SolverParams(solver=solver)
    )
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)


# --------------------------------------------------------------------------------------------
# Methods and solver families agree
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_extensive_and_decomposition_agree(seed: int) -> None:
    inst = random_instance(seed, candidates=seed % 2 == 1)
    options = [
        {"budget": 40.0},
        {"budget": 80.0, "service_level": 0.6, "scenario_share": 0.5},
    ][seed % 2]
    values = []
    for method, solver in [
        ("extensive", "highs"),
        ("extensive", ["cbc", "ortools"][seed % 2]),
        ("benders", "highs"),
    ]:
        res = solve_prepositioning(
            inst, method=method, params=SolverParams(solver=solver), **options
        )
        assert res.status == "optimal", (method, solver, res.message)
        values.append(res.objective)
        assert res.bound is not None and res.bound <= res.objective + 1e-6 * abs(res.objective)
    assert values[1] == pytest.approx(values[0], rel=1e-6)
    assert values[2] == pytest.approx(values[0], rel=2e-6)


def test_actions_lead_from_today_to_targets() -> None:
    inst = random_instance(7)
    res = solve_prepositioning(inst, budget=60.0)
    stock = inst.current_stock.copy()
    ids, items = inst.depot_ids, inst.item_ids
    for a in res.actions:
        i = items.index(a.item)
        if a.kind == "buy":
            stock[ids.index(a.to_depot), i] += a.quantity
        elif a.kind == "release":
            stock[ids.index(a.from_depot), i] -= a.quantity
        else:
            stock[ids.index(a.from_depot), i] -= a.quantity
            stock[ids.index(a.to_depot), i] += a.quantity
    np.testing.assert_allclose(stock, res.stock, atol=1e-6)
    spend = sum(a.cost for a in res.actions)
    assert spend <= 60.0 + 1e-6
    assert (res.stock @ inst.item_m3 <= inst.capacity_m3 + 1e-6).all()
    assert 0 <= res.worst_coverage <= res.expected_coverage <= 1


# --------------------------------------------------------------------------------------------
# Monotonicity and invariance
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_more_budget_never_raises_expected_unmet_need(seed: int) -> None:
    inst = random_instance(seed + 20)
    points = budget_sweep(inst, [0, 10, 25, 50, 100, 400])
    penalties = [p.expected_unmet_penalty for p in points]
    objectives = [p.objective for p in points]
    for before, after in itertools.pairwise(penalties):
        assert after <= before + 1e-6
    for before, after in itertools.pairwise(objectives):
        assert after <= before + 1e-6


def test_zero_probability_scenario_changes_nothing() -> None:
    inst = random_instance(3)
    base = solve_prepositioning(inst, budget=50.0)
    ghost = ScenarioData(
        "ghost",
        0.0,
        need=np.full((4, 2), 50.0),
        depot_hours=np.ones((3, 4)),
        external_hours=np.ones((2, 4)),
        depot_loss=np.zeros(3),
    )
    more = inst.with_scenarios([*inst.scenarios, ghost])
    for method in ("extensive", "benders"):
        res = solve_prepositioning(more, budget=50.0, method=method)
        assert res.objective == pytest.approx(base.objective, rel=1e-6)
        assert res.cost["expected_penalty"] == pytest.approx(
            base.cost["expected_penalty"], rel=1e-6, abs=1e-6
        )


def test_vss_and_evpi_are_consistent() -> None:
    inst = random_instance(11)
    rp = solve_prepositioning(inst, budget=60.0)
    vss = value_of_stochastic_solution(inst, rp=rp, budget=60.0)
    evpi = expected_value_of_perfect_information(inst, rp=rp, budget=60.0)
    assert vss.vss >= -1e-6
    assert evpi.evpi >= -1e-6
    assert evpi.ws <= rp.objective + 1e-6 <= vss.eev + 2e-6
    assert set(evpi.ws_by_scenario) == {sc.id for sc in inst.scenarios}


def test_budget_curve_png(tmp_path: Path) -> None:
    inst = random_instance(5)
    points = budget_sweep(inst, [0, 30, 90])
    path = plot_budget_curve(points, tmp_path / "curve.png", title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------
# Service levels
# --------------------------------------------------------------------------------------------


def test_service_level_is_met_in_every_scenario() -> None:
    inst = random_instance(2)
    for sc in inst.scenarios:  # make every region reachable so 90 % is possible
        sc.depot_hours[~np.isfinite(sc.depot_hours)] = 2.0
    res = solve_prepositioning(inst, budget=500.0, service_level=0.9)
    assert res.status == "optimal"
    bend = solve_prepositioning(inst, budget=500.0, service_level=0.9, method="benders")
    assert bend.objective == pytest.approx(res.objective, rel=2e-6)
    assert set(res.scenarios_meeting_level) == {sc.id for sc in inst.scenarios}


def test_unreachable_region_explains_the_service_level() -> None:
    inst = random_instance(4)
    sc = inst.scenarios[1]
    sc.need[2] = [40.0, 40.0]
    sc.depot_hours[:, 2] = INF
    sc.external_hours[:, 2] = INF
    with pytest.raises(ServiceLevelInfeasibleError) as err:
        solve_prepositioning(inst, budget=100.0, service_level=0.8)
    assert err.value.field == "service_level"
    detail = err.value.details[0]
    assert detail["scenario"] == "s1" and "r2" in detail["regions"]
    assert detail["item"] in ("i0", "i1")


def test_small_budget_explains_the_service_level() -> None:
    inst = random_instance(6)
    for sc in inst.scenarios:
        sc.depot_hours[:] = 1.0
        sc.need[:] = 30.0
    with pytest.raises(ServiceLevelInfeasibleError) as err:
        solve_prepositioning(inst, budget=0.0, service_level=0.95)
    assert err.value.details
    assert {"scenario", "item", "regions", "shortfall"} <= set(err.value.details[0])
    for share in (None, 0.6):
        with pytest.raises(ServiceLevelInfeasibleError) as err:
            solve_prepositioning(
                inst, budget=0.0, service_level=0.95, scenario_share=share, method="benders"
            )
        assert err.value.details
        assert {"scenario", "item", "regions"} <= set(err.value.details[0])
        assert err.value.details[0]["scenario"] in {sc.id for sc in inst.scenarios}


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_bad_input_names_the_field() -> None:
    inst = random_instance(1)
    with pytest.raises(PrepositioningInputError) as err:
        solve_prepositioning(inst, budget=-1.0)
    assert err.value.field == "budget"

    small = random_instance(1)
    small.capacity_m3 = small.capacity_m3.copy()
    small.capacity_m3[0] = 0.1
    small.current_stock[0, 0] = 5.0
    with pytest.raises(PrepositioningInputError) as err:
        solve_prepositioning(small)
    assert err.value.field == "capacity_m3[d0]"

    wrong = random_instance(1)
    wrong.external = [ExternalSource("x", "agreement", "nope", quantity=1)]
    with pytest.raises(PrepositioningInputError) as err:
        solve_prepositioning(wrong)
    assert err.value.field == "external[0].item"

    wrong = random_instance(1)
    wrong.candidate_sizes = {"nowhere": [SizeClass(1, 1)]}
    with pytest.raises(PrepositioningInputError) as err:
        solve_prepositioning(wrong)
    assert err.value.field == "candidate_sizes[nowhere]"

    wrong = random_instance(1)
    wrong.scenarios[0].probability += 0.1
    with pytest.raises(PrepositioningInputError) as err:
        solve_prepositioning(wrong)
    assert err.value.field == "scenarios.probability"

    with pytest.raises(PrepositioningInputError) as err:
        solve_prepositioning(inst, service_level=1.5)
    assert err.value.field == "service_level"
    with pytest.raises(PrepositioningInputError) as err:
        solve_prepositioning(inst, scenario_share=0.5)
    assert err.value.field == "scenario_share"


# --------------------------------------------------------------------------------------------
# The 宿州 seed instance (with a stand-in road graph, so the test stays fast)
# --------------------------------------------------------------------------------------------


class _FlatGraph:
    """Every trip takes 1 h; events are accepted and counted."""

    def __init__(self) -> None:
        self.applied = 0

    def snap(self, lat: float, lng: float):
        return type("Snap", (), {"node": (lat, lng)})()

    def travel_time_matrix(self, sources, targets, profile="relief_truck"):
        return np.ones((len(sources), len(targets)))

    def apply_event(self, event):
        self.applied += 1
        return event

    def remove_event(self, event_id):
        self.applied -= 1


def test_seed_instance_from_csv_and_scenarios() -> None:
    from reserve_service.optimize.prepositioning import SEED_ITEMS, instance_from_seed
    from reserve_service.optimize.prepositioning.scenarios import Scenario

    seed_dir = Path(__file__).resolve().parents[2] / "seed_data"
    scenario = Scenario(
        "f", "flood", 1.0, affected={"341302102000": 1000.0}, damaged_depots={"SZ-CITY-OLD": 0.5}
    )
    graph = _FlatGraph()
    inst = instance_from_seed(seed_dir, [scenario], graph)
    nd, ni, nr, ns = inst.shape
    assert (nd, ni, nr, ns) == (30, len(SEED_ITEMS), 112, 1)
    assert graph.applied == 0
    assert inst.scenarios[0].depot_loss[inst.depot_ids.index("SZ-CITY-OLD")] == 0.5
    r = inst.region_ids.index("341302102000")
    tent = inst.item_ids.index("1010101")
    assert inst.scenarios[0].need[r, tent] == round(1000 * 0.33)
    assert inst.scenarios[0].need.sum(axis=1)[np.arange(nr) != r].sum() == 0
    assert {e.kind for e in inst.external} == {"enterprise_held", "agreement", "capacity"}
    assert (inst.current_stock @ inst.item_m3 <= inst.capacity_m3 + 1e-6).all()

    bad = Scenario("x", "flood", 1.0, affected={"999": 1.0})
    with pytest.raises(PrepositioningInputError) as err:
        instance_from_seed(seed_dir, [bad], graph)
    assert err.value.field == "scenarios[0].affected.999"
    bad = Scenario("x", "flood", 1.0, damaged_depots={"NOPE": 0.1})
    with pytest.raises(PrepositioningInputError) as err:
        instance_from_seed(seed_dir, [bad], graph)
    assert err.value.field == "scenarios[0].damaged_depots.NOPE"


def test_fixed_stock_must_fit() -> None:
    inst = random_instance(1)
    with pytest.raises(PrepositioningInputError) as err:
        solve_prepositioning(inst, fixed_stock=np.zeros((2, 2)))
    assert err.value.field == "fixed_stock"
    big = np.zeros((3, 2))
    big[1, 0] = 1e6
    with pytest.raises(PrepositioningInputError) as err:
        solve_prepositioning(inst, fixed_stock=big)
    assert err.value.field == "fixed_stock[d1]"


@pytest.mark.parametrize("seed", [3, 12, 15])
def test_service_levels_agree_between_methods(seed: int) -> None:
    """Benders with feasibility cuts reaches the extensive-form optimum, or both say infeasible."""
    inst = random_instance(seed, candidates=seed % 3 == 0)
    for sc in inst.scenarios:
        sc.depot_hours[~np.isfinite(sc.depot_hours)] = 3.0
    for options in (
        {"budget": 20.0, "service_level": 0.7},
        {"budget": 40.0, "service_level": 0.85, "scenario_share": 0.6},
    ):
        outcome = []
        for method in ("extensive", "benders"):
            try:
                res = solve_prepositioning(inst, method=method, **options)
                outcome.append(res.objective)
            except ServiceLevelInfeasibleError:
                outcome.append(None)
        if outcome[0] is None:
            assert outcome[1] is None
        else:
            assert outcome[1] == pytest.approx(outcome[0], rel=2e-6)

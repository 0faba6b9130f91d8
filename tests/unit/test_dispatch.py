"""Dispatch planning on small instances: optima by enumeration, invariants a dispatcher checks,
explained shortfalls and input errors.

Every expected number below is derived in the test (by enumeration or by hand from the travel
matrix), never taken from an earlier run of the planner.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
from collections import defaultdict
from dataclasses import replace

import numpy as np
import pytest

from reserve_service.optimize.dispatch import (
    LOT_MODES,
    AffectedRegion,
    DispatchInputError,
    DispatchParams,
    DispatchPlan,
    DispatchProblem,
    Incident,
    Item,
    ReplanResult,
    RouteVehicle,
    StockLot,
    SupplySource,
    TravelTimes,
    Vehicle,
    VehiclePosition,
    build_allocation_model,
    expected_positions,
    plan_to_manifest_csv,
    route_in_waves,
    solve_allocation,
    vehicle_profile,
)
from reserve_service.optimize.dispatch import plan_dispatch as _plan_dispatch
from reserve_service.optimize.dispatch import replan as _replan
from reserve_service.optimize.solvers import SolverParams
from tests.plan_checker import check_plan

START = dt.datetime(2026, 7, 1, 6, 0)
# Fixed handling times keep the hand calculations simple: 30 min to load, 20 to unload.
LOAD_H = 0.5
UNLOAD_H = 20 / 60
HANDLING = dict(
    loading_minutes=30.0,
    loading_minutes_per_t=0.0,
    unloading_minutes=20.0,
    unloading_minutes_per_t=0.0,
)
PARAMS = DispatchParams(routing_time_limit_s=1.0, solver=SolverParams(time_limit=5.0), **HANDLING)
WATER = Item("water", weight_kg=12.0, volume_m3=0.02, norm_quantity=1.0, name="bottled water 12 L")
TENT = Item("tent", weight_kg=30.0, volume_m3=0.15, norm_quantity=1.0, norm_basis="household")


def travel(nodes: list[str], hours: list[list[float]], public_factor: float = 1.5) -> TravelTimes:
    m = np.array(hours, dtype=float)
    return TravelTimes(tuple(nodes), {"relief_truck": m, "public_truck": m * public_factor})


def symmetric(nodes: list[str], pairs: dict[tuple[str, str], float]) -> list[list[float]]:
    """Matrix from listed pair times; unlisted pairs are unreachable (inf)."""
    idx = {n: k for k, n in enumerate(nodes)}
    m = [[0.0 if a == b else math.inf for b in nodes] for a in nodes]
    for (a, b), h in pairs.items():
        m[idx[a]][idx[b]] = m[idx[b]][idx[a]] = h
    return m


# --------------------------------------------------------------------------------------------
# Every plan these tests make passes the independent checker
# --------------------------------------------------------------------------------------------


def plan_dispatch(problem: DispatchProblem, params: DispatchParams | None = None) -> DispatchPlan:
    plan = _plan_dispatch(problem, params)
    check_plan(plan)
    return plan


def replan(plan: DispatchPlan, new_travel: TravelTimes, positions, **kw) -> ReplanResult:
    result = _replan(plan, new_travel, positions, **kw)
    done = {}
    for vid, pos in positions.items():
        stops = plan.vehicle(vid).stops
        done[vid] = (
            pos.completed_stops
            if pos.completed_stops is not None
            else sum(1 for stop in stops if stop.eta_h <= pos.at_h + 1e-6)
        )
    check_plan(result.plan, skip_stops=done)
    return result




# --------------------------------------------------------------------------------------------
# Named instances
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_by_three() -> DispatchProblem:
    """2 sources × 3 regions × 1 item (water, 1 per person).

    Depot A (government, 5 units in two lots) and supplier B (agreement, 6 units, active after
    4 h). Regions r1/r2/r3 need 3/4/5 with priorities 1/2/3. Travel (h): A→r1 2, A→r2 4,
    A→r3 12; B→r1 3, B→r2 7, B→r3 5; A–B 1. Three trucks wait at each source.
    """
    nodes = ["A", "B", "R1", "R2", "R3"]
    times = {
        ("A", "B"): 1, ("A", "R1"): 2, ("A", "R2"): 4, ("A", "R3"): 12,
        ("B", "R1"): 3, ("B", "R2"): 7, ("B", "R3"): 5,
        ("R1", "R2"): 2, ("R2", "R3"): 2, ("R1", "R3"): 3,
    }  # fmt: skip
    incident = Incident(
        START,
        (
            AffectedRegion("r1", "R1", relocated_people=3, priority=1.0),
            AffectedRegion("r2", "R2", relocated_people=4, priority=2.0),
            AffectedRegion("r3", "R3", relocated_people=5, priority=3.0),
        ),
    )
    sources = (
        SupplySource(
            "A", "A", "government",
            lots=(StockLot("A-late", "water", 3, dt.date(2027, 6, 1)),
                  StockLot("A-early", "water", 2, dt.date(2026, 9, 1))),
        ),
        SupplySource("B", "B", "agreement", quantities={"water": 6}, lead_time_h=4.0),
    )  # fmt: skip
    fleet = tuple(
        Vehicle(f"{s}{k}", s, weight_capacity_kg=1000, volume_capacity_m3=10)
        for s in ("A", "B")
        for k in range(3)
    )
    return DispatchProblem(
        incident, (WATER,), sources, fleet, travel(nodes, symmetric(nodes, times))
    )


def brute_force_on_time_value(problem: DispatchProblem, deadline: float) -> float:
    """Max Σ priority × units arriving by the deadline, over every integer allocation."""
    regions = problem.incident.regions
    stock = {"A": 5, "B": 6}
    lead = {"A": 0.0, "B": 4.0}
    tt = problem.travel
    pairs = [(s, r) for s in stock for r in range(len(regions))]
    ranges = [range(0, regions[r].relocated_people + 1) for _, r in pairs]
    best = 0.0
    for combo in itertools.product(*ranges):
        x = dict(zip(pairs, combo, strict=True))
        if any(sum(x[(s, r)] for r in range(3)) > stock[s] for s in stock):
            continue
        if any(sum(x[(s, r)] for s in stock) > regions[r].relocated_people for r in range(3)):
            continue
        value = 0.0
        for (s, r), q in x.items():
            arrive = lead[s] + LOAD_H + tt.time("relief_truck", s, regions[r].node)
            if arrive <= deadline:
                value += regions[r].priority * q
        best = max(best, value)
    return best


def on_time_value(plan: DispatchPlan) -> float:
    prio = {r.id: r.priority for r in plan.problem.incident.regions}
    return sum(prio[rp.region_id] * q for rp in plan.regions for q in rp.on_time.values())


# --------------------------------------------------------------------------------------------
# Optimality against enumeration
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("solver", "integer"), [("highs", False), ("highs", True), ("cbc", True), ("cbc", False)]
)
def test_allocation_matches_enumeration(two_by_three, solver, integer):
    params = DispatchParams(
        solver=SolverParams(solver=solver, time_limit=5.0), integer_quantities=integer, **HANDLING
    )
    best = brute_force_on_time_value(two_by_three, params.deadline_h)
    allocation = solve_allocation(
        two_by_three, build_allocation_model(two_by_three, params), params
    )
    assert allocation.statuses[0] == "optimal"
    got = sum(
        {"r1": 1.0, "r2": 2.0, "r3": 3.0}[f.region_id] * f.quantity
        for f in allocation.flows
        if f.on_time
    )
    assert got == pytest.approx(best)


def test_plan_with_ample_fleet_reaches_enumerated_optimum(two_by_three):
    plan = plan_dispatch(two_by_three, PARAMS)
    check_plan(plan)
    assert on_time_value(plan) == pytest.approx(brute_force_on_time_value(two_by_three, 10.0))
    # the one unit nobody can supply (12 needed, 11 held) is explained as missing stock
    reasons = {(s.region_id, s.reason): s.quantity for s in plan.shortfalls()}
    assert sum(s.quantity for s in plan.shortfalls() if s.reason == "not_enough_stock") >= 1
    # r3 gets everything B can send (A→r3 takes 12.5 h, so only B serves it in time)
    assert plan.region("r3").on_time["water"] == 5
    assert ("r3", "too_far") not in reasons


def test_deadline_sweep_matches_enumeration(two_by_three):
    for deadline in (3.0, 5.0, 8.0):
        params = DispatchParams(deadline_h=deadline, routing_time_limit_s=0.5, **HANDLING)
        allocation = solve_allocation(
            two_by_three, build_allocation_model(two_by_three, params), params
        )
        got = sum(
            {"r1": 1.0, "r2": 2.0, "r3": 3.0}[f.region_id] * f.quantity
            for f in allocation.flows
            if f.on_time
        )
        assert got == pytest.approx(brute_force_on_time_value(two_by_three, deadline)), deadline


# --------------------------------------------------------------------------------------------
# Invariants on varied random instances
# --------------------------------------------------------------------------------------------


def random_problem(seed: int) -> DispatchProblem:
    """Random small network: 3 sources of mixed modes, 4 regions, 2 items, 3 trucks; some
    unreachable pairs, a slow public-profile truck, lots with different expiries."""
    rng = np.random.default_rng(seed)
    nodes = ["S0", "S1", "S2", "V0", "R0", "R1", "R2", "R3"]
    n = len(nodes)
    pts = rng.uniform(0, 6, size=(n, 2))
    hours = np.abs(pts[:, None, :] - pts[None, :, :]).sum(axis=2)
    closed = rng.random((n, n)) < 0.1
    hours[closed | closed.T] = np.inf
    np.fill_diagonal(hours, 0.0)
    modes = ["government", "enterprise_held", rng.choice(["agreement", "capacity", "mutual_aid"])]
    sources = []
    for k, mode in enumerate(modes):
        if mode in LOT_MODES:
            lots = tuple(
                StockLot(f"S{k}-{item}-{j}", item, int(rng.integers(5, 40)),
                         START.date() + dt.timedelta(days=int(rng.integers(-5, 400))))
                for item in ("water", "tent")
                for j in range(3)
            )  # fmt: skip
            sources.append(SupplySource(f"s{k}", f"S{k}", mode, lots=lots, lead_time_h=float(k)))
        else:
            quantities = {"water": float(rng.integers(20, 80)), "tent": float(rng.integers(5, 30))}
            sources.append(
                SupplySource(f"s{k}", f"S{k}", mode, quantities=quantities,
                             lead_time_h=float(rng.integers(1, 7)))
            )  # fmt: skip
    regions = tuple(
        AffectedRegion(f"r{k}", f"R{k}", relocated_people=int(rng.integers(10, 60)),
                       priority=float(rng.integers(1, 4)))
        for k in range(4)
    )  # fmt: skip
    fleet = (
        Vehicle("v0", "V0", 600, 3.0),
        Vehicle("v1", "S0", 900, 4.0, available_from_h=1.0),
        Vehicle("v2", "S1", 500, 2.0, green_channel=False),
    )
    return DispatchProblem(
        Incident(START, regions),
        (WATER, TENT),
        tuple(sources),
        fleet,
        TravelTimes(tuple(nodes), {"relief_truck": hours, "public_truck": hours * 1.4}),
    )


@pytest.mark.parametrize("seed", range(6))
def test_invariants_on_random_instances(seed):
    # default handling (fixed + per tonne), both LP and MIP allocation
    params = DispatchParams(routing_time_limit_s=0.5, integer_quantities=seed % 2 == 1)
    plan = plan_dispatch(random_problem(seed), params)
    check_plan(plan)


# --------------------------------------------------------------------------------------------
# Hand-checked features: FEFO, production rate, split deliveries, second trips
# --------------------------------------------------------------------------------------------


def line_network(region_hours: float = 2.0) -> TravelTimes:
    nodes = ["D", "R"]
    return travel(nodes, symmetric(nodes, {("D", "R"): region_hours}))


def test_fefo_earliest_expiry_first_and_expired_lots_skipped():
    lots = (
        StockLot("L-2028", "water", 10, dt.date(2028, 1, 1)),
        StockLot("L-expired", "water", 50, dt.date(2026, 6, 30)),  # the day before the start
        StockLot("L-2026", "water", 4, dt.date(2026, 8, 1)),
        StockLot("L-2027", "water", 5, dt.date(2027, 1, 1)),
    )
    problem = DispatchProblem(
        Incident(START, (AffectedRegion("r", "R", relocated_people=12),)),
        (WATER,),
        (SupplySource("d", "D", "government", lots=lots),),
        (Vehicle("t", "D", 1000, 10),),
        line_network(),
    )
    plan = plan_dispatch(problem, PARAMS)
    check_plan(plan)
    issued = defaultdict(int)
    for line in plan.vehicle("t").manifest:
        issued[line.lot_no] += line.quantity
    assert dict(issued) == {"L-2026": 4, "L-2027": 5, "L-2028": 3}


def test_a_lot_expiring_before_the_pickup_is_not_loaded():
    # the enterprise store loads only from 20 h (02:00 the next day); its earliest lot
    # expires on the start day, so the later one goes instead
    lots = (
        StockLot("L-today", "water", 10, START.date()),
        StockLot("L-later", "water", 10, dt.date(2027, 1, 1)),
    )
    problem = DispatchProblem(
        Incident(START, (AffectedRegion("r", "R", relocated_people=10),)),
        (WATER,),
        (SupplySource("e", "D", "enterprise_held", lots=lots, lead_time_h=20.0),),
        (Vehicle("t", "D", 1000, 10),),
        line_network(),
    )
    plan = plan_dispatch(problem, PARAMS)
    assert {(m.lot_no, m.quantity) for m in plan.vehicle("t").manifest} == {("L-later", 10)}
    assert plan.region("r").delivered["water"] == 10


def test_capacity_reserve_ships_only_what_is_produced_in_time():
    # 24 units/day = 1 per hour from 2 h; the truck must leave by 10 - 1 (travel) - 0.5 (load)
    # = 8.5 h, so at most floor(8.5 - 2) = 6 units arrive by 10 h.
    problem = DispatchProblem(
        Incident(START, (AffectedRegion("r", "R", relocated_people=10),)),
        (WATER,),
        (SupplySource("f", "D", "capacity", quantities={"water": 24.0}, lead_time_h=2.0),),
        (Vehicle("t1", "D", 1000, 10), Vehicle("t2", "D", 1000, 10)),
        line_network(region_hours=1.0),
    )
    plan = plan_dispatch(problem, PARAMS)
    check_plan(plan)
    region = plan.region("r")
    assert region.on_time["water"] == 6
    assert region.delivered["water"] == 10  # the rest follows late
    assert {s.reason for s in region.shortfalls} == {"agreement_not_yet_active"}


def test_split_delivery_and_second_trip():
    # 100 people × 12 kg = 1200 kg, trucks carry 500 kg: at least 3 truckloads.
    problem = DispatchProblem(
        Incident(START, (AffectedRegion("r", "R", relocated_people=100),)),
        (WATER,),
        (SupplySource("d", "D", "government", lots=(StockLot("L", "water", 100),)),),
        (Vehicle("t1", "D", 500, 10), Vehicle("t2", "D", 500, 10)),
        line_network(region_hours=1.0),
    )
    plan = plan_dispatch(problem, PARAMS)
    check_plan(plan)
    # two trucks, one must go twice: D→R (1 h) + unload + back (1 h) + load fits well within 10 h
    assert plan.region("r").on_time["water"] == 100
    assert sum(vp.trips for vp in plan.vehicles) >= 3
    assert max(vp.trips for vp in plan.vehicles) >= 2
    assert all(vp.peak_load_kg <= 500 + 1e-6 for vp in plan.vehicles)


# --------------------------------------------------------------------------------------------
# Impossible parts become explained shortfalls
# --------------------------------------------------------------------------------------------


def test_empty_fleet_gives_no_vehicle(two_by_three):
    problem = DispatchProblem(
        two_by_three.incident, two_by_three.items, two_by_three.sources, (), two_by_three.travel
    )
    plan = plan_dispatch(problem, PARAMS)
    check_plan(plan)
    assert plan.summary.vehicles_used == 0
    shortfalls = plan.shortfalls()
    assert {s.reason for s in shortfalls} == {"no_vehicle"}
    assert sum(s.quantity for s in shortfalls) == 3 + 4 + 5


def test_unreachable_region(two_by_three):
    hours = {k: v.copy() for k, v in two_by_three.travel.hours.items()}
    r3 = two_by_three.travel.index("R3")
    for m in hours.values():  # every road into and out of R3 is under water
        m[r3, :] = np.inf
        m[:, r3] = np.inf
        m[r3, r3] = 0.0
    problem = DispatchProblem(
        two_by_three.incident,
        two_by_three.items,
        two_by_three.sources,
        two_by_three.fleet,
        TravelTimes(two_by_three.travel.nodes, hours),
    )
    plan = plan_dispatch(problem, PARAMS)
    check_plan(plan)
    r3_short = plan.region("r3").shortfalls
    assert [(s.reason, s.quantity) for s in r3_short] == [("unreachable", 5)]


def test_not_enough_stock():
    problem = DispatchProblem(
        Incident(START, (AffectedRegion("r", "R", relocated_people=30),)),
        (WATER,),
        (SupplySource("d", "D", "government", lots=(StockLot("L", "water", 18),)),),
        (Vehicle("t", "D", 1000, 10),),
        line_network(),
    )
    plan = plan_dispatch(problem, PARAMS)
    check_plan(plan)
    assert plan.region("r").on_time["water"] == 18
    assert [(s.reason, s.quantity) for s in plan.region("r").shortfalls] == [
        ("not_enough_stock", 12)
    ]


def test_agreement_not_yet_active_and_too_far():
    nodes = ["A", "F", "R"]
    # supplier A is 1 h away but activates after 12 h; depot F is 11 h away
    tt = travel(nodes, symmetric(nodes, {("A", "R"): 1.0, ("F", "R"): 11.0, ("A", "F"): 11.0}))
    problem = DispatchProblem(
        Incident(START, (AffectedRegion("r", "R", relocated_people=10),)),
        (WATER,),
        (
            SupplySource("a", "A", "agreement", quantities={"water": 4}, lead_time_h=12.0),
            SupplySource("f", "F", "government", lots=(StockLot("L", "water", 6),)),
        ),
        (Vehicle("ta", "A", 1000, 10), Vehicle("tf", "F", 1000, 10)),
        tt,
    )
    plan = plan_dispatch(problem, PARAMS)
    check_plan(plan)
    got = {s.reason: s.quantity for s in plan.region("r").shortfalls}
    assert got == {"agreement_not_yet_active": 4, "too_far": 6}
    # agreement stock is never loaded before its activation
    pickups = [s for s in plan.vehicle("ta").stops if s.kind == "pickup"]
    assert pickups and all(s.start_h >= 12.0 for s in pickups)


def test_too_small_fleet_gives_no_vehicle():
    # 8 regions 4 h out and back in different directions; one truck can reach only two of
    # them by 10 h (load 0.5 + 4 = 4.5 h, unload, 4 h back to a second region would be 13 h).
    nodes = ["D"] + [f"R{k}" for k in range(8)]
    pairs = {("D", f"R{k}"): 4.0 for k in range(8)}
    pairs.update({(f"R{a}", f"R{b}"): 8.0 for a in range(8) for b in range(a + 1, 8)})
    problem = DispatchProblem(
        Incident(
            START, tuple(AffectedRegion(f"r{k}", f"R{k}", relocated_people=5) for k in range(8))
        ),
        (WATER,),
        (SupplySource("d", "D", "government", lots=(StockLot("L", "water", 100),)),),
        (Vehicle("t", "D", 10000, 100),),
        travel(nodes, symmetric(nodes, pairs)),
    )
    plan = plan_dispatch(problem, PARAMS)
    check_plan(plan)
    served = [rp for rp in plan.regions if rp.fully_served_by_deadline]
    # one truck, loads all 8 orders (4 h of loading!) — the enumeration over visit orders is
    # unnecessary: after k loads the first arrival is 0.5k + 4 h, the next 8.33 h later.
    assert len(served) == 1
    assert {s.reason for s in plan.shortfalls()} == {"no_vehicle"}


# --------------------------------------------------------------------------------------------
# Manifest CSV
# --------------------------------------------------------------------------------------------


def test_manifest_csv_lists_every_loaded_lot(two_by_three):
    plan = plan_dispatch(two_by_three, PARAMS)
    used = [vp for vp in plan.vehicles if vp.stops]
    assert used, "the plan uses no vehicle, so no manifest is checked"
    for vp in used:
        text = plan_to_manifest_csv(plan, vp.vehicle_id)
        rows = list(csv.DictReader(io.StringIO(text.split("\n\n")[0])))
        loaded = defaultdict(int)
        unloaded = defaultdict(int)
        for row in rows:
            assert row["vehicle_id"] == vp.vehicle_id
            key = (row["order_id"], row["item_id"], row["lot_no"])
            (loaded if row["action"] == "load" else unloaded)[key] += int(row["quantity"])
            assert row["eta"].startswith("2026-07-01")
        manifest = defaultdict(int)
        for ml in vp.manifest:
            manifest[(ml.order_id, ml.item_id, ml.lot_no)] += ml.quantity
        assert manifest and loaded == unloaded == manifest


# --------------------------------------------------------------------------------------------
# Re-plan after a road closure
# --------------------------------------------------------------------------------------------


def test_replan_after_road_closure(two_by_three):
    plan = plan_dispatch(two_by_three, PARAMS)
    # dispatch the vehicle that loads first at A, just after loading, and close R1's roads
    dispatched = min(
        (vp for vp in plan.vehicles if vp.stops and vp.stops[0].place_id == "A"),
        key=lambda vp: vp.stops[0].departure_h,
    )
    first = dispatched.stops[0]
    position = VehiclePosition(first.node, first.departure_h, completed_stops=1)
    hours = {k: v.copy() for k, v in two_by_three.travel.hours.items()}
    r1 = two_by_three.travel.index("R1")
    for m in hours.values():
        m[r1, :] = np.inf
        m[:, r1] = np.inf
        m[r1, r1] = 0.0
    closed = TravelTimes(two_by_three.travel.nodes, hours)
    result = replan(plan, closed, {dispatched.vehicle_id: position})
    new = result.plan
    check_plan(new, skip_stops={dispatched.vehicle_id: 1})
    # the dispatched truck's completed stop and its cargo stay with it
    new_vp = new.vehicle(dispatched.vehicle_id)
    assert new_vp.dispatched and new_vp.stops[0] == first
    on_board = first.order_id
    deliveries = [s for s in new_vp.stops if s.kind == "delivery" and s.order_id == on_board]
    # the cargo on board (bound for r2, which stays reachable) is still delivered by the same truck
    assert plan.orders[[o.id for o in plan.orders].index(on_board)].region_id == "r2"
    assert len(deliveries) == 1
    # nothing reaches R1 any more; the change is listed
    assert new.region("r1").on_time["water"] == 0
    assert {s.reason for s in new.region("r1").shortfalls} == {"unreachable"}
    changed = {(c.region_id, c.item_id): c for c in result.changed_etas}
    assert plan.region("r1").on_time["water"] == 2  # served before the closure
    assert changed[("r1", "water")].new_on_time == 0
    # lots are never issued twice across the old cargo and the new loads
    check_lots = defaultdict(int)
    for vp in new.vehicles:
        for ml in vp.manifest:
            if ml.source_mode in LOT_MODES:
                check_lots[ml.lot_no] += ml.quantity
    assert check_lots["A-early"] <= 2 and check_lots["A-late"] <= 3


def test_replan_without_changes_keeps_service(two_by_three):
    plan = plan_dispatch(two_by_three, PARAMS)
    result = replan(plan, two_by_three.travel, {})
    check_plan(result.plan)
    assert on_time_value(result.plan) == pytest.approx(on_time_value(plan))


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def _with_regions(problem: DispatchProblem, *regions: AffectedRegion) -> DispatchProblem:
    return DispatchProblem(
        Incident(START, regions), problem.items, problem.sources, problem.fleet, problem.travel
    )


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda p: _with_regions(p, AffectedRegion("r1", "R1", needs={"water": -3})),
            "regions[r1].needs[water]",
        ),
        (
            lambda p: _with_regions(p, AffectedRegion("r1", "R1", needs={"blanket": 3})),
            "regions[r1].needs",
        ),
        (
            lambda p: _with_regions(p, AffectedRegion("r1", "R1", relocated_people=-1)),
            "regions[r1].relocated_people",
        ),
        (
            lambda p: _with_regions(p, AffectedRegion("r1", "nowhere", relocated_people=1)),
            "regions[r1].node",
        ),
        (lambda p: _with_regions(p), "incident.regions"),
        (lambda p: DispatchProblem(p.incident, p.items, (), p.fleet, p.travel), "sources"),
        (
            lambda p: DispatchProblem(
                p.incident,
                p.items,
                p.sources,
                (Vehicle("x", "A", 100, 1, profile="boat"),),
                p.travel,
            ),
            "fleet[x].profile",
        ),
        (
            lambda p: DispatchProblem(
                p.incident,
                p.items,
                p.sources,
                p.fleet,
                TravelTimes(p.travel.nodes, {"relief_truck": np.zeros((2, 2))}),
            ),
            "travel.hours[relief_truck]",
        ),  # fmt: skip
    ],
)
def test_bad_input_raises_with_field(two_by_three, mutate, field):
    with pytest.raises(DispatchInputError) as info:
        plan_dispatch(mutate(two_by_three), PARAMS)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_replan_after_slowdown_reroutes_dispatched_truck_from_its_position(two_by_three):
    plan = plan_dispatch(two_by_three, PARAMS)
    dispatched = next(vp for vp in plan.vehicles if len(vp.stops) >= 2)
    first = dispatched.stops[0]
    # every road now takes twice as long (rain); the truck has just loaded
    slow = TravelTimes(
        two_by_three.travel.nodes, {k: 2 * v for k, v in two_by_three.travel.hours.items()}
    )
    position = VehiclePosition(first.node, first.departure_h, completed_stops=1)
    result = replan(plan, slow, {dispatched.vehicle_id: position})
    check_plan(result.plan, skip_stops={dispatched.vehicle_id: 1})
    new_vp = result.plan.vehicle(dispatched.vehicle_id)
    next_stop = new_vp.stops[1]
    # the next leg is timed from the position with the new matrix
    leg = slow.time(vehicle_profile(new_vp_vehicle(two_by_three, dispatched.vehicle_id), PARAMS),
                    first.node, next_stop.node)  # fmt: skip
    assert next_stop.eta_h == pytest.approx(first.departure_h + leg)
    # what this truck carries arrives no sooner than the slower direct drive allows, its ETAs
    # moved, and the change is reported
    old_eta = {s.order_id: s.eta_h for s in dispatched.stops if s.kind == "delivery"}
    moved = [s for s in new_vp.stops if s.kind == "delivery" and s.order_id in old_eta]
    profile = vehicle_profile(new_vp_vehicle(two_by_three, dispatched.vehicle_id), PARAMS)
    assert moved and all(
        s.eta_h >= position.at_h + slow.time(profile, first.node, s.node) - 1e-9 for s in moved
    )
    assert any(abs(s.eta_h - old_eta[s.order_id]) > 1e-6 for s in moved)
    changed_regions = {c.region_id for c in result.changed_etas}
    assert {s.place_id for s in moved} <= changed_regions


def new_vp_vehicle(problem: DispatchProblem, vehicle_id: str) -> Vehicle:
    return next(v for v in problem.fleet if v.id == vehicle_id)


def test_manifest_of_unknown_vehicle_is_an_input_error(two_by_three):
    plan = plan_dispatch(two_by_three, PARAMS)
    with pytest.raises(DispatchInputError) as info:
        plan_to_manifest_csv(plan, "no-such-truck")
    assert info.value.field == "vehicle_id"


def test_replan_from_expected_positions_without_changes_keeps_the_optimum(two_by_three):
    plan = plan_dispatch(two_by_three, PARAMS)
    now = 3.5  # trucks from A are on the road; trucks at B wait for the agreement (4 h)
    positions = expected_positions(plan, now)
    for vid, pos in positions.items():
        vp = plan.vehicle(vid)
        done = vp.stops[: pos.completed_stops]
        # a stop counts as done once loading / unloading has started; the truck leaves it then
        assert all(s.start_h <= now for s in done)
        assert all(s.start_h > now for s in vp.stops[pos.completed_stops :])
        if done:
            assert (pos.node, pos.at_h) == (done[-1].node, done[-1].departure_h)
    result = replan(plan, two_by_three.travel, positions, now_h=now)
    check_plan(
        result.plan, skip_stops={v: p.completed_stops for v, p in positions.items()}
    )
    # nothing changed on the roads: still the enumerated optimum
    assert on_time_value(result.plan) == pytest.approx(
        brute_force_on_time_value(two_by_three, 10.0)
    )


@pytest.mark.parametrize("improvement", ["none", "ruin_recreate"])
def test_both_routing_searches_keep_the_invariants(improvement):
    params = DispatchParams(routing_time_limit_s=1.0, routing_improvement=improvement)
    for seed in (11, 12):
        check_plan(plan_dispatch(random_problem(seed), params))


def test_routing_search_parameters_are_checked():
    with pytest.raises(DispatchInputError) as info:
        DispatchParams(routing_improvement="tabu")
    assert info.value.field == "params.routing_improvement"
    with pytest.raises(DispatchInputError) as info:
        DispatchParams(routing_gls_share=0)
    assert info.value.field == "params.routing_gls_share"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_replan_without_changes_keeps_the_earlier_etas(seed):
    # nothing changed: the re-plan keeps the allocation, starts from the earlier routes and
    # treats their on-time ETAs as promises: no township loses anything it had on time (late
    # deliveries may still move: the search goes on from where it was)
    problem = random_problem(seed)
    plan = plan_dispatch(problem, DispatchParams(routing_time_limit_s=1.0))
    etas = [s.eta_h for vp in plan.vehicles for s in vp.stops]
    if not etas:
        pytest.skip("nothing routed")
    now = float(np.median(etas))
    positions = expected_positions(plan, now)
    result = replan(plan, problem.travel, positions, now_h=now)
    check_plan(
        result.plan, skip_stops={v: p.completed_stops for v, p in positions.items()}
    )
    for change in result.changed_etas:
        assert change.new_on_time >= change.old_on_time, change
    assert on_time_value(result.plan) >= on_time_value(plan) - 1e-6


def _twin_depots(truck_nodes: tuple[str, str] = ("D1", "D2")) -> DispatchProblem:
    # two depots equally far (1 h) from one township: every split of its 60 units is optimal
    nodes = ["D1", "D2", "R"]
    return DispatchProblem(
        Incident(START, (AffectedRegion("r", "R", relocated_people=60),)),
        (WATER,),
        (
            SupplySource("d1", "D1", "government", lots=(StockLot("L1", "water", 100),)),
            SupplySource("d2", "D2", "government", lots=(StockLot("L2", "water", 100),)),
        ),
        (Vehicle("t1", truck_nodes[0], 1000, 10), Vehicle("t2", truck_nodes[1], 1000, 10)),
        travel(nodes, symmetric(nodes, {("D1", "R"): 1.0, ("D2", "R"): 1.0, ("D1", "D2"): 0.5})),
    )


@pytest.mark.parametrize("previous_source", ["d1", "d2"])
def test_allocation_keeps_the_earlier_choice_among_equal_optima(previous_source):
    problem = _twin_depots()
    built = build_allocation_model(problem, PARAMS)
    result = solve_allocation(problem, built, PARAMS, {(previous_source, "r", "water"): 60})
    sent = defaultdict(int)
    for flow in result.flows:
        sent[flow.source_id] += flow.quantity
    assert dict(sent) == {previous_source: 60}
    assert len(result.statuses) == 3  # value, lateness, stability


def test_routing_starts_from_the_earlier_routes():
    # twin trucks at the same depot: either may carry the one order at the same cost; the
    # search left to itself takes one, started from a route on the other it keeps that one
    problem = _twin_depots(truck_nodes=("D1", "D1"))
    plan = plan_dispatch(problem, PARAMS)
    (order,) = plan.orders
    vehicles = [
        RouteVehicle(v, vehicle_profile(v, PARAMS), v.start_node, 0.0) for v in problem.fleet
    ]
    cold = route_in_waves(problem, plan.orders, vehicles, PARAMS)
    (chosen,) = [vid for vid, seq in cold.routes.items() if seq]
    other = next(v.id for v in problem.fleet if v.id != chosen)
    stops = [("pickup", order.id), ("delivery", order.id)]
    warm = route_in_waves(problem, plan.orders, vehicles, PARAMS, {other: stops})
    assert warm.routes[other] == stops
    assert warm.routes[chosen] == []


# --------------------------------------------------------------------------------------------
# People served by the deadline against enumeration, and plans no top-up can beat
# --------------------------------------------------------------------------------------------

QUILT = Item("quilt", weight_kg=2.5, volume_m3=0.03, norm_quantity=1.0, name="quilt")


def single_trip_incident(people: tuple[int, ...], trucks: tuple[tuple[float, float], ...],
                         hours: dict[tuple[str, str], float], deadline_fits_one_trip: bool = True
                         ) -> DispatchProblem:
    """One depot D with ample water and quilts; townships R0.. with ``people`` (1 water, 1
    quilt each); trucks ``(kg, m³)`` at D from 0 h; ``hours`` between places."""
    nodes = ["D"] + [f"R{k}" for k in range(len(people))]
    lots = (StockLot("W", "water", 10_000), StockLot("Q", "quilt", 10_000))
    return DispatchProblem(
        Incident(START, tuple(AffectedRegion(f"r{k}", f"R{k}", relocated_people=p)
                              for k, p in enumerate(people))),
        (WATER, QUILT),
        (SupplySource("d", "D", "government", lots=lots),),
        tuple(Vehicle(f"t{k}", "D", kg, m3) for k, (kg, m3) in enumerate(trucks)),
        travel(nodes, symmetric(nodes, hours)),
    )


PERSON_KG = WATER.weight_kg + QUILT.weight_kg  # one water and one quilt a person: 14.5 kg


def brute_force_people_served(problem: DispatchProblem, deadline: float) -> int:
    """Most people fully served by ``deadline`` over every plan of one trip per truck.

    Every truck's trip is every ordered subset of the townships it reaches by the deadline
    (loading at the depot from 0 h, LOAD_H; unloading UNLOAD_H at each).  Volume is ample and
    each person needs the same 14.5 kg, so a truck of ``c × 14.5`` kg carries ``c`` people's
    needs, split among the townships on its trip in any way: a set ``S`` of townships can be
    fully served by the trips iff every ``T ⊆ S`` needs no more than the trucks visiting ``T``
    carry (Hall's condition for the transportation problem, integral data).
    """
    regions = problem.incident.regions
    tt = problem.travel
    n = len(regions)

    def trips(truck: Vehicle) -> list[frozenset[int]]:
        out = {frozenset()}
        for size in range(1, n + 1):
            for order in itertools.permutations(range(n), size):
                t, here = LOAD_H, "D"
                for r in order:
                    t += tt.time("relief_truck", here, regions[r].node)
                    here = regions[r].node
                    if t > deadline + 1e-9:
                        break
                    t += UNLOAD_H
                else:
                    out.add(frozenset(order))
        return sorted(out, key=sorted)

    people = [r.relocated_people for r in regions]
    loads = [math.floor(v.weight_capacity_kg / PERSON_KG + 1e-9) for v in problem.fleet]
    best = 0
    for visits in itertools.product(*(trips(v) for v in problem.fleet)):
        covered = set().union(*visits)
        for size in range(len(covered), 0, -1):
            for served in itertools.combinations(sorted(covered), size):
                total = sum(people[r] for r in served)
                if total <= best:
                    continue
                if all(
                    sum(people[r] for r in part)
                    <= sum(c for c, v in zip(loads, visits, strict=True) if v & set(part))
                    for k in range(1, size + 1)
                    for part in itertools.combinations(served, k)
                ):
                    best = total
    return best


@pytest.mark.parametrize(
    ("people", "loads"),
    [
        ((20, 30, 25), (34, 27)),  # truck capacities in people (14.5 kg each)
        pytest.param(
            (10, 40, 30, 15),
            (48, 20),
            marks=pytest.mark.xfail(
                reason="known gap: the fleet budget counts 5 h of 68 people's loads as 70 (it "
                "charges a return drive per trip), the allocation completes 40 + 30, routing "
                "delivers 55 and the repair round settles on 40 + 15 = 55; the optimum is 65",
                strict=True,
            ),
        ),
        ((25, 25, 25), (27, 27, 27)),
        ((12, 18, 30), (20, 20, 15)),
    ],
)
def test_people_served_match_enumeration(people, loads):
    # depot 2 h from each township, townships 1 h apart: by 5 h a truck makes one trip
    # (0.5 + 2 + 1/3 = 2.8 h to the first, +1.3 h to a second; no third, no second trip)
    towns = [f"R{k}" for k in range(len(people))]
    hours = {("D", t): 2.0 for t in towns} | {
        (a, b): 1.0 for a, b in itertools.combinations(towns, 2)
    }
    trucks = tuple((c * PERSON_KG, 1000.0) for c in loads)
    problem = single_trip_incident(people, trucks, hours)
    params = replace(PARAMS, deadline_h=5.0, routing_time_limit_s=6.0)
    plan = plan_dispatch(problem, params)
    assert plan.summary.people_fully_served == brute_force_people_served(problem, 5.0)


def test_three_townships_two_trucks_one_depot_all_served():
    # 2,100 people, 700 per township 0.5 h from the depot (0.5 h apart): 2,100 water and
    # 2,100 quilts are 30.45 t and 105 m³, about four 8 t / 40 m³ loads per truck in 10 h
    people = (700, 700, 700)
    towns = ["R0", "R1", "R2"]
    hours = {("D", t): 0.5 for t in towns} | {(a, b): 0.5 for a, b in itertools.combinations(towns, 2)}
    problem = single_trip_incident(people, ((8000, 40), (8000, 40)), hours)
    plan = plan_dispatch(problem, replace(PARAMS, routing_time_limit_s=3.0))
    assert plan.summary.people_fully_served == 2100



def test_greedy_packing_stands_in_feasibly(two_by_three):
    # what the allocation falls back on when its first stage runs out of time: whole units
    # within every row (need, supply, production, fleet budget)
    from reserve_service.optimize.dispatch.allocation import greedy_packing

    built = build_allocation_model(two_by_three, replace(PARAMS, full_service_weight=0.0))
    values = greedy_packing(built.model, built)
    assert values.sum() > 0 and np.allclose(values, np.round(values))
    for con in built.model.constraints:
        assert float(np.dot(con.coefs, values[con.indices])) <= con.rhs + 1e-9, con.name


def test_a_stored_plan_reads_back_equal_and_replans_alike(two_by_three):
    from reserve_service.optimize.dispatch.storage import StoredPlanError, dump_plan, load_plan

    plan = plan_dispatch(two_by_three, PARAMS)
    back, names = load_plan(dump_plan(plan, {"r1": "township one"}))
    assert names == {"r1": "township one"}
    for name in ("flows", "orders", "vehicles", "regions", "summary", "params", "generation"):
        assert getattr(back, name) == getattr(plan, name), name
    assert back.problem.incident == plan.problem.incident
    assert back.problem.sources == plan.problem.sources and back.problem.fleet == plan.problem.fleet
    for profile, matrix in plan.problem.travel.hours.items():
        assert np.array_equal(back.problem.travel.hours[profile], matrix)  # inf included
    assert plan_to_manifest_csv(back, plan.vehicles[0].vehicle_id) == plan_to_manifest_csv(
        plan, plan.vehicles[0].vehicle_id
    )
    with pytest.raises(StoredPlanError):
        load_plan(b"\x80\x04not json")

"""Two-stage stochastic pre-positioning of relief stock (after Rawls & Turnquist 2010).

First stage (decided now): how much of each item to hold at each depot — starting from
today's stock by buying, moving between depots, keeping and releasing (selling back) — and
optionally which candidate depots to open in which size class, within a budget and each depot's
volume. Second stage (per disaster scenario, once it is known): ship surviving depot stock,
enterprise-held stock (企业代储), agreement reserves (协议储备) and production-capacity reserves
(产能储备) over the surviving roads to the affected regions; unmet need is penalised.

**"Within 10 hours"**: a source ``a`` may serve region ``r`` in scenario ``s`` only if its lead
time (loading, activation or production start) plus the travel time over the scenario's road
network is at most the deadline ``T`` (10 h): ``lead_a + t^s_ar <= T``. Only such pairs get
shipment variables, so every unit shipped in the model arrives within ``T``; need met from
nowhere else is unmet within ``T``.

Formulation
-----------
Sets: depots ``D`` (existing, planned and candidate), items ``I``, regions ``R``, scenarios
``S`` with probabilities ``p_s``, external sources ``E`` (each holds one item ``i(e)``), size
classes ``K_j`` of candidate depot ``j``.

Data: today's stock ``c_ji``; unit volume ``vol_i``; depot volume ``cap_j`` (0 for a candidate
not yet built); prices ``buy_i``, ``hold_i`` (per unit held over the plan period), ``rel_i``
(value of a released unit), ``move_jk`` per m³ moved; size class ``(cap_jk, f_jk)``; need
``n_sri``; share of depot stock lost ``δ_sj``; travel ``t^s_ar``; leads; transport cost
``τ_i`` per unit-hour; external unit cost ``a_e``, quantity ``Q_e`` or rate ``ρ_e`` per day;
penalty ``π_i`` per unmet unit; budget ``B``; service level ``β``; scenario share ``α``.

First-stage variables: ``x_ji >= 0`` target stock; ``b_ji >= 0`` bought; ``m_jki >= 0`` moved
``j → k``; ``l_ji >= 0`` released; ``y_jk ∈ {0,1}`` open candidate ``j`` in class ``k``;
``v_s ∈ {0,1}`` scenario ``s`` must meet the service level (only with ``α``).

Second-stage variables per scenario: ``z_sjri >= 0`` from depot ``j`` (feasible pairs only),
``w_ser >= 0`` from external source ``e``, ``u_sri >= 0`` unmet.

Objective: ``min  C1 + Σ_s p_s · C2_s`` with
``C1 = Σ buy_i b_ji + Σ move_jk vol_i m_jki + Σ hold_i x_ji + Σ f_jk y_jk − Σ rel_i l_ji`` and
``C2_s = Σ τ_i t^s_jr z_sjri + Σ (a_e + τ_i(e) t^s_er) w_ser + Σ π_i u_sri``.

Constraints (first stage):

* (F1) balance: ``x_ji = c_ji + b_ji − l_ji − Σ_k m_jki + Σ_k m_kji``
* (F2) outflow: ``l_ji + Σ_k m_jki <= c_ji`` (only today's stock can leave)
* (F3) volume: ``Σ_i vol_i x_ji <= cap_j + Σ_k cap_jk y_jk``
* (F4) one size: ``Σ_k y_jk <= 1``
* (F5) budget: ``Σ buy b + Σ move m + Σ f y − Σ rel l <= B`` — the net spend on changes;
  holding (``hold_i x_ji``) is a running cost in the objective, not in the budget
* (F6) scenario share: ``Σ_s p_s v_s >= α``

Constraints (second stage, every scenario ``s``):

* (S1) depot supply: ``Σ_r z_sjri <= (1 − δ_sj) x_ji``
* (S2) external stock: ``Σ_r w_ser <= Q_e`` (enterprise-held and agreement reserves)
* (S3) production: for capacity reserves, regions sorted by latest completion time
  ``L_r = T − t^s_er``: ``Σ_{r: L_r <= L_q} w_ser <= ρ_e (L_q − lead_e) / 24`` for every ``q``
  (earliest-deadline-first production at rate ``ρ_e``)
* (S4) need: ``Σ_j z_sjri + Σ_{e: i(e)=i} w_ser + u_sri = n_sri``
* (S5) service level: ``Σ_r u_sri <= (1 − β) Σ_r n_sri`` for each item — in every scenario,
  or, with ``α``, ``<= Σ_r n_sri − β Σ_r n_sri v_s``.

Coverage of a scenario = mean over items with need of (need met within ``T``) / need.

Solvers: ``method="extensive"`` writes the deterministic equivalent once as a
:class:`~reserve_service.optimize.solvers.LinearModel` and solves it with any backend in
:class:`SolverParams`. ``method="benders"`` is a multi-cut L-shaped method: the master holds the
first stage plus one ``θ_s`` per scenario; each scenario LP (the second stage with ``x`` fixed;
without a service level it always has a solution because ``u`` absorbs any need) is solved by
HiGHS (highspy) with warm starts, and its row duals give the optimality cut
``θ_s >= Q_s(x̂) + g_s·(x − x̂)``. With a service level the scenario LP can be infeasible for a
plan; HiGHS' dual ray (a Farkas certificate) then gives the feasibility cut
``r·(h + T x) <= 0`` that every plan able to meet the service level satisfies. If the master
becomes infeasible, the certificates name the scenarios, items and regions that cannot reach
the level. The master is the same first-stage LinearModel, passed to highspy once and extended
with cuts; its binaries (size classes, ``v_s``) are relaxed until the LP bound converges and
then restored. It stops when upper − lower bound ≤ max(gap, 1e-6) × |upper|.

Value of information: :func:`value_of_stochastic_solution` (VSS = EEV − RP, with the
mean-value problem of :func:`mean_value_instance`) and
:func:`expected_value_of_perfect_information` (EVPI = RP − WS). :func:`budget_sweep` gives the
cost-vs-coverage curve and :func:`plot_budget_curve` draws it. :func:`instance_from_seed` builds
the 宿州 instance from ``seed_data`` and a road graph.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from reserve_service.optimize.solvers import LinearModel, LinExpr, SolverParams, Var
from reserve_service.optimize.solvers.highs import highs_from_model, is_infeasible, new_highs

ExternalKind = Literal["enterprise_held", "agreement", "capacity"]
Method = Literal["extensive", "benders"]
_EPS = 1e-7


class PrepositioningInputError(ValueError):
    """Impossible or malformed input; ``field`` names it (e.g. ``budget``, ``capacity_m3[SZ-X]``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class ServiceLevelInfeasibleError(PrepositioningInputError):
    """The service level cannot be met; ``details`` lists scenario, item, regions and numbers."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message, "service_level")
        self.details = details


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeClass:
    """A size a candidate depot can be built in: extra volume and one-off cost."""

    capacity_m3: float
    fixed_cost: float
    name: str = ""


@dataclass(frozen=True)
class ExternalSource:
    """Stock outside the government depots, usable in the second stage.

    ``kind``: ``enterprise_held`` (企业代储) or ``agreement`` (协议储备) with ``quantity`` units,
    or ``capacity`` (产能储备) producing ``rate_per_day`` after ``lead_hours``.
    ``unit_cost``: yuan per unit drawn (activation / purchase price at the time).
    """

    id: str
    kind: ExternalKind
    item: str
    quantity: float = 0.0
    rate_per_day: float = 0.0
    lead_hours: float = 0.0
    unit_cost: float = 0.0


@dataclass
class ScenarioData:
    """One scenario as numbers: ``need`` (R, I), ``depot_hours`` (D, R), ``external_hours`` (E, R),
    ``depot_loss`` (D,) share of stock lost; ``np.inf`` hours = unreachable."""

    id: str
    probability: float
    need: np.ndarray
    depot_hours: np.ndarray
    external_hours: np.ndarray
    depot_loss: np.ndarray
    hazard: str = ""


@dataclass
class PrepositioningInstance:
    """Everything the model needs, as plain arrays indexed by depot / item / region position.

    ``current_stock`` (D, I); ``capacity_m3`` (D,) volume usable today; ``item_m3``, ``buy_cost``,
    ``hold_cost``, ``release_value``, ``penalty`` (I,); ``move_cost_m3`` (D, D) yuan per m³ moved
    (``None``: no moves); ``transport_cost_m3h`` yuan per m³ per hour driven;
    ``depot_lead_hours`` (D,); ``candidate_sizes``: depot id → size classes.
    """

    depot_ids: list[str]
    item_ids: list[str]
    region_ids: list[str]
    current_stock: np.ndarray
    capacity_m3: np.ndarray
    item_m3: np.ndarray
    buy_cost: np.ndarray
    hold_cost: np.ndarray
    release_value: np.ndarray
    penalty: np.ndarray
    scenarios: list[ScenarioData]
    move_cost_m3: np.ndarray | None = None
    transport_cost_m3h: float = 1.0
    depot_lead_hours: np.ndarray | None = None
    candidate_sizes: dict[str, list[SizeClass]] = field(default_factory=dict)
    external: list[ExternalSource] = field(default_factory=list)
    deadline_hours: float = 10.0

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(depots, items, regions, scenarios)."""
        return (len(self.depot_ids), len(self.item_ids), len(self.region_ids), len(self.scenarios))

    def with_scenarios(self, scenarios: list[ScenarioData]) -> PrepositioningInstance:
        return replace(self, scenarios=scenarios)


@dataclass(frozen=True)
class Action:
    """One step from today's stock to the targets."""

    kind: Literal["buy", "move", "release"]
    item: str
    quantity: float
    cost: float
    from_depot: str | None = None
    to_depot: str | None = None


@dataclass
class PrepositioningResult:
    """Targets, actions, coverage and costs of a solved plan.

    ``status`` in {"optimal", "feasible", "time_limit", "infeasible"}; ``objective`` = first-stage
    cost + expected second-stage cost; ``bound`` a proven lower bound; ``gap`` relative.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    solver: str
    method: str
    targets: dict[str, dict[str, float]] = field(default_factory=dict)
    stock: np.ndarray | None = None
    actions: list[Action] = field(default_factory=list)
    opened: dict[str, SizeClass] = field(default_factory=dict)
    expected_coverage: float | None = None
    worst_coverage: float | None = None
    worst_scenario: str | None = None
    scenario_coverage: dict[str, float] = field(default_factory=dict)
    scenarios_meeting_level: list[str] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)
    iterations: int = 0
    message: str = ""

    def summary(self) -> str:
        obj = "—" if self.objective is None else f"{self.objective:,.0f}"
        cov = "—" if self.expected_coverage is None else f"{self.expected_coverage:.1%}"
        worst = "—" if self.worst_coverage is None else f"{self.worst_coverage:.1%}"
        gap = "—" if self.gap is None else f"{self.gap:.2e}"
        return (
            f"{self.method}/{self.solver}: {self.status}, objective {obj}, gap {gap}, "
            f"coverage expected {cov} worst {worst} ({self.worst_scenario}), "
            f"{len(self.actions)} actions, {self.solve_seconds:.1f} s"
        )


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _array(value: Any, shape: tuple[int, ...], name: str, *, allow_inf: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.shape != shape:
        raise PrepositioningInputError(f"{name} must have shape {shape}, got {arr.shape}", name)
    bad = np.isnan(arr) | (~np.isfinite(arr) if not allow_inf else np.isneginf(arr))
    if bad.any():
        raise PrepositioningInputError(f"{name} has non-finite entries", name)
    if (arr < 0).any():
        k = np.unravel_index(int(np.argmin(arr)), arr.shape)
        raise PrepositioningInputError(f"{name} must be >= 0, got {arr[k]} at {k}", name)
    return arr


def validate_instance(inst: PrepositioningInstance) -> None:
    """Raise :class:`PrepositioningInputError` for impossible or malformed instances."""
    nd, ni, nr, ns = inst.shape
    ne = len(inst.external)
    for name, ids in (
        ("depot_ids", inst.depot_ids),
        ("item_ids", inst.item_ids),
        ("region_ids", inst.region_ids),
    ):
        if len(set(ids)) != len(ids):
            raise PrepositioningInputError(f"{name} has duplicates", name)
    if nd == 0 or ni == 0:
        raise PrepositioningInputError("need at least one depot and one item", "depot_ids")
    stock = _array(inst.current_stock, (nd, ni), "current_stock")
    cap = _array(inst.capacity_m3, (nd,), "capacity_m3")
    vol = _array(inst.item_m3, (ni,), "item_m3")
    for name in ("buy_cost", "hold_cost", "release_value", "penalty"):
        _array(getattr(inst, name), (ni,), name)
    if inst.move_cost_m3 is not None:
        _array(inst.move_cost_m3, (nd, nd), "move_cost_m3")
    if inst.depot_lead_hours is not None:
        _array(inst.depot_lead_hours, (nd,), "depot_lead_hours")
    if not (math.isfinite(inst.transport_cost_m3h) and inst.transport_cost_m3h >= 0):
        raise PrepositioningInputError("transport_cost_m3h must be >= 0", "transport_cost_m3h")
    if not inst.deadline_hours > 0:
        raise PrepositioningInputError("deadline_hours must be > 0", "deadline_hours")
    used = stock @ vol
    for j in np.flatnonzero(used > cap + 1e-6):
        raise PrepositioningInputError(
            f"depot {inst.depot_ids[j]}: capacity {cap[j]:g} m³ is smaller than today's stock "
            f"{used[j]:g} m³",
            f"capacity_m3[{inst.depot_ids[j]}]",
        )
    depots = set(inst.depot_ids)
    for depot, sizes in inst.candidate_sizes.items():
        if depot not in depots:
            raise PrepositioningInputError(
                f"unknown candidate depot {depot!r}", f"candidate_sizes[{depot}]"
            )
        for size in sizes:
            if size.capacity_m3 < 0 or size.fixed_cost < 0:
                raise PrepositioningInputError(
                    f"size class of {depot} must have capacity and cost >= 0",
                    f"candidate_sizes[{depot}]",
                )
    items = set(inst.item_ids)
    seen: set[str] = set()
    for k, ext in enumerate(inst.external):
        where = f"external[{k}]"
        if ext.id in seen:
            raise PrepositioningInputError(f"duplicate external source {ext.id!r}", f"{where}.id")
        seen.add(ext.id)
        if ext.item not in items:
            raise PrepositioningInputError(f"unknown item id {ext.item!r}", f"{where}.item")
        if ext.kind not in ("enterprise_held", "agreement", "capacity"):
            raise PrepositioningInputError(f"unknown kind {ext.kind!r}", f"{where}.kind")
        for name in ("quantity", "rate_per_day", "lead_hours", "unit_cost"):
            value = getattr(ext, name)
            if not (math.isfinite(value) and value >= 0):
                raise PrepositioningInputError(f"{name} must be >= 0", f"{where}.{name}")
    if ns == 0:
        raise PrepositioningInputError("need at least one scenario", "scenarios")
    total = 0.0
    ids: set[str] = set()
    for k, sc in enumerate(inst.scenarios):
        where = f"scenarios[{k}]"
        if sc.id in ids:
            raise PrepositioningInputError(f"duplicate scenario id {sc.id!r}", f"{where}.id")
        ids.add(sc.id)
        if not (math.isfinite(sc.probability) and sc.probability >= 0):
            raise PrepositioningInputError("probability must be >= 0", f"{where}.probability")
        total += sc.probability
        _array(sc.need, (nr, ni), f"{where}.need")
        _array(sc.depot_hours, (nd, nr), f"{where}.depot_hours", allow_inf=True)
        _array(sc.external_hours, (ne, nr), f"{where}.external_hours", allow_inf=True)
        loss = _array(sc.depot_loss, (nd,), f"{where}.depot_loss")
        if (loss > 1).any():
            raise PrepositioningInputError("depot_loss must be <= 1", f"{where}.depot_loss")
    if abs(total - 1.0) > 1e-6:
        raise PrepositioningInputError(
            f"scenario probabilities sum to {total:.9g}, not 1", "scenarios.probability"
        )


def _check_fixed_stock(inst: PrepositioningInstance, fixed_stock: Any) -> None:
    if fixed_stock is None:
        return
    nd, ni, _, _ = inst.shape
    stock = _array(fixed_stock, (nd, ni), "fixed_stock")
    largest = np.array(
        [
            max((c.capacity_m3 for c in inst.candidate_sizes.get(d, [])), default=0.0)
            for d in inst.depot_ids
        ]
    )
    over = stock @ np.asarray(inst.item_m3, dtype=float) - np.asarray(inst.capacity_m3) - largest
    for j in np.flatnonzero(over > 1e-6):
        raise PrepositioningInputError(
            f"fixed stock at {inst.depot_ids[j]} exceeds its largest volume by {over[j]:g} m³",
            f"fixed_stock[{inst.depot_ids[j]}]",
        )


def _check_options(
    budget: float | None, service_level: float | None, scenario_share: float | None
) -> None:
    if budget is not None and not (math.isfinite(budget) and budget >= 0):
        raise PrepositioningInputError(f"budget must be >= 0, got {budget}", "budget")
    if service_level is not None and not 0 <= service_level <= 1:
        raise PrepositioningInputError(
            f"service_level must be in [0, 1], got {service_level}", "service_level"
        )
    if scenario_share is not None:
        if service_level is None:
            raise PrepositioningInputError("scenario_share needs a service_level", "scenario_share")
        if not 0 < scenario_share <= 1:
            raise PrepositioningInputError(
                f"scenario_share must be in (0, 1], got {scenario_share}", "scenario_share"
            )


# --------------------------------------------------------------------------------------------
# Build: first stage (shared by the extensive form and the Benders master)
# --------------------------------------------------------------------------------------------


@dataclass
class _FirstStage:
    x: list[list[Var]]
    buy: dict[tuple[int, int], Var]
    release: dict[tuple[int, int], Var]
    move: dict[tuple[int, int, int], Var]
    open: dict[tuple[int, int], Var]
    v: list[Var] | None
    parts: dict[str, LinExpr]

    @property
    def cost(self) -> LinExpr:
        return LinExpr.total(self.parts.values())

    def link_vars(self) -> list[Var]:
        """First-stage variables that appear in second-stage right-hand sides: x (D·I), then v."""
        flat = [var for row in self.x for var in row]
        return flat + (self.v or [])


@dataclass
class _Options:
    budget: float | None
    service_level: float | None
    scenario_share: float | None
    integer_stock: bool
    fixed_stock: np.ndarray | None
    elastic_penalty: float | None  # None = hard service rows


def _add_first_stage(
    model: LinearModel, inst: PrepositioningInstance, opt: _Options
) -> _FirstStage:
    nd, ni, _, ns = inst.shape
    kind = "integer" if opt.integer_stock else "continuous"
    stock = np.asarray(inst.current_stock, dtype=float)
    vol = np.asarray(inst.item_m3, dtype=float)
    cap = np.asarray(inst.capacity_m3, dtype=float)
    sizes = {inst.depot_ids.index(d): s for d, s in inst.candidate_sizes.items() if s}
    # a depot that can never hold anything gets x fixed at 0
    x = []
    for j in range(nd):
        row = []
        for i in range(ni):
            ub = math.inf
            if cap[j] <= 0 and j not in sizes:
                ub = 0.0
            if opt.fixed_stock is not None:
                value = float(opt.fixed_stock[j, i])
                row.append(model.add_var(f"x[{j},{i}]", lb=value, ub=value, kind=kind))
            else:
                row.append(model.add_var(f"x[{j},{i}]", ub=ub, kind=kind))
        x.append(row)
    buy = {
        (j, i): model.add_var(f"b[{j},{i}]", kind=kind)
        for j in range(nd)
        for i in range(ni)
        if not (cap[j] <= 0 and j not in sizes)
    }
    release = {
        (j, i): model.add_var(f"l[{j},{i}]", ub=stock[j, i], kind=kind)
        for j in range(nd)
        for i in range(ni)
        if stock[j, i] > 0
    }
    move: dict[tuple[int, int, int], Var] = {}
    if inst.move_cost_m3 is not None:
        for j in range(nd):
            for k in range(nd):
                if j == k or (cap[k] <= 0 and k not in sizes):
                    continue
                for i in range(ni):
                    if stock[j, i] > 0:
                        move[j, k, i] = model.add_var(f"m[{j},{k},{i}]", ub=stock[j, i], kind=kind)
    opened = {
        (j, c): model.add_var(f"y[{j},{c}]", kind="binary")
        for j, classes in sizes.items()
        for c in range(len(classes))
    }
    v = None
    if opt.scenario_share is not None:
        v = [model.add_var(f"v[{s}]", kind="binary") for s in range(ns)]

    # (F1) balance: x = stock + bought − released − moved out + moved in
    balance: dict[tuple[int, int], dict[int, float]] = {
        (j, i): {x[j][i].index: 1.0} for j in range(nd) for i in range(ni)
    }
    for (j, i), var in buy.items():
        balance[j, i][var.index] = -1.0
    for (j, i), var in release.items():
        balance[j, i][var.index] = 1.0
    for (a, b, i), var in move.items():
        balance[a, i][var.index] = 1.0
        balance[b, i][var.index] = -1.0
    for (j, i), terms in balance.items():
        model.add_row(
            list(terms), list(terms.values()), "==", float(stock[j, i]), f"balance[{j},{i}]"
        )
    # (F2) outflow: only today's stock can be released or moved away
    outflow: dict[tuple[int, int], list[Var]] = {}
    for (a, _b, i), var in move.items():
        outflow.setdefault((a, i), []).append(var)
    for (j, i), var in release.items():
        outflow.setdefault((j, i), []).append(var)
    for (j, i), out in outflow.items():
        if len(out) > 1:
            model.add_row(out, np.ones(len(out)), "<=", float(stock[j, i]), f"outflow[{j},{i}]")
    # (F3) volume and (F4) one size class per candidate
    for j in range(nd):
        if cap[j] <= 0 and j not in sizes:
            continue
        expr = LinExpr.weighted(x[j], vol)
        for c, size in enumerate(sizes.get(j, [])):
            expr.terms[opened[j, c].index] = -float(size.capacity_m3)
        model.add_constraint(expr <= float(cap[j]), f"volume[{j}]")
        if j in sizes:
            ys = [opened[j, c] for c in range(len(sizes[j]))]
            model.add_row(ys, np.ones(len(ys)), "<=", 1.0, f"one_size[{j}]")

    parts = {
        "buy": LinExpr.weighted([buy[k] for k in buy], [inst.buy_cost[k[1]] for k in buy]),
        "move": LinExpr.weighted(
            list(move.values()),
            [float(inst.move_cost_m3[a, b]) * vol[i] for (a, b, i) in move]  # type: ignore[index]
            if move
            else [],
        ),
        "hold": LinExpr.weighted(
            [x[j][i] for j in range(nd) for i in range(ni)],
            [inst.hold_cost[i] for j in range(nd) for i in range(ni)],
        ),
        "open": LinExpr.weighted(
            [opened[k] for k in opened], [sizes[j][c].fixed_cost for (j, c) in opened]
        ),
        "release": LinExpr.weighted(
            [release[k] for k in release], [-inst.release_value[k[1]] for k in release]
        ),
    }
    fs = _FirstStage(x, buy, release, move, opened, v, parts)
    # (F5) budget on the net spend on changes: buying, moving, opening − release income
    if opt.budget is not None:
        spend = LinExpr.total([parts["buy"], parts["move"], parts["open"], parts["release"]])
        model.add_constraint(spend <= float(opt.budget), "budget")
    # (F6) the service level must hold in scenarios of total probability >= α
    if v is not None:
        probs = [sc.probability for sc in inst.scenarios]
        model.add_row(v, probs, ">=", float(opt.scenario_share) - 1e-9, "scenario_share")
    return fs


# --------------------------------------------------------------------------------------------
# Build: second stage of one scenario as sparse arrays (shared by both methods)
# --------------------------------------------------------------------------------------------


@dataclass
class _ScenarioLP:
    """``min cost·y`` s.t. ``A y (<= or ==) h + T X``, ``y >= 0``; X = first-stage link vector.

    Costs are already weighted by the scenario probability; elastic slacks are not.
    """

    cost: np.ndarray
    A: sp.csr_matrix
    h: np.ndarray
    is_eq: np.ndarray
    T: sp.csr_matrix
    u_cols: np.ndarray  # column of unmet (r, i) pairs
    u_ri: np.ndarray  # (n_u, 2) region, item
    sigma_cols: np.ndarray  # elastic slack per item with a service row
    sigma_items: np.ndarray
    beta_rows: np.ndarray  # service row per item (S5)
    beta_items: np.ndarray
    need_rows: np.ndarray  # need row (S4) of each u column
    part_cols: dict[str, np.ndarray]
    need_item: np.ndarray  # (I,) total need per item

    def rhs(self, X: np.ndarray) -> np.ndarray:
        return self.h + self.T @ X


def _feasible_pairs(hours: np.ndarray, lead: np.ndarray, deadline: float) -> np.ndarray:
    """Boolean (sources, regions): lead + travel <= deadline (the "within 10 h" rule)."""
    with np.errstate(invalid="ignore"):
        return (lead[:, None] + hours) <= deadline + 1e-9


def _scenario_lp(inst: PrepositioningInstance, s: int, opt: _Options) -> _ScenarioLP:
    nd, ni, nr, ns = inst.shape
    sc = inst.scenarios[s]
    p = float(sc.probability)
    vol = np.asarray(inst.item_m3, dtype=float)
    lead = (
        np.asarray(inst.depot_lead_hours, dtype=float)
        if inst.depot_lead_hours is not None
        else np.zeros(nd)
    )
    T_hours = inst.deadline_hours
    need = np.asarray(sc.need, dtype=float)
    sizes = {inst.depot_ids.index(d) for d, sz in inst.candidate_sizes.items() if sz}
    can_hold = (np.asarray(inst.capacity_m3) > 0) | np.isin(np.arange(nd), list(sizes))
    if opt.fixed_stock is not None:
        can_hold &= opt.fixed_stock.sum(axis=1) > 0
    n_link = nd * ni + (ns if opt.scenario_share is not None else 0)
    tau = vol * inst.transport_cost_m3h

    cost: list[float] = []
    parts: dict[str, list[int]] = {"transport": [], "external": [], "penalty": [], "slack": []}
    demand_terms: dict[tuple[int, int], list[int]] = {}
    rows_i: list[int] = []
    rows_j: list[int] = []
    rows_v: list[float] = []
    h: list[float] = []
    is_eq: list[bool] = []
    t_rows: list[int] = []
    t_cols: list[int] = []
    t_vals: list[float] = []

    def new_col(c: float, part: str) -> int:
        cost.append(c)
        parts[part].append(len(cost) - 1)
        return len(cost) - 1

    def new_row(cols: Sequence[int], coefs: Sequence[float], rhs: float, eq: bool) -> int:
        r = len(h)
        rows_i.extend([r] * len(cols))
        rows_j.extend(cols)
        rows_v.extend(coefs)
        h.append(rhs)
        is_eq.append(eq)
        return r

    has_need = need > 0
    need_regions = np.flatnonzero(has_need.any(axis=1))
    depot_ok = _feasible_pairs(sc.depot_hours[:, need_regions], lead, T_hours)
    # depot shipments and (S1) depot supply: Σ_r z <= (1 − δ) x
    for j in range(nd):
        if not can_hold[j] or sc.depot_loss[j] >= 1:
            continue
        regions = need_regions[depot_ok[j]]
        if len(regions) == 0:
            continue
        for i in range(ni):
            cols = []
            for r in regions:
                if has_need[r, i]:
                    col = new_col(p * tau[i] * float(sc.depot_hours[j, r]), "transport")
                    demand_terms.setdefault((r, i), []).append(col)
                    cols.append(col)
            if cols:
                row = new_row(cols, [1.0] * len(cols), 0.0, False)
                t_rows.append(row)
                t_cols.append(j * ni + i)
                t_vals.append(1.0 - float(sc.depot_loss[j]))
    # external shipments, (S2) stock limits and (S3) production limits
    item_pos = {item: k for k, item in enumerate(inst.item_ids)}
    for e, ext in enumerate(inst.external):
        i = item_pos[ext.item]
        hours = sc.external_hours[e]
        ok = [
            r
            for r in need_regions
            if has_need[r, i] and ext.lead_hours + hours[r] <= T_hours + 1e-9
        ]
        if not ok:
            continue
        cols = []
        for r in ok:
            col = new_col(p * (ext.unit_cost + tau[i] * float(hours[r])), "external")
            demand_terms.setdefault((r, i), []).append(col)
            cols.append(col)
        if ext.kind == "capacity":
            latest = np.array([T_hours - float(hours[r]) for r in ok])
            order = np.argsort(latest, kind="stable")
            for q in range(len(order)):
                if q + 1 < len(order) and latest[order[q + 1]] <= latest[order[q]] + 1e-12:
                    continue  # the row of the last region with this completion time covers it
                chosen = [cols[k] for k in order[: q + 1]]
                limit = ext.rate_per_day * max(0.0, latest[order[q]] - ext.lead_hours) / 24.0
                new_row(chosen, [1.0] * len(chosen), limit, False)
        else:
            new_row(cols, [1.0] * len(cols), float(ext.quantity), False)
    # unmet need and (S4) need balance
    u_cols: list[int] = []
    u_ri: list[tuple[int, int]] = []
    need_rows: list[int] = []
    for r in need_regions:
        for i in range(ni):
            if not has_need[r, i]:
                continue
            col = new_col(p * float(inst.penalty[i]), "penalty")
            u_cols.append(col)
            u_ri.append((r, i))
            terms = demand_terms.get((r, i), []) + [col]
            need_rows.append(new_row(terms, [1.0] * len(terms), float(need[r, i]), True))
    # (S5) service level per item: Σ_r u <= (1 − β) need  (or need − β need v_s)
    sigma_cols: list[int] = []
    sigma_items: list[int] = []
    beta_rows: list[int] = []
    beta_items: list[int] = []
    need_item = need.sum(axis=0)
    if opt.service_level is not None:
        beta = float(opt.service_level)
        by_item: dict[int, list[int]] = {}
        for col, (_r, i) in zip(u_cols, u_ri, strict=True):
            by_item.setdefault(i, []).append(col)
        for i, cols in sorted(by_item.items()):
            coefs = [1.0] * len(cols)
            if opt.elastic_penalty is not None:
                sig = new_col(float(opt.elastic_penalty), "slack")
                sigma_cols.append(sig)
                sigma_items.append(i)
                cols = cols + [sig]
                coefs = coefs + [-1.0]
            beta_items.append(i)
            if opt.scenario_share is None:
                beta_rows.append(new_row(cols, coefs, (1.0 - beta) * float(need_item[i]), False))
            else:
                row = new_row(cols, coefs, float(need_item[i]), False)
                beta_rows.append(row)
                t_rows.append(row)
                t_cols.append(nd * ni + s)
                t_vals.append(-beta * float(need_item[i]))
    m, n = len(h), len(cost)
    A = sp.csr_matrix((rows_v, (rows_i, rows_j)), shape=(m, n))
    T = sp.csr_matrix((t_vals, (t_rows, t_cols)), shape=(m, n_link))
    return _ScenarioLP(
        cost=np.asarray(cost, dtype=float),
        A=A,
        h=np.asarray(h, dtype=float),
        is_eq=np.asarray(is_eq, dtype=bool),
        T=T,
        u_cols=np.asarray(u_cols, dtype=np.int64),
        u_ri=np.asarray(u_ri, dtype=np.int64).reshape(-1, 2),
        sigma_cols=np.asarray(sigma_cols, dtype=np.int64),
        sigma_items=np.asarray(sigma_items, dtype=np.int64),
        beta_rows=np.asarray(beta_rows, dtype=np.int64),
        beta_items=np.asarray(beta_items, dtype=np.int64),
        need_rows=np.asarray(need_rows, dtype=np.int64),
        part_cols={k: np.asarray(v, dtype=np.int64) for k, v in parts.items()},
        need_item=need_item,
    )


# --------------------------------------------------------------------------------------------
# Extensive form
# --------------------------------------------------------------------------------------------


@dataclass
class ExtensiveModel:
    """The deterministic equivalent as a LinearModel plus what is needed to read it out."""

    model: LinearModel
    first: _FirstStage
    lps: list[_ScenarioLP]
    offsets: list[int]


def build_extensive(
    inst: PrepositioningInstance,
    *,
    budget: float | None = None,
    service_level: float | None = None,
    scenario_share: float | None = None,
    integer_stock: bool = False,
    fixed_stock: np.ndarray | None = None,
    elastic_penalty: float | None = None,
) -> ExtensiveModel:
    """Build the extensive form (checks the input first)."""
    validate_instance(inst)
    _check_options(budget, service_level, scenario_share)
    opt = _Options(
        budget,
        service_level,
        scenario_share,
        integer_stock,
        None if fixed_stock is None else np.asarray(fixed_stock, dtype=float),
        elastic_penalty,
    )
    model = LinearModel("prepositioning_extensive")
    first = _add_first_stage(model, inst, opt)
    link = np.fromiter((v.index for v in first.link_vars()), dtype=np.int64)
    objective = first.cost
    lps, offsets = [], []
    for s in range(len(inst.scenarios)):
        lp = _scenario_lp(inst, s, opt)
        start = model.num_vars
        for k in range(len(lp.cost)):
            model.add_var(f"y{s}[{k}]")
        offsets.append(start)
        lps.append(lp)
        for k in np.flatnonzero(lp.cost):
            objective.terms[start + int(k)] = float(lp.cost[k])
        A, T = lp.A, lp.T
        for row in range(A.shape[0]):
            a0, a1 = A.indptr[row], A.indptr[row + 1]
            t0, t1 = T.indptr[row], T.indptr[row + 1]
            idx = np.concatenate([A.indices[a0:a1] + start, link[T.indices[t0:t1]]])
            coefs = np.concatenate([A.data[a0:a1], -T.data[t0:t1]])
            model.add_row(idx, coefs, "==" if lp.is_eq[row] else "<=", float(lp.h[row]))
    model.minimize(objective)
    return ExtensiveModel(model, first, lps, offsets)


# --------------------------------------------------------------------------------------------
# Solve
# --------------------------------------------------------------------------------------------


def solve_prepositioning(
    inst: PrepositioningInstance,
    *,
    budget: float | None = None,
    service_level: float | None = None,
    scenario_share: float | None = None,
    method: Method = "extensive",
    params: SolverParams | None = None,
    integer_stock: bool = False,
    fixed_stock: np.ndarray | None = None,
    max_iterations: int = 500,
    explain: bool = True,
) -> PrepositioningResult:
    """Build, solve and read out the pre-positioning plan.

    Parameters
    ----------
    inst
        The instance.
    budget
        Cap on the net first-stage spend (yuan); ``None`` = no cap.
    service_level
        β: at least this share of each item's need met within the deadline in every scenario,
        or, with ``scenario_share`` α, in scenarios of total probability ≥ α.
    method
        ``"extensive"`` (any backend in ``params``) or ``"benders"`` (multi-cut L-shaped, HiGHS).
    params
        Solver parameters. For Benders ``time_limit`` applies and ``gap`` sets the stopping
        tolerance, at least 1e-6: "optimal" means (upper − lower bound) ≤ tolerance × |upper|.
    integer_stock
        Whole units in the first stage (second stage stays continuous).
    fixed_stock
        (D, I) targets to hold fixed (used for VSS); the cheapest actions to reach them are chosen.

    Raises
    ------
    PrepositioningInputError
        Malformed input (``field`` names it).
    ServiceLevelInfeasibleError
        The service level cannot be met; ``details`` says where.
    """
    params = params if params is not None else SolverParams()
    validate_instance(inst)
    _check_options(budget, service_level, scenario_share)
    _check_fixed_stock(inst, fixed_stock)
    if service_level is not None:
        _precheck_service_level(inst, service_level, scenario_share)
    if method == "extensive":
        result = _solve_extensive(
            inst, budget, service_level, scenario_share, params, integer_stock, fixed_stock
        )
    elif method == "benders":
        result = _solve_benders(
            inst,
            budget,
            service_level,
            scenario_share,
            params,
            integer_stock,
            fixed_stock,
            max_iterations,
            explain,
        )
    else:
        raise PrepositioningInputError(
            f"method must be 'extensive' or 'benders', got {method!r}", "method"
        )
    if method == "extensive" and result.status == "infeasible" and service_level is not None:
        if explain:
            _explain_infeasible(
                inst, budget, service_level, scenario_share, integer_stock, fixed_stock
            )
    return result


def _solve_extensive(
    inst: PrepositioningInstance,
    budget: float | None,
    service_level: float | None,
    scenario_share: float | None,
    params: SolverParams,
    integer_stock: bool,
    fixed_stock: np.ndarray | None,
) -> PrepositioningResult:
    em = build_extensive(
        inst,
        budget=budget,
        service_level=service_level,
        scenario_share=scenario_share,
        integer_stock=integer_stock,
        fixed_stock=fixed_stock,
    )
    res = em.model.solve(params)
    if res.values is None:
        return PrepositioningResult(
            res.status,
            None,
            res.bound,
            None,
            res.solve_seconds,
            res.solver,
            "extensive",
            message=em.model.summary(),
        )
    values = res.values
    seconds = [
        _second_stage_summary(lp, values[off : off + len(lp.cost)])
        for lp, off in zip(em.lps, em.offsets, strict=True)
    ]
    out = _extract(inst, em.first, values, seconds, service_level)
    out.status, out.objective, out.bound = res.status, res.objective, res.bound
    out.gap, out.solve_seconds, out.solver = res.gap, res.solve_seconds, res.solver
    out.method, out.message = "extensive", em.model.summary()
    return out


@dataclass
class _Stage2:
    unmet: np.ndarray  # (n_u,) values of u
    lp: _ScenarioLP
    parts: dict[str, float]  # probability-weighted cost parts
    slack: float


def _second_stage_summary(lp: _ScenarioLP, y: np.ndarray) -> _Stage2:
    parts = {k: float(lp.cost[c] @ y[c]) for k, c in lp.part_cols.items() if k != "slack"}
    slack = float(y[lp.sigma_cols].sum()) if len(lp.sigma_cols) else 0.0
    return _Stage2(y[lp.u_cols].copy(), lp, parts, slack)


def _coverage(stage: _Stage2) -> float:
    """Mean over items with need of the share met within the deadline."""
    lp = stage.lp
    items = np.flatnonzero(lp.need_item > 0)
    if len(items) == 0:
        return 1.0
    unmet = np.zeros(len(lp.need_item))
    np.add.at(unmet, lp.u_ri[:, 1], np.maximum(stage.unmet, 0.0))
    shares = 1.0 - unmet[items] / lp.need_item[items]
    return float(np.clip(shares, 0.0, 1.0).mean())


def _extract(
    inst: PrepositioningInstance,
    first: _FirstStage,
    values: np.ndarray,
    stages: list[_Stage2],
    service_level: float | None,
) -> PrepositioningResult:
    nd, ni, _, _ = inst.shape
    stock = np.array([[values[first.x[j][i].index] for i in range(ni)] for j in range(nd)])
    stock[np.abs(stock) < 1e-9] = 0.0
    targets = {
        inst.depot_ids[j]: {inst.item_ids[i]: float(stock[j, i]) for i in range(ni)}
        for j in range(nd)
        if stock[j].any() or np.asarray(inst.current_stock)[j].any()
    }
    vol = np.asarray(inst.item_m3, dtype=float)
    actions: list[Action] = []
    for (j, i), var in first.buy.items():
        q = float(values[var.index])
        if q > 1e-6:
            actions.append(
                Action(
                    "buy",
                    inst.item_ids[i],
                    q,
                    q * float(inst.buy_cost[i]),
                    to_depot=inst.depot_ids[j],
                )
            )
    for (j, k, i), var in first.move.items():
        q = float(values[var.index])
        if q > 1e-6:
            cost = q * vol[i] * float(inst.move_cost_m3[j, k])  # type: ignore[index]
            actions.append(
                Action(
                    "move",
                    inst.item_ids[i],
                    q,
                    cost,
                    from_depot=inst.depot_ids[j],
                    to_depot=inst.depot_ids[k],
                )
            )
    for (j, i), var in first.release.items():
        q = float(values[var.index])
        if q > 1e-6:
            actions.append(
                Action(
                    "release",
                    inst.item_ids[i],
                    q,
                    -q * float(inst.release_value[i]),
                    from_depot=inst.depot_ids[j],
                )
            )
    opened = {}
    for (j, c), var in first.open.items():
        if values[var.index] > 0.5:
            opened[inst.depot_ids[j]] = inst.candidate_sizes[inst.depot_ids[j]][c]
    cost = {k: _value(expr, values) for k, expr in first.parts.items()}
    cost["release"] = cost.pop("release")
    for part in ("transport", "external", "penalty"):
        cost[f"expected_{part}"] = float(sum(st.parts.get(part, 0.0) for st in stages))
    cov = {inst.scenarios[s].id: _coverage(st) for s, st in enumerate(stages)}
    probs = np.array([sc.probability for sc in inst.scenarios])
    shares = np.array(list(cov.values()))
    worst = int(np.argmin(shares))
    meeting: list[str] = []
    if service_level is not None:
        for s, st in enumerate(stages):
            lp = st.lp
            unmet = np.zeros(ni)
            np.add.at(unmet, lp.u_ri[:, 1], st.unmet)
            if np.all(unmet <= (1 - service_level) * lp.need_item + 1e-6):
                meeting.append(inst.scenarios[s].id)
    return PrepositioningResult(
        status="",
        objective=None,
        bound=None,
        gap=None,
        solve_seconds=0.0,
        solver="",
        method="",
        targets=targets,
        stock=stock,
        actions=actions,
        opened=opened,
        expected_coverage=float(probs @ shares),
        worst_coverage=float(shares[worst]),
        worst_scenario=inst.scenarios[worst].id,
        scenario_coverage=cov,
        scenarios_meeting_level=meeting,
        cost=cost,
    )


def _value(expr: LinExpr, values: np.ndarray) -> float:
    return expr.constant + sum(c * float(values[k]) for k, c in expr.terms.items())


# --------------------------------------------------------------------------------------------
# Benders (multi-cut L-shaped) with HiGHS
# --------------------------------------------------------------------------------------------


def _highs_from_scenario(lp: _ScenarioLP, X: np.ndarray) -> Any:
    import highspy

    h = new_highs()
    h.setOptionValue("presolve", "off")  # warm-started dual simplex on rhs changes
    inf = highspy.kHighsInf
    n = len(lp.cost)
    model = highspy.HighsLp()
    model.num_col_ = n
    model.num_row_ = lp.A.shape[0]
    model.col_cost_ = lp.cost
    model.col_lower_ = np.zeros(n)
    model.col_upper_ = np.full(n, inf)
    rhs = lp.rhs(X)
    model.row_lower_ = np.where(lp.is_eq, rhs, -inf)
    model.row_upper_ = rhs
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = lp.A.indptr.astype(np.int32)
    model.a_matrix_.index_ = lp.A.indices.astype(np.int32)
    model.a_matrix_.value_ = lp.A.data.astype(float)
    h.passModel(model)
    return h


def _solve_sub(
    h: Any, lp: _ScenarioLP, X: np.ndarray
) -> tuple[bool, float, np.ndarray, np.ndarray]:
    """Solve one scenario LP at X.

    Returns ``(True, value, subgradient wrt X, column values)`` when it has a solution, or
    ``(False, r·h, Tᵀr, r)`` with a dual ray ``r`` (Farkas certificate) when it is infeasible.
    """
    import highspy

    if len(lp.cost) == 0:  # nothing needed in this scenario
        return True, 0.0, np.zeros(lp.T.shape[1]), np.zeros(0)
    rhs = lp.rhs(X)
    m = len(rhs)
    lower = np.where(lp.is_eq, rhs, -highspy.kHighsInf)
    h.changeRowsBounds(m, np.arange(m, dtype=np.int32), lower, rhs)
    h.run()
    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    if is_infeasible(status):
        _, has_ray, ray = h.getDualRay()
        if not has_ray:
            h.clearSolver()
            h.run()
            _, has_ray, ray = h.getDualRay()
        if not has_ray:
            raise RuntimeError("scenario LP is infeasible but HiGHS gave no dual ray")
        ray = np.asarray(ray, dtype=float)
        ray[np.abs(ray) < 1e-12] = 0.0
        return False, float(ray @ lp.h), np.asarray(lp.T.T @ ray).ravel(), ray
    if status != ms.kOptimal:
        h.clearSolver()
        h.run()
        status = h.getModelStatus()
        if status != ms.kOptimal:
            raise RuntimeError(f"scenario LP ended with {h.modelStatusToString(status)}")
    sol = h.getSolution()
    duals = np.asarray(sol.row_dual)
    value = float(h.getInfo().objective_function_value)
    grad = lp.T.T @ duals
    return True, value, np.asarray(grad).ravel(), np.asarray(sol.col_value)


def _run_master(hm: Any) -> Any:
    """Run the master; on a numerical failure retry from scratch, then with interior point."""
    import highspy

    ms = highspy.HighsModelStatus
    hm.run()
    status = hm.getModelStatus()
    if status in (ms.kOptimal, ms.kInfeasible, ms.kTimeLimit):
        return status
    hm.clearSolver()
    hm.run()
    status = hm.getModelStatus()
    if status in (ms.kOptimal, ms.kInfeasible, ms.kTimeLimit):
        return status
    hm.clearSolver()
    hm.setOptionValue("solver", "ipm")
    hm.run()
    hm.setOptionValue("solver", "choose")
    return hm.getModelStatus()


def _solve_benders(
    inst: PrepositioningInstance,
    budget: float | None,
    service_level: float | None,
    scenario_share: float | None,
    params: SolverParams,
    integer_stock: bool,
    fixed_stock: np.ndarray | None,
    max_iterations: int,
    explain: bool,
) -> PrepositioningResult:
    import highspy

    started = time.perf_counter()
    deadline = None if params.time_limit is None else started + params.time_limit
    tol = max(params.gap, 1e-6)
    opt = _Options(
        budget,
        service_level,
        scenario_share,
        integer_stock,
        None if fixed_stock is None else np.asarray(fixed_stock, dtype=float),
        None,
    )
    master = LinearModel("prepositioning_master")
    first = _add_first_stage(master, inst, opt)
    theta = [master.add_var(f"theta[{s}]") for s in range(len(inst.scenarios))]
    master.minimize(first.cost + LinExpr.total(theta))
    link_idx = np.fromiter((v.index for v in first.link_vars()), dtype=np.int64)
    theta_idx = np.array([t.index for t in theta], dtype=np.int64)
    first_cost = first.cost
    hm = highs_from_model(master, params)
    hm.setOptionValue("mip_rel_gap", 1e-9)
    lps = [_scenario_lp(inst, s, opt) for s in range(len(inst.scenarios))]

    nd, ni, _, ns = inst.shape
    # iteration 0 evaluates today's stock (or the fixed stock) to seed the cuts
    X = np.zeros(len(link_idx))
    X[: nd * ni] = (
        opt.fixed_stock
        if opt.fixed_stock is not None
        else np.asarray(inst.current_stock, dtype=float)
    ).ravel()
    if scenario_share is not None:
        X[nd * ni :] = 1.0
    subs = [_highs_from_scenario(lp, X) for lp in lps]
    best_ub, best_values, best_stages = math.inf, None, None
    lower = -math.inf
    status = "time_limit"
    iterations = 0
    theta_hat = np.full(ns, -math.inf)
    master_values: np.ndarray | None = None
    # phase 1 relaxes the master's binaries (cheap LP masters); its cuts stay valid in phase 2
    integer_cols = np.array(
        [k for k, kind in enumerate(master.var_kind) if kind != "continuous"], dtype=np.int32
    )
    relaxed = len(integer_cols) > 0
    if relaxed:
        hm.changeColsIntegrality(
            len(integer_cols),
            integer_cols,
            np.array([highspy.HighsVarType.kContinuous] * len(integer_cols)),
        )
    relaxed_ub = math.inf
    certificates: dict[int, np.ndarray] = {}
    for iterations in range(max_iterations + 1):
        q_total = 0.0
        stages = []
        rows_start: list[int] = [0]
        rows_index: list[int] = []
        rows_value: list[float] = []
        rows_lower: list[float] = []
        all_feasible = True
        for s, (lp, h) in enumerate(zip(lps, subs, strict=True)):
            ok, value, grad, y = _solve_sub(h, lp, X)
            nz = np.flatnonzero(np.abs(grad) > 1e-12)
            if not ok:
                # feasibility cut from the ray r: plans meeting the level have r·(h + T X) on
                # the other side of 0 than X̂ (which violates it)
                all_feasible = False
                certificates[s] = y
                sign = 1.0 if value + float(grad @ X) > 0 else -1.0
                if len(nz) == 0:
                    status = "infeasible"  # no plan at all can make this scenario feasible
                rows_index.extend(link_idx[nz].tolist())
                rows_value.extend((-sign * grad[nz]).tolist())
                rows_lower.append(sign * value)
                rows_start.append(len(rows_index))
                continue
            q_total += value
            stages.append(_second_stage_summary(lp, y))
            if value > theta_hat[s] + 1e-9 * max(1.0, abs(value)):
                # optimality cut θ_s − g·X >= Q_s − g·X̂
                rows_index.extend([int(theta_idx[s]), *link_idx[nz].tolist()])
                rows_value.extend([1.0, *(-grad[nz]).tolist()])
                rows_lower.append(value - float(grad @ X))
                rows_start.append(len(rows_index))
        if status == "infeasible":
            break
        if master_values is not None and all_feasible:
            ub = _value(first_cost, master_values) + q_total
            if relaxed:
                relaxed_ub = min(relaxed_ub, ub)
            elif ub < best_ub:
                best_ub, best_values, best_stages = ub, master_values, stages
        if (
            relaxed
            and relaxed_ub < math.inf
            and relaxed_ub - lower <= tol * max(1.0, abs(relaxed_ub))
        ):
            relaxed = False  # the relaxation has converged: restore the binaries
            hm.changeColsIntegrality(
                len(integer_cols),
                integer_cols,
                np.array([highspy.HighsVarType.kInteger] * len(integer_cols)),
            )
        elif not relaxed and best_ub < math.inf and best_ub - lower <= tol * max(1.0, abs(best_ub)):
            status = "optimal"
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        if len(rows_lower):
            k = len(rows_lower)
            hm.addRows(
                k,
                np.array(rows_lower),
                np.full(k, highspy.kHighsInf),
                len(rows_index),
                np.array(rows_start[:-1], dtype=np.int32),
                np.array(rows_index, dtype=np.int32),
                np.array(rows_value),
            )
        if deadline is not None:
            hm.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()))
        mstatus = _run_master(hm)
        if is_infeasible(mstatus):
            status = "infeasible"
            break
        info = hm.getInfo()
        if info.primal_solution_status != 2:
            break
        master_values = np.asarray(hm.getSolution().col_value)
        is_mip_run = len(integer_cols) > 0 and not relaxed
        if is_mip_run and math.isfinite(info.mip_dual_bound):
            lower = max(lower, info.mip_dual_bound)
        elif not is_mip_run and mstatus == highspy.HighsModelStatus.kOptimal:
            lower = max(lower, info.objective_function_value)
        X = master_values[link_idx]
        theta_hat = master_values[theta_idx]
        if iterations == max_iterations:
            status = "feasible"
    seconds = time.perf_counter() - started
    if status == "infeasible" and service_level is not None and explain:
        _explain_certificates(inst, lps, certificates, service_level, scenario_share)
    if best_values is None or best_stages is None:
        return PrepositioningResult(
            "infeasible" if status == "infeasible" else status,
            None,
            None if lower == -math.inf else lower,
            None,
            seconds,
            "benders-highs",
            "benders",
            iterations=iterations,
        )
    out = _extract(inst, first, best_values, best_stages, service_level)
    objective = best_ub
    out.status = status
    out.objective = objective
    out.bound = min(lower, objective) if status == "optimal" else lower
    out.gap = abs(objective - out.bound) / max(abs(objective), 1e-10)
    out.solve_seconds, out.solver, out.method = seconds, "benders-highs", "benders"
    out.iterations = iterations
    out.message = f"{iterations} iterations, {hm.getNumRow() - master.num_constraints} cuts"
    return out


# --------------------------------------------------------------------------------------------
# Service level explanations
# --------------------------------------------------------------------------------------------


def _precheck_service_level(inst: PrepositioningInstance, beta: float, share: float | None) -> None:
    """Before solving: need that no source can reach within the deadline caps the service level."""
    nd, ni, nr, _ = inst.shape
    lead = (
        np.asarray(inst.depot_lead_hours, dtype=float)
        if inst.depot_lead_hours is not None
        else np.zeros(nd)
    )
    sizes = {inst.depot_ids.index(d) for d, sz in inst.candidate_sizes.items() if sz}
    can_hold = (np.asarray(inst.capacity_m3) > 0) | np.isin(np.arange(nd), list(sizes))
    item_pos = {item: k for k, item in enumerate(inst.item_ids)}
    details: list[dict[str, Any]] = []
    ok_prob = 0.0
    for sc in inst.scenarios:
        reach = np.zeros((nr, ni), dtype=bool)
        alive = can_hold & (np.asarray(sc.depot_loss) < 1)
        dep = _feasible_pairs(sc.depot_hours, lead, inst.deadline_hours) & alive[:, None]
        reach |= dep.any(axis=0)[:, None]
        for e, ext in enumerate(inst.external):
            ok = ext.lead_hours + sc.external_hours[e] <= inst.deadline_hours + 1e-9
            reach[ok, item_pos[ext.item]] = True
        scenario_ok = True
        for i in range(ni):
            total = float(sc.need[:, i].sum())
            lost = np.flatnonzero((sc.need[:, i] > 0) & ~reach[:, i])
            cut_off = float(sc.need[lost, i].sum())
            if total > 0 and cut_off > (1 - beta) * total + 1e-9:
                scenario_ok = False
                details.append(
                    {
                        "scenario": sc.id,
                        "item": inst.item_ids[i],
                        "regions": [inst.region_ids[r] for r in lost],
                        "need": total,
                        "unreachable_need": cut_off,
                        "max_share": 1 - cut_off / total,
                        "reason": "no source reaches these regions within the deadline",
                    }
                )
        if scenario_ok:
            ok_prob += sc.probability
    if share is None and details:
        d = details[0]
        raise ServiceLevelInfeasibleError(
            f"service level {beta:.0%} cannot be met: in scenario {d['scenario']} no source "
            f"reaches regions {d['regions'][:5]} within {inst.deadline_hours:g} h, so at most "
            f"{d['max_share']:.1%} of item {d['item']} can be met ({len(details)} such cases)",
            details,
        )
    if share is not None and ok_prob < share - 1e-9:
        raise ServiceLevelInfeasibleError(
            f"service level {beta:.0%} can be met at best in scenarios of probability "
            f"{ok_prob:.3f} < {share}: unreachable regions, see details",
            details,
        )


def _explain_certificates(
    inst: PrepositioningInstance,
    lps: list[_ScenarioLP],
    certificates: dict[int, np.ndarray],
    beta: float,
    share: float | None,
) -> None:
    """Benders found no plan meeting the level: report the scenarios whose Farkas certificates
    cut the plans off, the items whose service rows the certificate uses and their regions."""
    details: list[dict[str, Any]] = []
    for s, ray in sorted(certificates.items()):
        lp = lps[s]
        for row, i in zip(lp.beta_rows, lp.beta_items, strict=True):
            if abs(ray[row]) <= 1e-9:
                continue
            mask = (lp.u_ri[:, 1] == i) & (np.abs(ray[lp.need_rows]) > 1e-9)
            weight = np.abs(ray[lp.need_rows][mask])
            regions = lp.u_ri[mask][np.argsort(-weight), 0][:5]
            details.append(
                {
                    "scenario": inst.scenarios[s].id,
                    "item": inst.item_ids[i],
                    "regions": [inst.region_ids[int(r)] for r in regions],
                    "need": float(lp.need_item[i]),
                    "reason": "budget, depot volume or reach too small for this need "
                    "(Farkas certificate of the scenario at the last plan tried)",
                }
            )
    what = "in every scenario" if share is None else f"in scenarios of probability {share}"
    first = details[0] if details else None
    where = (
        f": e.g. scenario {first['scenario']}, item {first['item']}, regions {first['regions']}"
        if first
        else ""
    )
    raise ServiceLevelInfeasibleError(
        f"service level {beta:.0%} {what} cannot be met within the budget and volumes{where}; "
        f"{len(details)} scenario-item pairs involved",
        details,
    )


def _explain_infeasible(
    inst: PrepositioningInstance,
    budget: float | None,
    beta: float,
    share: float | None,
    integer_stock: bool,
    fixed_stock: np.ndarray | None,
) -> None:
    """After an infeasible solve: minimise total service slack and report where it is needed."""
    em = build_extensive(
        inst,
        budget=budget,
        service_level=beta,
        scenario_share=None,
        integer_stock=False,
        fixed_stock=fixed_stock,
        elastic_penalty=1.0,
    )
    # only the slack counts: need-weighted so that items in different units compare
    objective = LinExpr()
    for lp, off in zip(em.lps, em.offsets, strict=True):
        for col, i in zip(lp.sigma_cols, lp.sigma_items, strict=True):
            objective.terms[off + int(col)] = 1.0 / max(float(lp.need_item[i]), 1e-9)
    em.model.minimize(objective)
    res = em.model.solve(SolverParams(solver="highs"))
    details: list[dict[str, Any]] = []
    if res.values is not None:
        for s, (lp, off) in enumerate(zip(em.lps, em.offsets, strict=True)):
            for col, i in zip(lp.sigma_cols, lp.sigma_items, strict=True):
                slack = float(res.values[off + int(col)])
                if slack <= 1e-6:
                    continue
                mask = lp.u_ri[:, 1] == i
                unmet = res.values[off + lp.u_cols[mask]]
                order = np.argsort(-unmet)[:5]
                details.append(
                    {
                        "scenario": inst.scenarios[s].id,
                        "item": inst.item_ids[i],
                        "regions": [
                            inst.region_ids[int(lp.u_ri[mask][k, 0])]
                            for k in order
                            if unmet[k] > 1e-6
                        ],
                        "need": float(lp.need_item[i]),
                        "shortfall": slack,
                        "max_share": beta - slack / float(lp.need_item[i]),
                        "reason": "budget or depot volume too small for this need",
                    }
                )
    details.sort(key=lambda d: -d["shortfall"] / max(d["need"], 1e-9))
    if details:
        d = details[0]
        what = "in every scenario" if share is None else f"in scenarios of probability {share}"
        raise ServiceLevelInfeasibleError(
            f"service level {beta:.0%} {what} cannot be met within the budget and volumes: "
            f"scenario {d['scenario']}, item {d['item']} falls short by {d['shortfall']:,.0f} "
            f"units (regions most short: {d['regions']}); {len(details)} scenario-item pairs "
            "short",
            details,
        )
    raise ServiceLevelInfeasibleError(
        f"service level {beta:.0%} cannot be met (budget {budget}); no single scenario is short "
        "on its own, the scenario share cannot be reached together",
        details,
    )


# --------------------------------------------------------------------------------------------
# VSS, EVPI, budget sweep
# --------------------------------------------------------------------------------------------


def mean_value_instance(inst: PrepositioningInstance) -> PrepositioningInstance:
    """The expected-value problem: one scenario with the mean need and mean stock loss; a pair's
    travel time is its mean over the scenarios where it is reachable, and it counts as
    unreachable when that happens with probability >= 0.5."""
    probs = np.array([sc.probability for sc in inst.scenarios])

    def mean_hours(arrays: list[np.ndarray]) -> np.ndarray:
        stack = np.stack(arrays)
        finite = np.isfinite(stack)
        weight = np.tensordot(probs, finite.astype(float), axes=1)
        total = np.tensordot(probs, np.where(finite, stack, 0.0), axes=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / weight
        return np.where(weight > 0.5, mean, np.inf)

    sc = ScenarioData(
        id="mean",
        probability=1.0,
        need=np.tensordot(probs, np.stack([s.need for s in inst.scenarios]), axes=1),
        depot_hours=mean_hours([s.depot_hours for s in inst.scenarios]),
        external_hours=mean_hours([s.external_hours for s in inst.scenarios])
        if inst.external
        else np.zeros((0, len(inst.region_ids))),
        depot_loss=np.tensordot(probs, np.stack([s.depot_loss for s in inst.scenarios]), axes=1),
        hazard="mean",
    )
    return inst.with_scenarios([sc])


@dataclass
class StochasticValue:
    """``rp`` recourse problem optimum; ``ev`` mean-value optimum; ``eev`` the mean-value plan
    evaluated in the stochastic problem; ``vss = eev − rp``; ``ws`` wait-and-see value;
    ``evpi = rp − ws``."""

    rp: float
    ev: float | None = None
    eev: float | None = None
    vss: float | None = None
    ws: float | None = None
    evpi: float | None = None
    ws_by_scenario: dict[str, float] = field(default_factory=dict)


def value_of_stochastic_solution(
    inst: PrepositioningInstance, *, rp: PrepositioningResult | None = None, **options: Any
) -> StochasticValue:
    """VSS: solve the mean-value problem, fix its stock targets, evaluate them under all
    scenarios (EEV) and compare with the stochastic optimum (RP). Options as
    :func:`solve_prepositioning`; ``inf`` when the mean-value plan is infeasible there."""
    rp = rp or solve_prepositioning(inst, **options)
    ev = solve_prepositioning(mean_value_instance(inst), **options)
    if rp.objective is None or ev.objective is None or ev.stock is None:
        raise PrepositioningInputError("no solution to compare (infeasible?)", "scenarios")
    try:
        eev_res = solve_prepositioning(inst, **{**options, "fixed_stock": ev.stock}, explain=False)
        eev = eev_res.objective if eev_res.objective is not None else math.inf
    except ServiceLevelInfeasibleError:
        eev = math.inf
    return StochasticValue(rp=rp.objective, ev=ev.objective, eev=eev, vss=eev - rp.objective)


def expected_value_of_perfect_information(
    inst: PrepositioningInstance, *, rp: PrepositioningResult | None = None, **options: Any
) -> StochasticValue:
    """EVPI = RP − WS with WS = Σ_s p_s · (optimum when scenario s is known in advance)."""
    rp = rp or solve_prepositioning(inst, **options)
    if rp.objective is None:
        raise PrepositioningInputError("the stochastic problem has no solution", "scenarios")
    by: dict[str, float] = {}
    ws = 0.0
    for sc in inst.scenarios:
        single = inst.with_scenarios([replace(sc, probability=1.0)])
        res = solve_prepositioning(single, **options)
        if res.objective is None:
            raise PrepositioningInputError(f"scenario {sc.id} alone has no solution", "scenarios")
        by[sc.id] = res.objective
        ws += sc.probability * res.objective
    return StochasticValue(rp=rp.objective, ws=ws, evpi=rp.objective - ws, ws_by_scenario=by)


@dataclass(frozen=True)
class BudgetPoint:
    """One point of the cost-vs-coverage curve."""

    budget: float
    status: str
    objective: float | None
    first_stage_cost: float | None
    expected_coverage: float | None
    worst_coverage: float | None
    expected_unmet_penalty: float | None


def budget_sweep(
    inst: PrepositioningInstance, budgets: Sequence[float], **options: Any
) -> list[BudgetPoint]:
    """Solve for each budget (ascending) and return the cost-vs-coverage curve."""
    points = []
    for b in sorted(float(x) for x in budgets):
        res = solve_prepositioning(inst, budget=b, **options)
        first = None
        if res.objective is not None:
            first = sum(res.cost.get(k, 0.0) for k in ("buy", "move", "hold", "open", "release"))
        points.append(
            BudgetPoint(
                budget=b,
                status=res.status,
                objective=res.objective,
                first_stage_cost=first,
                expected_coverage=res.expected_coverage,
                worst_coverage=res.worst_coverage,
                expected_unmet_penalty=res.cost.get("expected_penalty"),
            )
        )
    return points


def plot_budget_curve(points: Sequence[BudgetPoint], path: str | Path, title: str = "") -> Path:
    """Write a PNG of expected and worst-scenario coverage against the budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p.budget / 1e6 for p in points if p.expected_coverage is not None]
    exp = [p.expected_coverage * 100 for p in points if p.expected_coverage is not None]
    worst = [p.worst_coverage * 100 for p in points if p.worst_coverage is not None]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(xs, exp, marker="o", label="expected share met within deadline")
    ax.plot(xs, worst, marker="s", linestyle="--", label="worst scenario")
    ax.set_xlabel("budget (million yuan)")
    ax.set_ylabel("need met within deadline (%)")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out


def result_to_dict(result: PrepositioningResult) -> dict[str, Any]:
    """A JSON-friendly dict of a result (stock array left out; targets carry it)."""
    return {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "solve_seconds": result.solve_seconds,
        "solver": result.solver,
        "method": result.method,
        "iterations": result.iterations,
        "targets": result.targets,
        "actions": [a.__dict__ for a in result.actions],
        "opened": {k: v.__dict__ for k, v in result.opened.items()},
        "expected_coverage": result.expected_coverage,
        "worst_coverage": result.worst_coverage,
        "worst_scenario": result.worst_scenario,
        "scenario_coverage": result.scenario_coverage,
        "scenarios_meeting_level": result.scenarios_meeting_level,
        "cost": result.cost,
        "message": result.message,
    }


# --------------------------------------------------------------------------------------------
# 宿州 seed data → instance
# --------------------------------------------------------------------------------------------

#: Assumed unit prices (yuan) for the seed items (**A**: indicative market prices).
SEED_PRICES: dict[str, float] = {
    "1010101": 3000.0,  # tent 12 m²
    "1010201": 150.0,  # folding bed
    "1020101": 200.0,  # quilt
    "1020102": 120.0,  # blanket
    "1020201": 250.0,  # winter coat
    "1020301": 20.0,  # raincoat
    "1030101": 2.0,  # water, per L
    "1030201": 20.0,  # ready-to-eat food, per kg
    "1030301": 6.0,  # rice, per kg
    "1030401": 30.0,  # purification tablets
    "1040101": 50.0,  # hygiene kit
    "1040201": 60.0,  # disinfectant drum
    "1050101": 150.0,  # family kit
    "2020101": 3000.0,  # portable toilet
    "2030101": 8000.0,  # lighting tower
    "2030201": 60.0,  # lamp
}
SEED_ITEMS: tuple[str, ...] = (
    "1010101",
    "1010201",
    "1020101",
    "1020201",
    "1030101",
    "1030201",
    "1040101",
    "1050101",
    "2020101",
    "2030201",
)


SEED_TABLES = ("regions.csv", "items.csv", "depots.csv", "stock_lots.csv", "agreement_reserves.csv",
               "capacity_reserves.csv")


def instance_from_seed(
    seed_dir: str | Path, scenarios: Sequence[Any], graph: Any, **options: Any
) -> PrepositioningInstance:
    """The 宿州 instance from the ``seed_data`` CSVs (see :func:`instance_from_tables`)."""
    import csv

    folder = Path(seed_dir)
    tables = {}
    for name in SEED_TABLES:
        with (folder / name).open(encoding="utf-8") as fh:
            tables[name] = list(csv.DictReader(fh))
    return instance_from_tables(tables, scenarios, graph, **options)


def instance_from_tables(
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    scenarios: Sequence[Any],
    graph: Any,
    *,
    items: Sequence[str] = SEED_ITEMS,
    township_depots: int = 15,
    deadline_hours: float = 10.0,
    penalty_factor: float = 10.0,
    hold_share: float = 0.05,
    release_share: float = 0.3,
    storage_yuan_m3: float = 50.0,
    transport_yuan_m3h: float = 20.0,
    move_fixed_yuan_m3: float = 30.0,
    profile: str = "relief_truck",
) -> PrepositioningInstance:
    """The 宿州 instance from tables with the seed files' columns, scenarios and the road graph.

    ``tables`` maps each name in :data:`SEED_TABLES` to its rows (the CSV files, or the
    service's database exported in the same columns, so that today's stock is the start).
    Depots: city depots, county depots, candidates and the ``township_depots`` township points
    with the most people (planned/candidate sites get size classes half / full capacity at
    0.6 / 1.0 × their fixed cost). Enterprise-held lots, agreement and capacity reserves become
    external sources. Need = displaced × item norm (per household ÷ 2.74; per person-day ×
    days). Prices :data:`SEED_PRICES` (**A**); penalty = ``penalty_factor`` × price (**A**);
    holding = ``hold_share`` × price + storage per m³ (**A**); release = ``release_share`` ×
    price (**A**); moves cost a fixed part plus driving per m³ (**A**). Travel times: the
    scenario's road events applied to ``graph`` (events whose area crosses no road are skipped),
    seats of the regions as targets. Damage to enterprise stores is not modelled.
    """
    from reserve_service.routing.errors import RoadEventError

    def rows(name: str) -> list[Mapping[str, Any]]:
        return list(tables[name])

    regions = [r for r in rows("regions.csv") if r["level"] == "township"]
    item_rows = {r["code"]: r for r in rows("items.csv")}
    unknown = [i for i in items if i not in item_rows or i not in SEED_PRICES]
    if unknown:
        raise PrepositioningInputError(f"unknown or unpriced items {unknown}", "items")
    depot_rows = rows("depots.csv")
    population = {r["adcode"]: float(r["population"]) for r in regions}
    towns = sorted(
        (d for d in depot_rows if d["tier"] == "township"),
        key=lambda d: (-population.get(d["region_adcode"], 0.0), d["code"]),
    )[:township_depots]
    chosen = [
        d for d in depot_rows if d["tier"] in ("city", "county") and d["operator"] == "government"
    ] + towns
    depot_ids = [d["code"] for d in chosen]
    item_ids = list(items)
    region_ids = [r["adcode"] for r in regions]
    nd, ni = len(depot_ids), len(item_ids)
    dpos = {d: k for k, d in enumerate(depot_ids)}
    ipos = {i: k for k, i in enumerate(item_ids)}
    stock = np.zeros((nd, ni))
    enterprise: dict[tuple[str, str], float] = {}
    for lot in rows("stock_lots.csv"):
        if lot["item_code"] not in ipos:
            continue
        if lot["mode"] == "enterprise_held":
            key = (lot["depot_code"], lot["item_code"])
            enterprise[key] = enterprise.get(key, 0.0) + float(lot["quantity"])
        elif lot["depot_code"] in dpos:
            stock[dpos[lot["depot_code"]], ipos[lot["item_code"]]] += float(lot["quantity"])
    capacity = np.array(
        [float(d["capacity_m3"]) if d["status"] == "operating" else 0.0 for d in chosen]
    )
    sizes = {
        d["code"]: [
            SizeClass(0.5 * float(d["capacity_m3"]), 0.6 * float(d["fixed_cost_yuan"]), "half"),
            SizeClass(float(d["capacity_m3"]), float(d["fixed_cost_yuan"]), "full"),
        ]
        for d in chosen
        if d["status"] in ("planned", "candidate")
    }
    price = np.array([SEED_PRICES[i] for i in item_ids])
    vol = np.array([float(item_rows[i]["m3_per_unit"]) for i in item_ids])
    per_person = []
    for i in item_ids:
        row = item_rows[i]
        q = float(row["norm_quantity"] or 0)
        basis = row["norm_basis"]
        if basis == "per_household":
            q /= 2.74
        elif basis == "per_person_day":
            q *= float(row["norm_days"] or 1)
        elif basis != "per_person":
            q = 0.0
        per_person.append(q)
    norm = np.array(per_person)

    external: list[ExternalSource] = []
    ext_points: list[tuple[float, float]] = []
    depot_pt = {d["code"]: (float(d["lat"]), float(d["lng"])) for d in depot_rows}
    for (code, item), qty in sorted(enterprise.items()):
        external.append(
            ExternalSource(
                f"{code}/{item}",
                "enterprise_held",
                item,
                quantity=qty,
                lead_hours=2.0,
                unit_cost=0.05 * SEED_PRICES[item],
            )
        )
        ext_points.append(depot_pt[code])
    for row in rows("agreement_reserves.csv"):
        if row["item_code"] in ipos:
            external.append(
                ExternalSource(
                    row["code"],
                    "agreement",
                    row["item_code"],
                    quantity=float(row["committed_quantity"]),
                    lead_hours=float(row["activation_lead_hours"]),
                    unit_cost=SEED_PRICES[row["item_code"]],
                )
            )
            ext_points.append((float(row["lat"]), float(row["lng"])))
    for row in rows("capacity_reserves.csv"):
        if row["item_code"] in ipos:
            external.append(
                ExternalSource(
                    row["code"],
                    "capacity",
                    row["item_code"],
                    rate_per_day=float(row["units_per_day"]),
                    lead_hours=float(row["lead_hours"]),
                    unit_cost=SEED_PRICES[row["item_code"]],
                )
            )
            ext_points.append((float(row["lat"]), float(row["lng"])))

    sources = [graph.snap(*depot_pt[c]).node for c in depot_ids]
    sources += [graph.snap(*p).node for p in ext_points]
    targets = [graph.snap(float(r["lat"]), float(r["lng"])).node for r in regions]
    base_depot = graph.travel_time_matrix(sources[:nd], sources[:nd], profile=profile)
    move_cost = move_fixed_yuan_m3 + transport_yuan_m3h * np.where(
        np.isfinite(base_depot), base_depot, 24.0
    )
    np.fill_diagonal(move_cost, 0.0)

    rpos = {r: k for k, r in enumerate(region_ids)}
    known_depots = {d["code"] for d in depot_rows}
    for k, sc in enumerate(scenarios):
        for region in sc.affected:
            if region not in rpos:
                raise PrepositioningInputError(
                    f"scenario {sc.id}: unknown region id {region!r}",
                    f"scenarios[{k}].affected.{region}",
                )
        for depot in sc.damaged_depots:
            if depot not in known_depots:
                raise PrepositioningInputError(
                    f"scenario {sc.id}: unknown depot id {depot!r}",
                    f"scenarios[{k}].damaged_depots.{depot}",
                )
    data: list[ScenarioData] = []
    for sc in scenarios:
        applied = []
        for event in sc.road_event_objects():
            try:
                applied.append(graph.apply_event(event).id)
            except RoadEventError:
                continue  # the area crosses no road of this graph
        try:
            hours = graph.travel_time_matrix(sources, targets, profile=profile)
        finally:
            for event_id in applied:
                graph.remove_event(event_id)
        need = np.zeros((len(region_ids), ni))
        for region, people in sc.affected.items():
            need[rpos[region]] = np.round(people * norm)
        loss = np.array([float(sc.damaged_depots.get(d, 0.0)) for d in depot_ids])
        data.append(
            ScenarioData(
                sc.id, float(sc.probability), need, hours[:nd], hours[nd:], loss, sc.hazard
            )
        )
    return PrepositioningInstance(
        depot_ids=depot_ids,
        item_ids=item_ids,
        region_ids=region_ids,
        current_stock=stock,
        capacity_m3=capacity,
        item_m3=vol,
        buy_cost=price,
        hold_cost=hold_share * price + storage_yuan_m3 * vol,
        release_value=release_share * price,
        penalty=penalty_factor * price,
        scenarios=data,
        move_cost_m3=move_cost,
        transport_cost_m3h=transport_yuan_m3h,
        depot_lead_hours=np.full(nd, 0.5),
        candidate_sizes=sizes,
        external=external,
        deadline_hours=deadline_hours,
    )

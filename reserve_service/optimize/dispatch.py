"""Disaster dispatch: who sends what to whom, on which truck, arriving when (pure code).

A dispatch plan is made in three visible steps, each a public function:

1. **Allocation** (:func:`build_allocation_model` → :func:`solve_allocation`): an LP/MIP that
   decides how many units of each item flow from each supply source to each affected region.
2. **Routing** (:func:`split_flows_into_orders`, then :func:`route_in_waves`, which runs
   :func:`build_routing_model` → :func:`solve_routing` twice): OR-Tools routing turns the flows
   into truckload-sized pickup-and-delivery *orders* and assigns them to vehicles.
3. **Extraction** (:func:`extract_plan`): manifests with FEFO lot numbers, stops with ETAs, fill
   rates by the deadline and an explained reason for every shortfall.

:func:`plan_dispatch` runs the three steps; :func:`replan` re-plans after road events;
:func:`plan_to_manifest_csv` prints a vehicle's manifest.

Times are hours since ``Incident.start``. Travel times are caller-supplied square matrices in
hours over ``TravelTimes.nodes``, one per vehicle profile (``np.inf`` = unreachable), e.g. built
with ``RoadGraph.travel_time_matrix(nodes, nodes, profile=...)``.

Allocation model
----------------
Sets: sources ``s``, regions ``r``, items ``i``.  Data: ``need[r,i]`` (reported or from relief
norms), ``supply[s,i]`` (lots not expired at the start; agreement / mutual-aid committed quantity;
capacity reserves ``rate × (H − lead) / 24``), value per unit
``v[r,i] = priority[r] × item_priority[i] × max(people[r], 1) / need[r,i]`` (so meeting a whole
need is worth the region's priority-weighted head count), and an optimistic arrival

    A[s,r] = max(lead[s], now, vehicle[s]) + load + t[s,r]      (load: the fixed loading minutes)

where ``vehicle[s]`` is the earliest time any vehicle can reach ``s`` and ``t[s,r]`` the fastest
travel time over the fleet's profiles.  ``A`` is a lower bound on what routing can achieve.

Variables: ``x[s,r,i] ≥ 0`` units arriving by the deadline ``D`` (pairs with ``A[s,r] ≤ D``);
``y[s,r,i] ≥ 0`` units arriving later (pairs with ``A[s,r] ≤ H``, the horizon: too far, not
active in time, or beyond what the fleet or a production line manages by ``D``).  By default
the model is an LP and flows are rounded down to whole units at read-out (a lexicographic MIP
with a fixed-optimum row is slow at city scale); ``DispatchParams.integer_quantities`` makes
the variables integer.

Constraints:

* need:   ``Σ_s x[s,r,i] + y[s,r,i] ≤ need[r,i]``
* supply: ``Σ_r x[s,r,i] + y[s,r,i] ≤ supply[s,i]``
* production rate (capacity reserves only): sort the on-time regions of ``s`` by latest departure
  ``L[s,r] = D − t[s,r] − load``; for every prefix ``k``:
  ``Σ_{r: L[s,r] ≤ L[s,k]} x[s,r,i] ≤ rate[s,i] × (L[s,k] − lead[s]) / 24`` — what leaves by ``L``
  must have been produced by then (earliest-deadline-first is optimal for one production line).
* fleet budget (``DispatchParams.fleet_budget``): ``Σ kg[i] c[s,r] x[s,r,i] ≤ Σ_v cap_kg[v] h[v]``
  and the same in m³, with cycle ``c = handling of a median truckload + 2 t[s,r]`` and
  ``h[v] = D − available[v]``
  — an estimate of what the fleet can move by the deadline, so that the allocation does not
  promise more than trucks carry and, when trucks are short, favours value per kg·h.

Objective, lexicographic (three solves, each stage fixing the optimum of the previous one up to a
relative tolerance of 1e-7):

1. maximise ``Σ v x`` — priority-weighted needs met by the deadline;
2. maximise ``Σ v y`` — what cannot be on time is still sent, late rather than never;
3. minimise ``Σ v (A − D) y + ton_hour_weight × Σ (kg/1000) t (x + y)`` — lateness, then
   ton-hours as a (documented, weighted) tie-breaker.

Routing model
-------------
Each (source, region) flow is split into orders no larger than a typical truck (the
``order_capacity_quantile`` of the fleet's weight and volume capacities).  An order is a pickup
node at the source and a delivery node at the region (same vehicle, pickup first).  Vehicles start
at their own node and time and end anywhere (a zero-cost sink).  Because every order has its own
pickup node, a vehicle can deliver, drive back to a depot and load again: second trips need no
special modelling.  Dimensions: time (travel by the vehicle's profile + handling time of the
order, slack for waiting), weight and volume (pickup +, delivery −; cargo loaded before a
re-plan starts on board).  Pickups cannot start before the source is ready (lead time;
production of the order's cumulative quantity for capacity reserves).  Vehicles whose profile
cannot reach the source or the region, or too small for the order, are excluded from it.
Every order is optional (a disjunction).  Arc cost = travel seconds.

Routing runs in two waves (:func:`route_in_waves`).  Wave 1: the orders meant to arrive by
``D``, with ``D`` a hard bound on delivery and a drop penalty proportional to the order's value —
it maximises priority-weighted needs met on time, which a soft bound (cost linear in lateness)
does not: it would rather make many orders a little late.  Wave 2: everything left, each vehicle
continuing from the end of its wave-1 route, ``D`` a soft bound (penalty per second scaled by
value) and a drop penalty larger than any lateness — it minimises lateness.  Each wave runs
guided local search for ``routing_gls_share`` of its time, then ruin and recreate
(:mod:`reserve_service.optimize.ruin_recreate`: remove a cluster of nearby orders, re-insert
them by local search, accept by simulated annealing) for the rest.

Re-planning
-----------
:func:`replan` changes only what the new situation requires.  The allocation gets a fourth
stage: among allocations optimal for stages 1–2 and within 0.1 % of the stage-3 optimum, the
closest (kg-weighted L1) to the earlier plan's flows not yet on a truck.  Orders carrying the
same load from the same source to the same region keep their place: routing starts from the
earlier routes, and each on-time delivery's earlier ETA becomes a soft upper bound
(``promise_weight`` per second late), so a promise is broken only when that buys more.

Shortfalls
----------
For each region and item, need − on-time delivery is split by cause: allocated in time but no
truck brought it in time → ``no_vehicle`` (also: empty fleet, or no vehicle reaches any source);
no road from any holder of the item → ``unreachable``; sent late because of an activation /
production / mutual-aid lead time → ``agreement_not_yet_active``; sent late or not at all
because every source with stock left is too far → ``too_far``; otherwise ``not_enough_stock``.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np

from reserve_service.optimize.ruin_recreate import routes_from_assignment, ruin_and_recreate
from reserve_service.optimize.solvers import LinearModel, LinExpr, SolverParams, Var

SourceMode = Literal["government", "enterprise_held", "agreement", "capacity", "mutual_aid"]
ShortfallReason = Literal[
    "not_enough_stock", "agreement_not_yet_active", "no_vehicle", "unreachable", "too_far"
]
SOURCE_MODES: tuple[str, ...] = (
    "government",
    "enterprise_held",
    "agreement",
    "capacity",
    "mutual_aid",
)
LOT_MODES = ("government", "enterprise_held")
LEAD_TIME_MODES = ("agreement", "capacity", "mutual_aid")
_EPS = 1e-6
_STABILITY_SLACK = 1e-3  # re-plan: relative stage-3 slack allowed to stay near the earlier plan
_PROMISE_TOLERANCE_H = 0.05  # re-plan: arriving this much after a promised ETA is free


class DispatchInputError(ValueError):
    """Input that cannot describe a dispatch problem; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --------------------------------------------------------------------------------------------
# Input data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A relief item with its unit weight/volume and relief norm.

    The norm gives the need of a region: ``norm_quantity`` per person (or per household), times
    ``Incident.relief_days`` when ``norm_per_day``.
    """

    id: str
    weight_kg: float
    volume_m3: float
    norm_quantity: float = 0.0
    norm_basis: Literal["person", "household"] = "person"
    norm_per_day: bool = False
    name: str = ""


@dataclass(frozen=True)
class AffectedRegion:
    """A township (or other region) with relocated people and/or reported needs per item.

    Reported ``needs`` override the relief norm for the items they name.
    """

    id: str
    node: str
    relocated_people: int = 0
    households: int | None = None
    needs: Mapping[str, float] = field(default_factory=dict)
    priority: float = 1.0


@dataclass(frozen=True)
class Incident:
    """When it started, who is affected, and how items are weighted against each other."""

    start: datetime
    regions: tuple[AffectedRegion, ...]
    relief_days: float = 1.0
    persons_per_household: float = 2.8
    item_priority: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StockLot:
    """A lot of one item at a source; issued first-expiry-first-out."""

    lot_no: str
    item_id: str
    quantity: int
    expiry: date | None = None


@dataclass(frozen=True)
class SupplySource:
    """A place goods can come from.

    ``mode``:

    * ``government`` — depot stock in ``lots``; ready at ``lead_time_h`` (usually 0);
    * ``enterprise_held`` (企业代储) — ``lots`` at the enterprise; ``lead_time_h`` = loading delay;
    * ``agreement`` (协议储备) — ``quantities`` (committed) after activation ``lead_time_h``;
    * ``capacity`` (产能储备) — ``quantities`` are units/day produced from ``lead_time_h`` on;
    * ``mutual_aid`` — a neighbouring city sends ``quantities`` after ``lead_time_h``.
    """

    id: str
    node: str
    mode: SourceMode
    lots: tuple[StockLot, ...] = ()
    quantities: Mapping[str, float] = field(default_factory=dict)
    lead_time_h: float = 0.0
    name: str = ""


@dataclass(frozen=True)
class Vehicle:
    """A truck: capacities, where and when it is available, and its travel-time profile.

    ``profile`` names the matrix in ``TravelTimes.hours``; when ``None`` it is the params'
    ``green_profile`` for green-channel approved vehicles, else ``public_profile``.
    """

    id: str
    start_node: str
    weight_capacity_kg: float
    volume_capacity_m3: float
    available_from_h: float = 0.0
    green_channel: bool = True
    profile: str | None = None


@dataclass(frozen=True)
class TravelTimes:
    """Square travel-time matrices (hours, ``np.inf`` = unreachable) over ``nodes``, per profile."""

    nodes: tuple[str, ...]
    hours: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n: k for k, n in enumerate(self.nodes)})

    def index(self, node: str) -> int:
        return self._index[node]  # type: ignore[attr-defined]

    def has(self, node: str) -> bool:
        return node in self._index  # type: ignore[attr-defined]

    def time(self, profile: str, a: str, b: str) -> float:
        return float(self.hours[profile][self.index(a), self.index(b)])


@dataclass(frozen=True)
class DispatchProblem:
    """Everything a plan depends on. ``now_h``: nothing can leave a source before this time."""

    incident: Incident
    items: tuple[Item, ...]
    sources: tuple[SupplySource, ...]
    fleet: tuple[Vehicle, ...]
    travel: TravelTimes
    now_h: float = 0.0


@dataclass(frozen=True)
class DispatchParams:
    """Planning parameters with defaults for a 宿州-scale flood.

    ``solver`` is used for each allocation stage; ``routing_time_limit_s`` bounds the
    OR-Tools search.  ``lateness_penalty`` is the routing cost per second late per unit of
    normalised order value (1..100); dropping an order always costs more than any lateness.
    Handling: an order takes ``loading_minutes + loading_minutes_per_t × tonnes`` to load at its
    source and ``unloading_minutes + unloading_minutes_per_t × tonnes`` to unload.
    ``integer_quantities``: solve the allocation as a MIP (exact whole units, slower on big
    instances) instead of an LP whose flows are rounded down.  ``fleet_budget``: limit on-time
    flows by the fleet's capacity-hours (see the module docstring).  ``route_late_orders``:
    also route what can only arrive after the deadline (else it is listed, not loaded).
    ``routing_first_solution``: an OR-Tools ``FirstSolutionStrategy`` name, or ``"auto"``
    (parallel cheapest insertion up to 150 orders, local cheapest insertion above).
    ``routing_improvement``: ``"ruin_recreate"`` gives guided local search
    ``routing_gls_share`` of each routing time limit and ruin and recreate
    (:mod:`reserve_service.optimize.ruin_recreate`) the rest; ``"none"``: GLS throughout.
    ``promise_weight``: on re-plan, cost per second an on-time delivery arrives after the ETA
    the earlier plan gave it (1 = a second of driving).
    """

    deadline_h: float = 10.0
    horizon_h: float = 48.0
    loading_minutes: float = 10.0
    loading_minutes_per_t: float = 3.0
    unloading_minutes: float = 10.0
    unloading_minutes_per_t: float = 2.0
    lateness_penalty: float = 10.0
    ton_hour_weight: float = 1e-3
    green_profile: str = "relief_truck"
    public_profile: str = "public_truck"
    solver: SolverParams = field(default_factory=lambda: SolverParams(time_limit=10.0))
    routing_time_limit_s: float = 5.0
    order_capacity_quantile: float = 0.5
    routing_metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    routing_first_solution: str = "auto"
    routing_improvement: str = "ruin_recreate"
    routing_gls_share: float = 0.3
    promise_weight: float = 2.0
    integer_quantities: bool = False
    fleet_budget: bool = True
    route_late_orders: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.deadline_h <= self.horizon_h:
            raise DispatchInputError(
                "params.deadline_h",
                f"need 0 < deadline_h ({self.deadline_h}) <= horizon_h ({self.horizon_h})",
            )
        for name in (
            "loading_minutes",
            "loading_minutes_per_t",
            "unloading_minutes",
            "unloading_minutes_per_t",
            "lateness_penalty",
            "ton_hour_weight",
            "promise_weight",
        ):
            if getattr(self, name) < 0:
                raise DispatchInputError(
                    f"params.{name}", f"must be >= 0, got {getattr(self, name)}"
                )
        if not self.routing_time_limit_s > 0:
            raise DispatchInputError("params.routing_time_limit_s", "must be > 0")
        if self.routing_improvement not in ("ruin_recreate", "none"):
            raise DispatchInputError(
                "params.routing_improvement", "must be 'ruin_recreate' or 'none'"
            )
        if not 0 < self.routing_gls_share <= 1:
            raise DispatchInputError("params.routing_gls_share", "must be in (0, 1]")
        if not 0 <= self.order_capacity_quantile <= 1:
            raise DispatchInputError("params.order_capacity_quantile", "must be in [0, 1]")


def handling_hours(weight_kg: float, kind: str, params: DispatchParams) -> float:
    """Hours to load (``kind="pickup"``) or unload (``"delivery"``) an order of ``weight_kg``."""
    if kind == "pickup":
        return (params.loading_minutes + params.loading_minutes_per_t * weight_kg / 1000.0) / 60.0
    return (params.unloading_minutes + params.unloading_minutes_per_t * weight_kg / 1000.0) / 60.0


def vehicle_profile(vehicle: Vehicle, params: DispatchParams) -> str:
    """The travel-time profile a vehicle drives with (green channel or public)."""
    if vehicle.profile is not None:
        return vehicle.profile
    return params.green_profile if vehicle.green_channel else params.public_profile


# --------------------------------------------------------------------------------------------
# Input checks (before solving, with the numbers)
# --------------------------------------------------------------------------------------------


def validate_problem(problem: DispatchProblem, params: DispatchParams) -> None:
    """Raise :class:`DispatchInputError` naming the field for input that cannot be planned."""
    travel = problem.travel
    n = len(travel.nodes)
    if len(set(travel.nodes)) != n:
        raise DispatchInputError("travel.nodes", "node ids must be unique")
    if not travel.hours:
        raise DispatchInputError("travel.hours", "at least one profile matrix is needed")
    for profile, matrix in travel.hours.items():
        arr = np.asarray(matrix, dtype=float)
        if arr.shape != (n, n):
            raise DispatchInputError(
                f"travel.hours[{profile}]", f"shape {arr.shape} != ({n}, {n}) nodes"
            )
        if np.isnan(arr).any() or (arr < 0).any():
            raise DispatchInputError(f"travel.hours[{profile}]", "hours must be >= 0 (inf allowed)")

    item_ids = [it.id for it in problem.items]
    if not item_ids:
        raise DispatchInputError("items", "no items")
    if len(set(item_ids)) != len(item_ids):
        raise DispatchInputError("items", "item ids must be unique")
    for it in problem.items:
        if not (it.weight_kg > 0 and it.volume_m3 > 0):
            raise DispatchInputError(f"items[{it.id}]", "weight_kg and volume_m3 must be > 0")
        if it.norm_quantity < 0:
            raise DispatchInputError(f"items[{it.id}].norm_quantity", "must be >= 0")
    known = set(item_ids)

    inc = problem.incident
    if not inc.regions:
        raise DispatchInputError("incident.regions", "no affected regions")
    region_ids = [r.id for r in inc.regions]
    if len(set(region_ids)) != len(region_ids):
        raise DispatchInputError("incident.regions", "region ids must be unique")
    if inc.relief_days <= 0 or inc.persons_per_household <= 0:
        raise DispatchInputError(
            "incident.relief_days", "relief_days and persons_per_household > 0"
        )
    for item_id, weight in inc.item_priority.items():
        if item_id not in known:
            raise DispatchInputError("incident.item_priority", f"unknown item {item_id!r}")
        if weight < 0:
            raise DispatchInputError(f"incident.item_priority[{item_id}]", "must be >= 0")
    for reg in inc.regions:
        if not travel.has(reg.node):
            raise DispatchInputError(f"regions[{reg.id}].node", f"{reg.node!r} not in travel.nodes")
        if reg.relocated_people < 0:
            raise DispatchInputError(
                f"regions[{reg.id}].relocated_people", f"negative: {reg.relocated_people}"
            )
        if reg.households is not None and reg.households < 0:
            raise DispatchInputError(f"regions[{reg.id}].households", "negative")
        if reg.priority < 0:
            raise DispatchInputError(f"regions[{reg.id}].priority", "negative")
        for item_id, qty in reg.needs.items():
            if item_id not in known:
                raise DispatchInputError(f"regions[{reg.id}].needs", f"unknown item {item_id!r}")
            if not qty >= 0:
                raise DispatchInputError(f"regions[{reg.id}].needs[{item_id}]", f"negative: {qty}")

    if not problem.sources:
        raise DispatchInputError("sources", "no supply sources")
    source_ids = [s.id for s in problem.sources]
    if len(set(source_ids)) != len(source_ids):
        raise DispatchInputError("sources", "source ids must be unique")
    for src in problem.sources:
        where = f"sources[{src.id}]"
        if src.mode not in SOURCE_MODES:
            raise DispatchInputError(f"{where}.mode", f"{src.mode!r} not in {SOURCE_MODES}")
        if not travel.has(src.node):
            raise DispatchInputError(f"{where}.node", f"{src.node!r} not in travel.nodes")
        if src.lead_time_h < 0:
            raise DispatchInputError(f"{where}.lead_time_h", f"negative: {src.lead_time_h}")
        if src.mode in LOT_MODES and src.quantities:
            raise DispatchInputError(f"{where}.quantities", f"a {src.mode} source holds lots")
        if src.mode not in LOT_MODES and src.lots:
            raise DispatchInputError(f"{where}.lots", f"a {src.mode} source has no lots")
        lot_nos = [lot.lot_no for lot in src.lots]
        if len(set(lot_nos)) != len(lot_nos):
            raise DispatchInputError(f"{where}.lots", "lot numbers must be unique per source")
        for lot in src.lots:
            if lot.item_id not in known:
                raise DispatchInputError(
                    f"{where}.lots[{lot.lot_no}]", f"unknown item {lot.item_id!r}"
                )
            if lot.quantity < 0:
                raise DispatchInputError(f"{where}.lots[{lot.lot_no}].quantity", "negative")
        for item_id, qty in src.quantities.items():
            if item_id not in known:
                raise DispatchInputError(f"{where}.quantities", f"unknown item {item_id!r}")
            if qty < 0:
                raise DispatchInputError(f"{where}.quantities[{item_id}]", f"negative: {qty}")

    vehicle_ids = [v.id for v in problem.fleet]
    if len(set(vehicle_ids)) != len(vehicle_ids):
        raise DispatchInputError("fleet", "vehicle ids must be unique")
    for veh in problem.fleet:
        where = f"fleet[{veh.id}]"
        if not travel.has(veh.start_node):
            raise DispatchInputError(
                f"{where}.start_node", f"{veh.start_node!r} not in travel.nodes"
            )
        if not (veh.weight_capacity_kg > 0 and veh.volume_capacity_m3 > 0):
            raise DispatchInputError(f"{where}", "weight and volume capacity must be > 0")
        if veh.available_from_h < 0:
            raise DispatchInputError(f"{where}.available_from_h", "negative")
        profile = vehicle_profile(veh, params)
        if profile not in travel.hours:
            raise DispatchInputError(
                f"{where}.profile", f"no travel matrix for profile {profile!r}"
            )


# --------------------------------------------------------------------------------------------
# Derived data shared by the steps
# --------------------------------------------------------------------------------------------


def region_needs(problem: DispatchProblem) -> dict[str, dict[str, int]]:
    """Integer need per region and item: reported needs, else the relief norm (rounded up)."""
    inc = problem.incident
    out: dict[str, dict[str, int]] = {}
    for reg in inc.regions:
        households = (
            reg.households
            if reg.households is not None
            else math.ceil(reg.relocated_people / inc.persons_per_household)
        )
        needs: dict[str, int] = {}
        for it in problem.items:
            if it.id in reg.needs:
                qty = float(reg.needs[it.id])
            else:
                base = reg.relocated_people if it.norm_basis == "person" else households
                qty = base * it.norm_quantity * (inc.relief_days if it.norm_per_day else 1.0)
            q = math.ceil(qty - 1e-9)
            if q > 0:
                needs[it.id] = q
        out[reg.id] = needs
    return out


def source_supply(problem: DispatchProblem, params: DispatchParams) -> dict[str, dict[str, int]]:
    """Units each source can supply within the horizon (expired lots excluded)."""
    start_day = problem.incident.start.date()
    out: dict[str, dict[str, int]] = {}
    for src in problem.sources:
        supply: dict[str, int] = defaultdict(int)
        if src.mode in LOT_MODES:
            for lot in src.lots:
                if lot.expiry is None or lot.expiry >= start_day:
                    supply[lot.item_id] += int(lot.quantity)
        elif src.mode == "capacity":
            hours = max(0.0, params.horizon_h - max(src.lead_time_h, problem.now_h))
            for item_id, rate in src.quantities.items():
                supply[item_id] += int(math.floor(rate * hours / 24.0 + 1e-9))
        else:
            for item_id, qty in src.quantities.items():
                supply[item_id] += int(math.floor(qty + 1e-9))
        out[src.id] = {k: v for k, v in supply.items() if v > 0}
    return out


@dataclass
class _Access:
    """Reachability facts: fastest fleet travel source→region and earliest vehicle at source."""

    travel_sr: np.ndarray  # (S, R) hours by the fleet's fastest usable profile
    road_sr: np.ndarray  # (S, R) hours by any profile (physical reachability)
    vehicle_at_source: np.ndarray  # (S,) earliest hour a vehicle can be at the source


def _access(problem: DispatchProblem, params: DispatchParams) -> _Access:
    travel = problem.travel
    s_idx = [travel.index(s.node) for s in problem.sources]
    r_idx = [travel.index(r.node) for r in problem.incident.regions]
    road = np.full((len(s_idx), len(r_idx)), np.inf)
    for matrix in travel.hours.values():
        road = np.minimum(road, np.asarray(matrix, float)[np.ix_(s_idx, r_idx)])
    if not problem.fleet:
        return _Access(road.copy(), road, np.zeros(len(s_idx)))
    fleet_travel = np.full_like(road, np.inf)
    at_source = np.full(len(s_idx), np.inf)
    for veh in problem.fleet:
        m = np.asarray(travel.hours[vehicle_profile(veh, params)], float)
        start = max(veh.available_from_h, problem.now_h) + m[travel.index(veh.start_node), s_idx]
        at_source = np.minimum(at_source, start)
        usable = np.isfinite(start)[:, None]
        fleet_travel = np.where(
            usable, np.minimum(fleet_travel, m[np.ix_(s_idx, r_idx)]), fleet_travel
        )
    return _Access(fleet_travel, road, at_source)


# --------------------------------------------------------------------------------------------
# Step 1: allocation model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """Units of one item planned from a source to a region, with the optimistic arrival."""

    source_id: str
    region_id: str
    item_id: str
    quantity: int
    on_time: bool
    earliest_arrival_h: float


@dataclass
class AllocationModel:
    """The built (unsolved) allocation MIP and the index maps needed to read it."""

    model: LinearModel
    x: dict[tuple[int, int, str], Var]
    y: dict[tuple[int, int, str], Var]
    value: dict[tuple[int, str], float]
    arrival: np.ndarray
    ready: np.ndarray
    needs: dict[str, dict[str, int]]
    supply: dict[str, dict[str, int]]
    access: _Access
    stage2_objective: LinExpr
    stage3_objective: LinExpr


@dataclass
class AllocationResult:
    """Flows read from the allocation, with each stage's status and objective."""

    flows: list[Flow]
    statuses: list[str]
    objectives: list[float | None]
    solve_seconds: float
    model: AllocationModel


def build_allocation_model(problem: DispatchProblem, params: DispatchParams) -> AllocationModel:
    """Build the allocation MIP (see the module docstring for the formulation)."""
    validate_problem(problem, params)
    inc = problem.incident
    regions, sources = inc.regions, problem.sources
    needs = region_needs(problem)
    supply = source_supply(problem, params)
    access = _access(problem, params)
    load_h = params.loading_minutes / 60.0
    unload_h = params.unloading_minutes / 60.0
    D, H = params.deadline_h, params.horizon_h
    weight_kg = {it.id: it.weight_kg for it in problem.items}
    volume_m3 = {it.id: it.volume_m3 for it in problem.items}

    # Optimistic departure-ready time and arrival per (source, region).
    ready = np.array(
        [
            max(src.lead_time_h, problem.now_h, access.vehicle_at_source[s]) + load_h
            for s, src in enumerate(sources)
        ]
    )
    arrival = ready[:, None] + access.travel_sr

    # Value of one unit: the share of a need met, times priority-weighted head count.
    value: dict[tuple[int, str], float] = {}
    for r, reg in enumerate(regions):
        for item_id, need in needs[reg.id].items():
            weight = reg.priority * inc.item_priority.get(item_id, 1.0)
            value[(r, item_id)] = weight * max(reg.relocated_people, 1) / need

    kind: Literal["integer", "continuous"] = (
        "integer" if params.integer_quantities else "continuous"
    )
    m = LinearModel("dispatch_allocation")
    x: dict[tuple[int, int, str], Var] = {}
    y: dict[tuple[int, int, str], Var] = {}
    for s, src in enumerate(sources):
        for item_id, avail in supply[src.id].items():
            for r, reg in enumerate(regions):
                need = needs[reg.id].get(item_id, 0)
                if need <= 0 or not np.isfinite(arrival[s, r]):
                    continue
                ub = min(need, avail)
                if arrival[s, r] <= D + _EPS:
                    x[(s, r, item_id)] = m.add_var(
                        f"x[{src.id},{reg.id},{item_id}]", ub=ub, kind=kind
                    )
                if arrival[s, r] <= H + _EPS:
                    # late units: too far or not active in time, or (on an on-time pair) beyond
                    # what the fleet or a production line manages by the deadline
                    y[(s, r, item_id)] = m.add_var(
                        f"y[{src.id},{reg.id},{item_id}]", ub=ub, kind=kind
                    )

    def flows_of(keys: Iterable[tuple[int, int, str]]) -> list[Var]:
        return [v for k in keys for v in ((x[k],) if k in x else ()) + ((y[k],) if k in y else ())]

    by_region_item: dict[tuple[int, str], list[tuple[int, int, str]]] = defaultdict(list)
    by_source_item: dict[tuple[int, str], list[tuple[int, int, str]]] = defaultdict(list)
    for key in set(x) | set(y):
        s, r, item_id = key
        by_region_item[(r, item_id)].append(key)
        by_source_item[(s, item_id)].append(key)

    # need: a region never receives more than it needs of an item.
    for (r, item_id), keys in by_region_item.items():
        terms = flows_of(keys)
        m.add_row(
            terms, np.ones(len(terms)), "<=", needs[regions[r].id][item_id], f"need[{r},{item_id}]"
        )

    # supply: a source never sends more than it holds (or commits, or produces by the horizon).
    for (s, item_id), keys in by_source_item.items():
        terms = flows_of(keys)
        m.add_row(
            terms,
            np.ones(len(terms)),
            "<=",
            supply[sources[s].id][item_id],
            f"supply[{s},{item_id}]",
        )

    # production rate: on-time shipments of a capacity reserve must have been produced before
    # they leave; nested over regions sorted by latest departure.
    for s, src in enumerate(sources):
        if src.mode != "capacity":
            continue
        start_h = max(src.lead_time_h, problem.now_h)
        for item_id, rate in src.quantities.items():
            keys = sorted(
                (k for k in x if k[0] == s and k[2] == item_id),
                key=lambda k: D - access.travel_sr[s, k[1]],
            )
            prefix: list[Var] = []
            for key in keys:
                prefix.append(x[key])
                latest_departure = D - access.travel_sr[s, key[1]] - load_h
                produced = math.floor(rate * max(0.0, latest_departure - start_h) / 24.0 + 1e-9)
                m.add_row(
                    prefix, np.ones(len(prefix)), "<=", produced, f"rate[{s},{item_id},{key[1]}]"
                )

    # fleet budget: each on-time unit occupies its truck's share for a loading, the drive, the
    # unloading and the drive back (capacity-hours); the fleet offers capacity × hours left
    # before the deadline.  An estimate that keeps the allocation within what trucks can move.
    if params.fleet_budget and problem.fleet and x:
        keys = list(x)
        # handling per tonne keeps the whole (median) truck busy
        truck_t = float(np.median([v.weight_capacity_kg for v in problem.fleet])) / 1000.0
        per_t_h = (params.loading_minutes_per_t + params.unloading_minutes_per_t) / 60.0
        handling = load_h + unload_h + truck_t * per_t_h
        cycle = np.array([handling + 2.0 * access.travel_sr[s, r] for s, r, _ in keys])
        hours = np.array(
            [max(0.0, D - max(v.available_from_h, problem.now_h)) for v in problem.fleet]
        )
        for name, per_unit, capacity in (
            ("fleet_kg_hours", weight_kg, [v.weight_capacity_kg for v in problem.fleet]),
            ("fleet_m3_hours", volume_m3, [v.volume_capacity_m3 for v in problem.fleet]),
        ):
            coefs = cycle * np.array([per_unit[i] for _, _, i in keys])
            m.add_row([x[k] for k in keys], coefs, "<=", float(np.dot(capacity, hours)), name)

    stage2 = LinExpr.weighted(list(y.values()), [value[(k[1], k[2])] for k in y])
    stage3 = LinExpr()
    for key, var in x.items():
        s, r, item_id = key
        stage3 += var * (
            params.ton_hour_weight * weight_kg[item_id] / 1000.0 * access.travel_sr[s, r]
        )
    for key, var in y.items():
        s, r, item_id = key
        lateness = max(0.0, arrival[s, r] - D)
        ton_hours = params.ton_hour_weight * weight_kg[item_id] / 1000.0 * access.travel_sr[s, r]
        stage3 += var * (value[(r, item_id)] * lateness + ton_hours)
    m.maximize(LinExpr.weighted(list(x.values()), [value[(k[1], k[2])] for k in x]))
    return AllocationModel(m, x, y, value, arrival, ready, needs, supply, access, stage2, stage3)


def solve_allocation(
    problem: DispatchProblem,
    built: AllocationModel,
    params: DispatchParams,
    previous: Mapping[tuple[str, str, str], int] | None = None,
) -> AllocationResult:
    """Solve the three lexicographic stages; check every status; read out the flows.

    ``previous`` ((source, region, item) → units of an earlier plan still to be sent) adds a
    fourth stage: among the allocations optimal for stages 1–2 and within 0.1 % of the
    stage-3 optimum, take the one closest to it,
    ``min Σ_k kg_i · |x_k + y_k − prev_k|`` — a re-plan then
    changes only what the new situation requires.
    """
    m = built.model
    started = time.perf_counter()
    statuses: list[str] = []
    objectives: list[float | None] = []
    values: np.ndarray | None = None
    stage_objectives: list[tuple[str, LinExpr]] = [
        ("maximize", m.objective),
        ("maximize", built.stage2_objective),
        ("minimize", built.stage3_objective),
    ]
    if previous and m.num_vars:
        stage_objectives.append(("minimize", _deviation_from(problem, built, previous)))
    if m.num_vars:
        for stage, (sense, objective) in enumerate(stage_objectives):
            if stage > 0 and objectives[-1] is not None:
                # fix the previous stage's optimum (relative tolerance) before the next one
                prev_sense, prev_obj = stage_objectives[stage - 1]
                best = float(objectives[-1])
                # stability may cost a little lateness / ton-hours (stage 3 is a tie-breaker
                # whose LP optimum is only accurate to solver tolerances); the rest is kept
                rel = _STABILITY_SLACK if stage == 3 else 1e-7
                tol = rel * max(1.0, abs(best)) if stage < 3 else rel * abs(best) + 1e-9
                if prev_sense == "maximize":
                    m.add_constraint(prev_obj >= best - tol, f"stage{stage}_keep")
                else:
                    m.add_constraint(prev_obj <= best + tol, f"stage{stage}_keep")
            if sense == "maximize":
                m.maximize(objective)
            else:
                m.minimize(objective)
            if stage > 0 and values is not None:
                m.hints = {k: float(values[k]) for k in range(m.num_vars)}
            result = m.solve(params.solver)
            statuses.append(result.status)
            if not result.has_solution:
                raise RuntimeError(f"allocation stage {stage + 1}: solver returned {result.status}")
            objectives.append(result.objective)
            values = result.values
    flows: list[Flow] = []
    if values is not None:
        sources, regions = problem.sources, problem.incident.regions
        for on_time, table in ((True, built.x), (False, built.y)):
            for (s, r, item_id), var in table.items():
                raw = float(values[var.index])
                # whole units: snap solver noise (and the stage tolerance), else round down
                qty = int(round(raw)) if abs(raw - round(raw)) < 1e-3 else int(math.floor(raw))
                if qty > 0:
                    flows.append(
                        Flow(
                            sources[s].id,
                            regions[r].id,
                            item_id,
                            qty,
                            on_time,
                            float(built.arrival[s, r]),
                        )
                    )
    return AllocationResult(flows, statuses, objectives, time.perf_counter() - started, built)


def _deviation_from(
    problem: DispatchProblem,
    built: AllocationModel,
    previous: Mapping[tuple[str, str, str], int],
) -> LinExpr:
    """Kilograms by which the flows differ from ``previous``: one variable per flow key with
    ``d ≥ f − prev`` and ``d ≥ prev − f`` (added to the model; free in the earlier stages)."""
    m = built.model
    source_index = {src.id: s for s, src in enumerate(problem.sources)}
    region_index = {reg.id: r for r, reg in enumerate(problem.incident.regions)}
    kg = {it.id: it.weight_kg for it in problem.items}
    target: dict[tuple[int, int, str], float] = defaultdict(float)
    for (source_id, region_id, item_id), qty in previous.items():
        if source_id in source_index and region_id in region_index:
            target[(source_index[source_id], region_index[region_id], item_id)] += qty
    deviation = LinExpr()
    for key in sorted(set(built.x) | set(built.y)):
        flow = LinExpr.total([table[key] for table in (built.x, built.y) if key in table])
        d = m.add_var(f"dev[{key[0]},{key[1]},{key[2]}]")
        m.add_constraint(d - flow >= -target.get(key, 0.0), f"dev_up[{key}]")
        m.add_constraint(d + flow >= target.get(key, 0.0), f"dev_down[{key}]")
        deviation += d * max(kg[key[2]], 1e-3)
    return deviation


# --------------------------------------------------------------------------------------------
# Step 2: routing model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLine:
    """Units of one item in an order."""

    item_id: str
    quantity: int


@dataclass(frozen=True)
class Order:
    """A truckload (or less) from one source to one region: a pickup and a delivery node.

    ``onboard_vehicle`` marks an order already loaded on a dispatched vehicle (re-plan): it has
    no pickup node. ``vehicle_id`` restricts the order to one vehicle.
    """

    id: str
    source_id: str
    region_id: str
    lines: tuple[OrderLine, ...]
    weight_kg: float
    volume_m3: float
    value: float
    ready_h: float
    on_time_target: bool
    vehicle_id: str | None = None
    onboard: bool = False
    lots: tuple[ManifestLine, ...] = ()  # lots already loaded / fixed by an earlier plan


@dataclass(frozen=True)
class RouteVehicle:
    """A vehicle as the routing model sees it: where and when it starts, what it carries."""

    vehicle: Vehicle
    profile: str
    start_node: str
    start_h: float
    initial_weight_kg: float = 0.0
    initial_volume_m3: float = 0.0


def split_flows_into_orders(
    problem: DispatchProblem,
    flows: Sequence[Flow],
    params: DispatchParams,
    value: Mapping[tuple[str, str], float],
) -> list[Order]:
    """Group flows by (source, region) and split them into truckload-sized orders."""
    items = {it.id: it for it in problem.items}
    sources = {s.id: s for s in problem.sources}
    if problem.fleet:
        cap_w = float(
            np.quantile(
                [v.weight_capacity_kg for v in problem.fleet], params.order_capacity_quantile
            )
        )
        cap_v = float(
            np.quantile(
                [v.volume_capacity_m3 for v in problem.fleet], params.order_capacity_quantile
            )
        )
    else:
        cap_w = cap_v = math.inf
    groups: dict[tuple[str, str, bool], list[Flow]] = defaultdict(list)
    for f in flows:
        if f.on_time or params.route_late_orders:
            groups[(f.source_id, f.region_id, f.on_time)].append(f)
    orders: list[Order] = []
    # capacity sources release goods over time: track cumulative production per item
    produced_so_far: dict[tuple[str, str], int] = defaultdict(int)
    ordered = sorted(
        groups.items(), key=lambda kv: (not kv[0][2], kv[1][0].earliest_arrival_h, kv[0])
    )
    for (source_id, region_id, on_time), group in ordered:
        src = sources[source_id]
        qty = {f.item_id: f.quantity for f in group}
        total_w = sum(q * items[i].weight_kg for i, q in qty.items())
        total_v = sum(q * items[i].volume_m3 for i, q in qty.items())
        parts = (
            max(1, math.ceil(max(total_w / cap_w, total_v / cap_v) - 1e-9))
            if math.isfinite(cap_w)
            else 1
        )
        while True:
            chunks = [
                {i: q // parts + (1 if k < q % parts else 0) for i, q in qty.items()}
                for k in range(parts)
            ]
            fits = all(
                sum(q * items[i].weight_kg for i, q in c.items()) <= cap_w + _EPS
                and sum(q * items[i].volume_m3 for i, q in c.items()) <= cap_v + _EPS
                for c in chunks
            )
            if fits or parts >= sum(qty.values()):
                break
            parts += 1
        for chunk in chunks:
            lines = tuple(OrderLine(i, q) for i, q in sorted(chunk.items()) if q > 0)
            if not lines:
                continue
            ready = max(src.lead_time_h, problem.now_h)
            if src.mode == "capacity":
                for line in lines:
                    produced_so_far[(source_id, line.item_id)] += line.quantity
                    rate = src.quantities[line.item_id]
                    ready = max(
                        ready,
                        src.lead_time_h + 24.0 * produced_so_far[(source_id, line.item_id)] / rate,
                    )
            orders.append(
                Order(
                    id=f"o{len(orders) + 1}",
                    source_id=source_id,
                    region_id=region_id,
                    lines=lines,
                    weight_kg=sum(ln.quantity * items[ln.item_id].weight_kg for ln in lines),
                    volume_m3=sum(ln.quantity * items[ln.item_id].volume_m3 for ln in lines),
                    value=sum(
                        ln.quantity * value.get((region_id, ln.item_id), 0.0) for ln in lines
                    ),
                    ready_h=ready,
                    on_time_target=on_time,
                )
            )
    return orders


@dataclass
class RoutingModel:
    """The built OR-Tools routing model and what is needed to read its solution."""

    manager: Any
    routing: Any
    time_dim: Any
    vehicles: list[RouteVehicle]
    orders: list[Order]
    node_location: list[str | None]
    pickup_node: dict[str, int]
    delivery_node: dict[str, int]
    callbacks: list[Any]
    travel: TravelTimes | None = None


@dataclass
class RoutingSolution:
    """Per vehicle the visit sequence ``[(kind, order id)]``; orders no vehicle took."""

    status: str
    routes: dict[str, list[tuple[str, str]]]  # vehicle id -> [(kind, order id)]
    dropped: list[str]
    objective: int | None
    solve_seconds: float


_PARALLEL_INSERTION_MAX_ORDERS = 150
_VALUE_SCALE = 10**9  # wave-1 drop penalty of the most valuable order (travel is in seconds)
_W_SCALE = 10  # 0.1 kg
_V_SCALE = 1000  # litres


def build_routing_model(
    problem: DispatchProblem,
    orders: Sequence[Order],
    vehicles: Sequence[RouteVehicle],
    params: DispatchParams,
    *,
    hard_deadline: bool = False,
    promised_h: Mapping[str, float] | None = None,
) -> RoutingModel:
    """Build the OR-Tools pickup-and-delivery model (see the module docstring).

    ``hard_deadline``: deliveries must arrive by the deadline and an order's drop penalty is
    proportional to its value (wave 1: maximise value on time); otherwise the deadline is a
    soft bound and dropping costs more than any lateness (wave 2: minimise lateness).
    ``promised_h`` (order id → hours, wave 1 only): ETAs an earlier plan promised; arriving
    later costs ``params.promise_weight`` per second, so that a re-plan keeps its promises
    unless breaking one saves more than it costs.
    """
    from ortools.constraint_solver import pywrapcp

    travel = problem.travel
    n_veh = len(vehicles)
    if not orders or not vehicles:
        return RoutingModel(None, None, None, list(vehicles), list(orders), [], {}, {}, [])
    horizon_s = int(math.ceil(params.horizon_h * 3600))
    big = horizon_s + 1  # an arc this long can never be driven within the horizon
    sources = {s.id: s for s in problem.sources}
    regions = {r.id: r for r in problem.incident.regions}

    # Node layout: vehicle starts, one sink (open routes), then per order pickup + delivery.
    node_location: list[str | None] = [v.start_node for v in vehicles] + [None]
    sink = n_veh
    node_service_s: list[int] = [0] * (n_veh + 1)
    pickup_node: dict[str, int] = {}
    delivery_node: dict[str, int] = {}
    for order in orders:
        if not order.onboard:
            pickup_node[order.id] = len(node_location)
            node_location.append(sources[order.source_id].node)
            node_service_s.append(
                int(math.ceil(handling_hours(order.weight_kg, "pickup", params) * 3600))
            )
        delivery_node[order.id] = len(node_location)
        node_location.append(regions[order.region_id].node)
        node_service_s.append(
            int(math.ceil(handling_hours(order.weight_kg, "delivery", params) * 3600))
        )
    n_nodes = len(node_location)
    loc_index = np.array([travel.index(loc) if loc is not None else -1 for loc in node_location])
    real = loc_index >= 0

    manager = pywrapcp.RoutingIndexManager(n_nodes, n_veh, list(range(n_veh)), [sink] * n_veh)
    routing = pywrapcp.RoutingModel(manager)

    # Transit per profile: service at the from-node + travel; unreachable arcs longer than horizon.
    profiles = sorted({v.profile for v in vehicles})
    transit_tables: dict[str, list[list[int]]] = {}
    callbacks: list[Any] = []
    transit_index: dict[str, int] = {}
    for profile in profiles:
        hours = np.asarray(travel.hours[profile], float)
        table = np.zeros((n_nodes, n_nodes), dtype=np.int64)
        sub = hours[np.ix_(loc_index[real], loc_index[real])]
        secs = np.where(np.isfinite(sub), np.ceil(sub * 3600 - 1e-6), big).astype(np.int64)
        table[np.ix_(real, real)] = np.minimum(secs, big)
        table += np.asarray(node_service_s, dtype=np.int64)[:, None]
        table[:, :n_veh] = big  # nobody drives back into a start node
        table[sink, :] = 0
        transit_tables[profile] = table.tolist()

        def make_cb(tbl: list[list[int]]) -> Any:
            def cb(from_index: int, to_index: int) -> int:
                return tbl[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)]

            return cb

        transit_cb = make_cb(transit_tables[profile])
        callbacks.append(transit_cb)
        transit_index[profile] = routing.RegisterTransitCallback(transit_cb)

    # Arc cost: driving (and handling) seconds in the vehicle's own profile.
    for v, veh in enumerate(vehicles):
        routing.SetArcCostEvaluatorOfVehicle(transit_index[veh.profile], v)

    # Time dimension: waiting allowed (slack), cumul = arrival at the node, within the horizon.
    routing.AddDimensionWithVehicleTransits(
        [transit_index[veh.profile] for veh in vehicles], horizon_s, horizon_s, False, "time"
    )
    time_dim = routing.GetDimensionOrDie("time")
    for v, veh in enumerate(vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(int(math.ceil(veh.start_h * 3600)), horizon_s)

    # Weight and volume dimensions: pickups load, deliveries unload; onboard goods start loaded.
    demand_w = [0] * n_nodes
    demand_v = [0] * n_nodes
    for order in orders:
        w = int(math.ceil(order.weight_kg * _W_SCALE - 1e-9))
        vol = int(math.ceil(order.volume_m3 * _V_SCALE - 1e-9))
        if not order.onboard:
            demand_w[pickup_node[order.id]] = w
            demand_v[pickup_node[order.id]] = vol
        demand_w[delivery_node[order.id]] = -w
        demand_v[delivery_node[order.id]] = -vol
    for name, demand, caps, initial in (
        (
            "weight",
            demand_w,
            [int(math.floor(v.vehicle.weight_capacity_kg * _W_SCALE + 1e-9)) for v in vehicles],
            [int(math.ceil(v.initial_weight_kg * _W_SCALE - 1e-9)) for v in vehicles],
        ),
        (
            "volume",
            demand_v,
            [int(math.floor(v.vehicle.volume_capacity_m3 * _V_SCALE + 1e-9)) for v in vehicles],
            [int(math.ceil(v.initial_volume_m3 * _V_SCALE - 1e-9)) for v in vehicles],
        ),
    ):

        def make_demand_cb(dem: list[int]) -> Any:
            def cb(from_index: int) -> int:
                return dem[manager.IndexToNode(from_index)]

            return cb

        dcb = make_demand_cb(demand)
        callbacks.append(dcb)
        idx = routing.RegisterUnaryTransitCallback(dcb)
        routing.AddDimensionWithVehicleCapacity(idx, 0, caps, False, name)
        dim = routing.GetDimensionOrDie(name)
        for v in range(n_veh):
            dim.CumulVar(routing.Start(v)).SetValue(min(initial[v], caps[v]))

    # Order values normalised to 1..100 scale lateness and drop penalties.
    max_value = max((o.value for o in orders), default=1.0) or 1.0
    solver = routing.solver()
    vehicle_index = {veh.vehicle.id: v for v, veh in enumerate(vehicles)}
    deadline_s = int(math.floor(params.deadline_h * 3600))
    for order in orders:
        weight = 1.0 + 99.0 * order.value / max_value
        late_coef = max(1, int(round(params.lateness_penalty * weight)))
        d_index = manager.NodeToIndex(delivery_node[order.id])
        if hard_deadline:
            # deadline: hard; an order is worth its value, far more than any driving
            time_dim.CumulVar(d_index).SetMax(max(0, deadline_s))
            if promised_h and order.id in promised_h:
                # an arrival promised by the earlier plan: later costs like extra driving
                promise_s = int(math.ceil((promised_h[order.id] + _PROMISE_TOLERANCE_H) * 3600))
                time_dim.SetCumulVarSoftUpperBound(
                    d_index, promise_s, max(1, int(round(params.promise_weight)))
                )
            drop_penalty = 10 * horizon_s + int(round(_VALUE_SCALE * order.value / max_value))
        else:
            # deadline: soft upper bound on the delivery's arrival
            time_dim.SetCumulVarSoftUpperBound(d_index, deadline_s, late_coef)
            drop_penalty = 2 * late_coef * horizon_s + 10 * horizon_s
        if order.vehicle_id is not None:
            # orders already on a dispatched truck are dropped only if impossible
            drop_penalty *= 10
        # optional order (disjunction): dropping it costs the penalty above
        routing.AddDisjunction([d_index], drop_penalty)
        allowed = _allowed_vehicles(problem, order, vehicles, params)
        if order.vehicle_id is not None:
            allowed = [v for v in allowed if v == vehicle_index.get(order.vehicle_id)]
        if order.onboard:
            routing.VehicleVar(d_index).SetValues([-1, *allowed])
            continue
        p_index = manager.NodeToIndex(pickup_node[order.id])
        # source readiness: loading cannot start before stock / agreement / production is ready
        time_dim.CumulVar(p_index).SetMin(int(math.ceil(order.ready_h * 3600)))
        routing.AddDisjunction([p_index], 0)
        # pickup and delivery on the same vehicle, pickup first, both or neither
        routing.AddPickupAndDelivery(p_index, d_index)
        solver.Add(routing.ActiveVar(p_index) == routing.ActiveVar(d_index))
        solver.Add(routing.VehicleVar(p_index) == routing.VehicleVar(d_index))
        solver.Add(time_dim.CumulVar(p_index) <= time_dim.CumulVar(d_index))
        # vehicles whose profile cannot reach the source or the region, or too small, are excluded
        # (VehicleVar domains: -1 = not served; SetAllowedVehiclesForIndex's SWIG span is broken)
        routing.VehicleVar(p_index).SetValues([-1, *allowed])
        routing.VehicleVar(d_index).SetValues([-1, *allowed])
    return RoutingModel(
        manager,
        routing,
        time_dim,
        list(vehicles),
        list(orders),
        node_location,
        pickup_node,
        delivery_node,
        callbacks,
        travel,
    )


def _allowed_vehicles(
    problem: DispatchProblem, order: Order, vehicles: Sequence[RouteVehicle], params: DispatchParams
) -> list[int]:
    travel = problem.travel
    region_node = next(r.node for r in problem.incident.regions if r.id == order.region_id)
    source_node = next(s.node for s in problem.sources if s.id == order.source_id)
    allowed = []
    for v, veh in enumerate(vehicles):
        if order.onboard:
            ok = math.isfinite(travel.time(veh.profile, veh.start_node, region_node))
        else:
            ok = (
                math.isfinite(travel.time(veh.profile, veh.start_node, source_node))
                and math.isfinite(travel.time(veh.profile, source_node, region_node))
                and order.weight_kg <= veh.vehicle.weight_capacity_kg + _EPS
                and order.volume_m3 <= veh.vehicle.volume_capacity_m3 + _EPS
            )
        if ok:
            allowed.append(v)
    return allowed


def solve_routing(
    built: RoutingModel,
    params: DispatchParams,
    initial: Mapping[str, Sequence[tuple[str, str]]] | None = None,
) -> RoutingSolution:
    """Search with OR-Tools; report the status, never assume a solution.

    ``initial`` (vehicle id → ``(kind, order id)`` stops, e.g. the previous plan's routes)
    starts the search there instead of from a construction heuristic, so that a re-plan keeps
    what still works; its orders unknown to the model are skipped, missing ones are inserted
    by the search.  If the routes are infeasible now, the search starts from scratch.
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    started = time.perf_counter()
    routing, manager = built.routing, built.manager
    if routing is None:  # nothing to route, or nobody to route it
        status = "no_orders" if not built.orders else "no_vehicles"
        return RoutingSolution(status, {}, [o.id for o in built.orders], 0, 0.0)
    search = pywrapcp.DefaultRoutingSearchParameters()
    first = params.routing_first_solution
    if first == "auto":
        # parallel insertion builds better starts but is quadratic: seconds on 200+ orders
        big = len(built.orders) > _PARALLEL_INSERTION_MAX_ORDERS
        first = "LOCAL_CHEAPEST_INSERTION" if big else "PARALLEL_CHEAPEST_INSERTION"
    search.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first)
    search.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, params.routing_metaheuristic
    )
    improve = params.routing_improvement == "ruin_recreate"
    gls_share = params.routing_gls_share if improve else 1.0
    search.time_limit.FromMilliseconds(max(1, int(params.routing_time_limit_s * gls_share * 1000)))
    warm = None
    if initial:
        routing.CloseModelWithParameters(search)
        warm = _read_feasible_routes(routing, _initial_index_routes(built, initial))
    if warm is not None:
        solution = routing.SolveFromAssignmentWithParameters(warm, search)
    else:
        solution = routing.SolveWithParameters(search)
    if solution is None:
        seconds = time.perf_counter() - started
        return RoutingSolution("no_solution", {}, [o.id for o in built.orders], None, seconds)
    objective = solution.ObjectiveValue()
    remaining = params.routing_time_limit_s - (time.perf_counter() - started)
    if improve and remaining > 0 and len(built.orders) > 1:
        groups, proximity = _order_groups(built)
        rr = ruin_and_recreate(
            routing, solution, groups=groups, proximity=proximity, seconds=remaining
        )
        index_routes = rr.routes
        objective = rr.cost
    else:
        index_routes = routes_from_assignment(routing, solution)
    seconds = time.perf_counter() - started
    node_kind: dict[int, tuple[str, str]] = {}
    for oid, node in built.pickup_node.items():
        node_kind[node] = ("pickup", oid)
    for oid, node in built.delivery_node.items():
        node_kind[node] = ("delivery", oid)
    routes: dict[str, list[tuple[str, str]]] = {}
    visited: set[str] = set()
    for veh, index_route in zip(built.vehicles, index_routes, strict=True):
        seq = [node_kind[manager.IndexToNode(index)] for index in index_route]
        routes[veh.vehicle.id] = seq
        visited.update(oid for kind, oid in seq if kind == "delivery")
    dropped = [o.id for o in built.orders if o.id not in visited]
    # ROUTING_OPTIMAL (7) is rare; with a metaheuristic the search stops at the time limit
    status = "optimal" if routing.status() == 7 and not improve else "feasible"
    return RoutingSolution(status, routes, dropped, objective, seconds)


def _read_feasible_routes(routing: Any, index_routes: list[list[int]]) -> Any:
    """An assignment from ``index_routes``; if they are infeasible together, from those
    vehicles' routes that are feasible alone (the others start empty); ``None`` if none."""
    assignment = routing.ReadAssignmentFromRoutes(index_routes, True)
    if assignment is not None:
        return assignment
    kept = []
    for v, route in enumerate(index_routes):
        alone = [route if k == v else [] for k in range(len(index_routes))]
        kept.append(route if route and routing.ReadAssignmentFromRoutes(alone, True) else [])
    if not any(kept):
        return None
    return routing.ReadAssignmentFromRoutes(kept, True)


def _initial_index_routes(
    built: RoutingModel, initial: Mapping[str, Sequence[tuple[str, str]]]
) -> list[list[int]]:
    """Routing indices of ``initial`` per vehicle, keeping only orders whose every node is
    in the model and on that route (a pickup never without its delivery)."""
    manager = built.manager
    out: list[list[int]] = []
    for veh in built.vehicles:
        seq = list(initial.get(veh.vehicle.id, ()))
        present = {(kind, oid) for kind, oid in seq}
        keep = {
            oid
            for kind, oid in seq
            if oid in built.delivery_node
            and ("delivery", oid) in present
            and (oid not in built.pickup_node or ("pickup", oid) in present)
        }
        nodes = {"pickup": built.pickup_node, "delivery": built.delivery_node}
        out.append(
            [
                manager.NodeToIndex(nodes[kind][oid])
                for kind, oid in seq
                if oid in keep and oid in nodes[kind]  # an order on board has no pickup node
            ]
        )
    return out


def _order_groups(built: RoutingModel) -> tuple[list[list[int]], np.ndarray]:
    """Ruin-and-recreate groups (an order's pickup and delivery) and their closeness.

    Two orders are close when their regions and their sources are: the travel time between
    the delivery locations plus that between the pickup locations, over the fastest profile.
    """
    manager = built.manager
    travel = built.travel
    assert travel is not None
    groups: list[list[int]] = []
    places: list[tuple[int, int]] = []
    for order in built.orders:
        d_node = built.delivery_node[order.id]
        p_node = built.pickup_node.get(order.id)
        members = [d_node] if p_node is None else [p_node, d_node]
        groups.append([manager.NodeToIndex(n) for n in members])
        d_loc = travel.index(built.node_location[d_node])
        p_loc = d_loc if p_node is None else travel.index(built.node_location[p_node])
        places.append((p_loc, d_loc))
    hours = np.min([np.asarray(h, float) for h in travel.hours.values()], axis=0)
    hours = np.where(np.isfinite(hours), hours, 1e6)
    pick = np.array([p for p, _ in places])
    drop = np.array([d for _, d in places])
    proximity = hours[np.ix_(drop, drop)] + hours[np.ix_(pick, pick)]
    return groups, proximity


def route_in_waves(
    problem: DispatchProblem,
    orders: Sequence[Order],
    vehicles: Sequence[RouteVehicle],
    params: DispatchParams,
    initial: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    promised_h: Mapping[str, float] | None = None,
) -> RoutingSolution:
    """Route in two waves and join them per vehicle.

    Wave 1 takes the orders meant to arrive by the deadline, with the deadline hard and drop
    penalties proportional to value: it maximises priority-weighted needs met on time.  Wave 2
    takes what is left (orders wave 1 could not fit, late orders, undelivered cargo on board);
    each vehicle starts it where and when its wave-1 route ends, the deadline is soft and
    dropping costs more than any lateness: it minimises lateness.  Each wave is a full
    build → solve; the time limit is shared 2:1.  ``initial`` routes (see
    :func:`solve_routing`) seed both waves; ``promised_h`` ETAs are soft bounds in wave 1
    (see :func:`build_routing_model`).
    """
    order_by_id = {o.id: o for o in orders}
    wave1 = [o for o in orders if o.on_time_target]
    first_params = replace(params, routing_time_limit_s=params.routing_time_limit_s * 2 / 3)
    if not wave1:
        first = RoutingSolution("no_orders", {}, [], 0, 0.0)
    else:
        built = build_routing_model(
            problem, wave1, vehicles, first_params, hard_deadline=True, promised_h=promised_h
        )
        if initial and promised_h:  # wave 1 starts from what the earlier plan had on time
            on_time = {oid for oid, eta in promised_h.items() if eta <= params.deadline_h + _EPS}
            initial_1 = {v: [st for st in seq if st[1] in on_time] for v, seq in initial.items()}
        else:
            initial_1 = initial
        first = solve_routing(built, first_params, initial_1)
    served = {oid for seq in first.routes.values() for kind, oid in seq if kind == "delivery"}
    rest = [
        o
        for o in orders
        if o.id not in served and (o.on_time_target or params.route_late_orders or o.onboard)
    ]
    if not rest or not vehicles:
        return first if wave1 else RoutingSolution("no_orders", {}, [o.id for o in rest], 0, 0.0)
    # each vehicle continues from the end of its wave-1 route, with undelivered cargo on board
    continued: list[RouteVehicle] = []
    for veh in vehicles:
        seq = first.routes.get(veh.vehicle.id, [])
        stops = _schedule(problem, veh, seq, order_by_id, params)
        delivered = {oid for kind, oid in seq if kind == "delivery"}
        left_on_board = [
            o
            for o in rest
            if o.onboard and o.vehicle_id == veh.vehicle.id and o.id not in delivered
        ]
        continued.append(
            replace(
                veh,
                start_node=stops[-1].node if stops else veh.start_node,
                start_h=stops[-1].departure_h if stops else veh.start_h,
                initial_weight_kg=sum(o.weight_kg for o in left_on_board),
                initial_volume_m3=sum(o.volume_m3 for o in left_on_board),
            )
        )
    second_params = replace(params, routing_time_limit_s=params.routing_time_limit_s / 3)
    built = build_routing_model(problem, rest, continued, second_params, hard_deadline=False)
    second = solve_routing(built, second_params, initial)
    routes = {
        veh.vehicle.id: first.routes.get(veh.vehicle.id, []) + second.routes.get(veh.vehicle.id, [])
        for veh in vehicles
    }
    routed = {oid for seq in routes.values() for kind, oid in seq if kind == "delivery"}
    return RoutingSolution(
        status=f"{first.status}+{second.status}",
        routes=routes,
        dropped=[o.id for o in orders if o.id not in routed],
        objective=None,
        solve_seconds=first.solve_seconds + second.solve_seconds,
    )


# --------------------------------------------------------------------------------------------
# Step 3: the plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestLine:
    """One loaded line: units of an item from one lot (or ``source/mode`` without lots)."""

    order_id: str
    item_id: str
    quantity: int
    lot_no: str
    expiry: date | None
    source_id: str
    source_mode: str
    region_id: str


@dataclass(frozen=True)
class Stop:
    """A stop: ``kind`` is ``pickup`` (load at a source) or ``delivery`` (unload at a region).

    ``eta_h`` is the arrival; service starts at ``start_h`` (after waiting for the source) and
    the vehicle leaves at ``departure_h``.  Loads are after the stop.
    """

    kind: Literal["pickup", "delivery"]
    node: str
    place_id: str
    order_id: str
    eta_h: float
    start_h: float
    departure_h: float
    load_kg: float
    load_m3: float


@dataclass
class VehiclePlan:
    """A vehicle's stops with ETAs and its manifest (what it loads).

    ``start_node``/``start_h``: where and when this plan starts it (its position for a vehicle
    re-routed after dispatch; its earlier stops are kept in ``stops``).  ``peak_load_*``: most
    on board at once; ``total_load_*``: everything loaded; ``trips``: loading rounds.
    """

    vehicle_id: str
    profile: str
    start_node: str
    start_h: float
    stops: list[Stop]
    manifest: list[ManifestLine]
    peak_load_kg: float
    peak_load_m3: float
    total_load_kg: float
    total_load_m3: float
    trips: int
    dispatched: bool = False

    @property
    def used(self) -> bool:
        return bool(self.stops)


@dataclass(frozen=True)
class Shortfall:
    """Units of an item a region will not have by the deadline, and why."""

    region_id: str
    item_id: str
    quantity: int
    reason: ShortfallReason
    detail: str


@dataclass
class RegionPlan:
    """Need, deliveries and on-time deliveries per item, with the arrival of the last unit.

    ``fill_rate_by_deadline``: mean over items of the share of the need met by the deadline.
    """

    region_id: str
    relocated_people: int
    need: dict[str, int]
    delivered: dict[str, int]
    on_time: dict[str, int]
    eta_h: dict[str, float]  # arrival of the last unit of each item (None-free: only delivered)
    fill_rate_by_deadline: float
    fully_served_by_deadline: bool
    shortfalls: list[Shortfall]


@dataclass
class PlanSummary:
    """The numbers a dispatcher reads first."""

    share_people_fully_served: float
    people_fully_served: int
    people_total: int
    latest_arrival_h: float | None
    vehicles_used: int
    allocation_seconds: float
    routing_seconds: float
    solve_seconds: float
    allocation_status: list[str]
    routing_status: str


@dataclass
class DispatchPlan:
    """A plan: its inputs, flows, orders, per-vehicle and per-region results, summary."""

    problem: DispatchProblem
    params: DispatchParams
    flows: list[Flow]
    orders: list[Order]
    vehicles: list[VehiclePlan]
    regions: list[RegionPlan]
    summary: PlanSummary
    unrouted_orders: list[str]
    generation: int = 0  # 0 for a first plan, +1 per re-plan

    def vehicle(self, vehicle_id: str) -> VehiclePlan:
        for vp in self.vehicles:
            if vp.vehicle_id == vehicle_id:
                return vp
        raise KeyError(vehicle_id)

    def region(self, region_id: str) -> RegionPlan:
        for rp in self.regions:
            if rp.region_id == region_id:
                return rp
        raise KeyError(region_id)

    def shortfalls(self) -> list[Shortfall]:
        return [s for rp in self.regions for s in rp.shortfalls]

    def summary_text(self) -> str:
        s = self.summary
        latest = "-" if s.latest_arrival_h is None else f"{s.latest_arrival_h:.2f} h"
        return (
            f"{s.people_fully_served}/{s.people_total} people fully served by "
            f"{self.params.deadline_h:g} h ({100 * s.share_people_fully_served:.1f} %), latest "
            f"arrival {latest}, {s.vehicles_used} vehicles, solved in {s.solve_seconds:.1f} s"
        )


def _schedule(
    problem: DispatchProblem,
    veh: RouteVehicle,
    seq: Sequence[tuple[str, str]],
    orders: Mapping[str, Order],
    params: DispatchParams,
) -> list[Stop]:
    """Earliest schedule of a route with the float travel times (what the ETAs report)."""
    travel = problem.travel
    sources = {s.id: s for s in problem.sources}
    regions = {r.id: r for r in problem.incident.regions}
    t = veh.start_h
    here = veh.start_node
    load_w, load_v = veh.initial_weight_kg, veh.initial_volume_m3
    stops: list[Stop] = []
    for kind, oid in seq:
        order = orders[oid]
        if kind == "pickup":
            node, place = sources[order.source_id].node, order.source_id
        else:
            node, place = regions[order.region_id].node, order.region_id
        eta = t + travel.time(veh.profile, here, node)
        start = max(eta, order.ready_h) if kind == "pickup" else eta
        service_h = handling_hours(order.weight_kg, kind, params)
        sign = 1.0 if kind == "pickup" else -1.0
        load_w += sign * order.weight_kg
        load_v += sign * order.volume_m3
        t = start + service_h
        stops.append(
            Stop(kind, node, place, oid, eta, start, t, max(load_w, 0.0), max(load_v, 0.0))
        )
        here = node
    return stops


def _fefo_lots(problem: DispatchProblem) -> dict[tuple[str, str], list[list[Any]]]:
    """Issuable lots per (source, item), earliest expiry first: [[lot_no, expiry, qty], ...]."""
    start_day = problem.incident.start.date()
    out: dict[tuple[str, str], list[list[Any]]] = defaultdict(list)
    for src in problem.sources:
        for lot in sorted(
            src.lots, key=lambda lt: (lt.expiry is None, lt.expiry or date.max, lt.lot_no)
        ):
            if lot.expiry is not None and lot.expiry < start_day:
                continue  # expired lots are never issued
            out[(src.id, lot.item_id)].append([lot.lot_no, lot.expiry, int(lot.quantity)])
    return out


def extract_plan(
    problem: DispatchProblem,
    params: DispatchParams,
    allocation: AllocationResult,
    orders: Sequence[Order],
    route_vehicles: Sequence[RouteVehicle],
    routing: RoutingSolution,
    *,
    done_stops: Mapping[str, list[Stop]] | None = None,
    done_orders: Sequence[Order] = (),
    dispatched: Iterable[str] = (),
    full_needs: Mapping[str, Mapping[str, int]] | None = None,
) -> DispatchPlan:
    """Read the plan: manifests with FEFO lots, ETAs, fill rates and explained shortfalls.

    For a re-plan, ``done_stops`` / ``done_orders`` are what dispatched vehicles did before,
    orders with ``lots`` keep the lots loaded earlier, and ``full_needs`` are the incident's
    needs (``problem`` then holds the residual needs and stock).
    """
    D = params.deadline_h
    order_by_id = {o.id: o for o in list(orders) + list(done_orders)}
    sources = {s.id: s for s in problem.sources}
    dispatched = set(dispatched)

    # Stops with ETAs per vehicle (earliest schedule on the float matrices).
    schedules: dict[str, list[Stop]] = {}
    for veh in route_vehicles:
        seq = routing.routes.get(veh.vehicle.id, [])
        schedules[veh.vehicle.id] = _schedule(problem, veh, seq, order_by_id, params)

    # FEFO: lots go to pickups in the order they happen, earliest expiry first; orders loaded
    # in an earlier plan keep their lots (the residual stock in ``problem`` already excludes them).
    lots = _fefo_lots(problem)
    order_lots: dict[str, list[ManifestLine]] = {
        o.id: list(o.lots) for o in order_by_id.values() if o.lots
    }
    pickups = sorted(
        (stop.start_h, vid, stop.order_id)
        for vid, stops in schedules.items()
        for stop in stops
        if stop.kind == "pickup" and not order_by_id[stop.order_id].lots
    )
    for _, _, oid in pickups:
        o = order_by_id[oid]
        mode = sources[o.source_id].mode
        assigned: list[ManifestLine] = []
        for line in o.lines:
            if mode not in LOT_MODES:
                lot_label = f"{o.source_id}/{mode}"
                assigned.append(
                    ManifestLine(
                        oid,
                        line.item_id,
                        line.quantity,
                        lot_label,
                        None,
                        o.source_id,
                        mode,
                        o.region_id,
                    )
                )
                continue
            left = line.quantity
            for entry in lots[(o.source_id, line.item_id)]:
                if left <= 0:
                    break
                take = min(left, entry[2])
                if take > 0:
                    assigned.append(
                        ManifestLine(
                            oid,
                            line.item_id,
                            take,
                            entry[0],
                            entry[1],
                            o.source_id,
                            mode,
                            o.region_id,
                        )
                    )
                    entry[2] -= take
                    left -= take
            if left > 0:  # cannot happen when allocation respected supply
                raise RuntimeError(f"order {oid}: {left} units of {line.item_id} without a lot")
        order_lots[oid] = assigned

    # Vehicle plans.
    vehicle_plans: list[VehiclePlan] = []
    delivered_at: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    all_vehicle_ids = [v.vehicle.id for v in route_vehicles]
    for veh in route_vehicles:
        vid = veh.vehicle.id
        stops = list((done_stops or {}).get(vid, [])) + schedules[vid]
        manifest: list[ManifestLine] = []
        # the manifest lists what is loaded (pickups); arrivals count at deliveries
        for stop in stops:
            for line in order_lots.get(stop.order_id, []):
                if stop.kind == "pickup":
                    manifest.append(line)
                else:
                    delivered_at[(line.region_id, line.item_id)].append((stop.eta_h, line.quantity))
        vehicle_plans.append(
            VehiclePlan(
                vehicle_id=vid,
                profile=veh.profile,
                start_node=veh.start_node,
                start_h=veh.start_h,
                stops=stops,
                manifest=manifest,
                peak_load_kg=max([s.load_kg for s in stops] + [veh.initial_weight_kg]),
                peak_load_m3=max([s.load_m3 for s in stops] + [veh.initial_volume_m3]),
                total_load_kg=sum(
                    order_by_id[s.order_id].weight_kg
                    for s in stops
                    if s.kind == "pickup" and s.order_id in order_by_id
                ),
                total_load_m3=sum(
                    order_by_id[s.order_id].volume_m3
                    for s in stops
                    if s.kind == "pickup" and s.order_id in order_by_id
                ),
                trips=sum(
                    1
                    for k, s in enumerate(stops)
                    if s.kind == "pickup" and (k == 0 or stops[k - 1].kind == "delivery")
                ),
                dispatched=vid in dispatched,
            )
        )
    for veh in problem.fleet:  # vehicles the routing model never saw (none in normal use)
        if veh.id not in all_vehicle_ids:
            vehicle_plans.append(
                VehiclePlan(
                    veh.id,
                    vehicle_profile(veh, params),
                    veh.start_node,
                    veh.available_from_h,
                    [],
                    [],
                    0,
                    0,
                    0,
                    0,
                    0,
                )
            )

    # Region plans with shortfall reasons.
    needs = allocation.model.needs
    supply = allocation.model.supply
    access = allocation.model.access
    src_index = {s.id: k for k, s in enumerate(problem.sources)}
    used_supply: dict[tuple[str, str], int] = defaultdict(int)
    alloc_on_time: dict[tuple[str, str], int] = defaultdict(int)
    alloc_late: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    for f in allocation.flows:
        used_supply[(f.source_id, f.item_id)] += f.quantity
        if f.on_time:
            alloc_on_time[(f.region_id, f.item_id)] += f.quantity
        else:
            alloc_late[(f.region_id, f.item_id)].append(f)
    # orders carried over from an earlier plan (re-plan) count as allocated, on time if targeted
    for o in order_by_id.values():
        if o.vehicle_id is not None and o.on_time_target:
            for line in o.lines:
                alloc_on_time[(o.region_id, line.item_id)] += line.quantity
    load_h = params.loading_minutes / 60.0
    region_plans: list[RegionPlan] = []
    people_total = people_served = 0
    latest: float | None = None
    for r, reg in enumerate(problem.incident.regions):
        need = dict(full_needs[reg.id]) if full_needs is not None else dict(needs[reg.id])
        delivered: dict[str, int] = {}
        on_time: dict[str, int] = {}
        eta: dict[str, float] = {}
        for item_id in need:
            arrivals = delivered_at.get((reg.id, item_id), [])
            delivered[item_id] = sum(q for _, q in arrivals)
            on_time[item_id] = sum(q for t, q in arrivals if t <= D + _EPS)
            if arrivals:
                eta[item_id] = max(t for t, _ in arrivals)
                latest = eta[item_id] if latest is None else max(latest, eta[item_id])
        shortfalls: list[Shortfall] = []
        for item_id, n in need.items():
            missing = n - on_time[item_id]
            if missing <= 0:
                continue
            shortfalls.extend(
                _explain(
                    problem,
                    params,
                    reg.id,
                    r,
                    item_id,
                    missing,
                    n,
                    on_time[item_id],
                    alloc_on_time[(reg.id, item_id)],
                    alloc_late[(reg.id, item_id)],
                    supply,
                    used_supply,
                    access,
                    src_index,
                    load_h,
                )
            )
        fill = float(np.mean([min(1.0, on_time[i] / n) for i, n in need.items()])) if need else 1.0
        fully = all(on_time[i] >= n for i, n in need.items())
        people_total += reg.relocated_people
        people_served += reg.relocated_people if fully else 0
        region_plans.append(
            RegionPlan(
                reg.id, reg.relocated_people, need, delivered, on_time, eta, fill, fully, shortfalls
            )
        )

    summary = PlanSummary(
        share_people_fully_served=people_served / people_total if people_total else 1.0,
        people_fully_served=people_served,
        people_total=people_total,
        latest_arrival_h=latest,
        vehicles_used=sum(1 for vp in vehicle_plans if vp.used),
        allocation_seconds=allocation.solve_seconds,
        routing_seconds=routing.solve_seconds,
        solve_seconds=allocation.solve_seconds + routing.solve_seconds,
        allocation_status=list(allocation.statuses),
        routing_status=routing.status,
    )
    return DispatchPlan(
        problem,
        params,
        list(allocation.flows),
        list(orders),
        vehicle_plans,
        region_plans,
        summary,
        list(routing.dropped),
    )


def _explain(
    problem: DispatchProblem,
    params: DispatchParams,
    region_id: str,
    r: int,
    item_id: str,
    missing: int,
    need: int,
    on_time: int,
    alloc_on_time: int,
    late_flows: Sequence[Flow],
    supply: Mapping[str, Mapping[str, int]],
    used_supply: Mapping[tuple[str, str], int],
    access: _Access,
    src_index: Mapping[str, int],
    load_h: float,
) -> list[Shortfall]:
    """Split a region-item shortfall by cause (see :data:`ShortfallReason`)."""
    D = params.deadline_h
    out: list[Shortfall] = []

    def add(qty: int, reason: ShortfallReason, detail: str) -> None:
        nonlocal missing
        qty = min(qty, missing)
        if qty > 0:
            out.append(Shortfall(region_id, item_id, qty, reason, detail))
            missing -= qty

    if not problem.fleet:
        add(missing, "no_vehicle", "the fleet is empty")
        return out
    # allocated on time but not delivered on time: the fleet could not carry it in time
    routed_short = max(0, alloc_on_time - on_time)
    if routed_short:
        region_node = problem.incident.regions[r].node
        any_vehicle_reaches = any(
            math.isfinite(problem.travel.time(vehicle_profile(v, params), s.node, region_node))
            for v in problem.fleet
            for s in problem.sources
            if supply[s.id].get(item_id, 0) > 0
        )
        if any_vehicle_reaches:
            add(
                routed_short,
                "no_vehicle",
                "allocated in time but no vehicle could deliver it by the deadline",
            )
        else:
            add(routed_short, "unreachable", "no vehicle can reach the region any more")
    holders = [s for s in problem.sources if supply[s.id].get(item_id, 0) > 0]
    if not holders:
        add(missing, "not_enough_stock", "no source holds this item")
        return out
    road_ok = [s for s in holders if math.isfinite(access.road_sr[src_index[s.id], r])]
    if not road_ok:
        add(missing, "unreachable", "no source holding the item has a road to the region")
        return out
    vehicle_ok = [
        s
        for s in road_ok
        if math.isfinite(access.travel_sr[src_index[s.id], r])
        and math.isfinite(access.vehicle_at_source[src_index[s.id]])
    ]
    if not vehicle_ok:
        add(missing, "no_vehicle", "no vehicle of the fleet can reach a source and then the region")
        return out
    # sent late: because an agreement/production/mutual-aid lead time, or because of distance
    for f in late_flows:
        src = problem.sources[src_index[f.source_id]]
        s = src_index[f.source_id]
        without_lead = (
            max(problem.now_h, access.vehicle_at_source[s]) + load_h + access.travel_sr[s, r]
        )
        if f.earliest_arrival_h <= D + _EPS and src.mode == "capacity":
            add(f.quantity, "agreement_not_yet_active", f"{src.id} cannot produce it in time")
        elif f.earliest_arrival_h <= D + _EPS:
            add(f.quantity, "no_vehicle", "the fleet cannot carry more by the deadline")
        elif src.mode in LEAD_TIME_MODES and without_lead <= D + _EPS:
            add(
                f.quantity,
                "agreement_not_yet_active",
                f"{src.id} ({src.mode}) is ready only at {src.lead_time_h:g} h; arrives ~{f.earliest_arrival_h:.1f} h",
            )
        else:
            add(
                f.quantity,
                "too_far",
                f"from {src.id} the earliest arrival is {f.earliest_arrival_h:.1f} h",
            )
    # not sent at all: stock left somewhere that cannot arrive in time, else there is none
    leftover = [
        s for s in vehicle_ok if supply[s.id][item_id] - used_supply.get((s.id, item_id), 0) > 0
    ]
    if leftover and missing > 0:
        s = min(leftover, key=lambda src: access.travel_sr[src_index[src.id], r])
        k = src_index[s.id]
        arrival = (
            max(s.lead_time_h, problem.now_h, access.vehicle_at_source[k])
            + load_h
            + access.travel_sr[k, r]
        )
        without_lead = (
            max(problem.now_h, access.vehicle_at_source[k]) + load_h + access.travel_sr[k, r]
        )
        if s.mode in LEAD_TIME_MODES and without_lead <= D + _EPS:
            add(
                missing,
                "agreement_not_yet_active",
                f"{s.id} ({s.mode}) is ready only at {s.lead_time_h:g} h",
            )
        elif s.mode == "capacity" and arrival <= D + _EPS:
            add(
                missing,
                "agreement_not_yet_active",
                f"{s.id} cannot produce enough before the deadline",
            )
        else:
            add(
                missing,
                "too_far",
                f"unused stock at {s.id} arrives at {arrival:.1f} h at the earliest",
            )
    add(missing, "not_enough_stock", f"all reachable stock of {item_id} is allocated")
    return out


# --------------------------------------------------------------------------------------------
# One call
# --------------------------------------------------------------------------------------------


def _route_vehicles(problem: DispatchProblem, params: DispatchParams) -> list[RouteVehicle]:
    return [
        RouteVehicle(
            v, vehicle_profile(v, params), v.start_node, max(v.available_from_h, problem.now_h)
        )
        for v in problem.fleet
    ]


def plan_dispatch(problem: DispatchProblem, params: DispatchParams | None = None) -> DispatchPlan:
    """Allocate, route and extract a dispatch plan (build → solve → extract, twice)."""
    params = params if params is not None else DispatchParams()
    allocation_model = build_allocation_model(problem, params)
    allocation = solve_allocation(problem, allocation_model, params)
    value = {(problem.incident.regions[r].id, i): v for (r, i), v in allocation_model.value.items()}
    orders = split_flows_into_orders(problem, allocation.flows, params, value)
    vehicles = _route_vehicles(problem, params)
    routing = route_in_waves(problem, orders, vehicles, params)
    return extract_plan(problem, params, allocation, orders, vehicles, routing)


# --------------------------------------------------------------------------------------------
# Printable manifest
# --------------------------------------------------------------------------------------------

MANIFEST_COLUMNS = (
    "vehicle_id",
    "stop",
    "action",
    "place_id",
    "node",
    "eta",
    "eta_h",
    "order_id",
    "item_id",
    "item_name",
    "quantity",
    "weight_kg",
    "volume_m3",
    "lot_no",
    "expiry",
    "source_id",
    "source_mode",
)


def plan_to_manifest_csv(plan: DispatchPlan, vehicle_id: str) -> str:
    """A printable CSV manifest: one row per item line per stop (load at sources, unload at regions)."""
    try:
        vp = plan.vehicle(vehicle_id)
    except KeyError:
        raise DispatchInputError("vehicle_id", f"no vehicle {vehicle_id!r} in the plan") from None
    items = {it.id: it for it in plan.problem.items}
    start = plan.problem.incident.start
    lines_by_order: dict[str, list[ManifestLine]] = defaultdict(list)
    for line in vp.manifest:
        lines_by_order[line.order_id].append(line)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for k, stop in enumerate(vp.stops, start=1):
        eta = (start + timedelta(hours=stop.eta_h)).isoformat(timespec="minutes")
        for line in lines_by_order.get(stop.order_id, []):
            it = items[line.item_id]
            writer.writerow(
                [
                    vp.vehicle_id,
                    k,
                    "load" if stop.kind == "pickup" else "unload",
                    stop.place_id,
                    stop.node,
                    eta,
                    f"{stop.eta_h:.2f}",
                    line.order_id,
                    line.item_id,
                    it.name,
                    line.quantity,
                    f"{line.quantity * it.weight_kg:.1f}",
                    f"{line.quantity * it.volume_m3:.3f}",
                    line.lot_no,
                    line.expiry.isoformat() if line.expiry else "",
                    line.source_id,
                    line.source_mode,
                ]
            )
    writer.writerow([])
    writer.writerow(
        [
            "total_load_kg",
            f"{vp.total_load_kg:.1f}",
            "total_load_m3",
            f"{vp.total_load_m3:.3f}",
            "peak_load_kg",
            f"{vp.peak_load_kg:.1f}",
            "trips",
            vp.trips,
        ]
    )
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Re-plan after road events
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VehiclePosition:
    """Where a dispatched vehicle is (a node it will pass) and when; stops before are done.

    ``completed_stops`` counts the plan's stops already done; ``None`` infers them as the stops
    whose ETA is at or before ``at_h``.
    """

    node: str
    at_h: float
    completed_stops: int | None = None


def expected_positions(plan: DispatchPlan, now_h: float) -> dict[str, VehiclePosition]:
    """Where the plan expects each vehicle that has left by ``now_h`` to be.

    A vehicle has left when its first stop's ETA is before ``now_h``; its completed stops are
    those whose loading or unloading has started (a truck half-loaded finishes loading: it is
    placed at that stop, at the time it will leave).  A vehicle between stops is placed at the
    stop it last left, at the time it left (re-routing may turn it back); one still driving to
    its first stop is placed at its start.  Pass the result (or your GPS-based positions) to
    :func:`replan`.
    """
    positions: dict[str, VehiclePosition] = {}
    for vp in plan.vehicles:
        if not vp.stops or vp.stops[0].eta_h > now_h + _EPS and vp.start_h >= now_h - _EPS:
            continue
        done = [k for k, stop in enumerate(vp.stops) if stop.start_h <= now_h + _EPS]
        if done:
            last = vp.stops[done[-1]]
            positions[vp.vehicle_id] = VehiclePosition(last.node, last.departure_h, len(done))
        else:
            positions[vp.vehicle_id] = VehiclePosition(vp.start_node, vp.start_h, 0)
    return positions


@dataclass(frozen=True)
class EtaChange:
    """A region's item arrives at a different time or in a different on-time quantity."""

    region_id: str
    item_id: str
    vehicle_id: str | None
    old_eta_h: float | None
    new_eta_h: float | None
    old_on_time: int
    new_on_time: int


@dataclass
class ReplanResult:
    """The new plan and what changed for each region and item."""

    plan: DispatchPlan
    changed_etas: list[EtaChange]


def replan(
    plan: DispatchPlan,
    new_travel: TravelTimes,
    dispatched_vehicle_positions: Mapping[str, VehiclePosition],
    *,
    now_h: float | None = None,
    params: DispatchParams | None = None,
    eta_tolerance_h: float = 0.05,
) -> ReplanResult:
    """Re-plan with new travel times (a road closed, a slowdown).

    Dispatched vehicles keep the cargo on board and are re-routed from their position (they may
    also take new loads after).  Everything else — vehicles not yet dispatched, stock not loaded
    yet (including the not-yet-loaded orders of dispatched trucks), needs not yet covered — is
    re-allocated and re-routed from ``now_h`` (default: the latest position time).  Pass every
    vehicle that has left; the others are treated as at their start node.  The result lists,
    per region and item, the arrival of the last unit and the on-time quantity before and after
    when either changed (arrivals by more than ``eta_tolerance_h``); :func:`expected_positions`
    gives positions from the plan itself.  Travel already driven is not re-timed: completed stops keep their earlier ETAs.
    """
    params = params if params is not None else plan.params
    old = plan.problem
    fleet = {v.id: v for v in old.fleet}
    for vid, pos in dispatched_vehicle_positions.items():
        if vid not in fleet:
            raise DispatchInputError("dispatched_vehicle_positions", f"unknown vehicle {vid!r}")
        if not new_travel.has(pos.node):
            raise DispatchInputError(
                f"dispatched_vehicle_positions[{vid}].node", f"{pos.node!r} not in travel.nodes"
            )
    if now_h is None:
        now_h = max([p.at_h for p in dispatched_vehicle_positions.values()], default=old.now_h)
    full_needs = {rp.region_id: dict(rp.need) for rp in plan.regions}
    order_by_id = {o.id: o for o in plan.orders}
    lots_of_order: dict[str, list[ManifestLine]] = defaultdict(list)
    for vp in plan.vehicles:
        for ml in vp.manifest:
            lots_of_order[ml.order_id].append(ml)

    # What dispatched vehicles did, carry and must still do.
    done_stops: dict[str, list[Stop]] = {}
    done_orders: list[Order] = []
    fixed_orders: list[Order] = []
    route_vehicles: list[RouteVehicle] = []
    covered: dict[tuple[str, str], int] = defaultdict(int)  # delivered or on a dispatched truck
    lot_taken: dict[tuple[str, str], int] = defaultdict(int)  # (source, lot_no)
    qty_taken: dict[tuple[str, str], int] = defaultdict(int)  # (source, item) for lot-less modes
    for vid, pos in dispatched_vehicle_positions.items():
        vp = plan.vehicle(vid)
        k = pos.completed_stops
        if k is None:
            k = sum(1 for stop in vp.stops if stop.eta_h <= pos.at_h + _EPS)
        done_stops[vid] = vp.stops[:k]
        picked = {stop.order_id for stop in vp.stops[:k] if stop.kind == "pickup"}
        delivered = {stop.order_id for stop in vp.stops[:k] if stop.kind == "delivery"}
        onboard_w = onboard_v = 0.0
        for oid in dict.fromkeys(stop.order_id for stop in vp.stops):
            if oid not in picked:
                continue  # not loaded yet: its stock goes back to the pool and is re-planned
            o = replace(order_by_id[oid], vehicle_id=vid, lots=tuple(lots_of_order[oid]))
            for ml in o.lots:
                covered[(o.region_id, ml.item_id)] += ml.quantity
                if ml.source_mode in LOT_MODES:
                    lot_taken[(o.source_id, ml.lot_no)] += ml.quantity
                else:
                    qty_taken[(o.source_id, ml.item_id)] += ml.quantity
            if oid in delivered:
                done_orders.append(o)
                continue
            onboard_w += o.weight_kg
            onboard_v += o.volume_m3
            fixed_orders.append(replace(o, onboard=True))
        veh = fleet[vid]
        route_vehicles.append(
            RouteVehicle(
                veh, vehicle_profile(veh, params), pos.node, pos.at_h, onboard_w, onboard_v
            )
        )
    for veh in old.fleet:
        if veh.id not in dispatched_vehicle_positions:
            start_h = max(veh.available_from_h, now_h)
            route_vehicles.append(
                RouteVehicle(veh, vehicle_profile(veh, params), veh.start_node, start_h)
            )

    # Residual problem: needs minus what is covered; stock minus what dispatched trucks took.
    residual_regions = [
        replace(
            reg,
            needs={
                it.id: max(0, full_needs[reg.id].get(it.id, 0) - covered.get((reg.id, it.id), 0))
                for it in old.items
            },
        )
        for reg in old.incident.regions
    ]
    residual_sources = []
    for src in old.sources:
        if src.mode in LOT_MODES:
            lots = tuple(
                replace(lot, quantity=max(0, lot.quantity - lot_taken.get((src.id, lot.lot_no), 0)))
                for lot in src.lots
            )
            residual_sources.append(replace(src, lots=lots))
        elif src.mode == "capacity":
            # the production line first makes what dispatched trucks carry: its start shifts
            shift = max(
                (
                    24.0 * qty_taken.get((src.id, i), 0) / rate
                    for i, rate in src.quantities.items()
                    if rate > 0
                ),
                default=0.0,
            )
            residual_sources.append(replace(src, lead_time_h=src.lead_time_h + shift))
        else:
            left = {
                i: max(0.0, q - qty_taken.get((src.id, i), 0)) for i, q in src.quantities.items()
            }
            residual_sources.append(replace(src, quantities=left))
    problem = DispatchProblem(
        incident=replace(old.incident, regions=tuple(residual_regions)),
        items=old.items,
        sources=tuple(residual_sources),
        fleet=old.fleet,
        travel=new_travel,
        now_h=now_h,
    )

    # build → solve → extract, with the dispatched vehicles' orders fixed to them.
    # the earlier plan's flows not yet on a truck: the allocation stays as close as it may
    still_to_send: dict[tuple[str, str, str], int] = defaultdict(int)
    kept = {o.id for o in fixed_orders} | {o.id for o in done_orders}
    for o in plan.orders:
        if o.id not in kept:
            for line in o.lines:
                still_to_send[(o.source_id, o.region_id, line.item_id)] += line.quantity
    allocation_model = build_allocation_model(problem, params)
    allocation = solve_allocation(problem, allocation_model, params, still_to_send)
    value = {(problem.incident.regions[r].id, i): v for (r, i), v in allocation_model.value.items()}
    generation = plan.generation + 1
    new_orders = [
        replace(o, id=f"g{generation}-{o.id}")
        for o in split_flows_into_orders(problem, allocation.flows, params, value)
    ]
    orders = fixed_orders + new_orders
    initial, promised = _previous_routes(plan, new_orders, done_stops, {o.id for o in fixed_orders})
    routing = route_in_waves(problem, orders, route_vehicles, params, initial, promised)
    new_plan = extract_plan(
        problem,
        params,
        allocation,
        orders,
        route_vehicles,
        routing,
        done_stops=done_stops,
        done_orders=done_orders,
        dispatched=dispatched_vehicle_positions.keys(),
        full_needs=full_needs,
    )
    new_plan.generation = generation
    # The plan describes the whole incident: full needs and the stock as it was at the start
    # (its manifests hold both the earlier cargo and the new loads), with the new travel times.
    new_plan.problem = replace(old, travel=new_travel, now_h=now_h)
    return ReplanResult(new_plan, _eta_changes(plan, new_plan, eta_tolerance_h))


def _previous_routes(
    plan: DispatchPlan,
    new_orders: Sequence[Order],
    done_stops: Mapping[str, Sequence[Stop]],
    kept: set[str],
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, float]]:
    """The plan's remaining stops per vehicle, with re-allocated orders renamed to the new
    order carrying the same load from the same source to the same region (orders kept on a
    dispatched truck keep their id), and the delivery ETA it promised each of those orders."""
    by_load: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for order in new_orders:
        by_load[(order.source_id, order.region_id, order.lines)].append(order.id)
    old_orders = {o.id: o for o in plan.orders}
    renamed: dict[str, str] = {}
    for vp in plan.vehicles:
        for stop in vp.stops:
            o = old_orders.get(stop.order_id)
            if o is None or o.id in renamed or o.id in kept:
                continue
            twins = by_load.get((o.source_id, o.region_id, o.lines))
            renamed[o.id] = twins.pop(0) if twins else o.id
    routes = {
        vp.vehicle_id: [
            (stop.kind, renamed.get(stop.order_id, stop.order_id))
            for stop in vp.stops[len(done_stops.get(vp.vehicle_id, ())) :]
        ]
        for vp in plan.vehicles
    }
    promised = {
        renamed.get(stop.order_id, stop.order_id): stop.eta_h
        for vp in plan.vehicles
        for stop in vp.stops
        if stop.kind == "delivery"
    }
    return routes, promised


def _eta_changes(old: DispatchPlan, new: DispatchPlan, tolerance_h: float) -> list[EtaChange]:
    """Per region and item: the arrival of the last unit and on-time quantity, before vs after."""
    changes: list[EtaChange] = []
    for rp_old in old.regions:
        rp_new = new.region(rp_old.region_id)
        for item_id in rp_old.need:
            a, b = rp_old.eta_h.get(item_id), rp_new.eta_h.get(item_id)
            ot_a, ot_b = rp_old.on_time.get(item_id, 0), rp_new.on_time.get(item_id, 0)
            same_eta = (a is None and b is None) or (
                a is not None and b is not None and abs(a - b) <= tolerance_h
            )
            if not same_eta or ot_a != ot_b:
                vehicles = sorted(
                    {
                        vp.vehicle_id
                        for vp in new.vehicles
                        for ml in vp.manifest
                        if ml.region_id == rp_old.region_id and ml.item_id == item_id
                    }
                )
                changes.append(
                    EtaChange(
                        rp_old.region_id, item_id, ",".join(vehicles) or None, a, b, ot_a, ot_b
                    )
                )
    return changes

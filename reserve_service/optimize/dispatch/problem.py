"""Dispatch input: incident, items, sources, fleet, travel times and parameters; input checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import numpy as np

from reserve_service.optimize.solvers import SolverParams

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
    ``norm_days`` (else ``Incident.relief_days``) when ``norm_per_day``.
    """

    id: str
    weight_kg: float
    volume_m3: float
    norm_quantity: float = 0.0
    norm_basis: Literal["person", "household"] = "person"
    norm_per_day: bool = False
    name: str = ""
    norm_days: float | None = None


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
    """Square travel-time matrices (hours, ``np.inf`` = unreachable) over ``nodes``, per profile.

    ``hours`` is what the models plan with. ``epochs``, when given, are the roads as they will
    be: ``(from_h, matrices)`` sorted by ``from_h`` (hours since the incident start), each the
    hours of legs leaving at ``from_h`` meeting the road events in force while they drive
    (``RoadGraph.leg_hours``); the network changes only at those times. ``hours`` should then
    be their element-wise minimum (a lower bound for every departure), and
    :meth:`time` with ``depart_h`` gives the time of a leg leaving then, waiting for a road
    to reopen when that is sooner.
    """

    nodes: tuple[str, ...]
    hours: Mapping[str, np.ndarray]
    epochs: tuple[tuple[float, Mapping[str, np.ndarray]], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n: k for k, n in enumerate(self.nodes)})

    def index(self, node: str) -> int:
        return self._index[node]  # type: ignore[attr-defined]

    def has(self, node: str) -> bool:
        return node in self._index  # type: ignore[attr-defined]

    def time(self, profile: str, a: str, b: str, depart_h: float | None = None) -> float:
        """Hours from ``a`` to ``b``; leaving at ``depart_h`` when the roads change over time."""
        i, j = self.index(a), self.index(b)
        if depart_h is None or not self.epochs:
            return float(self.hours[profile][i, j])
        starts = [from_h for from_h, _ in self.epochs]
        k = max(0, int(np.searchsorted(starts, depart_h, side="right")) - 1)
        arrive = depart_h + self._drive(profile, i, j, k, depart_h)
        for later in range(k + 1, len(self.epochs)):  # or wait for the roads of a later epoch
            if starts[later] >= arrive:
                break
            arrive = min(arrive, starts[later] + self._drive(profile, i, j, later, starts[later]))
        return arrive - depart_h

    def _drive(self, profile: str, i: int, j: int, k: int, depart_h: float) -> float:
        """Leaving at ``depart_h`` in epoch ``k``: its hours, and every later epoch's the drive
        reaches (the roads it will meet on the way, a safe reading)."""
        hours = float(self.epochs[k][1][profile][i, j])
        for from_h, matrices in self.epochs[k + 1:]:
            if depart_h + hours < from_h:
                break
            hours = max(hours, float(matrices[profile][i, j]))
        return hours


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
    ``candidate_sources`` / ``candidate_cover``: per region and item the allocation considers
    that many earliest-arriving holders of the item, and more until they hold ``cover`` × the
    need (0: every source; see :func:`~.allocation.candidate_arcs`).
    ``full_service_weight``: the allocation also earns this × a region's priority-weighted
    head count when every item of it is allocated on time in full (a binary per region: it
    completes regions rather than spreading every item thin; up to 20 regions); 0 turns it off.
    ``fleet_budget_scale`` multiplies the fleet budget (the repair rounds set it).
    ``repair_rounds``: after a plan, allocate again with the fleet budget scaled by the share
    of the on-time allocation routing delivered, route again, keep the best plan — at most
    this many more times, and only while a round fits in ``time_budget_s`` seconds in all.
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
    order_capacity_quantile: float = 0.0
    routing_metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    routing_first_solution: str = "auto"
    routing_improvement: str = "ruin_recreate"
    routing_gls_share: float = 0.3
    promise_weight: float = 2.0
    integer_quantities: bool = False
    fleet_budget: bool = True
    route_late_orders: bool = True
    candidate_sources: int = 4
    full_service_weight: float = 1.0
    fleet_budget_scale: float = 1.0
    repair_rounds: int = 2
    time_budget_s: float = 30.0
    candidate_cover: float = 2.0

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
        if self.repair_rounds < 0 or not self.fleet_budget_scale >= 0:
            raise DispatchInputError("params.repair_rounds", "must be >= 0")
        if self.full_service_weight < 0:
            raise DispatchInputError("params.full_service_weight", "must be >= 0")
        if self.candidate_sources < 0 or self.candidate_cover < 0:
            raise DispatchInputError("params.candidate_sources", "must be >= 0")
        if not 0 <= self.order_capacity_quantile <= 1:
            raise DispatchInputError("params.order_capacity_quantile", "must be in [0, 1]")


def handling_hours(
    weight_kg: float, kind: str, params: DispatchParams, with_fixed: bool = True
) -> float:
    """Hours to load (``kind="pickup"``) or unload (``"delivery"``) an order of ``weight_kg``.

    The fixed minutes are paid once per stop: orders loaded (or unloaded) one after another at
    the same place share them (``with_fixed=False`` for all but the last of them).
    """
    fixed = params.loading_minutes if kind == "pickup" else params.unloading_minutes
    per_t = params.loading_minutes_per_t if kind == "pickup" else params.unloading_minutes_per_t
    return ((fixed if with_fixed else 0.0) + per_t * weight_kg / 1000.0) / 60.0


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

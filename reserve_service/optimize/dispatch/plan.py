"""The plan a dispatcher reads: stops, manifests, region results, summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from reserve_service.optimize.dispatch.problem import (
    DispatchParams,
    DispatchProblem,
    ShortfallReason,
)

if TYPE_CHECKING:
    from reserve_service.optimize.dispatch.allocation import Flow
    from reserve_service.optimize.dispatch.orders import Order


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
    mean_arrival_h: float | None = None  # people-weighted arrival of each region's last unit
    bound_people_served: int | None = None  # no plan fully serves more by the deadline
    bound_share_people_served: float | None = None

    @property
    def gap(self) -> float | None:
        """Share of the bound the plan falls short of (0 = the plan serves the bound)."""
        if self.bound_people_served is None:
            return None
        if self.bound_people_served == 0:
            return 0.0
        return max(0.0, 1.0 - self.people_fully_served / self.bound_people_served)


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

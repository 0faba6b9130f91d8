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


Modules, in the order a plan is made: :mod:`.problem` (input and its checks), :mod:`.needs`,
:mod:`.allocation`, :mod:`.orders`, :mod:`.routing`, :mod:`.repair` (top-ups),
:mod:`.extraction` (into :mod:`.plan`, with :mod:`.shortfalls`), :mod:`.bound` (people served at
most), :mod:`.planner` (the one call), :mod:`.manifest`, :mod:`.replan`, :mod:`.storage` (a plan
as JSON).  They are pure; :mod:`.service`, :mod:`.schemas` and :mod:`.api` connect them to the
database and HTTP and are not imported here.
"""

from __future__ import annotations

from reserve_service.optimize.dispatch.allocation import (
    LATE_WEIGHT,
    AllocationModel,
    AllocationResult,
    Flow,
    build_allocation_model,
    candidate_arcs,
    greedy_packing,
    solve_allocation,
)
from reserve_service.optimize.dispatch.bound import (
    ServedBound,
    served_bound,
)
from reserve_service.optimize.dispatch.extraction import (
    extract_plan,
)
from reserve_service.optimize.dispatch.manifest import (
    MANIFEST_COLUMNS,
    plan_to_manifest_csv,
)
from reserve_service.optimize.dispatch.needs import (
    region_needs,
    source_supply,
)
from reserve_service.optimize.dispatch.orders import (
    Order,
    OrderLine,
    RouteVehicle,
    split_flows_into_orders,
)
from reserve_service.optimize.dispatch.plan import (
    DispatchPlan,
    ManifestLine,
    PlanSummary,
    RegionPlan,
    Shortfall,
    Stop,
    VehiclePlan,
)
from reserve_service.optimize.dispatch.planner import (
    plan_dispatch,
)
from reserve_service.optimize.dispatch.problem import (
    LEAD_TIME_MODES,
    LOT_MODES,
    SOURCE_MODES,
    AffectedRegion,
    DispatchInputError,
    DispatchParams,
    DispatchProblem,
    Incident,
    Item,
    ShortfallReason,
    SourceMode,
    StockLot,
    SupplySource,
    TravelTimes,
    Vehicle,
    handling_hours,
    validate_problem,
    vehicle_profile,
)
from reserve_service.optimize.dispatch.repair import (
    top_up,
)
from reserve_service.optimize.dispatch.replan import (
    EtaChange,
    ReplanResult,
    VehiclePosition,
    expected_positions,
    replan,
)
from reserve_service.optimize.dispatch.routing import (
    RoutingModel,
    RoutingSolution,
    build_routing_model,
    route_in_waves,
    solve_routing,
)
from reserve_service.optimize.dispatch.shortfalls import (
    ShortfallBounds,
    explain_shortfall,
    shortfall_bounds,
)
from reserve_service.optimize.dispatch.storage import (
    PLAN_FORMAT,
    StoredPlanError,
    dump_plan,
    load_plan,
)

__all__ = [
    "SourceMode",
    "ShortfallReason",
    "SOURCE_MODES",
    "LOT_MODES",
    "LEAD_TIME_MODES",
    "DispatchInputError",
    "Item",
    "AffectedRegion",
    "Incident",
    "StockLot",
    "SupplySource",
    "Vehicle",
    "TravelTimes",
    "DispatchProblem",
    "DispatchParams",
    "handling_hours",
    "vehicle_profile",
    "validate_problem",
    "region_needs",
    "source_supply",
    "LATE_WEIGHT",
    "Flow",
    "AllocationModel",
    "AllocationResult",
    "build_allocation_model",
    "candidate_arcs",
    "solve_allocation",
    "greedy_packing",
    "OrderLine",
    "Order",
    "RouteVehicle",
    "split_flows_into_orders",
    "RoutingModel",
    "RoutingSolution",
    "build_routing_model",
    "solve_routing",
    "route_in_waves",
    "top_up",
    "ManifestLine",
    "Stop",
    "VehiclePlan",
    "Shortfall",
    "RegionPlan",
    "PlanSummary",
    "DispatchPlan",
    "extract_plan",
    "ShortfallBounds",
    "shortfall_bounds",
    "explain_shortfall",
    "ServedBound",
    "served_bound",
    "plan_dispatch",
    "MANIFEST_COLUMNS",
    "plan_to_manifest_csv",
    "VehiclePosition",
    "expected_positions",
    "EtaChange",
    "ReplanResult",
    "replan",
    "PLAN_FORMAT",
    "StoredPlanError",
    "dump_plan",
    "load_plan",
]

"""Step 2, routing: OR-Tools pickup and delivery of the orders, in two waves.

Each (source, region) flow is split into orders no larger than a truck (the
``order_capacity_quantile`` of the fleet's weight and volume capacities; by default the smallest
truck, so that every truck can carry every order and a big one takes several).  An order is a pickup
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

"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import numpy as np

from reserve_service.optimize.dispatch.orders import Order, RouteVehicle
from reserve_service.optimize.dispatch.plan import Stop
from reserve_service.optimize.dispatch.problem import (
    _EPS,
    _PROMISE_TOLERANCE_H,
    DispatchParams,
    DispatchProblem,
    TravelTimes,
    handling_hours,
)
from reserve_service.optimize.monitor import SolveMonitor, monitor_or_null
from reserve_service.optimize.ruin_recreate import routes_from_assignment, ruin_and_recreate


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
_EMPTY_START_MAX_ORDERS = 40
_MIN_CONSTRUCTION_SECONDS = 1.0
_ROUND_SECONDS = 1.5  # ruin and recreate runs in rounds this long (stop requests between them)
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
    node_kind: list[int] = [0] * (n_veh + 1)  # 0 start or sink, 1 pickup, 2 delivery
    node_service_s: list[int] = [0] * (n_veh + 1)  # per-tonne handling
    node_fixed_s: list[int] = [0] * (n_veh + 1)  # fixed handling, once per stop
    pickup_node: dict[str, int] = {}
    delivery_node: dict[str, int] = {}

    def add_node(location: str, kind: str, weight_kg: float) -> int:
        node_location.append(location)
        node_kind.append(1 if kind == "pickup" else 2)
        node_service_s.append(
            int(math.ceil(handling_hours(weight_kg, kind, params, with_fixed=False) * 3600))
        )
        fixed_h = handling_hours(0.0, kind, params)
        node_fixed_s.append(int(math.ceil(fixed_h * 3600)))
        return len(node_location) - 1

    for order in orders:
        if not order.onboard:
            pickup_node[order.id] = add_node(sources[order.source_id].node, "pickup", order.weight_kg)
        delivery_node[order.id] = add_node(
            regions[order.region_id].node, "delivery", order.weight_kg
        )
    n_nodes = len(node_location)
    loc_index = np.array([travel.index(loc) if loc is not None else -1 for loc in node_location])
    real = loc_index >= 0
    kinds = np.asarray(node_kind)
    # the fixed handling is paid leaving a stop: not between orders loaded (or unloaded)
    # one after another at the same place
    same_stop = (kinds[:, None] == kinds[None, :]) & (loc_index[:, None] == loc_index[None, :])
    same_stop &= (kinds > 0)[:, None]
    handling = np.asarray(node_service_s, dtype=np.int64)[:, None] + np.where(
        same_stop, 0, np.asarray(node_fixed_s, dtype=np.int64)[:, None]
    )

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
        table += handling
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
    monitor: SolveMonitor | None = None,
    stage: str = "routing",
) -> RoutingSolution:
    """Search with OR-Tools; report the status, never assume a solution.

    ``initial`` (vehicle id → ``(kind, order id)`` stops, e.g. the previous plan's routes)
    starts the search there instead of from a construction heuristic, so that a re-plan keeps
    what still works; its orders unknown to the model are skipped, missing ones are inserted
    by the search.  If the routes are infeasible now, the search starts from scratch.
    ``monitor`` hears the search's progress (as ``stage``) and may stop it between rounds of
    ruin and recreate; the best routes found so far are returned.
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    from ortools.util import optional_boolean_pb2

    monitor = monitor_or_null(monitor)
    started = time.perf_counter()
    routing, manager = built.routing, built.manager
    if routing is None:  # nothing to route, or nobody to route it
        status = "no_orders" if not built.orders else "no_vehicles"
        return RoutingSolution(status, {}, [o.id for o in built.orders], 0, 0.0)
    search = pywrapcp.DefaultRoutingSearchParameters()
    first = params.routing_first_solution
    if first == "auto":
        # few orders: start from none and let local search add the most valuable first
        # (insertion heuristics fill trucks with whatever fits first, and no single move
        # undoes that); parallel insertion builds better starts than local insertion but is
        # quadratic: seconds on 200+ orders
        if len(built.orders) <= _EMPTY_START_MAX_ORDERS:
            first = "ALL_UNPERFORMED"
        elif len(built.orders) <= _PARALLEL_INSERTION_MAX_ORDERS:
            first = "PARALLEL_CHEAPEST_INSERTION"
        else:
            first = "LOCAL_CHEAPEST_INSERTION"
    search.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first)
    search.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, params.routing_metaheuristic
    )
    # an order left out for a more valuable one: swap an active pickup-delivery pair with an
    # inactive one, or move one and insert another (off by default in OR-Tools)
    operators = search.local_search_operators
    operators.use_node_pair_swap_active = optional_boolean_pb2.BOOL_TRUE
    operators.use_relocate_and_make_active = optional_boolean_pb2.BOOL_TRUE
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
        # the construction heuristic gets the whole budget (cut short, it would leave the
        # orders it has not reached yet dropped), then guided local search its share
        first = pywrapcp.DefaultRoutingSearchParameters()
        first.CopyFrom(search)
        first.solution_limit = 1
        # (at least a second: a loaded machine must not leave a small instance unbuilt)
        seconds = max(_MIN_CONSTRUCTION_SECONDS, params.routing_time_limit_s)
        first.time_limit.FromMilliseconds(int(seconds * 1000))
        solution = routing.SolveWithParameters(first)
        gls_left = params.routing_time_limit_s * gls_share - (time.perf_counter() - started)
        if solution is not None and gls_left > 0.05:
            search.time_limit.FromMilliseconds(int(gls_left * 1000))
            solution = routing.SolveFromAssignmentWithParameters(solution, search) or solution
    if solution is None:
        seconds = time.perf_counter() - started
        return RoutingSolution("no_solution", {}, [o.id for o in built.orders], None, seconds)
    objective = solution.ObjectiveValue()
    remaining = params.routing_time_limit_s - (time.perf_counter() - started)
    index_routes = routes_from_assignment(routing, solution)
    if improve and len(built.orders) > 1:
        # ruin and recreate in short rounds, each from the best so far, so that a monitor
        # that says stop is heard within a round
        groups, proximity = _order_groups(built)
        rounds = 0
        while remaining > 0.05 and not monitor.should_stop():
            rr = ruin_and_recreate(
                routing,
                solution,
                groups=groups,
                proximity=proximity,
                seconds=min(remaining, _ROUND_SECONDS),
                seed=rounds,
            )
            rounds += 1
            if rr.cost <= objective:
                index_routes, objective = rr.routes, rr.cost
            monitor.report(
                f"{stage}: ruin and recreate",
                elapsed_s=time.perf_counter() - started,
                routing_cost=objective,
            )
            remaining = params.routing_time_limit_s - (time.perf_counter() - started)
            if remaining > 0.05:
                solution = routing.ReadAssignmentFromRoutes(index_routes, True) or solution
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
        # order nodes always have a place (only the shared end node has none)
        d_loc = travel.index(cast(str, built.node_location[d_node]))
        p_loc = d_loc if p_node is None else travel.index(cast(str, built.node_location[p_node]))
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
    monitor: SolveMonitor | None = None,
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
            initial_1: Mapping[str, Sequence[tuple[str, str]]] | None = {
                v: [st for st in seq if st[1] in on_time] for v, seq in initial.items()
            }
        else:
            initial_1 = initial
        first = solve_routing(built, first_params, initial_1, monitor, "routing wave 1")
    served = {oid for seq in first.routes.values() for kind, oid in seq if kind == "delivery"}
    rest = [
        o
        for o in orders
        if o.id not in served and (o.on_time_target or params.route_late_orders or o.onboard)
    ]
    if not rest or not vehicles or (monitor is not None and monitor.should_stop()):
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
    second = solve_routing(built, second_params, initial, monitor, "routing wave 2")
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
    places = []
    for kind, oid in seq:
        order = orders[oid]
        if kind == "pickup":
            places.append((sources[order.source_id].node, order.source_id))
        else:
            places.append((regions[order.region_id].node, order.region_id))
    for k, (kind, oid) in enumerate(seq):
        order = orders[oid]
        node, place = places[k]
        eta = t + travel.time(veh.profile, here, node, t)  # the roads as they are when it leaves
        start = max(eta, order.ready_h) if kind == "pickup" else eta
        # the fixed handling once per stop: after the last order handled at this place
        last_here = k + 1 == len(seq) or seq[k + 1][0] != kind or places[k + 1][0] != node
        service_h = handling_hours(order.weight_kg, kind, params, with_fixed=last_here)
        sign = 1.0 if kind == "pickup" else -1.0
        load_w += sign * order.weight_kg
        load_v += sign * order.volume_m3
        t = start + service_h
        stops.append(
            Stop(cast(Literal["pickup", "delivery"], kind), node, place, oid, eta, start, t,
                 max(load_w, 0.0), max(load_v, 0.0))
        )
        here = node
    return stops

r"""Route a wave in which every vehicle loads only at its own depot (pure code, PyVRP).

A dispatch wave of this kind has no paired pickup and delivery: each order is loaded at its
source, which is the depot its vehicle starts from, and delivered at one node.  It is then a
multi-depot, heterogeneous-fleet VRP with time windows, release times, optional orders with
prizes and reloads at the depot — a model PyVRP solves.  Because an order can only travel on
a vehicle of its own depot, the problem separates exactly into one sub-problem per depot; each
is solved by PyVRP for a share of the time limit proportional to its orders.

Formulation (per depot :math:`d`)
---------------------------------
* Sets: orders :math:`O_d` loaded at :math:`d`; vehicles :math:`V_d` starting at :math:`d`;
  trips :math:`r = 1..R_v+1` of vehicle :math:`v` (:math:`R_v` = ``max_reloads``).
* Data: travel time :math:`t^p_{ij}` and cost :math:`c^p_{ij}` for the vehicle's profile
  :math:`p`; order load :math:`q_o` (a vector: weight, volume, …), release :math:`\rho_o`,
  deadline :math:`b_o`, unloading time :math:`s_o`, prize :math:`\pi_o` (required if none);
  vehicle capacity :math:`Q_v`, availability :math:`e_v`, return limit :math:`l_v`.
* Objective: :math:`\min \sum_{v,i,j} c^{p(v)}_{ij} x^v_{ij} + \sum_{o \text{ dropped}} \pi_o`.
* Constraints: every required order delivered once, an optional one at most once; each trip
  leaves and returns to :math:`d`; the load of a trip is at most :math:`Q_v` in every
  dimension; a trip leaves no earlier than :math:`e_v`, the vehicle's previous return and
  :math:`\max \rho_o` over its orders; arrival at :math:`o` no later than :math:`b_o` (waiting
  allowed); the vehicle is back by :math:`l_v`.

Mapping from dispatch (how :mod:`reserve_service.optimize.dispatch` can use this)
-------------------------------------------------------------------------------
For a wave whose orders all have ``source.node == vehicle.start_node`` for the vehicles allowed
to carry them (no pickup away from the vehicle's depot):

* nodes: indices into ``TravelTimes.nodes``; ``travel_time[profile]`` = the hours matrix × 3600,
  rounded up to integer seconds, unreachable pairs set to a value past every deadline;
  ``cost`` = the same (dispatch minimises travel seconds) or a distance matrix;
* ``Order`` → :class:`WaveOrder`: ``depot`` = node of the order's source, ``node`` = node of
  its region, ``load`` = (``round(weight_kg × 10)``, ``round(volume_m3 × 1000)``),
  ``ready`` = ``ready_h`` × 3600 plus the loading time, ``due`` = the deadline in seconds for an
  order with ``on_time_target`` (``None`` for a late order), ``service`` = unloading seconds,
  ``prize`` = the order's drop penalty (its value on the wave's scale; ``None`` = must go);
* ``RouteVehicle`` → :class:`WaveVehicle`: ``depot`` = node of ``start_node``, ``capacity`` =
  the vehicle's weight and volume in the same units less what is on board, ``available_from``
  = ``start_h`` × 3600, ``profile`` = ``vehicle_profile(vehicle, params)``, ``max_reloads`` =
  how many times it may come back to load again (0 = one trip);
* read back: per vehicle a list of trips, each a list of :class:`WaveStop` (order id, arrival
  in seconds, every trip leaving as early as it can); dropped orders go back to the allocation.

Orders whose depot has no vehicle, or that fit no vehicle of their depot, are reported in
``unassignable`` and never routed.  After PyVRP, :func:`insert_dropped` puts back every left-out
order that some vehicle can still carry at less than its prize (PyVRP's search may miss an
optional order that needs a reload).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..monitor import SolveMonitor
from .pyvrp_backend import solve_model


class WaveInputError(ValueError):
    """A wave that cannot be routed as given; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class WaveVehicle:
    """A vehicle that starts, loads, reloads and ends at ``depot`` (a node index)."""

    id: str
    depot: int
    capacity: tuple[int, ...]  # one entry per load dimension
    available_from: int = 0
    return_by: int | None = None  # latest return to the depot; None = no limit
    profile: str = "default"  # key of the travel-time matrix it drives by
    max_reloads: int = 0  # 0 = a single trip


@dataclass(frozen=True)
class WaveOrder:
    """Goods loaded at ``depot`` and delivered at ``node`` (node indices)."""

    id: str
    depot: int
    node: int
    load: tuple[int, ...]
    ready: int = 0  # the trip carrying it leaves no earlier
    due: int | None = None  # latest arrival at ``node``; None = no deadline
    service: int = 0  # unloading time at ``node``
    prize: int | None = None  # None = required; else it may be dropped at this cost


@dataclass(frozen=True)
class DepotWave:
    """Integer matrices (node × node) per profile; ``cost`` defaults to ``travel_time``."""

    travel_time: Mapping[str, np.ndarray]
    vehicles: tuple[WaveVehicle, ...]
    orders: tuple[WaveOrder, ...]
    cost: Mapping[str, np.ndarray] | None = None
    coordinates: np.ndarray | None = None  # (nodes, 2), helps PyVRP's neighbourhoods


@dataclass(frozen=True)
class WaveStop:
    """An order delivered at ``node``; unloading starts on ``arrival`` (orders never wait)."""

    order_id: str
    node: int
    arrival: int


@dataclass
class WaveSolution:
    """Per vehicle its trips (vehicles without orders have none); what was not delivered."""

    status: str  # "feasible", "partial" (some depot found no feasible plan), "no_solution"
    trips: dict[str, list[list[WaveStop]]]
    dropped: list[str]  # optional orders left out, or orders of a depot without a solution
    unassignable: list[str]  # no vehicle of the order's depot can carry it
    cost: int  # travel cost + prizes of the dropped orders
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)


def validate_wave(wave: DepotWave) -> None:
    """Raise :class:`WaveInputError` naming the first field that makes the wave unroutable."""
    if not wave.travel_time:
        raise WaveInputError("travel_time", "needs at least one profile")
    n = None
    for profile, matrix in wave.travel_time.items():
        shape = np.shape(matrix)
        if len(shape) != 2 or shape[0] != shape[1] or (n is not None and shape[0] != n):
            raise WaveInputError(f"travel_time[{profile}]", "must be square, like the others")
        if np.any(np.asarray(matrix) < 0):
            raise WaveInputError(f"travel_time[{profile}]", "must be >= 0")
        n = shape[0]
    assert n is not None
    for profile, matrix in (wave.cost or {}).items():
        if profile not in wave.travel_time or np.shape(matrix) != (n, n):
            raise WaveInputError(f"cost[{profile}]", f"must be {n}×{n}, for a known profile")
    dims = {len(v.capacity) for v in wave.vehicles} | {len(o.load) for o in wave.orders}
    if len(dims) > 1:
        raise WaveInputError("load", "every capacity and load needs the same dimensions")
    ids: set[str] = set()
    for k, v in enumerate(wave.vehicles):
        if v.id in ids:
            raise WaveInputError(f"vehicles[{k}].id", f"{v.id!r} repeats")
        ids.add(v.id)
        if not 0 <= v.depot < n:
            raise WaveInputError(f"vehicles[{k}].depot", f"must be a node 0..{n - 1}")
        if v.profile not in wave.travel_time:
            raise WaveInputError(f"vehicles[{k}].profile", f"no matrix for {v.profile!r}")
        if min(v.capacity, default=0) < 0 or v.max_reloads < 0:
            raise WaveInputError(f"vehicles[{k}]", "capacity and max_reloads must be >= 0")
    ids = set()
    for k, o in enumerate(wave.orders):
        if o.id in ids:
            raise WaveInputError(f"orders[{k}].id", f"{o.id!r} repeats")
        ids.add(o.id)
        for name in ("depot", "node"):
            if not 0 <= getattr(o, name) < n:
                raise WaveInputError(f"orders[{k}].{name}", f"must be a node 0..{n - 1}")
        if o.node == o.depot:
            raise WaveInputError(f"orders[{k}].node", "is its own depot")
        if min(o.load, default=0) < 0 or o.service < 0 or (o.prize or 0) < 0:
            raise WaveInputError(f"orders[{k}]", "load, service and prize must be >= 0")


def _fits(order: WaveOrder, vehicle: WaveVehicle) -> bool:
    return all(q <= c for q, c in zip(order.load, vehicle.capacity, strict=True))


def _build_depot_model(
    wave: DepotWave, depot: int, vehicles: list[WaveVehicle], orders: list[WaveOrder]
) -> Any:
    """One depot's sub-problem as a ``pyvrp.Model``; clients in the order of ``orders``."""
    from pyvrp import Model

    nodes = [depot, *sorted({o.node for o in orders})]
    n = len(next(iter(wave.travel_time.values())))
    xy = np.zeros((n, 2)) if wave.coordinates is None else np.asarray(wave.coordinates, float)
    m = Model()
    location = {node: m.add_location(float(xy[node, 0]), float(xy[node, 1])) for node in nodes}
    start = m.add_depot(location[depot])
    # one profile per matrix a vehicle of this depot drives by, with every edge between nodes
    profiles = {}
    for name in sorted({v.profile for v in vehicles}):
        profiles[name] = m.add_profile(name=name)
        duration = np.asarray(wave.travel_time[name], dtype=np.int64)
        cost = np.asarray((wave.cost or {}).get(name, duration), dtype=np.int64)
        for i in nodes:
            for j in nodes:
                if i != j:
                    m.add_edge(
                        location[i],
                        location[j],
                        distance=int(cost[i, j]),
                        duration=int(duration[i, j]),
                        profile=profiles[name],
                    )
    never = 2**62  # PyVRP's "no limit" is its largest integer; this stays clear of overflow
    # vehicles: capacity per dimension, available from, back by, reloads at their own depot
    for v in vehicles:
        m.add_vehicle_type(
            num_available=1,
            capacity=list(v.capacity),
            start_depot=start,
            end_depot=start,
            tw_early=int(v.available_from),
            tw_late=int(v.return_by) if v.return_by is not None else never,
            profile=profiles[v.profile],
            reload_depots=[start] if v.max_reloads > 0 else [],
            max_reloads=int(v.max_reloads),
            name=v.id,
        )
    # orders: load, release, deadline, unloading; optional ones carry their prize
    for o in orders:
        m.add_client(
            location[o.node],
            delivery=list(o.load),
            service_duration=int(o.service),
            tw_late=int(o.due) if o.due is not None else never,
            release_time=int(o.ready),
            prize=int(o.prize or 0),
            required=o.prize is None,
            name=o.id,
        )
    return m


def earliest_schedule(
    wave: DepotWave, vehicle: WaveVehicle, trips: list[list[WaveOrder]]
) -> list[list[WaveStop]]:
    """Arrival at each stop when every trip leaves as early as it can: at
    the vehicle's availability or return, and not before its orders are ready."""
    travel = np.asarray(wave.travel_time[vehicle.profile])
    clock, here = int(vehicle.available_from), vehicle.depot
    out: list[list[WaveStop]] = []
    for trip in trips:
        clock = max([clock, *(o.ready for o in trip)])
        stops = []
        for o in trip:
            clock += int(travel[here, o.node])
            stops.append(WaveStop(o.id, o.node, clock))
            clock += int(o.service)
            here = o.node
        clock += int(travel[here, vehicle.depot])
        here = vehicle.depot
        out.append(stops)
    return out


def _trips_cost(wave: DepotWave, vehicle: WaveVehicle, trips: list[list[WaveOrder]]) -> int:
    cost = np.asarray((wave.cost or {}).get(vehicle.profile, wave.travel_time[vehicle.profile]))
    total = 0
    for trip in trips:
        path = [vehicle.depot, *(o.node for o in trip), vehicle.depot]
        total += sum(int(cost[a, b]) for a, b in zip(path, path[1:], strict=False))
    return total


def _trips_feasible(wave: DepotWave, vehicle: WaveVehicle, trips: list[list[WaveOrder]]) -> bool:
    """Trips within the reload count, every trip within capacity, deadlines and return met."""
    if len(trips) > vehicle.max_reloads + 1:
        return False
    for trip in trips:
        for d, cap in enumerate(vehicle.capacity):
            if sum(o.load[d] for o in trip) > cap:
                return False
    travel = np.asarray(wave.travel_time[vehicle.profile])
    stops = earliest_schedule(wave, vehicle, trips)
    due = {o.id: o.due for trip in trips for o in trip if o.due is not None}
    if any(s.arrival > due.get(s.order_id, s.arrival) for t in stops for s in t):
        return False
    if vehicle.return_by is not None and trips:
        last = trips[-1][-1]
        back = stops[-1][-1].arrival + last.service + int(travel[last.node, vehicle.depot])
        return back <= vehicle.return_by
    return True


def insert_dropped(
    wave: DepotWave,
    vehicles: list[WaveVehicle],
    plan: dict[str, list[list[WaveOrder]]],
    dropped: list[WaveOrder],
) -> list[WaveOrder]:
    """Repair: put dropped orders back, best prize first, at the cheapest feasible position (in
    a trip, or as a new trip where reloads remain) whenever the added cost is below the prize.
    Changes ``plan`` in place; returns the orders still left out.  After it, no single dropped
    order can be added to the plan at a profit."""
    left = sorted(dropped, key=lambda o: -(o.prize or 0))
    changed = True
    while changed:
        changed = False
        for order in list(left):
            best: tuple[int, str, list[list[WaveOrder]]] | None = None
            for v in vehicles:
                trips = plan.get(v.id, [])
                base = _trips_cost(wave, v, trips)
                candidates = [
                    [*trips[:k], [*trip[:i], order, *trip[i:]], *trips[k + 1 :]]
                    for k, trip in enumerate(trips)
                    for i in range(len(trip) + 1)
                ] + [[*trips[:k], [order], *trips[k:]] for k in range(len(trips) + 1)]
                for cand in candidates:
                    if not _fits(order, v) or not _trips_feasible(wave, v, cand):
                        continue
                    delta = _trips_cost(wave, v, cand) - base
                    if best is None or delta < best[0]:
                        best = (delta, v.id, cand)
            if best is not None and best[0] < (order.prize or 0):
                plan[best[1]] = best[2]
                left.remove(order)
                changed = True
    return left


def _extract_trips(
    result: Any, vehicles: list[WaveVehicle], orders: list[WaveOrder]
) -> dict[str, list[list[WaveOrder]]]:
    """Per vehicle its trips in PyVRP's order (PyVRP's own times are not used: it may start a
    trip later than it could, as waiting costs it nothing)."""
    plan: dict[str, list[list[WaveOrder]]] = {}
    for route in result.best.routes():
        vehicle = vehicles[route.vehicle_type()]
        by_trip: dict[int, list[WaveOrder]] = defaultdict(list)
        for act in route.schedule():
            if act.is_client():
                # a client activity's idx counts clients from 0, in the order they were added
                by_trip[int(act.trip)].append(orders[act.idx])
        plan[vehicle.id] = [by_trip[k] for k in sorted(by_trip) if by_trip[k]]
    return plan


def route_depot_wave(
    wave: DepotWave,
    time_limit: float = 10.0,
    *,
    seed: int = 0,
    monitor: SolveMonitor | None = None,
) -> WaveSolution:
    """Build → solve → extract, one PyVRP search per depot (see the module docstring)."""
    validate_wave(wave)
    if not time_limit > 0:
        raise WaveInputError("time_limit", "must be > 0")
    started = time.perf_counter()
    vehicles_at: dict[int, list[WaveVehicle]] = defaultdict(list)
    for v in wave.vehicles:
        vehicles_at[v.depot].append(v)
    unassignable = [
        o.id for o in wave.orders if not any(_fits(o, v) for v in vehicles_at.get(o.depot, []))
    ]
    blocked = set(unassignable)
    orders_at: dict[int, list[WaveOrder]] = defaultdict(list)
    for o in wave.orders:
        if o.id not in blocked:
            orders_at[o.depot].append(o)
    prize = {o.id: int(o.prize or 0) for o in wave.orders}
    total_orders = sum(len(v) for v in orders_at.values())
    trips: dict[str, list[list[WaveStop]]] = {v.id: [] for v in wave.vehicles}
    dropped: list[str] = []
    depot_status: dict[int, str] = {}
    cost = 0
    stopped = False
    for depot in sorted(orders_at):
        orders, vehicles = orders_at[depot], vehicles_at[depot]
        remaining = time_limit - (time.perf_counter() - started)
        share = max(remaining * len(orders) / max(total_orders, 1), 0.05)
        total_orders -= len(orders)
        model = _build_depot_model(wave, depot, vehicles, orders)  # build
        result, halted = solve_model(model, share, seed, monitor)  # solve
        stopped = stopped or halted
        if not result.best.is_feasible():
            depot_status[depot] = "no_solution"
            dropped += [o.id for o in orders]
            continue
        depot_status[depot] = "feasible"
        plan = _extract_trips(result, vehicles, orders)  # extract
        for v in vehicles:  # trips this module's own check refuses are re-inserted below
            if not _trips_feasible(wave, v, plan.get(v.id, [])):
                plan[v.id] = []
        served = {o.id for trips_of in plan.values() for trip in trips_of for o in trip}
        left = insert_dropped(wave, vehicles, plan, [o for o in orders if o.id not in served])
        for v in vehicles:
            trips[v.id] = earliest_schedule(wave, v, plan.get(v.id, []))
            cost += _trips_cost(wave, v, plan.get(v.id, []))
        dropped += [o.id for o in left]
        cost += sum(prize[o.id] for o in left)
    cost += sum(prize[o] for o in unassignable)
    statuses = set(depot_status.values())
    status = (
        "feasible"
        if statuses <= {"feasible"}
        else "partial"
        if "feasible" in statuses
        else "no_solution"
    )
    return WaveSolution(
        status=status,
        trips=trips,
        dropped=dropped,
        unassignable=unassignable,
        cost=cost,
        seconds=time.perf_counter() - started,
        details={"depots": depot_status, "stopped": stopped},
    )

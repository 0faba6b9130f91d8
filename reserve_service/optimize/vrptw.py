r"""The routing engine on the classic VRPTW (pure code): a check of search quality.

Dispatch routes are a pickup-and-delivery problem (:mod:`reserve_service.optimize.dispatch`);
this module states the same search — OR-Tools routing, guided local search, then ruin and
recreate (:mod:`reserve_service.optimize.ruin_recreate`) — on the capacitated VRP with time
windows, where public instances with best-known solutions (Solomon) measure it.

Formulation
-----------
* Sets: customers :math:`C = \{1..n\}`, depot 0, identical vehicles :math:`K` (at most
  ``vehicles``) of capacity :math:`Q`.
* Data: distance :math:`d_{ij}`, travel time :math:`t_{ij}`, demand :math:`q_i`, service
  :math:`s_i`, window :math:`[a_i, b_i]`; the depot window is the planning horizon.
* Variables: successor :math:`x_{ij} \in \{0,1\}`, start of service :math:`T_i`, load
  :math:`L_i`.
* Objective: :math:`\min \sum_{ij} d_{ij} x_{ij}` (total distance; no vehicle-count term).
* Constraints: every customer visited once; each route starts and ends at the depot;
  :math:`T_j \ge T_i + s_i + t_{ij}` when :math:`x_{ij}=1` (waiting allowed);
  :math:`a_i \le T_i \le b_i`; the route load is at most :math:`Q`.

The model gives each customer a disjunction with a penalty larger than any route, so the
search may leave a customer out only in intermediate solutions (ruin steps); a final answer
that misses one reports status ``"incomplete"``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reserve_service.errors import InputError

from .monitor import SolveMonitor, monitor_or_null
from .ruin_recreate import routes_from_assignment, ruin_and_recreate


class VrptwInputError(InputError):
    """A VRPTW instance that cannot be solved as given; ``field`` names the culprit."""


@dataclass(frozen=True)
class VrptwInstance:
    """Node 0 is the depot; every array has one entry per node (integers, one time unit)."""

    distance: np.ndarray  # (n, n)
    travel_time: np.ndarray  # (n, n)
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray
    vehicles: int
    capacity: int
    coordinates: np.ndarray | None = None  # (n, 2), for maps and solvers that want them

    def __post_init__(self) -> None:
        n = len(self.demand)
        for name in ("distance", "travel_time"):
            if np.shape(getattr(self, name)) != (n, n):
                raise VrptwInputError(name, f"must be {n}×{n}")
        for name in ("ready", "due", "service"):
            if len(getattr(self, name)) != n:
                raise VrptwInputError(name, f"must have {n} entries")
        if self.vehicles < 1:
            raise VrptwInputError("vehicles", "must be >= 1")
        if np.any(np.asarray(self.demand) > self.capacity):
            raise VrptwInputError("demand", "a customer needs more than a vehicle carries")
        if np.any(np.asarray(self.ready) > np.asarray(self.due)):
            raise VrptwInputError("due", "a window closes before it opens")


@dataclass
class VrptwSolution:
    """Routes (customer indices, non-empty routes only) and how they were found."""

    status: str  # "feasible" (all customers routed), "incomplete", "no_solution"
    routes: list[list[int]]
    distance: int
    seconds: float
    details: dict[str, Any]


def read_solomon(path: str | Path) -> VrptwInstance:
    """A Solomon (1987) instance in its original text format, in integer tenths (DIMACS):
    Euclidean distances truncated to one decimal, travel time = distance."""
    lines = [ln.split() for ln in Path(path).read_text().splitlines() if ln.strip()]
    vehicles, capacity = (int(v) for v in lines[3])
    rows = np.array([[float(v) for v in ln] for ln in lines[6:]])
    xy = rows[:, 1:3]
    euclid = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    dist = np.floor(euclid * 10 + 1e-9).astype(np.int64)
    return VrptwInstance(
        distance=dist,
        travel_time=dist,
        demand=rows[:, 3].astype(np.int64),
        ready=(rows[:, 4] * 10).astype(np.int64),
        due=(rows[:, 5] * 10).astype(np.int64),
        service=(rows[:, 6] * 10).astype(np.int64),
        vehicles=vehicles,
        capacity=capacity,
        coordinates=xy,
    )


def route_distance(inst: VrptwInstance, routes: list[list[int]]) -> int:
    """Total distance of ``routes`` (each from and back to the depot)."""
    total = 0
    for route in routes:
        path = [0, *route, 0]
        total += int(sum(inst.distance[a, b] for a, b in zip(path, path[1:], strict=False)))
    return total


def windows_bind(inst: VrptwInstance) -> bool:
    """False when no time window can bind: every window opens at 0 and closes at the depot's
    closing, which is later than any route visiting every node once could end."""
    transit = np.asarray(inst.travel_time) + np.asarray(inst.service)[:, None]
    longest = int(transit.max(axis=1).sum())
    return bool(
        np.any(np.asarray(inst.ready) > 0)
        or np.any(np.asarray(inst.due) < inst.due[0])
        or int(inst.due[0]) < longest
    )


def solution_from_routes(
    inst: VrptwInstance, routes: list[list[int]], seconds: float, details: dict[str, Any]
) -> VrptwSolution:
    """The solution of non-empty ``routes`` (node numbers): complete or not, its distance."""
    routes = [r for r in routes if r]
    routed = sum(len(r) for r in routes)
    return VrptwSolution(
        status="feasible" if routed == len(inst.demand) - 1 else "incomplete",
        routes=routes,
        distance=route_distance(inst, routes),
        seconds=seconds,
        details=details,
    )


def _build(inst: VrptwInstance) -> tuple[Any, Any]:
    from ortools.constraint_solver import pywrapcp

    n = len(inst.demand)
    manager = pywrapcp.RoutingIndexManager(n, inst.vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    distance = np.asarray(inst.distance, dtype=np.int64)
    transit = np.asarray(inst.travel_time, dtype=np.int64) + np.asarray(inst.service)[:, None]
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(distance.tolist()))
    horizon = int(inst.due[0])
    if windows_bind(inst):  # a CVRP needs no time dimension
        routing.AddDimension(
            routing.RegisterTransitMatrix(transit.tolist()), horizon, horizon, False, "time"
        )
        time_dim = routing.GetDimensionOrDie("time")
        for node in range(1, n):
            time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(
                int(inst.ready[node]), int(inst.due[node])
            )
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitVector([int(q) for q in inst.demand]),
        0,
        [int(inst.capacity)] * inst.vehicles,
        True,
        "load",
    )
    penalty = int(distance.max()) * (n + 1) + 1  # more than any set of routes
    for node in range(1, n):
        routing.AddDisjunction([manager.NodeToIndex(node)], penalty)
    return routing, manager


BACKENDS = ("pyvrp", "ortools")


def solve_vrptw(
    inst: VrptwInstance,
    time_limit: float = 30.0,
    *,
    backend: str = "pyvrp",
    improvement: str = "ruin_recreate",
    gls_solutions: int = 100,
    cycle_iterations: int = 20,
    seed: int = 0,
    monitor: SolveMonitor | None = None,
) -> VrptwSolution:
    """Build → solve → extract on one of two backends.

    ``backend="pyvrp"`` (default): PyVRP's hybrid genetic search
    (:mod:`reserve_service.optimize.vrp.pyvrp_backend`).  ``backend="ortools"``: parallel
    cheapest insertion, then OR-Tools guided local search for ``gls_solutions`` solutions; with
    ``improvement="ruin_recreate"`` the rest of the time goes to ruin and recreate, cooling
    over ``cycle_iterations`` iterations and restarting from the best solution; with ``"gls"``
    guided local search runs for the whole limit (OR-Tools alone, for comparison).

    With ``"ruin_recreate"`` and PyVRP the search keeps the best solution found so far and its
    schedule counts solutions and iterations, never seconds, so a longer run is a shorter run
    continued, whatever the machine's load: more time never gives a worse result.  ``monitor`` hears progress
    and may stop the search early; the best solution so far is returned, with
    ``details["stopped"]`` true.
    """
    if backend not in BACKENDS:
        raise VrptwInputError("backend", f"must be one of {', '.join(BACKENDS)}")
    if improvement not in ("ruin_recreate", "gls"):
        raise VrptwInputError("improvement", "must be 'ruin_recreate' or 'gls'")
    if not time_limit > 0:
        raise VrptwInputError("time_limit", "must be > 0")
    if backend == "pyvrp":
        from .vrp.pyvrp_backend import solve_vrptw_pyvrp

        return solve_vrptw_pyvrp(inst, time_limit, seed=seed, monitor=monitor)
    return _solve_ortools(
        inst, time_limit, improvement, gls_solutions, cycle_iterations, seed, monitor
    )


def _solve_ortools(
    inst: VrptwInstance,
    time_limit: float,
    improvement: str,
    gls_solutions: int,
    cycle_iterations: int,
    seed: int,
    monitor: SolveMonitor | None,
) -> VrptwSolution:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    started = time.perf_counter()
    watch = monitor_or_null(monitor)
    routing, manager = _build(inst)  # build
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    search.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    search.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    if improvement == "ruin_recreate":
        search.solution_limit = gls_solutions  # a count, not seconds: the same on any load

    def at_solution() -> None:  # progress, and an early stop when the monitor asks for one
        watch.report("guided_local_search", None, best=int(routing.CostVar().Value()))
        if watch.should_stop():
            routing.solver().FinishCurrentSearch()

    routing.AddAtSolutionCallback(at_solution)
    solution = routing.SolveWithParameters(search)  # solve
    if solution is None:
        return VrptwSolution("no_solution", [], 0, time.perf_counter() - started, {})
    details: dict[str, Any] = {"gls_distance": int(solution.ObjectiveValue()), "backend": "ortools"}
    routes = routes_from_assignment(routing, solution)
    remaining = time_limit - (time.perf_counter() - started)
    if improvement == "ruin_recreate" and remaining > 0 and not watch.should_stop():
        n = len(inst.demand)
        rr = ruin_and_recreate(
            routing,
            solution,
            groups=[[manager.NodeToIndex(node)] for node in range(1, n)],
            proximity=np.asarray(inst.distance, float)[1:, 1:],
            seconds=remaining,
            cycle_iterations=cycle_iterations,
            step_seconds=remaining,  # descents end at a local optimum; time only cuts them
            seed=seed,
            monitor=monitor,
        )
        routes = rr.routes
        details.update(iterations=rr.iterations, accepted=rr.accepted, improved=rr.improved)
    details["stopped"] = watch.should_stop()
    routes = [[manager.IndexToNode(i) for i in r] for r in routes]  # extract
    return solution_from_routes(inst, routes, time.perf_counter() - started, details)

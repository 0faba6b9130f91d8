"""PyVRP (hybrid genetic search, Wouda, Lan & Kool 2024) as a backend of the routing engine.

Pure code: plain instances in, plain routes out.  The search stops at its time limit or when
the monitor says so, and PyVRP keeps the best feasible solution it has met, so an early stop
returns that solution.  The search is seeded and its schedule (restarts, penalty updates)
counts iterations, not seconds: a longer run continues a shorter one with the same seed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..monitor import SolveMonitor, monitor_or_null

if TYPE_CHECKING:
    from ..vrptw import VrptwInstance, VrptwSolution


class MonitoredRuntime:
    """A PyVRP stopping criterion: the time limit, or the monitor asking to stop.

    Reports the best cost to the monitor at most every ``report_every`` seconds.
    """

    def __init__(
        self, seconds: float, monitor: SolveMonitor | None, report_every: float = 0.5
    ) -> None:
        self.seconds = seconds
        self.monitor = monitor_or_null(monitor)
        self.report_every = report_every
        self.started = time.perf_counter()
        self.last_report = -report_every
        self.iterations = 0
        self.stopped = False  # True once the monitor asked to stop

    def __call__(self, best_cost: float) -> bool:
        self.iterations += 1
        elapsed = time.perf_counter() - self.started
        if elapsed - self.last_report >= self.report_every:
            self.last_report = elapsed
            best = float(best_cost) if np.isfinite(best_cost) else None
            self.monitor.report(
                "hybrid_genetic_search",
                min(1.0, elapsed / self.seconds),
                best=best,
                iterations=self.iterations,
            )
        if elapsed >= self.seconds:
            return True
        self.stopped = self.stopped or self.monitor.should_stop()
        return self.stopped


def solve_model(
    model: Any, seconds: float, seed: int, monitor: SolveMonitor | None
) -> tuple[Any, bool]:
    """Run PyVRP on a built ``pyvrp.Model``: the ``Result`` (its ``best`` may be infeasible)
    and whether the monitor stopped the search before its time limit."""
    import warnings

    stop = MonitoredRuntime(seconds, monitor)
    with warnings.catch_warnings():
        # PyVRP warns when penalties saturate on hard or infeasible instances; the result's
        # feasibility is checked by the caller
        warnings.simplefilter("ignore")
        result = model.solve(stop=stop, seed=seed, display=False, collect_stats=False)
    return result, stop.stopped


def build_vrptw_model(inst: VrptwInstance) -> Any:
    """The VRPTW as a ``pyvrp.Model``: clients in node order 1..n-1, one vehicle type."""
    from pyvrp import Model

    n = len(inst.demand)
    xy = inst.coordinates if inst.coordinates is not None else np.zeros((n, 2))
    m = Model()
    locations = [m.add_location(float(x), float(y)) for x, y in xy]
    depot = m.add_depot(locations[0], tw_early=int(inst.ready[0]), tw_late=int(inst.due[0]))
    # vehicles: a fleet of identical vehicles that leave and return within the depot's hours
    m.add_vehicle_type(
        num_available=inst.vehicles,
        capacity=[int(inst.capacity)],
        start_depot=depot,
        end_depot=depot,
        tw_early=int(inst.ready[0]),
        tw_late=int(inst.due[0]),
    )
    # customers: demand, service time and a hard window each
    for c in range(1, n):
        m.add_client(
            locations[c],
            delivery=[int(inst.demand[c])],
            service_duration=int(inst.service[c]),
            tw_early=int(inst.ready[c]),
            tw_late=int(inst.due[c]),
        )
    distance = np.asarray(inst.distance, dtype=np.int64)
    duration = np.asarray(inst.travel_time, dtype=np.int64)
    for i, frm in enumerate(locations):
        for j, to in enumerate(locations):
            if i != j:
                m.add_edge(frm, to, distance=int(distance[i, j]), duration=int(duration[i, j]))
    return m


def solve_vrptw_pyvrp(
    inst: VrptwInstance,
    time_limit: float,
    *,
    seed: int = 0,
    monitor: SolveMonitor | None = None,
) -> VrptwSolution:
    """Build → solve → extract with PyVRP; routes in node numbers (customers 1..n-1)."""
    from ..vrptw import VrptwSolution, solution_from_routes

    started = time.perf_counter()
    model = build_vrptw_model(inst)  # build
    remaining = max(time_limit - (time.perf_counter() - started), 0.01)
    result, stopped = solve_model(model, remaining, seed, monitor)
    details: dict[str, Any] = {
        "backend": "pyvrp",
        "iterations": int(result.num_iterations),
        "stopped": stopped,
    }
    if not result.best.is_feasible():
        return VrptwSolution("no_solution", [], 0, time.perf_counter() - started, details)
    # extract: a client activity's idx counts clients from 0; node 0 is the depot
    routes = [
        [1 + act.idx for act in route.schedule() if act.is_client()]
        for route in result.best.routes()
    ]
    return solution_from_routes(inst, routes, time.perf_counter() - started, details)

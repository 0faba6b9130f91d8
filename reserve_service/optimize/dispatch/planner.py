"""One call: allocate, route, repair and extract a dispatch plan."""

from __future__ import annotations

import time

from reserve_service.optimize.dispatch.allocation import build_allocation_model, solve_allocation
from reserve_service.optimize.dispatch.bound import served_bound
from reserve_service.optimize.dispatch.extraction import extract_plan
from reserve_service.optimize.dispatch.orders import RouteVehicle, split_flows_into_orders
from reserve_service.optimize.dispatch.plan import DispatchPlan
from reserve_service.optimize.dispatch.problem import (
    DispatchParams,
    DispatchProblem,
    validate_problem,
    vehicle_profile,
)
from reserve_service.optimize.dispatch.repair import top_up
from reserve_service.optimize.dispatch.routing import route_in_waves
from reserve_service.optimize.monitor import SolveMonitor, monitor_or_null


def _route_vehicles(problem: DispatchProblem, params: DispatchParams) -> list[RouteVehicle]:
    return [
        RouteVehicle(
            v, vehicle_profile(v, params), v.start_node, max(v.available_from_h, problem.now_h)
        )
        for v in problem.fleet
    ]


def plan_dispatch(
    problem: DispatchProblem,
    params: DispatchParams | None = None,
    monitor: SolveMonitor | None = None,
) -> DispatchPlan:
    """Allocate, route, top up and extract a dispatch plan.

    build → solve the allocation; split into orders, route them in two waves; top up the
    routed trucks from the same sources for regions still short (:func:`~.repair.top_up`);
    extract the plan with the upper bound on people served by the deadline
    (:func:`~.bound.served_bound`).  ``monitor`` hears each stage with the elapsed time, the
    share served so far and the bound; when it says stop, the plan is made from what the
    stages found until then.
    """
    params = params if params is not None else DispatchParams()
    monitor = monitor_or_null(monitor)
    started = time.perf_counter()
    validate_problem(problem, params)
    bound = served_bound(problem, params)

    def report(stage: str, fraction: float, **figures: float | None) -> None:
        monitor.report(
            stage, fraction, elapsed_s=time.perf_counter() - started, bound=bound.share, **figures
        )

    report("allocation", 0.1)
    allocation_model = build_allocation_model(problem, params)
    allocation = solve_allocation(problem, allocation_model, params, monitor=monitor)
    value = {(problem.incident.regions[r].id, i): v for (r, i), v in allocation_model.value.items()}
    orders = split_flows_into_orders(problem, allocation.flows, params, value)
    vehicles = _route_vehicles(problem, params)
    report("routing", 0.4, orders=len(orders))
    routing = route_in_waves(problem, orders, vehicles, params, monitor=monitor)
    draft = extract_plan(problem, params, allocation, orders, vehicles, routing)
    report("top-up", 0.85, served_share=draft.summary.share_people_fully_served)
    orders, allocation = top_up(problem, params, draft, allocation, orders, vehicles, routing)
    plan = extract_plan(problem, params, allocation, orders, vehicles, routing)
    plan.summary.bound_share_people_served = bound.share
    plan.summary.bound_people_served = bound.people
    plan.summary.solve_seconds = time.perf_counter() - started
    report("plan", 0.9, served_share=plan.summary.share_people_fully_served)
    return plan

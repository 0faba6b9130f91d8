"""One call: allocate, route, repair and extract a dispatch plan."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

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
    extract.  When routing could not deliver on time all the allocation sent, allocate again
    with the fleet budget scaled by the share it delivered and route again (``repair_rounds``
    times at most, within ``time_budget_s``); the best plan (people fully served, then fill)
    is returned with the upper bound on people served by the deadline
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

    best: DispatchPlan | None = None
    scale = 1.0
    for round_no in range(1 + params.repair_rounds):
        round_started = time.perf_counter()
        round_params = replace(params, fleet_budget_scale=scale)
        report("allocation", 0.1 + 0.25 * round_no / (1 + params.repair_rounds), round=round_no)
        plan, delivered_share = _one_round(problem, round_params, monitor, report)
        if best is None or _better(plan, best):
            best = plan
        report("repair", 0.85, served_share=best.summary.share_people_fully_served)
        spent = time.perf_counter() - round_started
        if (
            delivered_share >= 0.999
            or monitor.should_stop()
            or time.perf_counter() - started + spent > params.time_budget_s
        ):
            break
        # routing delivered only this share of what the allocation sent on time: ask less
        scale *= max(0.05, delivered_share)
    assert best is not None
    plan = best
    plan.params = params
    plan.summary.bound_share_people_served = bound.share
    plan.summary.bound_people_served = bound.people
    plan.summary.solve_seconds = time.perf_counter() - started
    report("plan", 0.9, served_share=plan.summary.share_people_fully_served)
    return plan


def _one_round(
    problem: DispatchProblem,
    params: DispatchParams,
    monitor: SolveMonitor,
    report: Callable[..., None],
) -> tuple[DispatchPlan, float]:
    """Allocate, route, top up, extract; the plan and the share (by weight) of the on-time
    allocation that arrives on time."""
    allocation_model = build_allocation_model(problem, params)
    allocation = solve_allocation(problem, allocation_model, params, monitor=monitor)
    value = allocation.unit_values(problem, params)
    orders = split_flows_into_orders(problem, allocation.flows, params, value)
    vehicles = _route_vehicles(problem, params)
    report("routing", 0.4, orders=len(orders))
    routing = route_in_waves(problem, orders, vehicles, params, monitor=monitor)
    draft = extract_plan(problem, params, allocation, orders, vehicles, routing)
    report("top-up", 0.8, served_share=draft.summary.share_people_fully_served)
    orders, allocation = top_up(problem, params, draft, allocation, orders, vehicles, routing)
    plan = extract_plan(problem, params, allocation, orders, vehicles, routing)
    kg = {it.id: it.weight_kg for it in problem.items}
    planned = sum(f.quantity * kg[f.item_id] for f in allocation.flows if f.on_time)
    arrived = sum(kg[i] * q for rp in plan.regions for i, q in rp.on_time.items())
    return plan, (arrived / planned if planned > 0 else 1.0)


def _better(plan: DispatchPlan, than: DispatchPlan) -> bool:
    """More people fully served by the deadline; then a higher mean fill rate; then more
    delivered at all (late included)."""

    def key(p: DispatchPlan) -> tuple[int, float, int]:
        fill = sum(rp.fill_rate_by_deadline for rp in p.regions) / max(1, len(p.regions))
        delivered = sum(q for rp in p.regions for q in rp.delivered.values())
        return p.summary.people_fully_served, fill, delivered

    return key(plan) > key(than)

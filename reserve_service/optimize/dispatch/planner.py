"""One call: allocate, route and extract a dispatch plan."""

from __future__ import annotations

from reserve_service.optimize.dispatch.allocation import build_allocation_model, solve_allocation
from reserve_service.optimize.dispatch.extraction import extract_plan
from reserve_service.optimize.dispatch.orders import RouteVehicle, split_flows_into_orders
from reserve_service.optimize.dispatch.plan import DispatchPlan
from reserve_service.optimize.dispatch.problem import (
    DispatchParams,
    DispatchProblem,
    vehicle_profile,
)
from reserve_service.optimize.dispatch.routing import route_in_waves


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

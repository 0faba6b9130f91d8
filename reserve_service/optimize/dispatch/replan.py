"""Re-plan after road events, changing only what the new situation requires.

:func:`replan` changes only what the new situation requires.  The allocation gets a fourth
stage: among allocations optimal for stages 1–2 and within 0.1 % of the stage-3 optimum, the
closest (kg-weighted L1) to the earlier plan's flows not yet on a truck.  Orders carrying the
same load from the same source to the same region keep their place: routing starts from the
earlier routes, and each on-time delivery's earlier ETA becomes a soft upper bound
(``promise_weight`` per second late), so a promise is broken only when that buys more.

"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reserve_service.optimize.dispatch.allocation import build_allocation_model, solve_allocation
from reserve_service.optimize.dispatch.extraction import extract_plan
from reserve_service.optimize.dispatch.orders import Order, RouteVehicle, split_flows_into_orders
from reserve_service.optimize.dispatch.plan import DispatchPlan, ManifestLine, Stop
from reserve_service.optimize.dispatch.problem import (
    _EPS,
    LOT_MODES,
    DispatchInputError,
    DispatchParams,
    DispatchProblem,
    TravelTimes,
    vehicle_profile,
)
from reserve_service.optimize.dispatch.routing import route_in_waves


@dataclass(frozen=True)
class VehiclePosition:
    """Where a dispatched vehicle is (a node it will pass) and when; stops before are done.

    ``completed_stops`` counts the plan's stops already done; ``None`` infers them as the stops
    whose ETA is at or before ``at_h``.
    """

    node: str
    at_h: float
    completed_stops: int | None = None


def expected_positions(plan: DispatchPlan, now_h: float) -> dict[str, VehiclePosition]:
    """Where the plan expects each vehicle that has left by ``now_h`` to be.

    A vehicle has left when its first stop's ETA is before ``now_h``; its completed stops are
    those whose loading or unloading has started (a truck half-loaded finishes loading: it is
    placed at that stop, at the time it will leave).  A vehicle between stops is placed at the
    stop it last left, at the time it left (re-routing may turn it back); one still driving to
    its first stop is placed at its start.  Pass the result (or your GPS-based positions) to
    :func:`replan`.
    """
    positions: dict[str, VehiclePosition] = {}
    for vp in plan.vehicles:
        if not vp.stops or vp.stops[0].eta_h > now_h + _EPS and vp.start_h >= now_h - _EPS:
            continue
        done = [k for k, stop in enumerate(vp.stops) if stop.start_h <= now_h + _EPS]
        if done:
            last = vp.stops[done[-1]]
            positions[vp.vehicle_id] = VehiclePosition(last.node, last.departure_h, len(done))
        else:
            positions[vp.vehicle_id] = VehiclePosition(vp.start_node, vp.start_h, 0)
    return positions


@dataclass(frozen=True)
class EtaChange:
    """A region's item arrives at a different time or in a different on-time quantity."""

    region_id: str
    item_id: str
    vehicle_id: str | None
    old_eta_h: float | None
    new_eta_h: float | None
    old_on_time: int
    new_on_time: int


@dataclass
class ReplanResult:
    """The new plan and what changed for each region and item."""

    plan: DispatchPlan
    changed_etas: list[EtaChange]


def replan(
    plan: DispatchPlan,
    new_travel: TravelTimes,
    dispatched_vehicle_positions: Mapping[str, VehiclePosition],
    *,
    now_h: float | None = None,
    params: DispatchParams | None = None,
    eta_tolerance_h: float = 0.05,
) -> ReplanResult:
    """Re-plan with new travel times (a road closed, a slowdown).

    Dispatched vehicles keep the cargo on board and are re-routed from their position (they may
    also take new loads after).  Everything else — vehicles not yet dispatched, stock not loaded
    yet (including the not-yet-loaded orders of dispatched trucks), needs not yet covered — is
    re-allocated and re-routed from ``now_h`` (default: the latest position time).  Pass every
    vehicle that has left; the others are treated as at their start node.  The result lists,
    per region and item, the arrival of the last unit and the on-time quantity before and after
    when either changed (arrivals by more than ``eta_tolerance_h``); :func:`expected_positions`
    gives positions from the plan itself.  Travel already driven is not re-timed: completed stops keep their earlier ETAs.
    """
    params = params if params is not None else plan.params
    old = plan.problem
    fleet = {v.id: v for v in old.fleet}
    for vid, pos in dispatched_vehicle_positions.items():
        if vid not in fleet:
            raise DispatchInputError("dispatched_vehicle_positions", f"unknown vehicle {vid!r}")
        if not new_travel.has(pos.node):
            raise DispatchInputError(
                f"dispatched_vehicle_positions[{vid}].node", f"{pos.node!r} not in travel.nodes"
            )
    if now_h is None:
        now_h = max([p.at_h for p in dispatched_vehicle_positions.values()], default=old.now_h)
    full_needs = {rp.region_id: dict(rp.need) for rp in plan.regions}
    order_by_id = {o.id: o for o in plan.orders}
    lots_of_order: dict[str, list[ManifestLine]] = defaultdict(list)
    for vp in plan.vehicles:
        for ml in vp.manifest:
            lots_of_order[ml.order_id].append(ml)

    # What dispatched vehicles did, carry and must still do.
    done_stops: dict[str, list[Stop]] = {}
    done_orders: list[Order] = []
    fixed_orders: list[Order] = []
    route_vehicles: list[RouteVehicle] = []
    covered: dict[tuple[str, str], int] = defaultdict(int)  # delivered or on a dispatched truck
    lot_taken: dict[tuple[str, str], int] = defaultdict(int)  # (source, lot_no)
    qty_taken: dict[tuple[str, str], int] = defaultdict(int)  # (source, item) for lot-less modes
    for vid, pos in dispatched_vehicle_positions.items():
        vp = plan.vehicle(vid)
        k = pos.completed_stops
        if k is None:
            k = sum(1 for stop in vp.stops if stop.eta_h <= pos.at_h + _EPS)
        done_stops[vid] = vp.stops[:k]
        picked = {stop.order_id for stop in vp.stops[:k] if stop.kind == "pickup"}
        delivered = {stop.order_id for stop in vp.stops[:k] if stop.kind == "delivery"}
        onboard_w = onboard_v = 0.0
        for oid in dict.fromkeys(stop.order_id for stop in vp.stops):
            if oid not in picked:
                continue  # not loaded yet: its stock goes back to the pool and is re-planned
            o = replace(order_by_id[oid], vehicle_id=vid, lots=tuple(lots_of_order[oid]))
            for ml in o.lots:
                covered[(o.region_id, ml.item_id)] += ml.quantity
                if ml.source_mode in LOT_MODES:
                    lot_taken[(o.source_id, ml.lot_no)] += ml.quantity
                else:
                    qty_taken[(o.source_id, ml.item_id)] += ml.quantity
            if oid in delivered:
                done_orders.append(o)
                continue
            onboard_w += o.weight_kg
            onboard_v += o.volume_m3
            fixed_orders.append(replace(o, onboard=True))
        veh = fleet[vid]
        route_vehicles.append(
            RouteVehicle(
                veh, vehicle_profile(veh, params), pos.node, pos.at_h, onboard_w, onboard_v
            )
        )
    for veh in old.fleet:
        if veh.id not in dispatched_vehicle_positions:
            start_h = max(veh.available_from_h, now_h)
            route_vehicles.append(
                RouteVehicle(veh, vehicle_profile(veh, params), veh.start_node, start_h)
            )

    # Residual problem: needs minus what is covered; stock minus what dispatched trucks took.
    residual_regions = [
        replace(
            reg,
            needs={
                it.id: max(0, full_needs[reg.id].get(it.id, 0) - covered.get((reg.id, it.id), 0))
                for it in old.items
            },
        )
        for reg in old.incident.regions
    ]
    residual_sources = []
    for src in old.sources:
        if src.mode in LOT_MODES:
            lots = tuple(
                replace(lot, quantity=max(0, lot.quantity - lot_taken.get((src.id, lot.lot_no), 0)))
                for lot in src.lots
            )
            residual_sources.append(replace(src, lots=lots))
        elif src.mode == "capacity":
            # the production line first makes what dispatched trucks carry: its start shifts
            shift = max(
                (
                    24.0 * qty_taken.get((src.id, i), 0) / rate
                    for i, rate in src.quantities.items()
                    if rate > 0
                ),
                default=0.0,
            )
            residual_sources.append(replace(src, lead_time_h=src.lead_time_h + shift))
        else:
            left = {
                i: max(0.0, q - qty_taken.get((src.id, i), 0)) for i, q in src.quantities.items()
            }
            residual_sources.append(replace(src, quantities=left))
    problem = DispatchProblem(
        incident=replace(old.incident, regions=tuple(residual_regions)),
        items=old.items,
        sources=tuple(residual_sources),
        fleet=old.fleet,
        travel=new_travel,
        now_h=now_h,
    )

    # build → solve → extract, with the dispatched vehicles' orders fixed to them.
    # the earlier plan's flows not yet on a truck: the allocation stays as close as it may
    still_to_send: dict[tuple[str, str, str], int] = defaultdict(int)
    kept = {o.id for o in fixed_orders} | {o.id for o in done_orders}
    for o in plan.orders:
        if o.id not in kept:
            for line in o.lines:
                still_to_send[(o.source_id, o.region_id, line.item_id)] += line.quantity
    allocation_model = build_allocation_model(problem, params)
    allocation = solve_allocation(problem, allocation_model, params, still_to_send)
    value = allocation.unit_values(problem, params)
    generation = plan.generation + 1
    new_orders = [
        replace(o, id=f"g{generation}-{o.id}")
        for o in split_flows_into_orders(problem, allocation.flows, params, value)
    ]
    orders = fixed_orders + new_orders
    initial, promised = _previous_routes(plan, new_orders, done_stops, {o.id for o in fixed_orders})
    routing = route_in_waves(problem, orders, route_vehicles, params, initial, promised)
    new_plan = extract_plan(
        problem,
        params,
        allocation,
        orders,
        route_vehicles,
        routing,
        done_stops=done_stops,
        done_orders=done_orders,
        dispatched=dispatched_vehicle_positions.keys(),
        full_needs=full_needs,
    )
    new_plan.generation = generation
    # The plan describes the whole incident: full needs and the stock as it was at the start
    # (its manifests hold both the earlier cargo and the new loads), with the new travel times.
    new_plan.problem = replace(old, travel=new_travel, now_h=now_h)
    return ReplanResult(new_plan, _eta_changes(plan, new_plan, eta_tolerance_h))


def _previous_routes(
    plan: DispatchPlan,
    new_orders: Sequence[Order],
    done_stops: Mapping[str, Sequence[Stop]],
    kept: set[str],
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, float]]:
    """The plan's remaining stops per vehicle, with re-allocated orders renamed to the new
    order carrying the same load from the same source to the same region (orders kept on a
    dispatched truck keep their id), and the delivery ETA it promised each of those orders."""
    by_load: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for order in new_orders:
        by_load[(order.source_id, order.region_id, order.lines)].append(order.id)
    old_orders = {o.id: o for o in plan.orders}
    renamed: dict[str, str] = {}
    for vp in plan.vehicles:
        for stop in vp.stops:
            o = old_orders.get(stop.order_id)
            if o is None or o.id in renamed or o.id in kept:
                continue
            twins = by_load.get((o.source_id, o.region_id, o.lines))
            renamed[o.id] = twins.pop(0) if twins else o.id
    routes: dict[str, list[tuple[str, str]]] = {
        vp.vehicle_id: [
            (stop.kind, renamed.get(stop.order_id, stop.order_id))
            for stop in vp.stops[len(done_stops.get(vp.vehicle_id, ())) :]
        ]
        for vp in plan.vehicles
    }
    promised = {
        renamed.get(stop.order_id, stop.order_id): stop.eta_h
        for vp in plan.vehicles
        for stop in vp.stops
        if stop.kind == "delivery"
    }
    return routes, promised


def _eta_changes(old: DispatchPlan, new: DispatchPlan, tolerance_h: float) -> list[EtaChange]:
    """Per region and item: the arrival of the last unit and on-time quantity, before vs after."""
    changes: list[EtaChange] = []
    for rp_old in old.regions:
        rp_new = new.region(rp_old.region_id)
        for item_id in rp_old.need:
            a, b = rp_old.eta_h.get(item_id), rp_new.eta_h.get(item_id)
            ot_a, ot_b = rp_old.on_time.get(item_id, 0), rp_new.on_time.get(item_id, 0)
            same_eta = (a is None and b is None) or (
                a is not None and b is not None and abs(a - b) <= tolerance_h
            )
            if not same_eta or ot_a != ot_b:
                vehicles = sorted(
                    {
                        vp.vehicle_id
                        for vp in new.vehicles
                        for ml in vp.manifest
                        if ml.region_id == rp_old.region_id and ml.item_id == item_id
                    }
                )
                changes.append(
                    EtaChange(
                        rp_old.region_id, item_id, ",".join(vehicles) or None, a, b, ot_a, ot_b
                    )
                )
    return changes

"""Repair after routing: top up the trucks already on their way (pure code).

Routing carries the orders the allocation made; a truck often has room left on a trip whose
region still lacks items the same source holds.  :func:`top_up` fills that room: for every
on-time delivery, in route order, it adds units of the items the region is still short of from
the order's source — most valuable per kilogram first, as much as the spare weight and volume
between the pickup and the delivery, the source's unrouted stock and the shortfall allow — and
keeps an addition only if every delivery of that vehicle that was on time stays on time (the
extra handling time delays later stops).  Capacity reserves are left out: their production
schedule fixes when each unit is ready.  A plan that this pass cannot improve is one no
dispatcher can beat by loading more on the same trucks at the same stops.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from reserve_service.optimize.dispatch.allocation import AllocationResult, Flow
from reserve_service.optimize.dispatch.orders import Order, OrderLine, RouteVehicle
from reserve_service.optimize.dispatch.plan import DispatchPlan, Stop
from reserve_service.optimize.dispatch.problem import _EPS, DispatchParams, DispatchProblem
from reserve_service.optimize.dispatch.routing import RoutingSolution, _schedule


def top_up(
    problem: DispatchProblem,
    params: DispatchParams,
    draft: DispatchPlan,
    allocation: AllocationResult,
    orders: Sequence[Order],
    vehicles: Sequence[RouteVehicle],
    routing: RoutingSolution,
) -> tuple[list[Order], AllocationResult]:
    """The orders with the top-ups added, and the allocation with a flow for each top-up."""
    D = params.deadline_h
    items = {it.id: it for it in problem.items}
    sources = {s.id: s for s in problem.sources}
    source_index = {s.id: k for k, s in enumerate(problem.sources)}
    region_index = {r.id: k for k, r in enumerate(problem.incident.regions)}
    model = allocation.model
    by_id = {o.id: o for o in orders}
    routed = {oid for seq in routing.routes.values() for kind, oid in seq if kind == "pickup"}
    left: dict[tuple[str, str], int] = defaultdict(int)
    for source_id, held in model.supply.items():
        for item_id, qty in held.items():
            left[(source_id, item_id)] = qty
    for oid in routed:
        for line in by_id[oid].lines:
            left[(by_id[oid].source_id, line.item_id)] -= line.quantity
    # still short: what is neither on time nor on its way late (a region never gets more
    # than its need)
    short = {
        (rp.region_id, i): n - max(rp.on_time.get(i, 0), rp.delivered.get(i, 0))
        for rp in draft.regions
        for i, n in rp.need.items()
    }
    added: dict[tuple[str, str, str], int] = defaultdict(int)
    for veh in vehicles:
        seq = routing.routes.get(veh.vehicle.id, [])
        stops = _schedule(problem, veh, seq, by_id, params)
        for k, (kind, oid) in enumerate(seq):
            order = by_id[oid]
            if kind != "pickup" or sources[order.source_id].mode == "capacity":
                continue
            j = seq.index(("delivery", oid))
            if stops[j].eta_h > D + _EPS:
                continue
            wanted = [
                i
                for i in items
                if short.get((order.region_id, i), 0) > 0 and left[(order.source_id, i)] > 0
            ]
            r = region_index[order.region_id]
            wanted.sort(key=lambda i: -model.value.get((r, i), 0.0) / items[i].weight_kg)
            for item_id in wanted:
                it = items[item_id]
                room_kg = veh.vehicle.weight_capacity_kg - max(s.load_kg for s in stops[k:j])
                room_m3 = veh.vehicle.volume_capacity_m3 - max(s.load_m3 for s in stops[k:j])
                qty = min(
                    short[(order.region_id, item_id)],
                    left[(order.source_id, item_id)],
                    math.floor(room_kg / it.weight_kg + 1e-9),
                    math.floor(room_m3 / it.volume_m3 + 1e-9),
                )
                while qty > 0:
                    bigger = _with_units(order, item_id, qty, it.weight_kg, it.volume_m3,
                                         model.value.get((r, item_id), 0.0))
                    trial = {**by_id, oid: bigger}
                    new_stops = _schedule(problem, veh, seq, trial, params)
                    if _keeps_promises(stops, new_stops, D):
                        break
                    qty //= 2
                if qty <= 0:
                    continue
                by_id[oid] = order = bigger
                stops = new_stops
                short[(order.region_id, item_id)] -= qty
                left[(order.source_id, item_id)] -= qty
                added[(order.source_id, order.region_id, item_id)] += qty
    flows = list(allocation.flows)
    for (source_id, region_id, item_id), qty in sorted(added.items()):
        arrival = float(model.arrival[source_index[source_id], region_index[region_id]])
        flows.append(Flow(source_id, region_id, item_id, qty, True, arrival))
    return [by_id[o.id] for o in orders], replace(allocation, flows=flows)


def _with_units(
    order: Order, item_id: str, qty: int, kg: float, m3: float, unit_value: float
) -> Order:
    lines = dict((line.item_id, line.quantity) for line in order.lines)
    lines[item_id] = lines.get(item_id, 0) + qty
    return replace(
        order,
        lines=tuple(OrderLine(i, q) for i, q in sorted(lines.items())),
        weight_kg=order.weight_kg + qty * kg,
        volume_m3=order.volume_m3 + qty * m3,
        value=order.value + qty * unit_value,
    )


def _keeps_promises(before: Sequence[Stop], after: Sequence[Stop], deadline_h: float) -> bool:
    """Every delivery on time before is on time after."""
    return all(
        b.kind != "delivery" or b.eta_h > deadline_h + _EPS or a.eta_h <= deadline_h + _EPS
        for b, a in zip(before, after, strict=True)
    )

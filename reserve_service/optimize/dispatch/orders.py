"""Flows split into truckload-sized pickup-and-delivery orders, and vehicles as routing sees them."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reserve_service.optimize.dispatch.allocation import Flow
from reserve_service.optimize.dispatch.plan import ManifestLine
from reserve_service.optimize.dispatch.problem import _EPS, DispatchParams, DispatchProblem, Vehicle


@dataclass(frozen=True)
class OrderLine:
    """Units of one item in an order."""

    item_id: str
    quantity: int


@dataclass(frozen=True)
class Order:
    """A truckload (or less) from one source to one region: a pickup and a delivery node.

    ``onboard_vehicle`` marks an order already loaded on a dispatched vehicle (re-plan): it has
    no pickup node. ``vehicle_id`` restricts the order to one vehicle.
    """

    id: str
    source_id: str
    region_id: str
    lines: tuple[OrderLine, ...]
    weight_kg: float
    volume_m3: float
    value: float
    ready_h: float
    on_time_target: bool
    vehicle_id: str | None = None
    onboard: bool = False
    lots: tuple[ManifestLine, ...] = ()  # lots already loaded / fixed by an earlier plan


@dataclass(frozen=True)
class RouteVehicle:
    """A vehicle as the routing model sees it: where and when it starts, what it carries."""

    vehicle: Vehicle
    profile: str
    start_node: str
    start_h: float
    initial_weight_kg: float = 0.0
    initial_volume_m3: float = 0.0


def split_flows_into_orders(
    problem: DispatchProblem,
    flows: Sequence[Flow],
    params: DispatchParams,
    value: Mapping[tuple[str, str], float],
) -> list[Order]:
    """Group flows by (source, region) and split them into truckload-sized orders."""
    items = {it.id: it for it in problem.items}
    sources = {s.id: s for s in problem.sources}
    if problem.fleet:
        cap_w = float(
            np.quantile(
                [v.weight_capacity_kg for v in problem.fleet], params.order_capacity_quantile
            )
        )
        cap_v = float(
            np.quantile(
                [v.volume_capacity_m3 for v in problem.fleet], params.order_capacity_quantile
            )
        )
    else:
        cap_w = cap_v = math.inf
    groups: dict[tuple[str, str, bool], list[Flow]] = defaultdict(list)
    for f in flows:
        if f.on_time or params.route_late_orders:
            groups[(f.source_id, f.region_id, f.on_time)].append(f)
    orders: list[Order] = []
    # capacity sources release goods over time: track cumulative production per item
    produced_so_far: dict[tuple[str, str], int] = defaultdict(int)
    ordered = sorted(
        groups.items(), key=lambda kv: (not kv[0][2], kv[1][0].earliest_arrival_h, kv[0])
    )
    for (source_id, region_id, on_time), group in ordered:
        src = sources[source_id]
        qty = {f.item_id: f.quantity for f in group}
        total_w = sum(q * items[i].weight_kg for i, q in qty.items())
        total_v = sum(q * items[i].volume_m3 for i, q in qty.items())
        parts = (
            max(1, math.ceil(max(total_w / cap_w, total_v / cap_v) - 1e-9))
            if math.isfinite(cap_w)
            else 1
        )
        while True:
            chunks = [
                {i: q // parts + (1 if k < q % parts else 0) for i, q in qty.items()}
                for k in range(parts)
            ]
            fits = all(
                sum(q * items[i].weight_kg for i, q in c.items()) <= cap_w + _EPS
                and sum(q * items[i].volume_m3 for i, q in c.items()) <= cap_v + _EPS
                for c in chunks
            )
            if fits or parts >= sum(qty.values()):
                break
            parts += 1
        for chunk in chunks:
            lines = tuple(OrderLine(i, q) for i, q in sorted(chunk.items()) if q > 0)
            if not lines:
                continue
            ready = max(src.lead_time_h, problem.now_h)
            if src.mode == "capacity":
                for line in lines:
                    produced_so_far[(source_id, line.item_id)] += line.quantity
                    rate = src.quantities[line.item_id]
                    ready = max(
                        ready,
                        src.lead_time_h + 24.0 * produced_so_far[(source_id, line.item_id)] / rate,
                    )
            orders.append(
                Order(
                    id=f"o{len(orders) + 1}",
                    source_id=source_id,
                    region_id=region_id,
                    lines=lines,
                    weight_kg=sum(ln.quantity * items[ln.item_id].weight_kg for ln in lines),
                    volume_m3=sum(ln.quantity * items[ln.item_id].volume_m3 for ln in lines),
                    value=sum(
                        ln.quantity * value.get((region_id, ln.item_id), 0.0) for ln in lines
                    ),
                    ready_h=ready,
                    on_time_target=on_time,
                )
            )
    return orders

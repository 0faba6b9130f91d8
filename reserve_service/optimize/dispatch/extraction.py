"""Step 3, extraction: manifests with FEFO lots, ETAs, fill rates and shortfalls."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np

from reserve_service.clock import local_date
from reserve_service.optimize.dispatch.allocation import AllocationResult
from reserve_service.optimize.dispatch.orders import Order, RouteVehicle
from reserve_service.optimize.dispatch.plan import (
    DispatchPlan,
    ManifestLine,
    PlanSummary,
    RegionPlan,
    Shortfall,
    Stop,
    VehiclePlan,
)
from reserve_service.optimize.dispatch.problem import (
    _EPS,
    LOT_MODES,
    DispatchParams,
    DispatchProblem,
    vehicle_profile,
)
from reserve_service.optimize.dispatch.routing import RoutingSolution, _schedule
from reserve_service.optimize.dispatch.shortfalls import explain_shortfall, shortfall_bounds


def _fefo_lots(problem: DispatchProblem) -> dict[tuple[str, str], list[list[Any]]]:
    """Issuable lots per (source, item), earliest expiry first: [[lot_no, expiry, qty], ...]."""
    start_day = local_date(problem.incident.start)
    out: dict[tuple[str, str], list[list[Any]]] = defaultdict(list)
    for src in problem.sources:
        for lot in sorted(
            src.lots, key=lambda lt: (lt.expiry is None, lt.expiry or date.max, lt.lot_no)
        ):
            if lot.expiry is not None and lot.expiry < start_day:
                continue  # expired lots are never issued
            out[(src.id, lot.item_id)].append([lot.lot_no, lot.expiry, int(lot.quantity)])
    return out


def extract_plan(
    problem: DispatchProblem,
    params: DispatchParams,
    allocation: AllocationResult,
    orders: Sequence[Order],
    route_vehicles: Sequence[RouteVehicle],
    routing: RoutingSolution,
    *,
    done_stops: Mapping[str, list[Stop]] | None = None,
    done_orders: Sequence[Order] = (),
    dispatched: Iterable[str] = (),
    full_needs: Mapping[str, Mapping[str, int]] | None = None,
) -> DispatchPlan:
    """Read the plan: manifests with FEFO lots, ETAs, fill rates and explained shortfalls.

    For a re-plan, ``done_stops`` / ``done_orders`` are what dispatched vehicles did before,
    orders with ``lots`` keep the lots loaded earlier, and ``full_needs`` are the incident's
    needs (``problem`` then holds the residual needs and stock).
    """
    D = params.deadline_h
    order_by_id = {o.id: o for o in list(orders) + list(done_orders)}
    sources = {s.id: s for s in problem.sources}
    dispatched = set(dispatched)

    # Stops with ETAs per vehicle (earliest schedule on the float matrices).
    schedules: dict[str, list[Stop]] = {}
    for veh in route_vehicles:
        seq = routing.routes.get(veh.vehicle.id, [])
        schedules[veh.vehicle.id] = _schedule(problem, veh, seq, order_by_id, params)

    # FEFO: lots go to pickups in the order they happen, earliest expiry first; orders loaded
    # in an earlier plan keep their lots (the residual stock in ``problem`` already excludes them).
    lots = _fefo_lots(problem)
    order_lots: dict[str, list[ManifestLine]] = {
        o.id: list(o.lots) for o in order_by_id.values() if o.lots
    }
    pickups = sorted(
        (stop.start_h, vid, stop.order_id)
        for vid, stops in schedules.items()
        for stop in stops
        if stop.kind == "pickup" and not order_by_id[stop.order_id].lots
    )
    for start_h, _, oid in pickups:
        o = order_by_id[oid]
        mode = sources[o.source_id].mode
        pickup_day = local_date(problem.incident.start + timedelta(hours=start_h))
        assigned: list[ManifestLine] = []
        for line in o.lines:
            if mode not in LOT_MODES:
                lot_label = f"{o.source_id}/{mode}"
                assigned.append(
                    ManifestLine(
                        oid,
                        line.item_id,
                        line.quantity,
                        lot_label,
                        None,
                        o.source_id,
                        mode,
                        o.region_id,
                    )
                )
                continue
            left = line.quantity
            for entry in lots[(o.source_id, line.item_id)]:
                if left <= 0:
                    break
                if entry[1] is not None and entry[1] < pickup_day:
                    continue  # expired by the time the truck loads: never issued
                take = min(left, entry[2])
                if take > 0:
                    assigned.append(
                        ManifestLine(
                            oid,
                            line.item_id,
                            take,
                            entry[0],
                            entry[1],
                            o.source_id,
                            mode,
                            o.region_id,
                        )
                    )
                    entry[2] -= take
                    left -= take
            # units left without a lot (their lot expires before this pickup) are not loaded;
            # the region's shortfall shows them
        order_lots[oid] = assigned

    # Vehicle plans.
    vehicle_plans: list[VehiclePlan] = []
    delivered_at: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    all_vehicle_ids = [v.vehicle.id for v in route_vehicles]
    for veh in route_vehicles:
        vid = veh.vehicle.id
        stops = list((done_stops or {}).get(vid, [])) + schedules[vid]
        manifest: list[ManifestLine] = []
        # the manifest lists what is loaded (pickups); arrivals count at deliveries
        for stop in stops:
            for loaded in order_lots.get(stop.order_id, []):
                if stop.kind == "pickup":
                    manifest.append(loaded)
                else:
                    delivered_at[(loaded.region_id, loaded.item_id)].append((stop.eta_h, loaded.quantity))
        vehicle_plans.append(
            VehiclePlan(
                vehicle_id=vid,
                profile=veh.profile,
                start_node=veh.start_node,
                start_h=veh.start_h,
                stops=stops,
                manifest=manifest,
                peak_load_kg=max([s.load_kg for s in stops] + [veh.initial_weight_kg]),
                peak_load_m3=max([s.load_m3 for s in stops] + [veh.initial_volume_m3]),
                total_load_kg=sum(
                    order_by_id[s.order_id].weight_kg
                    for s in stops
                    if s.kind == "pickup" and s.order_id in order_by_id
                ),
                total_load_m3=sum(
                    order_by_id[s.order_id].volume_m3
                    for s in stops
                    if s.kind == "pickup" and s.order_id in order_by_id
                ),
                trips=sum(
                    1
                    for k, s in enumerate(stops)
                    if s.kind == "pickup" and (k == 0 or stops[k - 1].kind == "delivery")
                ),
                dispatched=vid in dispatched,
            )
        )
    for unseen in problem.fleet:  # vehicles the routing model never saw (none in normal use)
        if unseen.id not in all_vehicle_ids:
            vehicle_plans.append(
                VehiclePlan(
                    unseen.id,
                    vehicle_profile(unseen, params),
                    unseen.start_node,
                    unseen.available_from_h,
                    [],
                    [],
                    0,
                    0,
                    0,
                    0,
                    0,
                )
            )

    # Region plans with shortfall reasons.
    needs = allocation.model.needs
    supply = allocation.model.supply
    access = allocation.model.access
    bounds = shortfall_bounds(problem, params, needs, supply, access)
    region_plans: list[RegionPlan] = []
    people_total = people_served = 0
    latest: float | None = None
    for r, reg in enumerate(problem.incident.regions):
        need = dict(full_needs[reg.id]) if full_needs is not None else dict(needs[reg.id])
        delivered: dict[str, int] = {}
        on_time: dict[str, int] = {}
        eta: dict[str, float] = {}
        for item_id in need:
            arrivals = delivered_at.get((reg.id, item_id), [])
            delivered[item_id] = sum(q for _, q in arrivals)
            on_time[item_id] = sum(q for t, q in arrivals if t <= D + _EPS)
            if arrivals:
                eta[item_id] = max(t for t, _ in arrivals)
                latest = eta[item_id] if latest is None else max(latest, eta[item_id])
        shortfalls: list[Shortfall] = []
        for item_id, n in need.items():
            missing = n - on_time[item_id]
            if missing <= 0:
                continue
            shortfalls.extend(
                # against the need still open (a re-plan's problem holds the residual)
                explain_shortfall(
                    problem, bounds, reg.id, r, item_id, needs[reg.id].get(item_id, 0), missing
                )
            )
        fill = float(np.mean([min(1.0, on_time[i] / n) for i, n in need.items()])) if need else 1.0
        fully = all(on_time[i] >= n for i, n in need.items())
        people_total += reg.relocated_people
        people_served += reg.relocated_people if fully else 0
        region_plans.append(
            RegionPlan(
                reg.id, reg.relocated_people, need, delivered, on_time, eta, fill, fully, shortfalls
            )
        )

    summary = PlanSummary(
        share_people_fully_served=people_served / people_total if people_total else 1.0,
        people_fully_served=people_served,
        people_total=people_total,
        latest_arrival_h=latest,
        vehicles_used=sum(1 for vp in vehicle_plans if vp.used),
        allocation_seconds=allocation.solve_seconds,
        routing_seconds=routing.solve_seconds,
        solve_seconds=allocation.solve_seconds + routing.solve_seconds,
        allocation_status=list(allocation.statuses),
        routing_status=routing.status,
        mean_arrival_h=_mean_arrival(region_plans),
    )
    return DispatchPlan(
        problem,
        params,
        list(allocation.flows),
        list(orders),
        vehicle_plans,
        region_plans,
        summary,
        list(routing.dropped),
    )


def _mean_arrival(regions: Sequence[RegionPlan]) -> float | None:
    """People-weighted mean over regions that receive anything of their last unit's arrival."""
    served = [(rp.relocated_people, max(rp.eta_h.values())) for rp in regions if rp.eta_h]
    people = sum(p for p, _ in served)
    if not served:
        return None
    if people == 0:
        return float(np.mean([t for _, t in served]))
    return sum(p * t for p, t in served) / people

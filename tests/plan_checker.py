"""An independent checker of dispatch plans, for every test that makes one.

:func:`check_plan` recomputes from the plan and its problem alone (never from the planner's
intermediate results) what a dispatcher would verify: each route driven on finite legs of its
vehicle's own travel-time matrix with ETAs that add up; loads within weight and volume all
along; pickups after the source is ready (lead times, production of capacity reserves); lots
within their quantity, first-expiry-first-out, never loaded after their expiry; region
accounting that matches the vehicles; shortfalls that add up, with reasons consistent with
the bounds :func:`reason_bounds` derives for each region and item.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pytest

from reserve_service.clock import local_date
from reserve_service.optimize.dispatch import (
    LEAD_TIME_MODES,
    LOT_MODES,
    DispatchPlan,
    vehicle_profile,
)


def check_plan(plan: DispatchPlan, skip_stops: dict[str, int] | None = None) -> None:
    """Everything a dispatcher checks on a plan, recomputed from the plan and its problem.

    ``skip_stops[v]``: stops of a dispatched vehicle done before a re-plan (checked against the
    earlier matrices by the earlier plan; the rest starts at the position's node and time).
    """
    problem, params = plan.problem, plan.params
    items = {it.id: it for it in problem.items}
    sources = {s.id: s for s in problem.sources}
    regions = {r.id: r for r in problem.incident.regions}
    fleet = {v.id: v for v in problem.fleet}
    skip_stops = skip_stops or {}
    lot_issued: dict[tuple[str, str], int] = defaultdict(int)
    loaded_on: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
    delivered: dict[tuple[str, str], int] = defaultdict(int)
    on_time: dict[tuple[str, str], int] = defaultdict(int)
    capacity_pickups: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)

    for vp in plan.vehicles:
        veh = fleet[vp.vehicle_id]
        lines_by_order = defaultdict(list)
        for line in vp.manifest:
            lines_by_order[line.order_id].append(line)
        k0 = skip_stops.get(vp.vehicle_id, 0)
        # load on board at the start of the checked part: picked before, not yet delivered
        on_board: set[str] = set()
        for stop in vp.stops[:k0]:
            (on_board.add if stop.kind == "pickup" else on_board.discard)(stop.order_id)
            if stop.kind == "delivery":  # delivered before the re-plan
                for line in lines_by_order[stop.order_id]:
                    delivered[(line.region_id, line.item_id)] += line.quantity
                    if stop.eta_h <= params.deadline_h + 1e-9:
                        on_time[(line.region_id, line.item_id)] += line.quantity
        here, t = vp.start_node, vp.start_h
        if k0 == 0:
            assert here == veh.start_node
            assert t >= veh.available_from_h - 1e-9
        for stop in vp.stops[k0:]:
            # the leg as driven when it leaves (the roads as they will be, when the travel
            # times change over time; the matrix otherwise)
            leg = problem.travel.time(vehicle_profile(veh, params), here, stop.node, t)
            # unreachable (inf) pairs are never driven
            assert np.isfinite(leg), (
                f"{vp.vehicle_id} drives an unreachable leg {here}->{stop.node}"
            )
            # ETA = previous departure + matrix travel time
            assert stop.eta_h == pytest.approx(t + leg, abs=1e-6)
            kg_order = sum(
                ln.quantity * items[ln.item_id].weight_kg for ln in lines_by_order[stop.order_id]
            )
            # handling: per tonne for each order, the fixed minutes once per stop (after the
            # last order loaded or unloaded there in a row)
            k = vp.stops.index(stop)
            following = vp.stops[k + 1] if k + 1 < len(vp.stops) else None
            last_here = following is None or (following.kind, following.node) != (
                stop.kind, stop.node
            )
            if stop.kind == "pickup":
                fixed, per_t = params.loading_minutes, params.loading_minutes_per_t
            else:
                fixed, per_t = params.unloading_minutes, params.unloading_minutes_per_t
            service = ((fixed if last_here else 0.0) + per_t * kg_order / 1000) / 60
            assert stop.start_h >= stop.eta_h - 1e-9
            assert stop.departure_h == pytest.approx(stop.start_h + service, abs=1e-6)
            if stop.kind == "pickup":
                src = sources[stop.place_id]
                assert stop.node == src.node
                # agreement / capacity / mutual-aid stock never leaves before its lead time
                if src.mode in LEAD_TIME_MODES:
                    assert stop.start_h >= src.lead_time_h - 1e-9
                assert stop.start_h >= problem.now_h - 1e-9
                on_board.add(stop.order_id)
                pickup_day = local_date(problem.incident.start + dt.timedelta(hours=stop.start_h))  # in the service zone
                for line in lines_by_order[stop.order_id]:
                    assert line.source_id == src.id
                    # no lot loaded after its expiry
                    assert line.expiry is None or line.expiry >= pickup_day, (
                        f"{vp.vehicle_id} loads {line.lot_no} (expires {line.expiry}) on {pickup_day}"
                    )
                    loaded_on[(src.id, line.lot_no)].append(pickup_day)
                    if src.mode == "capacity":
                        capacity_pickups[(src.id, line.item_id)].append(
                            (stop.start_h, line.quantity)
                        )
            else:
                assert stop.order_id in on_board, "delivery before its pickup"
                on_board.discard(stop.order_id)
                assert stop.node == regions[stop.place_id].node
                for line in lines_by_order[stop.order_id]:
                    assert line.region_id == stop.place_id
                    delivered[(line.region_id, line.item_id)] += line.quantity
                    if stop.eta_h <= params.deadline_h + 1e-9:
                        on_time[(line.region_id, line.item_id)] += line.quantity
            # no vehicle over weight or volume capacity (recomputed from the manifest)
            kg = sum(
                ln.quantity * items[ln.item_id].weight_kg
                for o in on_board
                for ln in lines_by_order[o]
            )
            m3 = sum(
                ln.quantity * items[ln.item_id].volume_m3
                for o in on_board
                for ln in lines_by_order[o]
            )
            assert kg <= veh.weight_capacity_kg + 1e-6, f"{vp.vehicle_id} carries {kg} kg"
            assert m3 <= veh.volume_capacity_m3 + 1e-6, f"{vp.vehicle_id} carries {m3} m3"
            here, t = stop.node, stop.departure_h
        # cargo left on board only when loaded before a re-plan and now undeliverable
        assert on_board <= set(plan.unrouted_orders), f"{vp.vehicle_id} ends with cargo"
        for line in vp.manifest:
            if line.source_mode in LOT_MODES:
                lot_issued[(line.source_id, line.lot_no)] += line.quantity

    # no lot over its quantity; lots belong to the source and item they are issued for
    start_day = local_date(problem.incident.start)
    for (source_id, lot_no), qty in lot_issued.items():
        lot = next(lt for lt in sources[source_id].lots if lt.lot_no == lot_no)
        assert qty <= lot.quantity
        assert lot.expiry is None or lot.expiry >= start_day, "expired lot issued"
    # FEFO: a later-expiring lot is loaded only when every earlier-expiring lot still good
    # on that day is used up
    for src in problem.sources:
        by_item = defaultdict(list)
        for lot in src.lots:
            if lot.expiry is None or lot.expiry >= start_day:
                by_item[lot.item_id].append(lot)
        for lots in by_item.values():
            for a, b in itertools.permutations(lots, 2):
                ea = a.expiry or dt.date.max
                eb = b.expiry or dt.date.max
                days = loaded_on.get((src.id, b.lot_no), [])
                if ea < eb and any(day <= ea for day in days):
                    assert lot_issued.get((src.id, a.lot_no), 0) == a.quantity, (
                        f"FEFO broken at {src.id}: {b.lot_no} issued before {a.lot_no} is used up"
                    )
    # production-capacity reserves: what is loaded by time t was produced by t
    for (source_id, item_id), pickups in capacity_pickups.items():
        src = sources[source_id]
        rate = src.quantities[item_id]
        cumulative = 0
        for start_h, qty in sorted(pickups):
            cumulative += qty
            assert cumulative <= rate * (start_h - src.lead_time_h) / 24.0 + 1e-6

    # region accounting matches the vehicles; shortfalls add up to the missing quantity
    for rp in plan.regions:
        for item_id, need in rp.need.items():
            assert rp.delivered[item_id] == delivered[(rp.region_id, item_id)]
            assert rp.on_time[item_id] == on_time[(rp.region_id, item_id)]
            assert rp.delivered[item_id] <= need, "over-delivery"
            short = sum(s.quantity for s in rp.shortfalls if s.item_id == item_id)
            assert short == need - rp.on_time[item_id]
        assert rp.fully_served_by_deadline == (not rp.shortfalls)
    people = sum(r.relocated_people for r in problem.incident.regions)
    served = sum(rp.relocated_people for rp in plan.regions if rp.fully_served_by_deadline)
    assert plan.summary.share_people_fully_served == pytest.approx(
        served / people if people else 1.0
    )
    assert plan.summary.vehicles_used == sum(1 for vp in plan.vehicles if vp.stops)
    # the bound is an upper bound
    if plan.summary.bound_people_served is not None:
        assert served <= plan.summary.bound_people_served
    if skip_stops is None and plan.generation == 0:
        check_reasons(plan)


@dataclass(frozen=True)
class ReasonBounds:
    """For one region and item: units held by every source (within the horizon), by sources
    whose earliest possible arrival is by the deadline, and by those that would be in time
    but for their activation / production lead time; the earliest possible arrival; whether
    any vehicle can drive from a holder to the region at all."""

    need: int
    held: float
    by_deadline: float
    blocked_by_lead_time: float
    earliest_arrival_h: float
    drivable: bool


def reason_bounds(plan: DispatchPlan) -> dict[tuple[str, str], ReasonBounds]:
    """The bounds per (region, item) from the problem: supply, travel times, fleet."""
    problem, params = plan.problem, plan.params
    D, H = params.deadline_h, params.horizon_h
    load_h = params.loading_minutes / 60.0
    travel = problem.travel
    start_day = local_date(problem.incident.start)
    fleet = problem.fleet
    out = {}
    for rp in plan.regions:
        region = next(r for r in problem.incident.regions if r.id == rp.region_id)
        for item_id, need in rp.need.items():
            held = by_deadline = blocked = 0.0
            earliest = math.inf
            drivable = False
            for src in problem.sources:
                if src.mode in LOT_MODES:
                    qty = sum(lt.quantity for lt in src.lots if lt.item_id == item_id
                              and (lt.expiry is None or lt.expiry >= start_day))
                else:
                    qty = src.quantities.get(item_id, 0.0)
                if qty <= 0:
                    continue
                # earliest a vehicle can be loaded there and reach the region
                arrive = arrive_no_lead = math.inf
                for veh in fleet:
                    m = travel.hours[vehicle_profile(veh, params)]
                    to_src = m[travel.index(veh.start_node), travel.index(src.node)]
                    leg = m[travel.index(src.node), travel.index(region.node)]
                    if np.isfinite(to_src) and np.isfinite(leg):
                        drivable = True
                        at = max(veh.available_from_h, problem.now_h) + to_src
                        arrive = min(arrive, max(at, src.lead_time_h) + load_h + leg)
                        arrive_no_lead = min(arrive_no_lead, at + load_h + leg)
                if src.mode == "capacity":
                    rate = qty
                    qty = rate * max(0.0, H - src.lead_time_h) / 24.0
                    in_time = rate * max(0.0, D - src.lead_time_h) / 24.0
                else:
                    in_time = qty
                if arrive <= H + 1e-9:
                    held += qty
                if arrive <= D + 1e-9:
                    by_deadline += in_time
                if src.mode in LEAD_TIME_MODES and arrive_no_lead <= D + 1e-9:
                    blocked += qty - (in_time if arrive <= D + 1e-9 else 0.0)
                earliest = min(earliest, arrive)
            out[(rp.region_id, item_id)] = ReasonBounds(
                need, held, by_deadline, blocked, earliest, drivable
            )
    return out


def check_reasons(plan: DispatchPlan) -> None:
    """Every shortfall's reason is one its bounds allow."""
    bounds = reason_bounds(plan)
    D = plan.params.deadline_h
    total_need: dict[str, int] = defaultdict(int)
    for rp in plan.regions:
        for item_id, need in rp.need.items():
            total_need[item_id] += need
    for rp in plan.regions:
        for sf in rp.shortfalls:
            b = bounds[(rp.region_id, sf.item_id)]
            where = f"{rp.region_id}/{sf.item_id}: {sf.quantity} {sf.reason} ({sf.detail})"
            if sf.reason == "too_far":
                # only when stock that could cover it cannot arrive by the deadline
                assert b.held > b.by_deadline, where
            elif sf.reason == "agreement_not_yet_active":
                assert b.blocked_by_lead_time > 0, where
            elif sf.reason == "unreachable":
                assert not b.drivable, where
            elif sf.reason == "not_enough_stock":
                # what can arrive in time, for this region or for the neediest, is short
                in_time = max(bounds[(r.region_id, sf.item_id)].by_deadline
                              for r in plan.regions if sf.item_id in r.need)
                assert b.by_deadline < b.need or in_time < total_need[sf.item_id], where
            elif sf.reason == "no_vehicle":
                # the fleet is empty or cannot drive there, or could arrive in time
                assert not plan.problem.fleet or not b.drivable or (
                    b.earliest_arrival_h <= D + 1e-9), where
            else:
                pytest.fail(f"unknown reason: {where}")

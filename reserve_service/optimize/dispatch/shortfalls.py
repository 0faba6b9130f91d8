"""Why a region lacks an item by the deadline.

For each region and item, need − on-time delivery is split by cause: allocated in time but no
truck brought it in time → ``no_vehicle`` (also: empty fleet, or no vehicle reaches any source);
no road from any holder of the item → ``unreachable``; sent late because of an activation /
production / mutual-aid lead time → ``agreement_not_yet_active``; sent late or not at all
because every source with stock left is too far → ``too_far``; otherwise ``not_enough_stock``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from reserve_service.optimize.dispatch.allocation import Flow
from reserve_service.optimize.dispatch.needs import _Access
from reserve_service.optimize.dispatch.plan import Shortfall
from reserve_service.optimize.dispatch.problem import (
    _EPS,
    LEAD_TIME_MODES,
    DispatchParams,
    DispatchProblem,
    ShortfallReason,
    vehicle_profile,
)


def _explain(
    problem: DispatchProblem,
    params: DispatchParams,
    region_id: str,
    r: int,
    item_id: str,
    missing: int,
    need: int,
    on_time: int,
    alloc_on_time: int,
    late_flows: Sequence[Flow],
    supply: Mapping[str, Mapping[str, int]],
    used_supply: Mapping[tuple[str, str], int],
    access: _Access,
    src_index: Mapping[str, int],
    load_h: float,
) -> list[Shortfall]:
    """Split a region-item shortfall by cause (see :data:`ShortfallReason`)."""
    D = params.deadline_h
    out: list[Shortfall] = []

    def add(qty: int, reason: ShortfallReason, detail: str) -> None:
        nonlocal missing
        qty = min(qty, missing)
        if qty > 0:
            out.append(Shortfall(region_id, item_id, qty, reason, detail))
            missing -= qty

    if not problem.fleet:
        add(missing, "no_vehicle", "the fleet is empty")
        return out
    # allocated on time but not delivered on time: the fleet could not carry it in time
    routed_short = max(0, alloc_on_time - on_time)
    if routed_short:
        region_node = problem.incident.regions[r].node
        any_vehicle_reaches = any(
            math.isfinite(problem.travel.time(vehicle_profile(v, params), s.node, region_node))
            for v in problem.fleet
            for s in problem.sources
            if supply[s.id].get(item_id, 0) > 0
        )
        if any_vehicle_reaches:
            add(
                routed_short,
                "no_vehicle",
                "allocated in time but no vehicle could deliver it by the deadline",
            )
        else:
            add(routed_short, "unreachable", "no vehicle can reach the region any more")
    holders = [s for s in problem.sources if supply[s.id].get(item_id, 0) > 0]
    if not holders:
        add(missing, "not_enough_stock", "no source holds this item")
        return out
    road_ok = [s for s in holders if math.isfinite(access.road_sr[src_index[s.id], r])]
    if not road_ok:
        add(missing, "unreachable", "no source holding the item has a road to the region")
        return out
    vehicle_ok = [
        s
        for s in road_ok
        if math.isfinite(access.travel_sr[src_index[s.id], r])
        and math.isfinite(access.vehicle_at_source[src_index[s.id]])
    ]
    if not vehicle_ok:
        add(missing, "no_vehicle", "no vehicle of the fleet can reach a source and then the region")
        return out
    # sent late: because an agreement/production/mutual-aid lead time, or because of distance
    for f in late_flows:
        src = problem.sources[src_index[f.source_id]]
        s = src_index[f.source_id]
        without_lead = (
            max(problem.now_h, access.vehicle_at_source[s]) + load_h + access.travel_sr[s, r]
        )
        if f.earliest_arrival_h <= D + _EPS and src.mode == "capacity":
            add(f.quantity, "agreement_not_yet_active", f"{src.id} cannot produce it in time")
        elif f.earliest_arrival_h <= D + _EPS:
            add(f.quantity, "no_vehicle", "the fleet cannot carry more by the deadline")
        elif src.mode in LEAD_TIME_MODES and without_lead <= D + _EPS:
            add(
                f.quantity,
                "agreement_not_yet_active",
                f"{src.id} ({src.mode}) is ready only at {src.lead_time_h:g} h; arrives ~{f.earliest_arrival_h:.1f} h",
            )
        else:
            add(
                f.quantity,
                "too_far",
                f"from {src.id} the earliest arrival is {f.earliest_arrival_h:.1f} h",
            )
    # not sent at all: stock left somewhere that cannot arrive in time, else there is none
    leftover = [
        s for s in vehicle_ok if supply[s.id][item_id] - used_supply.get((s.id, item_id), 0) > 0
    ]
    if leftover and missing > 0:
        s = min(leftover, key=lambda src: access.travel_sr[src_index[src.id], r])
        k = src_index[s.id]
        arrival = (
            max(s.lead_time_h, problem.now_h, access.vehicle_at_source[k])
            + load_h
            + access.travel_sr[k, r]
        )
        without_lead = (
            max(problem.now_h, access.vehicle_at_source[k]) + load_h + access.travel_sr[k, r]
        )
        if s.mode in LEAD_TIME_MODES and without_lead <= D + _EPS:
            add(
                missing,
                "agreement_not_yet_active",
                f"{s.id} ({s.mode}) is ready only at {s.lead_time_h:g} h",
            )
        elif s.mode == "capacity" and arrival <= D + _EPS:
            add(
                missing,
                "agreement_not_yet_active",
                f"{s.id} cannot produce enough before the deadline",
            )
        else:
            add(
                missing,
                "too_far",
                f"unused stock at {s.id} arrives at {arrival:.1f} h at the earliest",
            )
    add(missing, "not_enough_stock", f"all reachable stock of {item_id} is allocated")
    return out

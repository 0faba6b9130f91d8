"""Why a region lacks an item by the deadline, decided from bounds, each with its numbers.

For region ``r`` and item ``i`` with ``missing`` units short of the need by the deadline ``D``:

* no vehicle at all, or no vehicle of the fleet can drive from any holder of the item to the
  region → ``no_vehicle``; no road from any holder at all → ``unreachable``;
* the stock that could be there by ``D`` — ``in_time``: units at holders whose optimistic
  arrival ``A[s,r] ≤ D`` (a capacity reserve: what it produces by ``D``) — is below the need:
  of the part it cannot cover, what agreement / capacity / mutual-aid holders would cover but
  for their activation or production lead time is ``agreement_not_yet_active``; what stock
  arriving only after ``D`` would cover is ``too_far`` (with the earliest possible arrival);
  the rest ``not_enough_stock``;
* what the stock in time could cover: ``not_enough_stock`` when all regions together need more
  of the item than can arrive anywhere by ``D`` (others took it), else ``no_vehicle`` (the
  fleet could not bring it in time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from reserve_service.optimize.dispatch.needs import _Access
from reserve_service.optimize.dispatch.plan import Shortfall
from reserve_service.optimize.dispatch.problem import (
    _EPS,
    LEAD_TIME_MODES,
    DispatchParams,
    DispatchProblem,
    ShortfallReason,
)


@dataclass(frozen=True)
class ShortfallBounds:
    """Per (region index, item): units in time, held back by a lead time, arriving only after
    the deadline, the earliest arrival of each; whether the fleet can drive / a road exists;
    per item the units that can arrive anywhere by the deadline and the total need."""

    in_time: Mapping[tuple[int, str], float]
    lead_blocked: Mapping[tuple[int, str], tuple[float, float]]  # units, earliest ready h
    too_late: Mapping[tuple[int, str], tuple[float, float]]  # units, earliest arrival h
    drivable: Mapping[tuple[int, str], bool]
    road: Mapping[tuple[int, str], bool]
    anywhere_in_time: Mapping[str, float]
    total_need: Mapping[str, int]
    holders: Mapping[str, int]  # sources holding the item


def shortfall_bounds(
    problem: DispatchProblem,
    params: DispatchParams,
    needs: Mapping[str, Mapping[str, int]],
    supply: Mapping[str, Mapping[str, int]],
    access: _Access,
) -> ShortfallBounds:
    """The bounds of the module docstring, from the supply and reachability of the problem."""
    D, H = params.deadline_h, params.horizon_h
    load_h = params.loading_minutes / 60.0
    sources, regions = problem.sources, problem.incident.regions
    vehicle = access.vehicle_at_source
    ready = np.array([max(s.lead_time_h, problem.now_h, vehicle[k]) for k, s in enumerate(sources)])
    no_lead = np.array([max(problem.now_h, vehicle[k]) for k in range(len(sources))])
    arrival = ready[:, None] + load_h + access.travel_sr
    unblocked = no_lead[:, None] + load_h + access.travel_sr
    in_time, lead_blocked, too_late, drivable, road = {}, {}, {}, {}, {}
    anywhere: dict[str, float] = {}
    total_need: dict[str, int] = {}
    for r, reg in enumerate(regions):
        for item_id, need in needs[reg.id].items():
            total_need[item_id] = total_need.get(item_id, 0) + need
            units = blocked = late = 0.0
            ready_at = late_at = math.inf
            for k, src in enumerate(sources):
                held = supply[src.id].get(item_id, 0)
                if held <= 0:
                    continue
                if src.mode == "capacity":  # produced by the time it must leave
                    leave_by = D - load_h - access.travel_sr[k, r]
                    start = max(src.lead_time_h, problem.now_h)
                    by_d = math.floor(src.quantities[item_id] * max(0.0, leave_by - start) / 24.0)
                else:
                    by_d = held
                if arrival[k, r] <= D + _EPS:
                    units += by_d
                    extra = held - by_d  # production after the deadline's departure
                else:
                    extra = held if arrival[k, r] <= H + _EPS else 0.0
                if src.mode in LEAD_TIME_MODES and unblocked[k, r] <= D + _EPS and extra > 0:
                    blocked += extra
                    ready_at = min(ready_at, float(src.lead_time_h))
                elif arrival[k, r] > D + _EPS and extra > 0:
                    late += extra
                    late_at = min(late_at, float(arrival[k, r]))
            key = (r, item_id)
            in_time[key], lead_blocked[key], too_late[key] = units, (blocked, ready_at), (late, late_at)
            holders = [k for k, s in enumerate(sources) if supply[s.id].get(item_id, 0) > 0]
            drivable[key] = any(
                math.isfinite(access.travel_sr[k, r]) and math.isfinite(vehicle[k]) for k in holders
            )
            road[key] = any(math.isfinite(access.road_sr[k, r]) for k in holders)
    for item_id in total_need:
        reach = [
            k for k, s in enumerate(sources)
            if supply[s.id].get(item_id, 0) > 0 and (arrival[k] <= D + _EPS).any()
        ]
        anywhere[item_id] = float(sum(supply[sources[k].id][item_id] for k in reach))
    holders_of = {
        it.id: sum(1 for src in sources if supply[src.id].get(it.id, 0) > 0) for it in problem.items
    }
    return ShortfallBounds(
        in_time, lead_blocked, too_late, drivable, road, anywhere, total_need, holders_of
    )


def explain_shortfall(
    problem: DispatchProblem,
    bounds: ShortfallBounds,
    region_id: str,
    r: int,
    item_id: str,
    need: int,
    missing: int,
) -> list[Shortfall]:
    """Split ``missing`` units of ``item_id`` at region ``r`` by cause (module docstring)."""
    out: list[Shortfall] = []

    def add(qty: float, reason: ShortfallReason, detail: str) -> None:
        nonlocal missing
        units = min(int(math.ceil(qty - 1e-9)), missing)
        if units > 0:
            out.append(Shortfall(region_id, item_id, units, reason, detail))
            missing -= units

    key = (r, item_id)
    if not problem.fleet:
        add(missing, "no_vehicle", "the fleet is empty (0 vehicles)")
        return out
    if not bounds.drivable.get(key, False):
        if bounds.road.get(key, False):
            add(missing, "no_vehicle", "no vehicle of the fleet can reach a holder and then the region")
        elif bounds.holders.get(item_id, 0) > 0:
            add(missing, "unreachable",
                f"no road from any of the {bounds.holders[item_id]} holders of the item")
        else:
            add(missing, "not_enough_stock", "no source holds this item")
        return out
    in_time = bounds.in_time.get(key, 0.0)
    uncovered = max(0.0, need - in_time)
    if uncovered > 0:
        blocked, ready_at = bounds.lead_blocked.get(key, (0.0, math.inf))
        late, late_at = bounds.too_late.get(key, (0.0, math.inf))
        share = min(uncovered, blocked)
        add(share, "agreement_not_yet_active",
            f"{blocked:.0f} units would arrive in time but for a lead time (ready from "
            f"{ready_at:g} h); {in_time:.0f} of {need} can arrive by the deadline")
        share2 = min(uncovered - share, late)
        add(share2, "too_far",
            f"{late:.0f} units arrive only after the deadline (earliest {late_at:.1f} h); "
            f"{in_time:.0f} of {need} can arrive by the deadline")
        add(uncovered - share - share2, "not_enough_stock",
            f"{in_time:.0f} of {need} can arrive by the deadline, no more is held within reach")
    if missing > 0:
        wanted = bounds.total_need.get(item_id, 0)
        anywhere = bounds.anywhere_in_time.get(item_id, 0.0)
        if anywhere < wanted:
            add(missing, "not_enough_stock",
                f"all regions need {wanted}, {anywhere:.0f} can arrive anywhere by the deadline")
        else:
            add(missing, "no_vehicle",
                f"{in_time:.0f} units could arrive in time; the fleet could not bring them")
    return out


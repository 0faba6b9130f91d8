"""Derived data shared by the steps: needs per region, supply per source, reachability."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from reserve_service.clock import local_date
from reserve_service.inventory.norms import ReliefNorm, relief_need
from reserve_service.optimize.dispatch.problem import (
    LOT_MODES,
    DispatchParams,
    DispatchProblem,
    vehicle_profile,
)


def region_needs(problem: DispatchProblem) -> dict[str, dict[str, int]]:
    """Integer need per region and item: reported needs, else the relief norm
    (:func:`reserve_service.inventory.norms.relief_need`, the service's one rule): per person,
    per household (given, or ``ceil(people / persons_per_household)``), or per person-day
    over the item's own ``norm_days`` when set, else the incident's ``relief_days``."""
    inc = problem.incident
    out: dict[str, dict[str, int]] = {}
    for reg in inc.regions:
        needs: dict[str, int] = {}
        for it in problem.items:
            if it.id in reg.needs:
                q = math.ceil(float(reg.needs[it.id]) - 1e-9)
            else:
                basis = "per_household" if it.norm_basis == "household" else (
                    "per_person_day" if it.norm_per_day else "per_person")
                q = relief_need(ReliefNorm(basis, it.norm_quantity, it.norm_days), reg.relocated_people,
                                household_size=inc.persons_per_household, households=reg.households,
                                relief_days=inc.relief_days)
            if q > 0:
                needs[it.id] = q
        out[reg.id] = needs
    return out


def source_supply(problem: DispatchProblem, params: DispatchParams) -> dict[str, dict[str, int]]:
    """Units each source can supply within the horizon (expired lots excluded)."""
    start_day = local_date(problem.incident.start)
    out: dict[str, dict[str, int]] = {}
    for src in problem.sources:
        supply: dict[str, int] = defaultdict(int)
        if src.mode in LOT_MODES:
            for lot in src.lots:
                if lot.expiry is None or lot.expiry >= start_day:
                    supply[lot.item_id] += int(lot.quantity)
        elif src.mode == "capacity":
            hours = max(0.0, params.horizon_h - max(src.lead_time_h, problem.now_h))
            for item_id, rate in src.quantities.items():
                supply[item_id] += int(math.floor(rate * hours / 24.0 + 1e-9))
        else:
            for item_id, qty in src.quantities.items():
                supply[item_id] += int(math.floor(qty + 1e-9))
        out[src.id] = {k: v for k, v in supply.items() if v > 0}
    return out


@dataclass
class _Access:
    """Reachability facts: fastest fleet travel source→region and earliest vehicle at source."""

    travel_sr: np.ndarray  # (S, R) hours by the fleet's fastest usable profile
    road_sr: np.ndarray  # (S, R) hours by any profile (physical reachability)
    vehicle_at_source: np.ndarray  # (S,) earliest hour a vehicle can be at the source


def _access(problem: DispatchProblem, params: DispatchParams) -> _Access:
    travel = problem.travel
    s_idx = [travel.index(s.node) for s in problem.sources]
    r_idx = [travel.index(r.node) for r in problem.incident.regions]
    road = np.full((len(s_idx), len(r_idx)), np.inf)
    for matrix in travel.hours.values():
        road = np.minimum(road, np.asarray(matrix, float)[np.ix_(s_idx, r_idx)])
    if not problem.fleet:
        return _Access(road.copy(), road, np.zeros(len(s_idx)))
    fleet_travel = np.full_like(road, np.inf)
    at_source = np.full(len(s_idx), np.inf)
    for veh in problem.fleet:
        m = np.asarray(travel.hours[vehicle_profile(veh, params)], float)
        start = max(veh.available_from_h, problem.now_h) + m[travel.index(veh.start_node), s_idx]
        at_source = np.minimum(at_source, start)
        usable = np.isfinite(start)[:, None]
        fleet_travel = np.where(
            usable, np.minimum(fleet_travel, m[np.ix_(s_idx, r_idx)]), fleet_travel
        )
    return _Access(fleet_travel, road, at_source)

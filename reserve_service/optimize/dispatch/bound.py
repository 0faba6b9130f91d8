"""An upper bound on the people a plan can fully serve by the deadline.

A relaxation that every plan satisfies, so no plan serves more: ``z[r] ∈ [0, 1]`` is the share
of region ``r`` fully served by the deadline ``D`` (every item's whole need on time).

    maximise   Σ_r people[r] z[r]
    subject to Σ_r need[r,i] z[r] ≤ S[i]                         for every item i
               Σ_r z[r] Σ_i need[r,i] kg[i] t[r,i] ≤ Σ_v cap_kg[v] (D − avail[v])
               (the same in m³)
               z[r] ≤ min_i S[r,i] / need[r,i]

``S[i]``: units of ``i`` at sources that can reach some region by ``D`` (lots and committed
quantities; a capacity reserve's production by ``D``); ``S[r,i]`` the same over the sources
that can reach ``r`` by ``D`` (optimistic arrival ``A[s,r]``, see :mod:`.allocation`).  ``t[r,i]``:
the fastest drive to ``r`` from a source that holds ``i`` and can arrive in time — every unit
delivered rides on a truck at least that long, and a truck carries at most its capacity at any
time (travel times are shortest paths, so a detour via other stops is never shorter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reserve_service.optimize.dispatch.needs import _access, region_needs, source_supply
from reserve_service.optimize.dispatch.problem import _EPS, DispatchParams, DispatchProblem
from reserve_service.optimize.solvers import LinearModel, LinExpr


@dataclass(frozen=True)
class ServedBound:
    """At most ``people`` (``share`` of the relocated people) can be fully served by the
    deadline; ``status`` is the LP's."""

    people: int | None
    share: float | None
    status: str


def served_bound(problem: DispatchProblem, params: DispatchParams) -> ServedBound:
    """Build → solve → read the relaxation in the module docstring."""
    regions, sources = problem.incident.regions, problem.sources
    people_total = sum(r.relocated_people for r in regions)
    needs = region_needs(problem)
    supply = source_supply(problem, params)
    access = _access(problem, params)
    load_h = params.loading_minutes / 60.0
    D = params.deadline_h
    kg = {it.id: it.weight_kg for it in problem.items}
    m3 = {it.id: it.volume_m3 for it in problem.items}
    ready = np.array(
        [max(s.lead_time_h, problem.now_h, access.vehicle_at_source[k]) for k, s in enumerate(sources)]
    )
    on_time = ready[:, None] + load_h + access.travel_sr <= D + _EPS  # (S, R)

    def by_deadline(k: int, item_id: str) -> float:
        src = sources[k]
        if src.mode == "capacity":  # only what is produced by the deadline can arrive by it
            return math.floor(src.quantities.get(item_id, 0.0) * max(0.0, D - ready[k]) / 24.0)
        return float(supply[src.id].get(item_id, 0))

    m = LinearModel("dispatch_served_bound")
    z = {}
    use_kg, use_m3 = LinExpr(), LinExpr()
    item_use: dict[str, LinExpr] = {it.id: LinExpr() for it in problem.items}
    for r, reg in enumerate(regions):
        cap, kg_hours, m3_hours = 1.0, 0.0, 0.0
        for item_id, need in needs[reg.id].items():
            holders = [k for k in range(len(sources)) if on_time[k, r] and by_deadline(k, item_id) > 0]
            held = sum(by_deadline(k, item_id) for k in holders)
            cap = min(cap, held / need)
            if holders:
                t = float(min(access.travel_sr[k, r] for k in holders))
                kg_hours += need * kg[item_id] * t
                m3_hours += need * m3[item_id] * t
        z[r] = m.add_var(f"z[{reg.id}]", ub=max(0.0, cap))
        use_kg += z[r] * kg_hours
        use_m3 += z[r] * m3_hours
        for item_id, need in needs[reg.id].items():
            item_use[item_id] += z[r] * float(need)
    # supply: what all regions fully served take of an item is there by the deadline
    for it in problem.items:
        reachable = [k for k in range(len(sources)) if on_time[k].any()]
        total = sum(by_deadline(k, it.id) for k in reachable)
        if item_use[it.id].terms:
            m.add_constraint(item_use[it.id] <= total, f"supply[{it.id}]")
    # fleet: tonne-hours (and m³-hours) on board by the deadline within the trucks' capacity
    hours = [max(0.0, D - max(v.available_from_h, problem.now_h)) for v in problem.fleet]
    m.add_constraint(
        use_kg <= float(np.dot([v.weight_capacity_kg for v in problem.fleet], hours)), "fleet_kg"
    )
    m.add_constraint(
        use_m3 <= float(np.dot([v.volume_capacity_m3 for v in problem.fleet], hours)), "fleet_m3"
    )
    m.maximize(LinExpr.weighted(list(z.values()), [float(r.relocated_people) for r in regions]))
    result = m.solve(params.solver)
    if not result.has_solution or result.status != "optimal":
        return ServedBound(None, None, result.status)
    # people are whole and fully-served regions count whole: round the LP value down
    if result.objective is None:  # an optimal solve has an objective
        raise TypeError("an optimal LP solve returned no objective")
    people = min(people_total, int(math.floor(float(result.objective) + 1e-6)))
    return ServedBound(people, people / people_total if people_total else 1.0, result.status)

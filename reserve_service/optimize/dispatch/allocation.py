"""Step 1, allocation: how many units of each item flow from each source to each region.

Sets: sources ``s``, regions ``r``, items ``i``.  Data: ``need[r,i]`` (reported or from relief
norms), ``supply[s,i]`` (lots not expired at the start; agreement / mutual-aid committed quantity;
capacity reserves ``rate × (H − lead) / 24``), value per unit
``v[r,i] = priority[r] × item_priority[i] × max(people[r], 1) / need[r,i]`` (so meeting a whole
need is worth the region's priority-weighted head count), and an optimistic arrival

    A[s,r] = max(lead[s], now, vehicle[s]) + load + t[s,r]      (load: the fixed loading minutes)

where ``vehicle[s]`` is the earliest time any vehicle can reach ``s`` and ``t[s,r]`` the fastest
travel time over the fleet's profiles.  ``A`` is a lower bound on what routing can achieve.

Variables: ``x[s,r,i] ≥ 0`` units arriving by the deadline ``D`` (pairs with ``A[s,r] ≤ D``);
``y[s,r,i] ≥ 0`` units arriving later (pairs with ``A[s,r] ≤ H``, the horizon: too far, not
active in time, or beyond what the fleet or a production line manages by ``D``).  By default
the model is an LP and flows are rounded down to whole units at read-out (a lexicographic MIP
with a fixed-optimum row is slow at city scale); ``DispatchParams.integer_quantities`` makes
the variables integer.

Constraints:

* need:   ``Σ_s x[s,r,i] + y[s,r,i] ≤ need[r,i]``
* supply: ``Σ_r x[s,r,i] + y[s,r,i] ≤ supply[s,i]``
* production rate (capacity reserves only): sort the on-time regions of ``s`` by latest departure
  ``L[s,r] = D − t[s,r] − load``; for every prefix ``k``:
  ``Σ_{r: L[s,r] ≤ L[s,k]} x[s,r,i] ≤ rate[s,i] × (L[s,k] − lead[s]) / 24`` — what leaves by ``L``
  must have been produced by then (earliest-deadline-first is optimal for one production line).
* fleet budget (``DispatchParams.fleet_budget``): ``Σ kg[i] c[s,r] x[s,r,i] ≤ Σ_v cap_kg[v] h[v]``
  and the same in m³, with cycle ``c = handling of a median truckload + 2 t[s,r]`` and
  ``h[v] = D − available[v]``
  — an estimate of what the fleet can move by the deadline, so that the allocation does not
  promise more than trucks carry and, when trucks are short, favours value per kg·h.

Objective, lexicographic (three solves, each stage fixing the optimum of the previous one up to a
relative tolerance of 1e-7):

1. maximise ``Σ v x`` — priority-weighted needs met by the deadline;
2. maximise ``Σ v y`` — what cannot be on time is still sent, late rather than never;
3. minimise ``Σ v (A − D) y + ton_hour_weight × Σ (kg/1000) t (x + y)`` — lateness, then
   ton-hours as a (documented, weighted) tie-breaker.

"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from reserve_service.optimize.dispatch.needs import _Access, _access, region_needs, source_supply
from reserve_service.optimize.dispatch.problem import (
    _EPS,
    _STABILITY_SLACK,
    DispatchParams,
    DispatchProblem,
    validate_problem,
)
from reserve_service.optimize.solvers import LinearModel, LinExpr, Var


@dataclass(frozen=True)
class Flow:
    """Units of one item planned from a source to a region, with the optimistic arrival."""

    source_id: str
    region_id: str
    item_id: str
    quantity: int
    on_time: bool
    earliest_arrival_h: float


@dataclass
class AllocationModel:
    """The built (unsolved) allocation MIP and the index maps needed to read it."""

    model: LinearModel
    x: dict[tuple[int, int, str], Var]
    y: dict[tuple[int, int, str], Var]
    value: dict[tuple[int, str], float]
    arrival: np.ndarray
    ready: np.ndarray
    needs: dict[str, dict[str, int]]
    supply: dict[str, dict[str, int]]
    access: _Access
    stage2_objective: LinExpr
    stage3_objective: LinExpr


@dataclass
class AllocationResult:
    """Flows read from the allocation, with each stage's status and objective."""

    flows: list[Flow]
    statuses: list[str]
    objectives: list[float | None]
    solve_seconds: float
    model: AllocationModel


def build_allocation_model(problem: DispatchProblem, params: DispatchParams) -> AllocationModel:
    """Build the allocation MIP (see the module docstring for the formulation)."""
    validate_problem(problem, params)
    inc = problem.incident
    regions, sources = inc.regions, problem.sources
    needs = region_needs(problem)
    supply = source_supply(problem, params)
    access = _access(problem, params)
    load_h = params.loading_minutes / 60.0
    unload_h = params.unloading_minutes / 60.0
    D, H = params.deadline_h, params.horizon_h
    weight_kg = {it.id: it.weight_kg for it in problem.items}
    volume_m3 = {it.id: it.volume_m3 for it in problem.items}

    # Optimistic departure-ready time and arrival per (source, region).
    ready = np.array(
        [
            max(src.lead_time_h, problem.now_h, access.vehicle_at_source[s]) + load_h
            for s, src in enumerate(sources)
        ]
    )
    arrival = ready[:, None] + access.travel_sr

    # Value of one unit: the share of a need met, times priority-weighted head count.
    value: dict[tuple[int, str], float] = {}
    for r, reg in enumerate(regions):
        for item_id, need in needs[reg.id].items():
            weight = reg.priority * inc.item_priority.get(item_id, 1.0)
            value[(r, item_id)] = weight * max(reg.relocated_people, 1) / need

    kind: Literal["integer", "continuous"] = (
        "integer" if params.integer_quantities else "continuous"
    )
    m = LinearModel("dispatch_allocation")
    x: dict[tuple[int, int, str], Var] = {}
    y: dict[tuple[int, int, str], Var] = {}
    for s, src in enumerate(sources):
        for item_id, avail in supply[src.id].items():
            for r, reg in enumerate(regions):
                need = needs[reg.id].get(item_id, 0)
                if need <= 0 or not np.isfinite(arrival[s, r]):
                    continue
                ub = min(need, avail)
                if arrival[s, r] <= D + _EPS:
                    x[(s, r, item_id)] = m.add_var(
                        f"x[{src.id},{reg.id},{item_id}]", ub=ub, kind=kind
                    )
                if arrival[s, r] <= H + _EPS:
                    # late units: too far or not active in time, or (on an on-time pair) beyond
                    # what the fleet or a production line manages by the deadline
                    y[(s, r, item_id)] = m.add_var(
                        f"y[{src.id},{reg.id},{item_id}]", ub=ub, kind=kind
                    )

    def flows_of(keys: Iterable[tuple[int, int, str]]) -> list[Var]:
        return [v for k in keys for v in ((x[k],) if k in x else ()) + ((y[k],) if k in y else ())]

    by_region_item: dict[tuple[int, str], list[tuple[int, int, str]]] = defaultdict(list)
    by_source_item: dict[tuple[int, str], list[tuple[int, int, str]]] = defaultdict(list)
    for key in set(x) | set(y):
        s, r, item_id = key
        by_region_item[(r, item_id)].append(key)
        by_source_item[(s, item_id)].append(key)

    # need: a region never receives more than it needs of an item.
    for (r, item_id), keys in by_region_item.items():
        terms = flows_of(keys)
        m.add_row(
            terms, np.ones(len(terms)), "<=", needs[regions[r].id][item_id], f"need[{r},{item_id}]"
        )

    # supply: a source never sends more than it holds (or commits, or produces by the horizon).
    for (s, item_id), keys in by_source_item.items():
        terms = flows_of(keys)
        m.add_row(
            terms,
            np.ones(len(terms)),
            "<=",
            supply[sources[s].id][item_id],
            f"supply[{s},{item_id}]",
        )

    # production rate: on-time shipments of a capacity reserve must have been produced before
    # they leave; nested over regions sorted by latest departure.
    for s, src in enumerate(sources):
        if src.mode != "capacity":
            continue
        start_h = max(src.lead_time_h, problem.now_h)
        for item_id, rate in src.quantities.items():
            keys = sorted(
                (k for k in x if k[0] == s and k[2] == item_id),
                key=lambda k: D - access.travel_sr[s, k[1]],
            )
            prefix: list[Var] = []
            for key in keys:
                prefix.append(x[key])
                latest_departure = D - access.travel_sr[s, key[1]] - load_h
                produced = math.floor(rate * max(0.0, latest_departure - start_h) / 24.0 + 1e-9)
                m.add_row(
                    prefix, np.ones(len(prefix)), "<=", produced, f"rate[{s},{item_id},{key[1]}]"
                )

    # fleet budget: each on-time unit occupies its truck's share for a loading, the drive, the
    # unloading and the drive back (capacity-hours); the fleet offers capacity × hours left
    # before the deadline.  An estimate that keeps the allocation within what trucks can move.
    if params.fleet_budget and problem.fleet and x:
        keys = list(x)
        # handling per tonne keeps the whole (median) truck busy
        truck_t = float(np.median([v.weight_capacity_kg for v in problem.fleet])) / 1000.0
        per_t_h = (params.loading_minutes_per_t + params.unloading_minutes_per_t) / 60.0
        handling = load_h + unload_h + truck_t * per_t_h
        cycle = np.array([handling + 2.0 * access.travel_sr[s, r] for s, r, _ in keys])
        hours = np.array(
            [max(0.0, D - max(v.available_from_h, problem.now_h)) for v in problem.fleet]
        )
        for name, per_unit, capacity in (
            ("fleet_kg_hours", weight_kg, [v.weight_capacity_kg for v in problem.fleet]),
            ("fleet_m3_hours", volume_m3, [v.volume_capacity_m3 for v in problem.fleet]),
        ):
            coefs = cycle * np.array([per_unit[i] for _, _, i in keys])
            m.add_row([x[k] for k in keys], coefs, "<=", float(np.dot(capacity, hours)), name)

    stage2 = LinExpr.weighted(list(y.values()), [value[(k[1], k[2])] for k in y])
    stage3 = LinExpr()
    for key, var in x.items():
        s, r, item_id = key
        stage3 += var * (
            params.ton_hour_weight * weight_kg[item_id] / 1000.0 * access.travel_sr[s, r]
        )
    for key, var in y.items():
        s, r, item_id = key
        lateness = max(0.0, arrival[s, r] - D)
        ton_hours = params.ton_hour_weight * weight_kg[item_id] / 1000.0 * access.travel_sr[s, r]
        stage3 += var * (value[(r, item_id)] * lateness + ton_hours)
    m.maximize(LinExpr.weighted(list(x.values()), [value[(k[1], k[2])] for k in x]))
    return AllocationModel(m, x, y, value, arrival, ready, needs, supply, access, stage2, stage3)


def solve_allocation(
    problem: DispatchProblem,
    built: AllocationModel,
    params: DispatchParams,
    previous: Mapping[tuple[str, str, str], int] | None = None,
) -> AllocationResult:
    """Solve the three lexicographic stages; check every status; read out the flows.

    ``previous`` ((source, region, item) → units of an earlier plan still to be sent) adds a
    fourth stage: among the allocations optimal for stages 1–2 and within 0.1 % of the
    stage-3 optimum, take the one closest to it,
    ``min Σ_k kg_i · |x_k + y_k − prev_k|`` — a re-plan then
    changes only what the new situation requires.
    """
    m = built.model
    started = time.perf_counter()
    statuses: list[str] = []
    objectives: list[float | None] = []
    values: np.ndarray | None = None
    stage_objectives: list[tuple[str, LinExpr]] = [
        ("maximize", m.objective),
        ("maximize", built.stage2_objective),
        ("minimize", built.stage3_objective),
    ]
    if previous and m.num_vars:
        stage_objectives.append(("minimize", _deviation_from(problem, built, previous)))
    if m.num_vars:
        for stage, (sense, objective) in enumerate(stage_objectives):
            if stage > 0 and objectives[-1] is not None:
                # fix the previous stage's optimum (relative tolerance) before the next one
                prev_sense, prev_obj = stage_objectives[stage - 1]
                best = float(objectives[-1])
                # stability may cost a little lateness / ton-hours (stage 3 is a tie-breaker
                # whose LP optimum is only accurate to solver tolerances); the rest is kept
                rel = _STABILITY_SLACK if stage == 3 else 1e-7
                tol = rel * max(1.0, abs(best)) if stage < 3 else rel * abs(best) + 1e-9
                if prev_sense == "maximize":
                    m.add_constraint(prev_obj >= best - tol, f"stage{stage}_keep")
                else:
                    m.add_constraint(prev_obj <= best + tol, f"stage{stage}_keep")
            if sense == "maximize":
                m.maximize(objective)
            else:
                m.minimize(objective)
            if stage > 0 and values is not None:
                m.hints = {k: float(values[k]) for k in range(m.num_vars)}
            result = m.solve(params.solver)
            statuses.append(result.status)
            if not result.has_solution:
                raise RuntimeError(f"allocation stage {stage + 1}: solver returned {result.status}")
            objectives.append(result.objective)
            values = result.values
    flows: list[Flow] = []
    if values is not None:
        sources, regions = problem.sources, problem.incident.regions
        for on_time, table in ((True, built.x), (False, built.y)):
            for (s, r, item_id), var in table.items():
                raw = float(values[var.index])
                # whole units: snap solver noise (and the stage tolerance), else round down
                qty = int(round(raw)) if abs(raw - round(raw)) < 1e-3 else int(math.floor(raw))
                if qty > 0:
                    flows.append(
                        Flow(
                            sources[s].id,
                            regions[r].id,
                            item_id,
                            qty,
                            on_time,
                            float(built.arrival[s, r]),
                        )
                    )
    return AllocationResult(flows, statuses, objectives, time.perf_counter() - started, built)


def _deviation_from(
    problem: DispatchProblem,
    built: AllocationModel,
    previous: Mapping[tuple[str, str, str], int],
) -> LinExpr:
    """Kilograms by which the flows differ from ``previous``: one variable per flow key with
    ``d ≥ f − prev`` and ``d ≥ prev − f`` (added to the model; free in the earlier stages)."""
    m = built.model
    source_index = {src.id: s for s, src in enumerate(problem.sources)}
    region_index = {reg.id: r for r, reg in enumerate(problem.incident.regions)}
    kg = {it.id: it.weight_kg for it in problem.items}
    target: dict[tuple[int, int, str], float] = defaultdict(float)
    for (source_id, region_id, item_id), qty in previous.items():
        if source_id in source_index and region_id in region_index:
            target[(source_index[source_id], region_index[region_id], item_id)] += qty
    deviation = LinExpr()
    for key in sorted(set(built.x) | set(built.y)):
        flow = LinExpr.total([table[key] for table in (built.x, built.y) if key in table])
        d = m.add_var(f"dev[{key[0]},{key[1]},{key[2]}]")
        m.add_constraint(d - flow >= -target.get(key, 0.0), f"dev_up[{key}]")
        m.add_constraint(d + flow >= target.get(key, 0.0), f"dev_down[{key}]")
        deviation += d * max(kg[key[2]], 1e-3)
    return deviation

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

Objective, lexicographic:

1. maximise ``Σ v x`` — priority-weighted needs met by the deadline;
2. maximise ``Σ v y`` — what cannot be on time is still sent, late rather than never;
3. minimise ``Σ v (A − D) y + ton_hour_weight × Σ (kg/1000) t (x + y)`` — lateness, then
   ton-hours as a (documented, weighted) tie-breaker.

Priorities 1 and 2 are one solve, ``max Σ v x + LATE_WEIGHT · Σ v y``: a unit on time is worth
``1 / LATE_WEIGHT`` late ones, so the on-time value gives way only where values differ by more
than that factor; priority 3 is a second solve that keeps the first optimum (relative tolerance
1e-7), warm-started from it.

Arcs: per region and item only the earliest-arriving holders (:func:`candidate_arcs`) get
variables — a city-wide incident over every source otherwise has a quarter of a million.

"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
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
from reserve_service.optimize.monitor import SolveMonitor, monitor_or_null
from reserve_service.optimize.solvers import LinearModel, LinExpr, Var

LATE_WEIGHT = 1e-4  # a unit on time is worth this many late units' reciprocal (see above)
_MIN_STAGE_SECONDS = 1.0
_MIP_MAX_REGIONS = 20  # full-service binaries up to this many regions (a MIP), none above  # a later stage is skipped when less than this is left of the budget


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
    full: dict[int, Var] = field(default_factory=dict)  # z[r]: region r fully served on time


@dataclass
class AllocationResult:
    """Flows read from the allocation, with each stage's status and objective."""

    flows: list[Flow]
    statuses: list[str]
    objectives: list[float | None]
    solve_seconds: float
    model: AllocationModel
    fully_allocated: frozenset[int] = frozenset()  # regions with every need allocated on time

    def unit_values(
        self, problem: DispatchProblem, params: DispatchParams
    ) -> dict[tuple[str, str], float]:
        """Value of a unit per (region id, item) for routing: the allocation's value, times
        ``1 + full_service_weight`` in the regions it serves in full (an order that completes
        a region is worth its share of the full-service reward)."""
        regions = problem.incident.regions
        boost = 1.0 + params.full_service_weight
        return {
            (regions[r].id, i): v * (boost if r in self.fully_allocated else 1.0)
            for (r, i), v in self.model.value.items()
        }


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
    D = params.deadline_h
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

    # Value of one unit: its share of the region's needs (by weight), times the region's
    # priority-weighted head count — every kilogram of a region's needs is worth the same.
    value: dict[tuple[int, str], float] = {}
    for r, reg in enumerate(regions):
        total_kg = sum(q * weight_kg[i] for i, q in needs[reg.id].items())
        for item_id, need in needs[reg.id].items():
            weight = reg.priority * inc.item_priority.get(item_id, 1.0)
            share = need * weight_kg[item_id] / total_kg
            value[(r, item_id)] = weight * max(reg.relocated_people, 1) * share / need

    kind: Literal["integer", "continuous"] = (
        "integer" if params.integer_quantities else "continuous"
    )
    m = LinearModel("dispatch_allocation")
    x: dict[tuple[int, int, str], Var] = {}
    y: dict[tuple[int, int, str], Var] = {}
    for s, r, item_id in candidate_arcs(problem, needs, supply, arrival, params):
        src, reg = sources[s], regions[r]
        ub = min(needs[reg.id][item_id], supply[src.id][item_id])
        if arrival[s, r] <= D + _EPS:
            x[(s, r, item_id)] = m.add_var(f"x[{src.id},{reg.id},{item_id}]", ub=ub, kind=kind)
        # late units: too far or not active in time, or (on an on-time pair) beyond what the
        # fleet or a production line manages by the deadline
        y[(s, r, item_id)] = m.add_var(f"y[{src.id},{reg.id},{item_id}]", ub=ub, kind=kind)

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
            budget = params.fleet_budget_scale * float(np.dot(capacity, hours))
            m.add_row([x[k] for k in keys], coefs, "<=", budget, name)

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
    # full service: z[r] = 1 only if every item's whole need is allocated on time (on
    # incidents of up to _MIP_MAX_REGIONS regions: above, the MIP is too slow and the LP stays)
    full: dict[int, Var] = {}
    if params.full_service_weight > 0 and len(regions) <= _MIP_MAX_REGIONS:
        on_time_keys: dict[tuple[int, str], list[Var]] = defaultdict(list)
        for (_, r, item_id), var in x.items():
            on_time_keys[(r, item_id)].append(var)
        for r, reg in enumerate(regions):
            if not needs[reg.id]:
                continue
            full[r] = m.add_var(f"z[{reg.id}]", ub=1, kind="integer")
            for item_id, need in needs[reg.id].items():
                terms = on_time_keys.get((r, item_id), [])
                m.add_row(
                    [*terms, full[r]],
                    np.array([-1.0] * len(terms) + [float(need)]),
                    "<=",
                    0.0,
                    f"full[{r},{item_id}]",
                )
    objective = LinExpr.weighted(list(x.values()), [value[(k[1], k[2])] for k in x])
    objective += LinExpr.weighted(
        list(full.values()),
        [
            params.full_service_weight * regions[r].priority * max(regions[r].relocated_people, 1)
            for r in full
        ],
    )
    m.maximize(objective)
    return AllocationModel(
        m, x, y, value, arrival, ready, needs, supply, access, stage2, stage3, full
    )


def candidate_arcs(
    problem: DispatchProblem,
    needs: Mapping[str, Mapping[str, int]],
    supply: Mapping[str, Mapping[str, int]],
    arrival: np.ndarray,
    params: DispatchParams,
) -> list[tuple[int, int, str]]:
    """The (source, region, item) arcs the allocation considers, in a stable order.

    Per region and item, the holders of the item are taken earliest arrival first: the
    ``params.candidate_sources`` earliest, then more until together they hold
    ``params.candidate_cover`` × the need (what others take of a near source is then likely
    found further on).  A source arriving later than the horizon is never a candidate.
    ``candidate_sources = 0`` keeps every arc (the full model).
    """
    regions, sources = problem.incident.regions, problem.sources
    H = params.horizon_h
    holders: dict[str, list[int]] = defaultdict(list)
    for s, src in enumerate(sources):
        for item_id in supply[src.id]:
            holders[item_id].append(s)
    arcs: list[tuple[int, int, str]] = []
    for r, reg in enumerate(regions):
        for item_id, need in needs[reg.id].items():
            if need <= 0:
                continue
            near = [s for s in holders.get(item_id, ()) if arrival[s, r] <= H + _EPS]
            near.sort(key=lambda s: (arrival[s, r], s))
            if params.candidate_sources > 0:
                kept, held = 0, 0
                for s in near:
                    if kept >= params.candidate_sources and held >= params.candidate_cover * need:
                        break
                    kept += 1
                    held += supply[sources[s].id][item_id]
                near = near[:kept]
            arcs.extend((s, r, item_id) for s in sorted(near))
    return arcs


def solve_allocation(
    problem: DispatchProblem,
    built: AllocationModel,
    params: DispatchParams,
    previous: Mapping[tuple[str, str, str], int] | None = None,
    monitor: SolveMonitor | None = None,
) -> AllocationResult:
    """Solve the lexicographic stages within the time budget; read out the flows.

    Stage 1 maximises ``Σ v x + LATE_WEIGHT · Σ v y`` (value on time, then late value: one
    solve for the first two priorities), stage 2 minimises lateness and ton-hours keeping
    stage 1's optimum.  ``previous`` ((source, region, item) → units of an earlier plan still
    to be sent) adds a stage: among the allocations within 0.1 % of the stage-2 optimum, the
    one closest to it, ``min Σ_k kg_i · |x_k + y_k − prev_k|`` — a re-plan then changes only
    what the new situation requires.

    ``params.solver.time_limit`` is the budget of all stages together.  A stage that runs out
    of time (or is told to stop by ``monitor``) keeps the previous stage's solution; if stage 1
    finds none, nothing is allocated.  Each stage's status is reported, never assumed.
    """
    monitor = monitor_or_null(monitor)
    m = built.model
    started = time.perf_counter()
    budget = params.solver.time_limit
    statuses: list[str] = []
    objectives: list[float | None] = []
    values: np.ndarray | None = None
    on_time_value, late_value = m.objective, built.stage2_objective
    stage_objectives: list[tuple[str, LinExpr]] = [
        ("maximize", on_time_value + late_value * LATE_WEIGHT),
        ("minimize", built.stage3_objective),
    ]
    if previous and m.num_vars:
        stage_objectives.append(("minimize", _deviation_from(problem, built, previous)))
    for stage, (sense, objective) in enumerate(stage_objectives if m.num_vars else []):
        left = None if budget is None else budget - (time.perf_counter() - started)
        if monitor.should_stop() or (left is not None and left < _MIN_STAGE_SECONDS and stage):
            statuses.append("skipped")
            objectives.append(None)
            continue
        if stage == 1 and values is not None:
            # keep stage 1's on-time and late values, each up to a relative 1e-7
            for name, part in (("on_time", on_time_value), ("late", late_value)):
                best = _evaluate(part, values)
                m.add_constraint(part >= best - 1e-7 * max(1.0, abs(best)), f"keep_{name}")
        elif stage == 2 and objectives[-1] is not None:
            # stability may cost a little lateness / ton-hours (a tie-breaker whose LP
            # optimum is only accurate to solver tolerances)
            best = float(objectives[-1])
            m.add_constraint(built.stage3_objective <= best + _STABILITY_SLACK * abs(best) + 1e-9,
                             "keep_lateness")
        if sense == "maximize":
            m.maximize(objective)
        else:
            m.minimize(objective)
        if values is not None:
            m.hints = {k: float(values[k]) for k in range(m.num_vars)}
        monitor.report(f"allocation stage {stage + 1}", elapsed_s=time.perf_counter() - started)
        solver = params.solver
        if left is not None:
            solver = replace(solver, time_limit=max(_MIN_STAGE_SECONDS, left))
        if m.is_mip and stage == 0:
            # the first stage as a MIP: half the budget at most, a 0.1 % gap is optimal enough
            limit = None if budget is None else max(_MIN_STAGE_SECONDS, min(left or 0.0, budget / 2))
            solver = replace(solver, gap=max(solver.gap, 1e-3), time_limit=limit)
        result = m.solve(solver)
        statuses.append(result.status)
        if not result.has_solution and values is None:
            # stage 1 out of time without a solution: a greedy packing stands in
            values = greedy_packing(m, built)
            objectives.append(_evaluate(on_time_value, values))
            statuses[-1] = f"{result.status}:greedy"
            break
        if not result.has_solution or (result.status == "time_limit" and values is not None):
            objectives.append(None)  # out of time: the previous stage's flows stand
            continue
        objectives.append(result.objective)
        values = result.values
        if values is None:  # has_solution: the solver reports the values
            raise TypeError("a solve with a solution returned no values")
        for var in built.full.values():  # later stages are LPs: full service as decided
            if m.var_kind[var.index] != "continuous":
                m.fix(var, round(float(values[var.index])))
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
    full = frozenset(
        r for r, var in built.full.items() if values is not None and values[var.index] > 0.5
    )
    seconds = time.perf_counter() - started
    return AllocationResult(flows, statuses, objectives, seconds, built, full)


def greedy_packing(m: LinearModel, built: AllocationModel) -> np.ndarray:
    """Whole units for the flow variables, most valuable first (on-time, then late; earliest
    arrival among equals), each as much as every ``≤`` row it is in still allows.

    The allocation's rows (need, supply, production, fleet budget) all have non-negative
    coefficients, so this is feasible; it stands in for an LP that ran out of time.
    """
    values = np.zeros(m.num_vars)
    slack = np.array([con.rhs for con in m.constraints], dtype=float)
    rows_of: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for k, con in enumerate(m.constraints):
        if con.sense != "<=":
            return values  # not a packing model (rows added by later stages): send nothing
        for index, coef in zip(con.indices.tolist(), con.coefs.tolist(), strict=True):
            rows_of[index].append((k, coef))
    ranked = sorted(
        [(0, -built.value[(r, i)], built.arrival[s, r], var.index) for (s, r, i), var in built.x.items()]
        + [(1, -built.value[(r, i)], built.arrival[s, r], var.index) for (s, r, i), var in built.y.items()]
    )
    for *_, index in ranked:
        room = m.var_ub[index]
        for k, coef in rows_of[index]:
            if coef > 0:
                room = min(room, slack[k] / coef)
        units = math.floor(max(0.0, room) + 1e-9)
        if units > 0:
            values[index] = units
            for k, coef in rows_of[index]:
                slack[k] -= coef * units
    return values


def _evaluate(expr: LinExpr, values: np.ndarray) -> float:
    return expr.constant + sum(coef * float(values[k]) for k, coef in expr.terms.items())


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

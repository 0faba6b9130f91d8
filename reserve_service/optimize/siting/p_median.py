"""p-median: minimise demand-weighted cost to the nearest open site."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reserve_service.optimize.solvers import (
    LinearModel,
    LinExpr,
    SolveResult,
    SolverParams,
    Var,
)

from .checks import _check_instance, _Instance, _require_reachable
from .heuristics import (
    _finite_big,
    _median_greedy_interchange,
    _model_details,
    _nearest_open,
    _open_from,
    _params,
    _row_costs,
)
from .lagrangian import _lagrangian_reduction, _lagrangian_tree, _LagrangianCut
from .result import SitingResult, _gap
from .tuning import _HEURISTIC_SECONDS, _TREE_SECONDS, _TREE_SECONDS_LARGE_P, _TREE_SMALL_P


@dataclass
class _MedianModel:
    model: LinearModel
    y: dict[int, Var]  # site -> open
    rows: np.ndarray  # demand rows in the model


def p_median(
    cost: Any,
    demand: Any,
    p: int,
    *,
    must_open: Iterable[int] = (),
    forbidden: Iterable[int] = (),
    solver: str = "auto",
    time_limit: float | None = None,
    params: SolverParams | None = None,
    reduce: bool = True,
) -> SitingResult:
    r"""Open ``p`` sites minimising total demand-weighted cost to the nearest open site.

    Formulation (Elloumi 2010, a "radius" formulation with ties merged)

    * Sets: rows :math:`I` with :math:`w_i > 0`; allowed sites :math:`J`; for row :math:`i` the
      distinct reachable costs :math:`D_i^1 < \dots < D_i^{K_i}` and
      :math:`J_i^k = \{j : c_{ij} = D_i^k\}`.
    * Variables: :math:`y_j \in \{0,1\}` open; :math:`z_i^k \in [0,1]`, :math:`k < K_i`,
      equal to 1 when row :math:`i` has no open site at cost :math:`\le D_i^k`.
    * Objective: :math:`\min \sum_i w_i \big(D_i^1 + \sum_{k<K_i} (D_i^{k+1}-D_i^k)\, z_i^k\big)`.
    * Constraints: :math:`\sum_j y_j = p`;
      :math:`z_i^1 + \sum_{J_i^1} y_j \ge 1`;
      :math:`z_i^k - z_i^{k-1} + \sum_{J_i^k} y_j \ge 0` for :math:`1 < k < K_i`;
      :math:`\sum_{J_i^{K_i}} y_j \ge z_i^{K_i-1}`;
      :math:`y_j = 1` for must-open sites; forbidden sites have no variable.

    Its LP bound equals that of the classical :math:`x_{ij} \le y_j` formulation, with
    :math:`\sum_i K_i` instead of :math:`|I||J|` assignment variables (OR-Library costs have at
    most ~85 distinct values per row).  Levels are cut off where the answer is forced: beyond the
    nearest must-open site, and once more than :math:`|J| - p` sites lie within
    :math:`D_i^k` (at least one of them must be open).

    Before the MIP: a greedy + interchange solution (upper bound, passed as a warm start), then
    subgradient optimisation of the Lagrangian dual (assignment constraints relaxed; its bound
    equals the LP bound in the limit) and Beasley's penalty tests, which close or open every site
    whose other state cannot beat the warm start.  If the bound does not yet meet the warm start,
    a depth-first Lagrangian branch and bound on the open/closed state of the remaining sites
    follows (multipliers inherited by each node, penalty tests at every node, relaxed choices
    tried as solutions; capped at 45 s when at most 20 sites are free to open, 0.3 s otherwise).
    Only if it does not finish is the MIP built on the reduced site set; whenever the Lagrangian
    steps prove the best solution optimal, no MIP is solved (``solver == "lagrangian"``).  With
    integral weighted costs the bound is rounded up.

    ``reduce=False`` skips the Lagrangian step and solves the full formulation (for checks and
    comparisons).  ``time_limit`` bounds the MIP solve; the warm start and the Lagrangian steps
    add their capped time before it.

    Returns
    -------
    SitingResult
        ``assign[i]`` is the nearest open site of row ``i`` (every row, including zero-demand
        rows; ``-1`` if none reachable).
    """
    started = time.perf_counter()
    inst = _check_instance(cost, demand, must_open, forbidden, p=p)
    rows = np.flatnonzero(inst.demand > 0)
    _require_reachable(inst, rows)
    params = _params(params, solver, time_limit)

    warm = _p_median_warm_start(inst, rows, p)
    upper = float(inst.demand[rows] @ _row_costs(inst, rows, warm)) if rows.size else 0.0
    step = _improvement_step(inst, rows, upper, params)
    if reduce:
        cut = _lagrangian_reduction(inst, rows, p, upper, step)
        if cut.improved is not None:  # the Lagrangian heuristic beat the warm start
            warm, upper = cut.improved, cut.upper
    else:
        cut = _LagrangianCut.nothing(step)

    def proved(bound: float) -> SitingResult:
        """``warm`` (as it stands when called), proved optimal by the Lagrangian steps."""
        return _p_median_result(
            inst,
            rows,
            warm,
            "optimal",
            _rounded_bound(bound, cut.step),
            "lagrangian",
            started,
            {"heuristic_objective": upper, **cut.details()},
        )

    if cut.proves(upper):  # the warm start is optimal: no MIP needed
        return proved(cut.lower_bound)
    reduced = cut.apply(inst)
    if cut.row_radius is not None:
        sub = reduced.cost[np.ix_(rows, reduced.allowed)]
        if np.any(sub.min(axis=1) > cut.row_radius):  # no improving solution can exist
            return proved(min(upper, cut.fixing_bound))

    if cut.multipliers is not None:
        n_free_open = p - int(reduced.must_open.size)
        budget = _TREE_SECONDS if n_free_open <= _TREE_SMALL_P else _TREE_SECONDS_LARGE_P
        tree = _lagrangian_tree(reduced, rows, p, upper, cut, budget)
        if tree.improved is not None:
            warm, upper = tree.improved, tree.upper
        cut.tree_nodes, cut.tree_seconds = tree.nodes, tree.seconds
        if tree.finished:  # no solution better than the warm start exists
            return proved(min(upper, cut.fixing_bound, tree.bound))

    built = _build_p_median(reduced, rows, p, warm, cut.row_radius)  # build
    solved = built.model.solve(params)  # solve
    result = _extract_p_median(reduced, built, solved, started)  # extract

    # the reduction kept every solution better than the warm start; compare the two
    result.details.update(heuristic_objective=upper, **cut.details())
    result = _best_of(result, inst, rows, warm, upper, solved, cut, started)
    if result.bound is not None:
        result.bound = _rounded_bound(result.bound, cut.step)
        result.gap = _gap(result.objective, result.bound)
    return result


def _rounded_bound(bound: float, step: float) -> float:
    """With integral objectives (``step`` ≈ 1) every solution is an integer: round up."""
    return float(math.ceil(bound - 1e-6)) if step >= 0.5 else bound


def _best_of(
    result: SitingResult,
    inst: _Instance,
    rows: np.ndarray,
    warm: Sequence[int],
    upper: float,
    solved: SolveResult,
    cut: _LagrangianCut,
    started: float,
) -> SitingResult:
    """The MIP answer on the reduced instance, or the warm start if that is better."""
    if math.isfinite(upper) and (result.objective is None or result.objective > upper):
        proven = solved.status in ("optimal", "infeasible")
        bound = cut.fixing_bound if solved.status == "infeasible" else solved.bound
        if bound is not None:
            bound = min(bound, cut.fixing_bound)
        details = {**result.details, "mip_status": solved.status}
        return _p_median_result(
            inst,
            rows,
            warm,
            "optimal" if proven else solved.status,
            bound,
            solved.solver,
            started,
            details,
        )
    if result.bound is not None:
        result.bound = min(result.bound, cut.fixing_bound)
        result.gap = _gap(result.objective, result.bound)
    return result


def _p_median_result(
    inst: _Instance,
    rows: np.ndarray,
    open_sites: Sequence[int],
    status: str,
    bound: float | None,
    solver: str,
    started: float,
    details: dict[str, Any],
) -> SitingResult:
    objective = float(inst.demand[rows] @ _row_costs(inst, rows, open_sites)) if rows.size else 0.0
    return SitingResult(
        status=status,
        objective=objective,
        bound=bound,
        gap=_gap(objective, bound),
        open=sorted(int(j) for j in open_sites),
        assign=_nearest_open(inst.cost, open_sites).tolist(),
        solve_seconds=time.perf_counter() - started,
        solver=solver,
        details=details,
    )


def _improvement_step(
    inst: _Instance, rows: np.ndarray, upper: float, params: SolverParams
) -> float:
    """How much better than ``upper`` a solution must be to count as better.

    With integral weighted costs every objective is an integer, so anything better is at least
    1 lower; otherwise use the relative gap tolerance.
    """
    weighted = inst.demand[rows, None] * inst.cost[np.ix_(rows, inst.allowed)]
    finite = weighted[np.isfinite(weighted)]
    if finite.size and np.all(np.mod(finite, 1.0) == 0) and np.all(finite < 2**52):
        return 1.0 - 1e-6
    return max(params.gap * abs(upper), 1e-9)


def _p_median_warm_start(inst: _Instance, rows: np.ndarray, p: int) -> list[int]:
    sub, _ = _finite_big(inst.cost[np.ix_(rows, inst.allowed)])
    fixed = np.searchsorted(inst.allowed, inst.must_open).tolist()
    picked = _median_greedy_interchange(sub, inst.demand[rows], p, fixed, _HEURISTIC_SECONDS)
    return inst.allowed[picked].tolist()


def _build_p_median(
    inst: _Instance,
    rows: np.ndarray,
    p: int,
    warm: Sequence[int],
    row_radius: np.ndarray | None = None,
) -> _MedianModel:
    model = LinearModel("p_median")
    allowed = inst.allowed
    must = set(inst.must_open.tolist())
    y = {
        int(j): model.add_var(f"y[{j}]", kind="binary", lb=1.0 if j in must else 0.0)
        for j in allowed
    }
    y_index = np.array([y[int(j)].index for j in allowed], dtype=np.int64)
    warm_set = set(warm)
    hints: dict[Var, float] = {y[int(j)]: float(int(j) in warm_set) for j in allowed}
    must_mask = np.isin(allowed, inst.must_open)
    n_closed_max = allowed.size - p  # at most this many allowed sites stay closed

    # p sites open
    model.add_row(y_index, np.ones(allowed.size), "==", p, name="open_p")

    objective = LinExpr()
    for r, i in enumerate(rows.tolist()):
        w = float(inst.demand[i])
        c = inst.cost[i, allowed]
        reach = np.isfinite(c)
        order = np.argsort(c[reach], kind="stable")
        cols = np.flatnonzero(reach)[order]
        costs = c[cols]
        levels, starts = np.unique(costs, return_index=True)
        ends = np.append(starts[1:], costs.size)
        # last level needed: where a must-open site sits, or where > n_closed_max sites lie
        k_last = levels.size - 1
        if must_mask[cols].any():
            k_last = min(k_last, int(np.searchsorted(levels, costs[np.argmax(must_mask[cols])])))
        forced = np.flatnonzero(ends >= n_closed_max + 1)
        if forced.size:
            k_last = min(k_last, int(forced[0]))
        if row_radius is not None and np.isfinite(row_radius[r]):
            # every solution better than the warm start serves row i within row_radius
            k_last = min(k_last, max(0, int(np.searchsorted(levels, row_radius[r], "right")) - 1))
        objective += w * float(levels[0])
        warm_cost = min((inst.cost[i, j] for j in warm), default=math.inf)
        z_prev: Var | None = None
        for k in range(k_last + 1):
            site_vars = y_index[cols[starts[k] : ends[k]]]
            idx = site_vars.tolist()
            coef = [1.0] * len(idx)
            if k < k_last:
                # z[i,k] = 1 when row i has no open site within levels[k]
                z = model.add_var(f"z[{i},{k}]", lb=0.0, ub=1.0)
                idx.append(z.index)
                coef.append(1.0)
                objective.terms[z.index] = w * float(levels[k + 1] - levels[k])
                hints[z] = float(warm_cost > levels[k])
            if z_prev is not None:
                idx.append(z_prev.index)
                coef.append(-1.0)
            # row i served within levels[k], or still waiting (z) — chained from level k-1
            model.add_row(idx, coef, ">=", 1.0 if k == 0 else 0.0, name=f"serve[{i},{k}]")
            z_prev = z if k < k_last else None
    model.minimize(objective)
    model.set_hints(hints)
    return _MedianModel(model=model, y=y, rows=rows)


def _extract_p_median(
    inst: _Instance, built: _MedianModel, solved: SolveResult, started: float
) -> SitingResult:
    open_sites = _open_from(built.y, solved)
    assign = _nearest_open(inst.cost, open_sites)
    objective = None
    if open_sites:
        objective = float(inst.demand[built.rows] @ _row_costs(inst, built.rows, open_sites))
    return SitingResult(
        status=solved.status,
        objective=objective,
        bound=solved.bound,
        gap=_gap(objective, solved.bound),
        open=open_sites,
        assign=assign.tolist(),
        solve_seconds=time.perf_counter() - started,
        solver=solved.solver,
        details=_model_details(built.model, solved),
    )

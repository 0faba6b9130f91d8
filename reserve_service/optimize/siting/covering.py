"""Set covering (also the feasibility oracle of the p-center) and the p-center."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reserve_service.optimize.solvers import (
    LinearModel,
    LinExpr,
    SolverParams,
    Var,
)

from .checks import _as_vector, _check_instance, _check_radius, _require_reachable
from .heuristics import (
    _farthest_first_center,
    _finite_big,
    _greedy_cover,
    _model_details,
    _nearest_open,
    _open_from,
    _params,
    _row_costs,
)
from .result import SitingInputError, SitingResult, _gap
from .tuning import _TOL


@dataclass
class _CoverModel:
    model: LinearModel
    y: dict[int, Var]


def _build_cover(
    covers: np.ndarray,
    allowed: np.ndarray,
    must_open: np.ndarray,
    site_cost: np.ndarray,
    warm: Sequence[int] | None,
    max_open: int | None = None,
) -> _CoverModel:
    """min sum c_j y_j  s.t.  sum_{j covers i} y_j >= 1 for every row; must-open fixed."""
    model = LinearModel("set_cover")
    must = set(must_open.tolist())
    y = {
        int(j): model.add_var(f"y[{j}]", kind="binary", lb=1.0 if j in must else 0.0)
        for j in allowed
    }
    # rows already covered by a must-open site need no constraint; identical rows only once
    sub = covers[:, allowed]
    if must:
        sub = sub[~covers[:, sorted(must)].any(axis=1)]
    unique_rows = np.unique(sub, axis=0) if sub.shape[0] else sub
    y_index = np.array([y[int(j)].index for j in allowed], dtype=np.int64)
    for r, row in enumerate(unique_rows):
        # every demand row covered by some open site within the radius
        members = y_index[row]
        model.add_row(members, np.ones(members.size), ">=", 1.0, name=f"cover[{r}]")
    if max_open is not None:
        model.add_row(y_index, np.ones(y_index.size), "<=", max_open, name="max_open")
    model.minimize(LinExpr.weighted([y[int(j)] for j in allowed], site_cost[allowed]))
    if warm is not None:
        warm_set = set(warm)
        model.set_hints({y[int(j)]: float(int(j) in warm_set) for j in allowed})
    return _CoverModel(model=model, y=y)


def set_cover(
    cost: Any,
    radius: float,
    *,
    site_cost: Any | None = None,
    must_open: Iterable[int] = (),
    forbidden: Iterable[int] = (),
    solver: str = "auto",
    time_limit: float | None = None,
    params: SolverParams | None = None,
) -> SitingResult:
    r"""Location set covering (LSCP): cover every row within ``radius`` at least cost.

    Formulation (Toregas et al. 1971)

    * Sets: rows :math:`I`; allowed sites :math:`J`; :math:`N_i = \{j \in J : c_{ij} \le r\}`.
    * Variables: :math:`y_j \in \{0,1\}`.
    * Objective: :math:`\min \sum_j f_j y_j` (:math:`f_j = 1` without ``site_cost``: fewest sites).
    * Constraints: :math:`\sum_{j \in N_i} y_j \ge 1` for every row (identical rows and rows
      already covered by a must-open site are dropped); :math:`y_j = 1` for must-open sites.

    Warm start: Chvátal's greedy.  Raises :class:`SitingInputError` (field ``radius``) listing
    rows no allowed site covers.
    """
    started = time.perf_counter()
    inst = _check_instance(cost, None, must_open, forbidden)
    r = _check_radius(radius)
    costs_j = _as_vector(site_cost, "site_cost", inst.n_sites, what="site", allow_none_default=1.0)
    params = _params(params, solver, time_limit)
    covers = inst.cost <= r + _TOL * max(1.0, r)
    covers[:, np.setdiff1d(np.arange(inst.n_sites), inst.allowed)] = False
    lost = np.flatnonzero(~covers.any(axis=1))
    if lost.size:
        nearest = np.min(inst.cost[np.ix_(lost, inst.allowed)], axis=1)
        raise SitingInputError(
            "radius",
            f"{lost.size} rows have no allowed site within radius {r}: rows {lost[:20].tolist()} "
            f"(their nearest allowed sites are at {np.round(nearest[:20], 6).tolist()})",
            rows=lost.tolist(),
            radius=r,
        )
    warm = _greedy_cover(covers, costs_j, inst.must_open.tolist())
    built = _build_cover(covers, inst.allowed, inst.must_open, costs_j, warm)  # build
    solved = built.model.solve(params)  # solve
    open_sites = _open_from(built.y, solved)  # extract
    objective = float(costs_j[open_sites].sum()) if open_sites else None
    assign = _nearest_open(inst.cost, open_sites)
    return SitingResult(
        status=solved.status,
        objective=objective,
        bound=solved.bound,
        gap=_gap(objective, solved.bound),
        open=open_sites,
        assign=assign.tolist(),
        solve_seconds=time.perf_counter() - started,
        solver=solved.solver,
        coverage=_coverage(inst.cost, np.ones(inst.n_demand), open_sites, r),
        details={
            **_model_details(built.model, solved),
            "greedy_objective": float(costs_j[warm].sum()) if warm else None,
        },
    )


def _coverage(
    cost: np.ndarray, demand: np.ndarray, open_sites: Sequence[int], radius: float
) -> dict[str, Any]:
    if open_sites:
        covered = (cost[:, list(open_sites)] <= radius + _TOL * max(1.0, radius)).any(axis=1)
    else:
        covered = np.zeros(cost.shape[0], dtype=bool)
    total = float(demand.sum())
    covered_demand = float(demand[covered].sum())
    return {
        "radius": radius,
        "covered_demand": covered_demand,
        "total_demand": total,
        "fraction": covered_demand / total if total > 0 else 1.0,
        "uncovered_rows": np.flatnonzero(~covered & (demand > 0)).tolist(),
    }


# --------------------------------------------------------------------------------------------
# p-center
# --------------------------------------------------------------------------------------------


def p_center(
    cost: Any,
    demand: Any,
    p: int,
    *,
    must_open: Iterable[int] = (),
    forbidden: Iterable[int] = (),
    solver: str = "auto",
    time_limit: float | None = None,
    params: SolverParams | None = None,
) -> SitingResult:
    r"""Open ``p`` sites minimising the largest cost from a row with demand > 0 to its nearest site.

    Method: binary search over the sorted distinct costs :math:`\rho_1 < \dots < \rho_L`
    (Minieka 1970; Daskin 2013 §5.3).  Radius :math:`\rho` is feasible iff the set-covering
    model below needs at most ``p`` sites:

    * Sets: rows :math:`I` with :math:`w_i > 0`; allowed sites :math:`J`;
      :math:`N_i(\rho) = \{j : c_{ij} \le \rho\}`.
    * Variables: :math:`y_j \in \{0,1\}`.
    * Objective: :math:`\min \sum_j y_j`.
    * Constraints: :math:`\sum_{j \in N_i(\rho)} y_j \ge 1`; :math:`y_j = 1` for must-open sites.

    The search starts between :math:`\max_i \min_j c_{ij}` (a lower bound) and the radius of a
    farthest-first solution (an upper bound); a greedy cover with at most ``p`` sites proves a
    radius feasible without a MIP.  Each MIP proves infeasibility by its optimum exceeding
    ``p``.  ``bound`` is the smallest radius not proven infeasible.  If the final cover uses
    fewer than ``p`` sites, the rest are added greedily to reduce total weighted cost (the
    radius cannot grow).  ``time_limit`` is the total budget across all checks.
    """
    started = time.perf_counter()
    inst = _check_instance(cost, demand, must_open, forbidden, p=p)
    rows = np.flatnonzero(inst.demand > 0)
    _require_reachable(inst, rows)
    params = _params(params, solver, time_limit)
    deadline = None if params.time_limit is None else started + params.time_limit

    sub = inst.cost[np.ix_(rows, inst.allowed)]
    fixed = np.searchsorted(inst.allowed, inst.must_open).tolist()
    finite_sub, big = _finite_big(sub)
    radii = np.unique(sub[np.isfinite(sub)])
    heuristic = _farthest_first_center(finite_sub, p, fixed) if rows.size else fixed
    upper = float(finite_sub[:, heuristic].min(axis=1).max()) if rows.size else 0.0
    lower = float(sub.min(axis=1).max()) if rows.size else 0.0
    # search radii[lo..hi]; hi == radii.size stands for "no radius proven feasible yet"
    lo = int(np.searchsorted(radii, lower - _TOL * max(1.0, lower)))
    hi = int(np.searchsorted(radii, upper - _TOL * max(1.0, upper))) if upper < big else radii.size
    best_cols: list[int] = list(heuristic)
    # without any MIP check the answer came from the greedy covers alone
    status, solver_name, checks, mip_checks = "optimal", "greedy-cover", 0, 0
    model_size = ""
    while lo < hi:
        mid = (lo + hi) // 2
        covers = sub <= radii[mid] + _TOL * max(1.0, radii[mid])
        checks += 1
        greedy = _greedy_cover(covers, np.ones(inst.allowed.size), fixed)
        if greedy is not None and len(greedy) <= p:
            hi, best_cols = mid, greedy
            continue
        if greedy is None:  # some row has no allowed site within this radius
            lo = mid + 1
            continue
        remaining = None if deadline is None else deadline - time.perf_counter()
        if remaining is not None and remaining <= 0.05:
            status = "time_limit"
            break
        step = SolverParams(**{**params.__dict__, "time_limit": remaining})
        local_sites = np.arange(inst.allowed.size)
        local_must = np.asarray(fixed, dtype=np.int64)
        built = _build_cover(covers, local_sites, local_must, np.ones(local_sites.size), greedy)
        solved = built.model.solve(step)  # solve the covering check
        mip_checks += 1
        solver_name, model_size = solved.solver, built.model.summary()
        cover = _open_from(built.y, solved)
        if cover and len(cover) <= p:
            hi, best_cols = mid, cover
        elif solved.status == "optimal" or (solved.bound is not None and solved.bound > p + _TOL):
            lo = mid + 1
        else:
            status = "time_limit"
            break

    if rows.size and hi >= radii.size:
        if status == "optimal":
            status = "infeasible"
        return SitingResult(
            status=status,
            objective=None,
            bound=None,
            gap=None,
            open=[],
            assign=[-1] * inst.n_demand,
            solve_seconds=time.perf_counter() - started,
            solver=solver_name,
            details={"lower_bound_radius": lower, "radius_checks": checks},
        )
    open_local = _pad_to_p(finite_sub, inst.demand[rows], best_cols, p)
    open_sites = sorted(inst.allowed[open_local].tolist())
    assign = _nearest_open(inst.cost, open_sites)
    objective = float(_row_costs(inst, rows, open_sites).max()) if rows.size else 0.0
    bound = float(radii[min(lo, hi)]) if rows.size else 0.0
    return SitingResult(
        status=status,
        objective=objective,
        bound=bound,
        gap=_gap(objective, bound),
        open=open_sites,
        assign=assign.tolist(),
        solve_seconds=time.perf_counter() - started,
        solver=solver_name,
        details={
            "heuristic_radius": upper,
            "lower_bound_radius": lower,
            "radius_checks": checks,
            "mip_checks": mip_checks,
            "last_model": model_size,
        },
    )


def _pad_to_p(d: np.ndarray, w: np.ndarray, cols: Sequence[int], p: int) -> list[int]:
    chosen = list(cols)
    current = d[:, chosen].min(axis=1) if chosen else np.full(d.shape[0], np.inf)
    while len(chosen) < p:
        gain = w @ np.minimum(d, current[:, None])
        gain[chosen] = np.inf
        j = int(np.argmin(gain))
        chosen.append(j)
        current = np.minimum(current, d[:, j])
    return sorted(chosen)

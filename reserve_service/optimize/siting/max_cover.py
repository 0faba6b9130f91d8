"""Maximal covering: most demand within a radius of p open sites."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reserve_service.optimize.solvers import (
    LinearModel,
    LinExpr,
    SolverParams,
    Var,
)

from .checks import _check_instance, _check_radius, _Instance
from .covering import _coverage
from .heuristics import _model_details, _nearest_open, _open_from, _params
from .result import SitingResult, _gap
from .tuning import _TOL


@dataclass
class _MaxCoverModel:
    model: LinearModel
    y: dict[int, Var]


def max_cover(
    cost: Any,
    demand: Any,
    p: int,
    radius: float,
    *,
    must_open: Iterable[int] = (),
    forbidden: Iterable[int] = (),
    solver: str = "auto",
    time_limit: float | None = None,
    params: SolverParams | None = None,
) -> SitingResult:
    r"""Maximal covering (MCLP, Church & ReVelle 1974): open ``p`` sites, cover most demand.

    * Sets: coverage groups :math:`G` — rows with demand > 0 and the same non-empty
      :math:`N_i = \{j \in J : c_{ij} \le r\}` merged, weight :math:`W_g = \sum w_i`.
    * Variables: :math:`y_j \in \{0,1\}`; :math:`z_g \in [0,1]` covered (integral at an optimum).
    * Objective: :math:`\max \sum_g W_g z_g`.
    * Constraints: :math:`z_g \le \sum_{j \in N_g} y_j`; :math:`\sum_j y_j = p`;
      :math:`y_j = 1` for must-open sites.

    Rows that no allowed site covers are reported in ``coverage["uncoverable_rows"]``.  Warm
    start: greedy coverage.  ``assign[i]`` is the nearest open site (possibly beyond the radius).
    """
    started = time.perf_counter()
    inst = _check_instance(cost, demand, must_open, forbidden, p=p)
    r = _check_radius(radius)
    params = _params(params, solver, time_limit)
    covers = inst.cost <= r + _TOL * max(1.0, r)
    covers[:, np.setdiff1d(np.arange(inst.n_sites), inst.allowed)] = False
    coverable = covers.any(axis=1) & (inst.demand > 0)

    built = _build_max_cover(inst, covers, coverable, p)  # build
    solved = built.model.solve(params)  # solve
    open_sites = _open_from(built.y, solved)  # extract
    coverage = _coverage(inst.cost, inst.demand, open_sites, r)
    coverage["uncoverable_rows"] = np.flatnonzero(~covers.any(axis=1) & (inst.demand > 0)).tolist()
    objective = coverage["covered_demand"] if open_sites else None
    return SitingResult(
        status=solved.status,
        objective=objective,
        bound=solved.bound,
        gap=_gap(objective, solved.bound),
        open=open_sites,
        assign=_nearest_open(inst.cost, open_sites).tolist(),
        solve_seconds=time.perf_counter() - started,
        solver=solved.solver,
        coverage=coverage,
        details=_model_details(built.model, solved),
    )


def _build_max_cover(
    inst: _Instance, covers: np.ndarray, coverable: np.ndarray, p: int
) -> _MaxCoverModel:
    model = LinearModel("max_cover")
    must = set(inst.must_open.tolist())
    y = {
        int(j): model.add_var(f"y[{j}]", kind="binary", lb=1.0 if j in must else 0.0)
        for j in inst.allowed
    }
    y_index = np.array([y[int(j)].index for j in inst.allowed], dtype=np.int64)
    # p sites open
    model.add_row(y_index, np.ones(y_index.size), "==", p, name="open_p")

    sub = covers[np.ix_(coverable, inst.allowed)]
    groups, group_of = np.unique(sub, axis=0, return_inverse=True) if sub.shape[0] else (sub, [])
    weight = np.bincount(np.ravel(group_of), weights=inst.demand[coverable], minlength=len(groups))
    objective = LinExpr()
    group_vars = []
    for g, members in enumerate(groups):
        z = model.add_var(f"z[{g}]", lb=0.0, ub=1.0)
        group_vars.append(z)
        objective.terms[z.index] = float(weight[g])
        # a group counts as covered only if some open site covers it
        idx = np.append(y_index[members], z.index)
        coef = np.append(-np.ones(int(members.sum())), 1.0)
        model.add_row(idx, coef, "<=", 0.0, name=f"covered[{g}]")
    model.maximize(objective)

    # greedy warm start: add the site covering most uncovered weight
    if len(groups):
        chosen = sorted(np.searchsorted(inst.allowed, inst.must_open).tolist())
        hit = groups[:, chosen].any(axis=1) if chosen else np.zeros(len(groups), bool)
        while len(chosen) < p:
            gain = weight[~hit] @ groups[~hit] if (~hit).any() else np.zeros(inst.allowed.size)
            gain = np.asarray(gain, dtype=float)
            gain[chosen] = -1.0
            j = int(np.argmax(gain))
            chosen.append(j)
            hit |= groups[:, j]
        hints: dict[Var, float] = {y[int(inst.allowed[k])]: 0.0 for k in range(inst.allowed.size)}
        for k in chosen:
            hints[y[int(inst.allowed[k])]] = 1.0
        for g, z in enumerate(group_vars):
            hints[z] = float(hit[g])
        model.set_hints(hints)
    return _MaxCoverModel(model=model, y=y)

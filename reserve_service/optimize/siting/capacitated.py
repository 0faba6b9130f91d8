"""Capacitated facility location (single- or multi-source, with an optional budget)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
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

from .checks import _as_vector, _check_instance, _Instance, _require_reachable
from .heuristics import _model_details, _open_from, _params
from .result import SitingInputError, SitingResult, _gap
from .tuning import _TOL


@dataclass
class _CapacitatedModel:
    model: LinearModel
    y: dict[int, Var]
    x: dict[tuple[int, int], Var]
    rows: np.ndarray


def capacitated(
    cost: Any,
    demand: Any,
    capacity: Any,
    fixed_cost: Any,
    *,
    single_source: bool = False,
    budget: float | None = None,
    must_open: Iterable[int] = (),
    forbidden: Iterable[int] = (),
    solver: str = "auto",
    time_limit: float | None = None,
    params: SolverParams | None = None,
) -> SitingResult:
    r"""Capacitated facility location (OR-Library ``cap`` convention).

    ``cost[i, j]`` is the cost of serving ALL of row ``i``'s demand from site ``j``.

    * Sets: rows :math:`I` with :math:`d_i > 0`; allowed sites :math:`J`; reachable pairs
      :math:`A = \{(i,j) : c_{ij} < \infty\}`.
    * Variables: :math:`y_j \in \{0,1\}`; :math:`x_{ij} \in [0,1]` share of :math:`d_i` served by
      :math:`j` (binary when ``single_source``).
    * Objective: :math:`\min \sum_j f_j y_j + \sum_{(i,j) \in A} c_{ij} x_{ij}`.
    * Constraints: :math:`\sum_j x_{ij} = 1` (demand met);
      :math:`\sum_i d_i x_{ij} \le u_j y_j` (capacity); :math:`x_{ij} \le y_j` (strong linking);
      :math:`\sum_j u_j y_j \ge \sum_i d_i` (aggregate capacity cut);
      :math:`\sum_j f_j y_j \le B` when ``budget`` is given; :math:`y_j = 1` for must-open sites.

    Pre-solve checks: total allowed capacity below total demand; rows with no reachable site;
    (single source) a row larger than every reachable site's capacity; a budget below the
    must-open fixed costs or below the cheapest fractional opening that reaches total demand.

    Returns
    -------
    SitingResult
        ``assign`` is an ``(n_demand, n_sites)`` matrix of demand quantities when demand may be
        split, and a per-row site list when ``single_source``.  ``details`` holds the fixed and
        transport cost split and per-site utilisation.
    """
    started = time.perf_counter()
    inst = _check_instance(cost, demand, must_open, forbidden)
    cap = _as_vector(capacity, "capacity", inst.n_sites, what="site")
    fixed = _as_vector(fixed_cost, "fixed_cost", inst.n_sites, what="site")
    rows = np.flatnonzero(inst.demand > 0)
    _require_reachable(inst, rows)
    _check_capacity(inst, rows, cap, fixed, single_source, budget)
    params = _params(params, solver, time_limit)

    built = _build_capacitated(inst, rows, cap, fixed, single_source, budget)  # build
    solved = built.model.solve(params)  # solve
    return _extract_capacitated(inst, built, solved, cap, fixed, single_source, started)  # extract


def _check_capacity(
    inst: _Instance,
    rows: np.ndarray,
    cap: np.ndarray,
    fixed: np.ndarray,
    single_source: bool,
    budget: float | None,
) -> None:
    total = float(inst.demand[rows].sum())
    available = float(cap[inst.allowed].sum())
    if available + _TOL < total:
        raise SitingInputError(
            "capacity",
            f"allowed sites hold {available:g} but total demand is {total:g}",
            total_capacity=available,
            total_demand=total,
        )
    if single_source:
        sub = inst.cost[np.ix_(rows, inst.allowed)]
        biggest = np.where(np.isfinite(sub), cap[inst.allowed][None, :], 0.0).max(axis=1)
        too_big = rows[inst.demand[rows] > biggest + _TOL]
        if too_big.size:
            i = int(too_big[0])
            raise SitingInputError(
                "demand",
                f"{too_big.size} rows exceed the capacity of every reachable site (single "
                f"source), e.g. row {i}: demand {inst.demand[i]:g}",
                rows=too_big.tolist(),
            )
    if budget is None:
        return
    if not (isinstance(budget, int | float | np.integer | np.floating) and math.isfinite(budget)):
        raise SitingInputError("budget", f"must be a finite number, got {budget!r}")
    must_cost = float(fixed[inst.must_open].sum())
    if budget + _TOL < must_cost:
        raise SitingInputError(
            "budget",
            f"budget {budget:g} is below the fixed cost of the must-open sites ({must_cost:g})",
            budget=float(budget),
            minimum=must_cost,
        )
    cheapest = _cheapest_fractional_opening(inst, cap, fixed, total)
    if budget + _TOL * max(1.0, cheapest) < cheapest:
        raise SitingInputError(
            "budget",
            f"budget {budget:g} is below {cheapest:g}, the least fixed cost of any set of sites "
            f"holding the total demand {total:g} (even opening sites fractionally)",
            budget=float(budget),
            minimum=cheapest,
        )


def _cheapest_fractional_opening(
    inst: _Instance, cap: np.ndarray, fixed: np.ndarray, total: float
) -> float:
    """LP bound: must-open sites, then the cheapest fixed cost per unit capacity first."""
    spent = float(fixed[inst.must_open].sum())
    need = total - float(cap[inst.must_open].sum())
    optional = np.setdiff1d(inst.allowed, inst.must_open)
    optional = optional[cap[optional] > 0]
    for j in optional[np.argsort(fixed[optional] / cap[optional], kind="stable")]:
        if need <= 0:
            break
        take = min(1.0, need / cap[j])
        spent += take * fixed[j]
        need -= take * cap[j]
    return spent


def _build_capacitated(
    inst: _Instance,
    rows: np.ndarray,
    cap: np.ndarray,
    fixed: np.ndarray,
    single_source: bool,
    budget: float | None,
) -> _CapacitatedModel:
    model = LinearModel("capacitated")
    must = set(inst.must_open.tolist())
    y = {
        int(j): model.add_var(f"y[{j}]", kind="binary", lb=1.0 if j in must else 0.0)
        for j in inst.allowed
    }
    x_kind = "binary" if single_source else "continuous"
    x: dict[tuple[int, int], Var] = {}
    for i in rows.tolist():
        for j in inst.allowed[np.isfinite(inst.cost[i, inst.allowed])].tolist():
            x[i, j] = model.add_var(f"x[{i},{j}]", lb=0.0, ub=1.0, kind=x_kind)

    by_site: dict[int, list[tuple[int, Var]]] = {int(j): [] for j in inst.allowed}
    by_row: dict[int, list[Var]] = {int(i): [] for i in rows}
    for (i, j), var in x.items():
        by_site[j].append((i, var))
        by_row[i].append(var)

    # demand met: each row's shares sum to one
    for i, share in by_row.items():
        model.add_row(share, np.ones(len(share)), "==", 1.0, name=f"demand[{i}]")
    # capacity: served demand within the capacity of an open site
    for j, pairs in by_site.items():
        idx = [var.index for _, var in pairs] + [y[j].index]
        coef = [float(inst.demand[i]) for i, _ in pairs] + [-float(cap[j])]
        model.add_row(idx, coef, "<=", 0.0, name=f"capacity[{j}]")
    # strong linking: serve only from open sites (tightens the LP bound)
    for (i, j), var in x.items():
        model.add_row([var.index, y[j].index], [1.0, -1.0], "<=", 0.0, name=f"link[{i},{j}]")
    # aggregate capacity: open sites can hold total demand (a valid cut for the LP)
    open_vars = [y[int(j)] for j in inst.allowed]
    model.add_row(
        open_vars, cap[inst.allowed], ">=", float(inst.demand[rows].sum()), name="total_capacity"
    )
    if budget is not None:
        # budget on fixed opening cost
        model.add_row(open_vars, fixed[inst.allowed], "<=", float(budget), name="budget")

    objective = LinExpr.weighted(open_vars, fixed[inst.allowed])
    for (i, j), var in x.items():
        objective.terms[var.index] = float(inst.cost[i, j])
    model.minimize(objective)
    return _CapacitatedModel(model=model, y=y, x=x, rows=rows)


def _extract_capacitated(
    inst: _Instance,
    built: _CapacitatedModel,
    solved: SolveResult,
    cap: np.ndarray,
    fixed: np.ndarray,
    single_source: bool,
    started: float,
) -> SitingResult:
    open_sites = _open_from(built.y, solved)
    share = np.zeros(inst.cost.shape)
    if solved.values is not None:
        for (i, j), var in built.x.items():
            share[i, j] = max(0.0, float(solved.values[var.index]))
    objective = None
    details = _model_details(built.model, solved)
    assign: list[int] | np.ndarray
    if single_source:
        assign = np.where(share.max(axis=1) > 0.5, share.argmax(axis=1), -1).tolist()
    else:
        assign = share * inst.demand[:, None]
    if solved.values is not None:
        fixed_total = float(fixed[open_sites].sum())
        served_cost = np.where(share > 0, inst.cost, 0.0)
        transport_total = float((served_cost * share).sum())
        objective = fixed_total + transport_total
        load = (share * inst.demand[:, None]).sum(axis=0)
        details.update(
            fixed_cost_total=fixed_total,
            transport_cost_total=transport_total,
            utilisation={j: float(load[j] / cap[j]) if cap[j] > 0 else 0.0 for j in open_sites},
        )
    return SitingResult(
        status=solved.status,
        objective=objective,
        bound=solved.bound,
        gap=_gap(objective, solved.bound),
        open=open_sites,
        assign=assign,
        solve_seconds=time.perf_counter() - started,
        solver=solved.solver,
        details=details,
    )

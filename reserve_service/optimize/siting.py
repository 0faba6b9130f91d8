"""Depot siting: p-median, p-center, maximal covering, set covering and capacitated location.

Pure functions on plain arrays — no Flask, no ORM.  Every model is built, solved and read out in
three visible steps (``_build_*`` → :meth:`LinearModel.solve` → ``_extract_*``) and can be solved
by any backend in :mod:`reserve_service.optimize.solvers` (``solver="auto" | "highs" | "cbc" |
"ortools"``; ``"ortools-cbc"`` and, for integral models, ``"cpsat"`` also work).

Conventions shared by all models

* ``cost`` is an ``(n_demand, n_sites)`` array; column ``j`` is candidate site ``j`` (0-based).
  ``NaN`` or ``+inf`` means *site j cannot serve row i* (unreachable).  Negative costs are errors.
* ``demand`` has one non-negative weight per row.
* ``must_open`` sites are opened; ``forbidden`` sites are never opened.
* Impossible input raises :class:`SitingInputError` *before* solving, naming the offending field
  and the numbers that make it impossible.  After solving, the solver status is reported in
  :attr:`SitingResult.status` (``"optimal" | "feasible" | "infeasible" | "time_limit"``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .solvers import LinearModel, LinExpr, SolveResult, SolverParams, Var, resolve_params

__all__ = [
    "SitingInputError",
    "SitingResult",
    "SolverParams",
    "capacitated",
    "max_cover",
    "p_center",
    "p_median",
    "set_cover",
]

_HEURISTIC_SECONDS = 2.0  # cap on the greedy + interchange warm start
_LAGRANGIAN_SECONDS = 6.0  # cap on the subgradient bound before the p-median MIP
_TREE_SECONDS = 45.0  # cap on the Lagrangian tree search before the p-median MIP (small p)
_TREE_SECONDS_LARGE_P = 0.3  # the same when more than _TREE_SMALL_P sites are free to open
_TREE_STEPS_ROOT, _TREE_STEPS, _TREE_STEPS_REFIX = 200, 30, 8  # subgradient steps per node
_TREE_SMALL_P = 20  # large p: tight LP bounds, deep trees; the MIP does better there
_POLISH_SECONDS = 2.0  # cap on polishing the best relaxed choices of the subgradient run
_POLISH_CANDIDATES = 10  # how many of them (best values first)
_TOL = 1e-6


class SitingInputError(ValueError):
    """Input that makes a siting problem impossible or meaningless, found before solving.

    Attributes
    ----------
    field
        The offending argument (``"cost"``, ``"demand"``, ``"p"``, ``"radius"``, ...), so an API
        layer can report ``errors{field: [message]}``.
    details
        The numbers behind the message (e.g. ``{"p": 12, "n_sites": 10}``).
    """

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.details = details


@dataclass
class SitingResult:
    """Outcome of a siting model.

    Attributes
    ----------
    status
        ``"optimal"`` (proven), ``"feasible"``, ``"infeasible"`` or ``"time_limit"``.
    objective
        Objective of the returned solution, recomputed from :attr:`open` / :attr:`assign`
        (``None`` when there is no solution).
    bound
        Best proven bound on the optimum (lower for minimisation, upper for maximisation).
    gap
        ``|objective - bound| / |objective|``.
    open
        Sorted indices of open sites.
    assign
        Per demand row, the serving site (``-1``: none reachable / not served); for split
        capacitated solutions an ``(n_demand, n_sites)`` matrix of demand quantities.
    solve_seconds
        Wall-clock seconds of the whole call (checks, heuristic, build, solve, extract).
    solver
        Backend that solved the model (e.g. ``"pulp-highs"``, ``"ortools-scip"``).
    coverage
        Covering models: covered demand, fraction and uncovered rows; for every model, the demand
        within the given radius when it applies.
    details
        Model size, heuristic value, solver seconds, cost breakdown — whatever helps explain.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    open: list[int]
    assign: list[int] | np.ndarray
    solve_seconds: float
    solver: str
    coverage: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        obj = "-" if self.objective is None else f"{self.objective:.6g}"
        bound = "-" if self.bound is None else f"{self.bound:.6g}"
        gap = "-" if self.gap is None else f"{100 * self.gap:.3g}%"
        return (
            f"{self.status}: objective {obj}, bound {bound}, gap {gap}, "
            f"{len(self.open)} open {self.open[:12]}{'...' if len(self.open) > 12 else ''}, "
            f"{self.solve_seconds:.2f}s via {self.solver}"
        )


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


@dataclass
class _Instance:
    """Checked input: costs with ``inf`` for unreachable pairs and the allowed site set."""

    cost: np.ndarray  # (n_demand, n_sites), inf = unreachable
    demand: np.ndarray  # (n_demand,)
    allowed: np.ndarray  # sorted site indices that may open
    must_open: np.ndarray  # sorted site indices that must open

    @property
    def n_demand(self) -> int:
        return int(self.cost.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.cost.shape[1])


def _as_cost(cost: Any) -> np.ndarray:
    try:
        arr = np.array(cost, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SitingInputError("cost", f"not a numeric matrix ({exc})") from None
    if arr.ndim != 2:
        raise SitingInputError(
            "cost", f"must be a 2-D (n_demand x n_sites) matrix, got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise SitingInputError("cost", f"has no demand rows (shape {arr.shape})")
    if arr.shape[1] == 0:
        raise SitingInputError("cost", f"has no candidate sites (shape {arr.shape})")
    negative = np.argwhere(arr < 0)  # NaN compares False; -inf is negative
    if negative.size:
        i, j = (int(v) for v in negative[0])
        raise SitingInputError(
            "cost",
            f"{len(negative)} negative entries, e.g. cost[{i}, {j}] = {arr[i, j]}",
            n_negative=len(negative),
            first=(i, j),
        )
    arr[np.isnan(arr)] = np.inf  # NaN and +inf both mean "cannot serve"
    return arr


def _as_vector(
    values: Any, name: str, length: int, *, what: str, allow_none_default: float | None = None
) -> np.ndarray:
    if values is None and allow_none_default is not None:
        return np.full(length, allow_none_default)
    try:
        arr = np.array(values, dtype=np.float64).reshape(-1) if values is not None else None
    except (TypeError, ValueError) as exc:
        raise SitingInputError(name, f"not numeric ({exc})") from None
    if arr is None or np.ndim(values) != 1 or arr.shape[0] != length:
        got = None if values is None else np.shape(values)
        raise SitingInputError(
            name, f"must have one value per {what} ({length}), got shape {got}", expected=length
        )
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        k = int(bad[0])
        raise SitingInputError(
            name,
            f"must be finite and >= 0; {bad.size} bad values, e.g. {name}[{k}] = {arr[k]}",
            bad_indices=bad[:20].tolist(),
        )
    return arr


def _as_site_set(values: Iterable[int], name: str, n_sites: int) -> np.ndarray:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise SitingInputError(name, f"site indices must be integers, got {v!r}")
        if not 0 <= int(v) < n_sites:
            raise SitingInputError(
                name, f"site index {int(v)} outside 0..{n_sites - 1}", index=int(v)
            )
        out.append(int(v))
    return np.array(sorted(set(out)), dtype=np.int64)


def _check_instance(
    cost: Any,
    demand: Any | None,
    must_open: Iterable[int],
    forbidden: Iterable[int],
    *,
    p: int | None = None,
) -> _Instance:
    arr = _as_cost(cost)
    n_demand, n_sites = arr.shape
    dem = (
        np.ones(n_demand)
        if demand is None
        else _as_vector(demand, "demand", n_demand, what="cost row")
    )
    must = _as_site_set(must_open, "must_open", n_sites)
    forb = _as_site_set(forbidden, "forbidden", n_sites)
    both = np.intersect1d(must, forb)
    if both.size:
        raise SitingInputError(
            "must_open",
            f"sites {both.tolist()} are both in must_open and forbidden",
            sites=both.tolist(),
        )
    allowed = np.setdiff1d(np.arange(n_sites), forb)
    if allowed.size == 0:
        raise SitingInputError(
            "forbidden", f"all {n_sites} candidate sites are forbidden", n_sites=n_sites
        )
    if p is not None:
        if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
            raise SitingInputError("p", f"must be an integer >= 1, got {p!r}")
        if p > n_sites:
            raise SitingInputError(
                "p",
                f"p = {p} exceeds the number of candidate sites ({n_sites})",
                p=p,
                n_sites=n_sites,
            )
        if p > allowed.size:
            raise SitingInputError(
                "p",
                f"p = {p} exceeds the {allowed.size} sites left after forbidding {forb.size}",
                p=p,
                n_allowed=int(allowed.size),
            )
        if must.size > p:
            raise SitingInputError(
                "must_open",
                f"{must.size} sites must open but p = {p}",
                n_must_open=int(must.size),
                p=p,
            )
    return _Instance(cost=arr, demand=dem, allowed=allowed, must_open=must)


def _check_radius(radius: Any) -> float:
    try:
        r = float(radius)
    except (TypeError, ValueError):
        raise SitingInputError("radius", f"must be a number, got {radius!r}") from None
    if not (math.isfinite(r) and r > 0):
        raise SitingInputError("radius", f"must be finite and > 0, got {radius!r}", radius=r)
    return r


def _require_reachable(inst: _Instance, rows: np.ndarray) -> None:
    """Every row in ``rows`` must have at least one allowed site with finite cost."""
    reach = np.isfinite(inst.cost[np.ix_(rows, inst.allowed)]).any(axis=1)
    lost = rows[~reach]
    if lost.size:
        raise SitingInputError(
            "cost",
            f"{lost.size} demand rows with demand > 0 cannot be served by any allowed site "
            f"(all costs NaN/inf): rows {lost[:20].tolist()}",
            rows=lost.tolist(),
        )


# --------------------------------------------------------------------------------------------
# Heuristics (warm starts and bounds)
# --------------------------------------------------------------------------------------------


def _finite_big(d: np.ndarray) -> tuple[np.ndarray, float]:
    """Replace ``inf`` by a penalty larger than any sum of finite costs."""
    finite = d[np.isfinite(d)]
    big = (float(finite.max()) + 1.0) * (d.shape[0] + 1) if finite.size else 1.0
    return np.where(np.isfinite(d), d, big), big


def _median_greedy_interchange(
    d: np.ndarray,
    w: np.ndarray,
    p: int,
    fixed: Sequence[int],
    seconds: float,
    start: Sequence[int] | None = None,
) -> list[int]:
    """Greedy addition then best-improvement vertex interchange for the p-median.

    ``d`` is (rows, sites) with finite entries; ``fixed`` are columns that must stay open;
    ``start`` (optional) is an initial set to complete greedily instead of ``fixed`` alone.
    The interchange evaluates all (out, in) swaps at once with the closest / second-closest
    bookkeeping of Whitaker (1983), as one matrix product per iteration.
    """
    deadline = time.perf_counter() + seconds
    n_rows, n_cols = d.shape
    big = float(d.max()) * 2 + 1.0
    initial = [int(j) for j in fixed] + ([int(j) for j in start] if start is not None else [])
    open_cols: list[int] = list(dict.fromkeys(initial))[:p]
    current = d[:, open_cols].min(axis=1) if open_cols else np.full(n_rows, big)
    while len(open_cols) < p:
        gain = w @ np.minimum(d, current[:, None])
        gain[open_cols] = np.inf
        j = int(np.argmin(gain))
        open_cols.append(j)
        current = np.minimum(current, d[:, j])

    fixed_set = set(fixed)
    is_open = np.zeros(n_cols, dtype=bool)
    is_open[open_cols] = True
    value = float(w @ current)
    while time.perf_counter() < deadline and p < n_cols:
        cols = np.flatnonzero(is_open)
        sub = d[:, cols]
        order = np.argsort(sub, axis=1, kind="stable")
        c1 = cols[order[:, 0]]
        d1 = sub[np.arange(n_rows), order[:, 0]]
        d2 = sub[np.arange(n_rows), order[:, 1]] if cols.size > 1 else np.full(n_rows, big)
        near1 = np.minimum(d, d1[:, None])
        base = w @ near1  # cost if column j is added and nothing removed
        loss = w[:, None] * (np.minimum(d, d2[:, None]) - near1)  # extra cost when c1_i leaves
        owner = np.zeros((cols.size, n_rows))
        owner[np.searchsorted(cols, c1), np.arange(n_rows)] = 1.0
        swap = base[None, :] + owner @ loss  # swap[r, j]: remove cols[r], add j
        swap[:, is_open] = np.inf
        for r, col in enumerate(cols):
            if col in fixed_set:
                swap[r, :] = np.inf
        r, j = np.unravel_index(int(np.argmin(swap)), swap.shape)
        if not swap[r, j] < value - 1e-9 * max(1.0, abs(value)):
            break
        is_open[cols[r]] = False
        is_open[j] = True
        value = float(swap[r, j])
    return sorted(np.flatnonzero(is_open).tolist())


def _greedy_cover(
    covers: np.ndarray, site_cost: np.ndarray, fixed: Sequence[int]
) -> list[int] | None:
    """Chvátal's greedy set cover on a boolean (rows, sites) matrix; ``None`` if impossible."""
    chosen = list(fixed)
    uncovered = ~covers[:, chosen].any(axis=1) if chosen else np.ones(covers.shape[0], bool)
    while uncovered.any():
        count = covers[uncovered].sum(axis=0).astype(float)
        count[chosen] = 0
        if count.max() <= 0:
            return None
        ratio = np.where(count > 0, site_cost / np.maximum(count, 1e-12), np.inf)
        ratio = np.where(site_cost <= 0, -count, ratio)  # free sites first
        j = int(np.argmin(ratio))
        chosen.append(j)
        uncovered &= ~covers[:, j]
    return sorted(set(chosen))


def _farthest_first_center(d: np.ndarray, p: int, fixed: Sequence[int]) -> list[int]:
    """Gonzalez-style: repeatedly open the site nearest to the worst-served row."""
    chosen = list(fixed)
    if not chosen:
        chosen.append(int(np.argmin(d.max(axis=0))))
    current = d[:, chosen].min(axis=1)
    while len(chosen) < p:
        worst = int(np.argmax(current))
        row = d[worst].copy()
        row[chosen] = np.inf
        j = int(np.argmin(row))
        chosen.append(j)
        current = np.minimum(current, d[:, j])
    return sorted(chosen)


def _nearest_open(cost: np.ndarray, open_sites: Sequence[int]) -> np.ndarray:
    """Index of the cheapest open site per row (ties → lowest index), ``-1`` if unreachable."""
    if not open_sites:
        return np.full(cost.shape[0], -1, dtype=np.int64)
    cols = np.asarray(sorted(open_sites), dtype=np.int64)
    sub = cost[:, cols]
    best = cols[np.argmin(sub, axis=1)]
    best[~np.isfinite(sub).any(axis=1)] = -1
    return best


def _params(params: SolverParams | None, solver: str, time_limit: float | None) -> SolverParams:
    return resolve_params(params, solver=solver, time_limit=time_limit)


def _model_details(model: LinearModel, solved: SolveResult) -> dict[str, Any]:
    return {
        "model": model.summary(),
        "n_vars": model.num_vars,
        "n_constraints": model.num_constraints,
        "n_nonzeros": model.num_nonzeros,
        "solver_seconds": solved.solve_seconds,
        "solver_objective": solved.objective,
    }


# --------------------------------------------------------------------------------------------
# p-median
# --------------------------------------------------------------------------------------------


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


@dataclass
class _LagrangianCut:
    """Root Lagrangian bound and the sites it fixes (Beasley 1993 penalty tests)."""

    lower_bound: float
    step: float
    close: np.ndarray  # sites that cannot open in any solution better than the warm start
    open: np.ndarray  # sites that must open in any solution better than the warm start
    fixing_bound: float  # least bound among the excluded branches (inf if none)
    iterations: int
    seconds: float
    row_radius: np.ndarray | None = None  # per model row: served within this cost (inf: no cap)
    improved: list[int] | None = None  # sites of a solution better than the warm start
    upper: float = math.inf  # value of the best solution known (warm start or improved)
    multipliers: np.ndarray | None = None  # best lambda, one per model row
    tree_nodes: int = 0  # nodes of the Lagrangian tree search (0: not run)
    tree_seconds: float = 0.0

    @classmethod
    def nothing(cls, step: float) -> _LagrangianCut:
        empty = np.empty(0, dtype=np.int64)
        return cls(-math.inf, step, empty, empty, math.inf, 0, 0.0)

    def proves(self, upper: float) -> bool:
        return self.lower_bound > upper - self.step

    def apply(self, inst: _Instance) -> _Instance:
        if not (self.close.size or self.open.size):
            return inst
        return _Instance(
            cost=inst.cost,
            demand=inst.demand,
            allowed=np.setdiff1d(inst.allowed, self.close),
            must_open=np.union1d(inst.must_open, self.open).astype(np.int64),
        )

    def details(self) -> dict[str, Any]:
        return {
            "lagrangian_bound": self.lower_bound,
            "lagrangian_iterations": self.iterations,
            "lagrangian_seconds": self.seconds,
            "fixed_closed": int(self.close.size),
            "fixed_open": int(self.open.size),
            "rows_capped": 0
            if self.row_radius is None
            else int(np.isfinite(self.row_radius).sum()),
            "tree_nodes": self.tree_nodes,
            "tree_seconds": self.tree_seconds,
        }


def _lagrangian_reduction(
    inst: _Instance, rows: np.ndarray, p: int, upper: float, step: float
) -> _LagrangianCut:
    r"""Subgradient optimisation of the Lagrangian dual, then variable fixing.

    Relaxing :math:`\sum_j x_{ij} = 1` with multipliers :math:`\lambda_i` gives
    :math:`L(\lambda) = \sum_i \lambda_i + \min_{|S| = p} \sum_{j \in S} \rho_j`,
    :math:`\rho_j = \sum_i \min(0, w_i c_{ij} - \lambda_i)` — a lower bound for every
    :math:`\lambda`.  With the best :math:`\lambda`, a closed site :math:`j` is fixed closed if
    opening it instead of the worst chosen site lifts the bound above ``upper - step``, and a
    chosen site is fixed open if swapping it for the best unchosen one does.
    """
    started = time.perf_counter()
    allowed = inst.allowed
    fixed = np.isin(allowed, inst.must_open)
    free = np.flatnonzero(~fixed)
    n_free_open = p - int(fixed.sum())
    empty = np.empty(0, dtype=np.int64)
    if not rows.size or not math.isfinite(upper) or n_free_open <= 0 or free.size <= n_free_open:
        return _LagrangianCut(-math.inf, step, empty, empty, math.inf, 0, 0.0)
    weighted = inst.demand[rows, None] * inst.cost[np.ix_(rows, allowed)]
    weighted, big = _finite_big(weighted)
    if upper >= big:
        return _LagrangianCut(-math.inf, step, empty, empty, math.inf, 0, 0.0)
    two = np.partition(weighted, 1, axis=1)[:, :2] if allowed.size > 1 else weighted[:, :1]
    lam = two[:, -1].copy()
    best_bound, best_lam = -math.inf, lam.copy()
    scale, stale, iterations = 2.0, 0, 0
    relaxed: dict[tuple[int, ...], float] = {}  # relaxed choice -> its value as a solution
    improved: list[int] | None = None  # a better solution than the warm start, if found
    budget = min(_LAGRANGIAN_SECONDS, 0.5 + 1e-5 * weighted.size)
    while time.perf_counter() - started < budget and iterations < 3000:
        iterations += 1
        reduced = np.minimum(weighted - lam[:, None], 0.0)
        rho = reduced.sum(axis=0)
        chosen = np.concatenate(
            [np.flatnonzero(fixed), free[np.argpartition(rho[free], n_free_open - 1)[:n_free_open]]]
        )
        bound = float(lam.sum() + rho[chosen].sum())
        # Lagrangian heuristic: every relaxed choice is a solution; the best are polished below
        relaxed[tuple(sorted(chosen.tolist()))] = float(weighted[:, chosen].min(axis=1).sum())
        if bound > best_bound + 1e-9 * max(1.0, abs(bound)):
            best_bound, best_lam, stale = bound, lam.copy(), 0
        else:
            stale += 1
        if best_bound > upper - step:
            break
        if stale >= 25:
            scale, stale = scale / 2, 0
            if scale < 1e-3:
                break
        subgradient = 1.0 - (reduced[:, chosen] < 0).sum(axis=1)
        norm = float(subgradient @ subgradient)
        if norm == 0:
            break
        lam = lam + scale * (upper - bound) / norm * subgradient

    if best_bound <= upper - step:
        polish_until = time.perf_counter() + min(_POLISH_SECONDS, 0.2 + 2e-6 * weighted.size)
        for key in sorted(relaxed, key=relaxed.__getitem__)[:_POLISH_CANDIDATES]:
            if time.perf_counter() > polish_until:
                break
            polished = _median_greedy_interchange(
                weighted,
                np.ones(weighted.shape[0]),
                p,
                np.flatnonzero(fixed),
                polish_until - time.perf_counter(),
                key,
            )
            value = float(weighted[:, polished].min(axis=1).sum())
            if value < upper - step:
                upper, improved = value, [int(allowed[k]) for k in polished]
                if best_bound > upper - step:
                    break

    # penalty tests with the best multipliers
    rho = np.minimum(weighted - best_lam[:, None], 0.0).sum(axis=0)
    order = free[np.argsort(rho[free], kind="stable")]
    inside, outside = order[:n_free_open], order[n_free_open:]
    worst_inside = rho[inside[-1]]
    best_outside = rho[outside[0]] if outside.size else math.inf
    open_bound = best_bound + rho[outside] - worst_inside  # bound if j opens instead
    close_bound = best_bound - rho[inside] + best_outside  # bound if j stays closed
    close_mask = open_bound > upper - step
    open_mask = close_bound > upper - step
    excluded = np.concatenate([open_bound[close_mask], close_bound[open_mask]])
    row_radius, row_bound = _row_service_radius(
        inst.cost[np.ix_(rows, allowed)], rho, fixed, n_free_open, best_bound, upper - step
    )
    fixing_bound = min(float(excluded.min()) if excluded.size else math.inf, row_bound)
    return _LagrangianCut(
        lower_bound=best_bound,
        step=step,
        close=allowed[outside[close_mask]],
        open=allowed[inside[open_mask]],
        fixing_bound=fixing_bound,
        iterations=iterations,
        seconds=time.perf_counter() - started,
        row_radius=row_radius,
        improved=improved,
        upper=upper,
        multipliers=best_lam,
    )


def _row_service_radius(
    cost: np.ndarray,
    rho: np.ndarray,
    fixed: np.ndarray,
    n_free_open: int,
    bound: float,
    threshold: float,
) -> tuple[np.ndarray, float]:
    """Per row, a cost within which it is served in every solution better than the warm start.

    Forbidding every site within cost ``D`` of row ``i`` turns the Lagrangian subproblem into
    "the ``n_free_open`` smallest :math:`\\rho_j` among the sites farther than ``D``"; once that
    bound exceeds ``threshold`` row ``i`` must be served within ``D``.  Returns the radii
    (``inf``: no cap) and the least bound among the cut-off branches.
    """
    n_rows = cost.shape[0]
    radius = np.full(n_rows, np.inf)
    cut_bound = math.inf
    free = np.flatnonzero(~fixed)
    base = bound - float(np.sort(rho[free])[:n_free_open].sum())  # sum(lambda) + fixed rho
    by_rho = free[np.argsort(rho[free], kind="stable")]
    rho_sorted = rho[by_rho]
    for i in range(n_rows):
        c = cost[i]
        levels = np.unique(c[np.isfinite(c)])
        if levels.size < 2 or np.isfinite(c[fixed]).any() and c[fixed].min() <= levels[0]:
            continue
        # level index at which each free site (in rho order) becomes forbidden
        site_level = np.searchsorted(levels, c[by_rho])  # inf -> levels.size (never)
        allowed_at = site_level[None, :] > np.arange(levels.size)[:, None]
        rank = np.cumsum(allowed_at, axis=1)
        take = allowed_at & (rank <= n_free_open)
        sums = take.astype(float) @ rho_sorted
        feasible = take.sum(axis=1) == n_free_open
        level_bound = np.where(feasible, base + sums, np.inf)
        over = np.flatnonzero(level_bound > threshold)
        if over.size:
            k = int(over[0])
            radius[i] = levels[k]
            cut_bound = min(cut_bound, float(level_bound[k]))
    return radius, cut_bound


@dataclass
class _TreeResult:
    """Outcome of the Lagrangian tree search below the root reduction."""

    finished: bool  # every branch that could beat ``upper`` was explored and pruned
    upper: float
    improved: list[int] | None  # sites (instance columns) of a better solution, if found
    bound: float  # least bound among pruned branches (inf if none)
    nodes: int
    seconds: float


def _lagrangian_tree(
    inst: _Instance,
    rows: np.ndarray,
    p: int,
    upper: float,
    cut: _LagrangianCut,
    seconds: float,
) -> _TreeResult:
    r"""Depth-first Lagrangian branch and bound on the open/closed state of the sites.

    Each node fixes some sites open or closed and bounds the best solution below it by the same
    Lagrangian relaxation as the root (multipliers inherited from the parent, a few subgradient
    steps); nodes whose bound exceeds ``upper - step`` are pruned, Beasley's penalty tests fix
    further sites, and the relaxed choice of every step is tried as a solution.  Branching opens
    / closes the chosen free site whose closing costs most.  Rows capped by ``cut.row_radius``
    may only be served within their radius (every better solution does so).
    """
    started = time.perf_counter()
    deadline = started + seconds
    allowed = inst.allowed
    step = cut.step
    actual, big = _finite_big(inst.demand[rows, None] * inst.cost[np.ix_(rows, allowed)])
    weighted = actual  # for the bounds: rows capped by the root may not be served beyond
    if cut.row_radius is not None:
        beyond = inst.cost[np.ix_(rows, allowed)] > cut.row_radius[:, None]
        weighted = np.where(beyond, big, actual)
    lam0 = cut.multipliers
    state0 = np.zeros(allowed.size, dtype=np.int8)  # 0 free, 1 open, -1 closed
    state0[np.isin(allowed, inst.must_open)] = 1
    improved: list[int] | None = None
    least_pruned = math.inf
    nodes = 0
    # stack entries: (state, multipliers, parent bound)
    stack: list[tuple[np.ndarray, np.ndarray, float]] = [(state0, lam0, cut.lower_bound)]
    while stack:
        if time.perf_counter() > deadline:
            pending = min(entry[2] for entry in stack)
            return _TreeResult(
                False,
                upper,
                improved,
                min(least_pruned, pending),
                nodes,
                time.perf_counter() - started,
            )
        state, lam, _ = stack.pop()
        nodes += 1
        result = _tree_node(weighted, actual, state, lam, p, upper, step, nodes == 1)
        if result.value < upper - step:
            upper = result.value
            improved = [int(allowed[j]) for j in result.solution]
        if result.pruned:
            least_pruned = min(least_pruned, result.bound)
            continue
        j = result.branch
        closed, opened = result.state.copy(), result.state.copy()
        closed[j], opened[j] = -1, 1
        stack.append((closed, result.lam, result.bound))
        stack.append((opened, result.lam, result.bound))
    return _TreeResult(True, upper, improved, least_pruned, nodes, time.perf_counter() - started)


@dataclass
class _NodeResult:
    pruned: bool
    bound: float
    lam: np.ndarray
    state: np.ndarray
    branch: int
    value: float  # best solution value seen at this node (inf if none)
    solution: np.ndarray


def _tree_node(
    weighted: np.ndarray,
    actual: np.ndarray,
    state: np.ndarray,
    lam: np.ndarray,
    p: int,
    upper: float,
    step: float,
    root: bool,
) -> _NodeResult:
    """Bound one node of :func:`_lagrangian_tree`; fix sites by penalties; choose a branch.

    ``weighted`` (capped rows) gives the bounds, ``actual`` the values of tried solutions.
    """
    state = state.copy()
    best_value, best_solution = math.inf, np.empty(0, dtype=np.int64)
    best_bound, best_lam = -math.inf, lam
    steps: int | None = None  # subgradient steps of this round (fewer after penalty fixing)
    while True:  # re-bound after penalty fixing (each round fixes at least one site)
        active = np.flatnonzero(state >= 0)
        forced = np.flatnonzero(state[active] == 1)
        free = np.flatnonzero(state[active] == 0)
        k = p - forced.size
        if k < 0 or free.size < k:
            return _NodeResult(True, math.inf, lam, state, -1, best_value, best_solution)
        sub = weighted[:, active]
        if k == 0 or free.size == k:  # a leaf: the open sites are known
            chosen = forced if k == 0 else np.concatenate([forced, free])
            value = float(actual[:, active[chosen]].min(axis=1).sum())
            if value < best_value:
                best_value, best_solution = value, active[chosen]
            return _NodeResult(True, math.inf, lam, state, -1, best_value, best_solution)
        scale, stale = (2.0 if root else 1.0), 0
        best_bound, best_lam = -math.inf, lam
        steps = (
            _TREE_STEPS_REFIX if steps is not None else _TREE_STEPS_ROOT if root else _TREE_STEPS
        )
        threshold = min(upper, best_value) - step
        reduced = np.empty_like(sub)  # min(w_ij - lambda_i, 0), computed in place
        for _ in range(steps):
            np.subtract(sub, lam[:, None], out=reduced)
            np.minimum(reduced, 0.0, out=reduced)
            rho = reduced.sum(axis=0)
            pick = free[np.argpartition(rho[free], k - 1)[:k]]
            chosen = np.concatenate([forced, pick])
            bound = float(lam.sum() + rho[chosen].sum())
            value = float(actual[:, active[chosen]].min(axis=1).sum())
            if value < best_value:
                best_value, best_solution = value, active[chosen]
                threshold = min(upper, best_value) - step
            if bound > best_bound + 1e-9 * max(1.0, abs(bound)):
                best_bound, best_lam, stale = bound, lam, 0
            else:
                stale += 1
            if best_bound > threshold:
                return _NodeResult(True, best_bound, best_lam, state, -1, best_value, best_solution)
            if stale >= 5:
                scale, stale = scale / 2, 0
                if scale < 0.01:
                    break
            subgradient = 1.0 - (reduced[:, chosen] < 0).sum(axis=1)
            norm = float(subgradient @ subgradient)
            if norm == 0:
                break
            lam = lam + scale * (min(upper, best_value) - bound) / norm * subgradient
        # penalty tests at the best multipliers of this node
        rho = np.minimum(sub - best_lam[:, None], 0.0).sum(axis=0)
        order = free[np.argsort(rho[free], kind="stable")]
        inside, outside = order[:k], order[k:]
        close_bound = best_bound - rho[inside] + rho[outside[0]]
        open_bound = best_bound + rho[outside] - rho[inside[-1]]
        to_close = outside[open_bound > threshold]
        to_open = inside[close_bound > threshold]
        if not (to_close.size or to_open.size):
            branch = int(active[inside[int(np.argmax(close_bound))]])
            return _NodeResult(
                False, best_bound, best_lam, state, branch, best_value, best_solution
            )
        state[active[to_close]] = -1
        state[active[to_open]] = 1
        lam = best_lam


def _row_costs(inst: _Instance, rows: np.ndarray, open_sites: Sequence[int]) -> np.ndarray:
    return inst.cost[np.ix_(rows, np.asarray(open_sites, dtype=np.int64))].min(axis=1)


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


def _open_from(y: dict[int, Var], solved: SolveResult) -> list[int]:
    if solved.values is None:
        return []
    return sorted(j for j, var in y.items() if solved.values[var.index] > 0.5)


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


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    return abs(objective - bound) / max(abs(objective), 1e-10)


# --------------------------------------------------------------------------------------------
# Set covering (also the feasibility oracle of the p-center)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Maximal covering
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Capacitated facility location
# --------------------------------------------------------------------------------------------


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

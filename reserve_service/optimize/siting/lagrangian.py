"""The Lagrangian search of the p-median: subgradient bound, reduction and tree."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import _Instance
from .heuristics import _finite_big, _median_greedy_interchange
from .tuning import (
    _LAGRANGIAN_SECONDS,
    _POLISH_CANDIDATES,
    _POLISH_SECONDS,
    _TREE_STEPS,
    _TREE_STEPS_REFIX,
    _TREE_STEPS_ROOT,
)


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

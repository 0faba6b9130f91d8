"""Heuristics (warm starts and bounds) and small helpers shared by the models."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from reserve_service.optimize.solvers import (
    LinearModel,
    SolveResult,
    SolverParams,
    Var,
    resolve_params,
)

from .checks import _Instance


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

def _row_costs(inst: _Instance, rows: np.ndarray, open_sites: Sequence[int]) -> np.ndarray:
    return inst.cost[np.ix_(rows, np.asarray(open_sites, dtype=np.int64))].min(axis=1)


def _open_from(y: dict[int, Var], solved: SolveResult) -> list[int]:
    if solved.values is None:
        return []
    return sorted(j for j, var in y.items() if solved.values[var.index] > 0.5)

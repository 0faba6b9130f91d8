"""Input checks: costs, demand, site sets and radii, checked before any model is built."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .result import SitingInputError


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

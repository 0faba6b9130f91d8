"""Siting models against brute-force enumeration on small seeded random instances.

Each case draws a random cost matrix (some entries unreachable = NaN / inf), random demand and
random must-open / forbidden sets, enumerates every admissible set of open sites, and compares
the optimum with what the model proves.  Backends rotate with the seed so every family is hit.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from reserve_service.optimize import siting

BACKENDS = ["highs", "cbc", "ortools"]
SEEDS = range(12)


def _instance(seed: int, n_demand: int = 9, n_sites: int = 7, unreachable: float = 0.1):
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 60, size=(n_demand, n_sites)).astype(float)
    cost[rng.random(cost.shape) < unreachable] = np.nan if seed % 2 else np.inf
    demand = rng.integers(0, 10, size=n_demand).astype(float)
    demand[0] = max(demand[0], 1.0)
    sites = rng.permutation(n_sites)
    must_open = sorted(sites[: seed % 2].tolist())
    forbidden = sorted(sites[1 : 1 + (seed % 3)].tolist())
    return rng, cost, demand, must_open, forbidden


def _admissible(n_sites: int, p: int, must_open, forbidden):
    allowed = [j for j in range(n_sites) if j not in forbidden]
    for subset in itertools.combinations(allowed, p):
        if set(must_open) <= set(subset):
            yield list(subset)


def _nearest(cost: np.ndarray, subset) -> np.ndarray:
    return np.nan_to_num(cost[:, subset], nan=np.inf).min(axis=1)


@pytest.mark.parametrize("seed", SEEDS)
def test_p_median_matches_enumeration(seed: int) -> None:
    rng, cost, demand, must_open, forbidden = _instance(seed)
    p = int(rng.integers(max(1, len(must_open)), 4))
    active = demand > 0
    best = math.inf
    for subset in _admissible(cost.shape[1], p, must_open, forbidden):
        served = _nearest(cost, subset)[active]
        if np.all(np.isfinite(served)):
            best = min(
                best, sum(float(a) * float(b) for a, b in zip(demand[active], served, strict=True))
            )

    result = siting.p_median(
        cost, demand, p, must_open=must_open, forbidden=forbidden, solver=BACKENDS[seed % 3]
    )

    if math.isinf(best):
        assert result.status == "infeasible"
        return
    assert result.status == "optimal"
    assert result.objective == pytest.approx(best)
    assert set(must_open) <= set(result.open) and not set(forbidden) & set(result.open)
    assert len(result.open) == p


@pytest.mark.parametrize("seed", SEEDS)
def test_p_center_matches_enumeration(seed: int) -> None:
    rng, cost, demand, must_open, forbidden = _instance(seed + 100)
    p = int(rng.integers(max(1, len(must_open)), 4))
    active = demand > 0
    best = math.inf
    for subset in _admissible(cost.shape[1], p, must_open, forbidden):
        best = min(best, float(_nearest(cost, subset)[active].max()))

    try:
        result = siting.p_center(
            cost, demand, p, must_open=must_open, forbidden=forbidden, solver=BACKENDS[seed % 3]
        )
    except siting.SitingInputError as exc:  # some active row has no allowed site at all
        assert math.isinf(best) and exc.field == "cost"
        return
    if math.isinf(best):
        assert result.status == "infeasible"
        return
    assert result.status == "optimal"
    assert result.objective == pytest.approx(best)
    assert result.bound == pytest.approx(best)
    assert set(must_open) <= set(result.open) and not set(forbidden) & set(result.open)


@pytest.mark.parametrize("seed", SEEDS)
def test_max_cover_matches_enumeration(seed: int) -> None:
    rng, cost, demand, must_open, forbidden = _instance(seed + 200)
    p = int(rng.integers(max(1, len(must_open)), 4))
    radius = float(rng.integers(10, 40))
    best = max(
        float(demand[_nearest(cost, subset) <= radius].sum())
        for subset in _admissible(cost.shape[1], p, must_open, forbidden)
    )

    result = siting.max_cover(
        cost, demand, p, radius, must_open=must_open, forbidden=forbidden, solver=BACKENDS[seed % 3]
    )

    assert result.status == "optimal"
    assert result.objective == pytest.approx(best)
    assert result.coverage["covered_demand"] == pytest.approx(best)
    assert set(must_open) <= set(result.open) and not set(forbidden) & set(result.open)


@pytest.mark.parametrize("seed", SEEDS)
def test_set_cover_matches_enumeration(seed: int) -> None:
    rng, cost, _, must_open, forbidden = _instance(seed + 300, unreachable=0.05)
    radius = float(rng.integers(25, 50))
    site_cost = rng.integers(1, 5, size=cost.shape[1]).astype(float) if seed % 2 else None
    weights = np.ones(cost.shape[1]) if site_cost is None else site_cost
    best = math.inf
    allowed = [j for j in range(cost.shape[1]) if j not in forbidden]
    for size in range(1, len(allowed) + 1):
        for subset in itertools.combinations(allowed, size):
            if set(must_open) <= set(subset) and np.all(_nearest(cost, list(subset)) <= radius):
                best = min(best, float(weights[list(subset)].sum()))

    call = dict(site_cost=site_cost, must_open=must_open, forbidden=forbidden)
    if math.isinf(best):
        with pytest.raises(siting.SitingInputError) as info:
            siting.set_cover(cost, radius, **call)
        assert info.value.field == "radius"
        return
    result = siting.set_cover(cost, radius, solver=BACKENDS[seed % 3], **call)

    assert result.status == "optimal"
    assert result.objective == pytest.approx(best)
    assert result.coverage["fraction"] == 1.0


@pytest.mark.parametrize("seed", range(6))
def test_single_source_capacitated_matches_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed + 400)
    n, m = 5, 4
    cost = rng.integers(1, 30, size=(n, m)).astype(float)
    demand = rng.integers(1, 8, size=n).astype(float)
    capacity = rng.integers(8, 20, size=m).astype(float)
    fixed = rng.integers(5, 40, size=m).astype(float)
    budget = float(fixed.sum() - fixed.min()) if seed % 2 else None
    best = math.inf
    for sites in itertools.product(range(m), repeat=n):
        load = np.bincount(sites, weights=demand, minlength=m)
        used = sorted(set(sites))
        if np.any(load > capacity) or (budget is not None and fixed[used].sum() > budget):
            continue
        best = min(best, float(fixed[used].sum() + cost[np.arange(n), sites].sum()))

    result = siting.capacitated(
        cost, demand, capacity, fixed, single_source=True, budget=budget, solver=BACKENDS[seed % 3]
    )

    assert result.status == "optimal"
    assert result.objective == pytest.approx(best)
    assert all(j in result.open for j in result.assign)


def test_cpsat_backend_agrees_on_set_cover() -> None:
    _, cost, _, must_open, forbidden = _instance(7, unreachable=0.0)
    a = siting.set_cover(cost, 40.0, must_open=must_open, forbidden=forbidden, solver="cpsat")
    b = siting.set_cover(cost, 40.0, must_open=must_open, forbidden=forbidden, solver="highs")
    assert a.status == b.status == "optimal"
    assert a.objective == b.objective

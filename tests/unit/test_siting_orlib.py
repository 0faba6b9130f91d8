"""Siting models against published OR-Library optima (pmed: Beasley 1985, cap: Beasley 1988).

Instance files and optima tables are read from ``$SHARED_BENCHMARKS`` (default: the repo's
``benchmarks/data``).  Each instance is solved by a PuLP backend and by OR-Tools.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from reserve_service.optimize import siting
from reserve_service.optimize.orlib import read_cap, read_pmed

DATA = Path(
    os.environ.get("SHARED_BENCHMARKS", Path(__file__).resolve().parents[2] / "benchmarks" / "data")
)


def _table(name: str) -> dict[str, dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return {row["instance"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def pmed_optima() -> dict[str, dict[str, str]]:
    """instance -> row of pmed_optima.csv (n, edges, p, optimum)."""
    return _table("pmed_optima.csv")


@pytest.fixture(scope="session")
def cap_optima() -> dict[str, dict[str, str]]:
    """instance -> row of cap_optima.csv (file, capacity_override, optimum)."""
    return _table("cap_optima.csv")


@pytest.mark.parametrize("solver", ["cbc", "ortools"])
@pytest.mark.parametrize("name", ["pmed1", "pmed2", "pmed3", "pmed4", "pmed5"])
def test_pmed_reaches_published_optimum(name: str, solver: str, pmed_optima) -> None:
    row = pmed_optima[name]
    inst = read_pmed(DATA / "pmed" / f"{name}.txt")
    assert (inst.n, inst.p) == (int(row["n"]), int(row["p"]))

    result = siting.p_median(inst.cost, inst.demand, inst.p, solver=solver, time_limit=60)

    assert result.status == "optimal"
    assert result.solver in ("lagrangian", {"cbc": "pulp-cbc", "ortools": "ortools-scip"}[solver])
    assert result.objective == pytest.approx(float(row["optimum"]), abs=1e-6)
    assert result.bound == pytest.approx(result.objective, abs=1e-6)
    assert len(result.open) == inst.p
    # the reported objective is the cost of the reported sites
    assert inst.cost[np.arange(inst.n), result.assign].sum() == pytest.approx(result.objective)


@pytest.mark.parametrize("solver", ["cbc", "highs", "ortools"])
@pytest.mark.parametrize("name", ["pmed1", "pmed4"])
def test_pmed_full_formulation_without_reduction(name: str, solver: str, pmed_optima) -> None:
    """The plain MIP (no Lagrangian fixing) proves the optimum by itself with every backend."""
    inst = read_pmed(DATA / "pmed" / f"{name}.txt")

    result = siting.p_median(
        inst.cost, inst.demand, inst.p, solver=solver, time_limit=60, reduce=False
    )

    assert result.status == "optimal"
    assert result.solver.endswith({"cbc": "cbc", "highs": "highs", "ortools": "scip"}[solver])
    assert result.objective == pytest.approx(float(pmed_optima[name]["optimum"]), abs=1e-6)
    assert result.bound == pytest.approx(result.objective, abs=1e-6)


@pytest.mark.parametrize("solver", ["highs", "ortools"])
@pytest.mark.parametrize("name", ["cap41", "cap44", "cap51", "cap71", "cap72", "cap73", "cap74"])
def test_cap_reaches_published_optimum(name: str, solver: str, cap_optima) -> None:
    row = cap_optima[name]
    inst = read_cap(DATA / row["file"])
    assert (inst.n_warehouses, inst.n_customers) == (
        int(row["m_facilities"]),
        int(row["n_customers"]),
    )

    result = siting.capacitated(
        inst.cost, inst.demand, inst.capacity, inst.fixed_cost, solver=solver, time_limit=60
    )

    assert result.status == "optimal"
    # capopt.txt prints 3 decimals and notes rounding differences between machines
    assert result.objective == pytest.approx(float(row["optimum"]), abs=2e-3)
    flows = np.asarray(result.assign)
    np.testing.assert_allclose(flows.sum(axis=1), inst.demand, rtol=1e-6)
    assert np.all(flows.sum(axis=0) <= inst.capacity * (1 + 1e-6))


def test_read_pmed_later_duplicate_edge_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "dup.txt"
    # edge {1,2} appears twice: 5 then 9 -> the later 9 counts; 1-3-2 costs 4 + 4 = 8
    path.write_text(" 3 4 1\n 1 2 5\n 2 3 4\n 1 3 4\n 2 1 9\n")
    inst = read_pmed(path)
    assert inst.cost[0, 1] == inst.cost[1, 0] == 8
    assert inst.cost[0, 2] == 4
    assert np.all(np.diag(inst.cost) == 0)


def test_read_cap_needs_capacity_override_for_word_capacity(tmp_path: Path) -> None:
    path = tmp_path / "capx.txt"
    path.write_text("2 1\n capacity 10.\n capacity 20.\n 5 1.5 2.5\n")
    with pytest.raises(ValueError, match="capacity_override"):
        read_cap(path)
    inst = read_cap(path, capacity_override=7)
    assert inst.capacity.tolist() == [7, 7]
    assert inst.fixed_cost.tolist() == [10, 20]
    assert inst.demand.tolist() == [5]
    assert inst.cost.tolist() == [[1.5, 2.5]]


@pytest.mark.parametrize("name", ["pmed22", "pmed35"])
def test_pmed_small_p_proved_by_lagrangian_tree(name: str, pmed_optima) -> None:
    """Small p, LP gap ~1 %: the Lagrangian tree search proves the optimum without a MIP."""
    inst = read_pmed(DATA / "pmed" / f"{name}.txt")

    result = siting.p_median(inst.cost, inst.demand, inst.p, solver="ortools", time_limit=60)

    assert result.status == "optimal"
    assert result.objective == pytest.approx(float(pmed_optima[name]["optimum"]), abs=1e-6)
    assert result.bound == pytest.approx(result.objective, abs=1e-6)
    assert result.solve_seconds < 60
    assert result.details["tree_nodes"] > 0


@pytest.mark.parametrize("seed", range(12))
def test_pmed_lagrangian_tree_matches_enumeration(seed: int) -> None:
    """From a poor incumbent, the tree search finds and proves the enumerated optimum (p sites)."""
    from itertools import combinations

    rng = np.random.default_rng(seed)
    n, p = 22, int(rng.integers(2, 5))
    xy = rng.integers(0, 100, size=(n, 2))
    cost = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2).astype(float)
    demand = rng.integers(1, 5, size=n).astype(float)
    best = min(float(demand @ cost[:, list(s)].min(axis=1)) for s in combinations(range(n), p))
    inst = siting.checks._check_instance(cost, demand, (), (), p=p)
    rows = np.arange(n)
    poor = list(range(p))
    upper = float(demand @ cost[:, poor].min(axis=1))

    cut = siting.lagrangian._lagrangian_reduction(inst, rows, p, upper, 1 - 1e-6)
    sites, upper = (cut.improved, cut.upper) if cut.improved is not None else (poor, upper)
    tree = siting.lagrangian._lagrangian_tree(cut.apply(inst), rows, p, upper, cut, 30.0)
    if tree.improved is not None:
        sites, upper = tree.improved, tree.upper

    assert tree.finished
    assert len(set(sites)) == p
    assert upper == pytest.approx(best, abs=1e-6)
    assert float(demand @ cost[:, sites].min(axis=1)) == pytest.approx(best, abs=1e-6)
    assert min(cut.lower_bound, tree.bound) <= best + 1e-6

    result = siting.p_median(cost, demand, p, solver="highs", time_limit=60)
    assert result.status == "optimal"
    assert len(result.open) == p
    assert result.objective == pytest.approx(best, abs=1e-6)

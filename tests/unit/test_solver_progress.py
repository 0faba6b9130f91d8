"""Solver hooks: a monitor hears the bound and incumbent while a MIP runs, and stopping it
returns the solve within a second or two with the incumbent and status ``time_limit``."""

from __future__ import annotations

import time

import numpy as np
import pytest

from reserve_service.optimize.monitor import watching
from reserve_service.optimize.solvers import LinearModel, LinExpr, SolverParams


class StopAfter:
    """A monitor that records every report and asks to stop ``seconds`` after it was made."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.reports: list[tuple[str, dict]] = []

    def report(self, stage, fraction=None, **figures):
        self.reports.append((stage, figures))

    def should_stop(self) -> bool:
        return time.monotonic() > self.deadline


def market_split(m: int = 4, n: int = 32, seed: int = 7) -> LinearModel:
    """Cornuéjols–Dawande market split as slack minimisation: the LP bound is 0 and branch and
    bound needs far more than the few seconds given here to close the gap."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 100, size=(m, n))
    model = LinearModel("market-split")
    x = model.add_vars(n, kind="binary", prefix="x")
    over = model.add_vars(m, lb=0, ub=10_000, kind="integer", prefix="over")
    under = model.add_vars(m, lb=0, ub=10_000, kind="integer", prefix="under")
    for i in range(m):
        row = LinExpr.weighted(x, a[i].tolist()) + over[i] - under[i]
        model.add_constraint(row == int(a[i].sum() // 2), name=f"split_{i}")
    model.minimize(LinExpr.total([*over, *under]))
    return model


@pytest.mark.parametrize("solver", ["highs", "cbc", "ortools", "cpsat"])
def test_a_stopped_solve_returns_its_incumbent_quickly(solver):
    # CBC prints its first bound after the root node (0.4 s on an idle machine)
    monitor = StopAfter(3.0 if solver == "cbc" else 1.0)
    started = time.monotonic()
    result = market_split().solve(SolverParams(solver=solver, time_limit=60, monitor=monitor))
    # CP-SAT itself takes ~3 s to honour a 1 s time limit of its own on this model here
    assert time.monotonic() - started < (15 if solver == "cpsat" else 10)
    assert result.status == "time_limit"
    if solver != "ortools":  # pywraplp reports nothing while it runs
        figures = [f for _, f in monitor.reports if f.get("bound") is not None]
        assert figures, monitor.reports[:3]
        assert figures[-1]["bound"] >= -1e-6


def test_the_running_jobs_monitor_is_found_without_being_passed():
    monitor = StopAfter(0.5)
    with watching(monitor):
        result = market_split().solve(SolverParams(solver="highs", time_limit=60))
    assert result.status == "time_limit" and monitor.reports

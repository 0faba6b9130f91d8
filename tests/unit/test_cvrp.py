"""The CVRP form of the routing engine: the CVRPLIB reader, optima by enumeration and public
optima reached, routes checked independently of the engine, on both backends."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from reserve_service.optimize.vrp.cvrp import CvrpInstance, read_vrplib, solve_cvrp
from reserve_service.optimize.vrptw import VrptwInputError
from tests.unit.route_enumeration import all_route_sets

CVRP = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "cvrp"


class StopAtOnce:
    """A monitor that asks the solve to stop as soon as it looks, and records reports."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, float | None]] = []

    def report(self, stage: str, fraction: float | None = None, **figures: object) -> None:
        self.reports.append((stage, fraction))

    def should_stop(self) -> bool:
        return True


def distance_of(inst: CvrpInstance, routes: list[list[int]]) -> int:
    """Depot → customers → depot, summed from the matrix."""
    return sum(int(inst.distance[a, b]) for r in routes for a, b in itertools.pairwise([0, *r, 0]))


def assert_valid(inst: CvrpInstance, routes: list[list[int]]) -> None:
    assert sorted(c for r in routes for c in r) == list(range(1, len(inst.demand)))
    assert len(routes) <= inst.vehicles
    for route in routes:
        assert sum(int(inst.demand[c]) for c in route) <= inst.capacity, route


def brute_force_optimum(inst: CvrpInstance) -> int:
    """The least distance over every set of routes within capacity."""
    return min(
        distance_of(inst, routes)
        for routes in all_route_sets(len(inst.demand) - 1, inst.vehicles)
        if all(sum(int(inst.demand[c]) for c in r) <= inst.capacity for r in routes)
    )


def random_cvrp(seed: int, n: int = 7) -> CvrpInstance:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n + 1, 2))
    dist = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2)) + 0.5).astype(int)
    return CvrpInstance(
        distance=dist,
        demand=np.concatenate([[0], rng.integers(1, 10, n)]),
        capacity=15,
        vehicles=4,
        coordinates=xy,
    )


def test_reader_follows_the_cvrplib_conventions() -> None:
    inst = read_vrplib(CVRP / "A-n33-k5.vrp")
    assert len(inst.demand) == 33 and inst.demand[0] == 0
    assert inst.capacity == 100 and inst.vehicles == 5  # the k of the name
    # depot (42, 68) to customer 2 (77, 97): sqrt(35² + 29²) = 45.45 → 45
    assert inst.distance[0, 1] == 45
    x = read_vrplib(CVRP / "X-n106-k14.vrp")
    assert len(x.demand) == 106 and x.capacity == 600 and x.vehicles == 14


@pytest.mark.parametrize("backend", ["pyvrp", "ortools"])
@pytest.mark.parametrize("seed", [1, 2])
def test_small_instances_reach_the_enumerated_optimum(seed: int, backend: str) -> None:
    inst = random_cvrp(seed)
    optimum = brute_force_optimum(inst)
    solution = solve_cvrp(inst, time_limit=2.0, backend=backend)
    assert solution.status == "feasible"
    assert_valid(inst, solution.routes)
    assert distance_of(inst, solution.routes) == solution.distance == optimum


def test_a_n33_k5_reaches_its_proven_optimum() -> None:
    inst = read_vrplib(CVRP / "A-n33-k5.vrp")
    solution = solve_cvrp(inst, time_limit=3.0)
    assert_valid(inst, solution.routes)
    assert distance_of(inst, solution.routes) == 661  # optimal (Augerat et al.)


def test_e_n76_k10_is_within_three_percent_of_its_optimum() -> None:
    inst = read_vrplib(CVRP / "E-n76-k10.vrp")
    solution = solve_cvrp(inst, time_limit=4.0)
    assert_valid(inst, solution.routes)
    assert 830 <= distance_of(inst, solution.routes) <= 1.03 * 830  # optimum 830


@pytest.mark.parametrize("backend", ["pyvrp", "ortools"])
def test_a_monitor_that_says_stop_still_gets_the_best_routes_so_far(backend: str) -> None:
    inst = read_vrplib(CVRP / "B-n41-k6.vrp")
    monitor = StopAtOnce()
    solution = solve_cvrp(inst, time_limit=60.0, backend=backend, monitor=monitor)
    assert solution.seconds < 30.0  # stopped long before its limit
    assert solution.status == "feasible" and solution.details["stopped"]
    assert_valid(inst, solution.routes)
    assert monitor.reports


def test_bad_instances_name_the_field() -> None:
    inst = random_cvrp(1)
    with pytest.raises(VrptwInputError) as err:
        CvrpInstance(distance=inst.distance, demand=inst.demand, capacity=15, vehicles=1)
    assert err.value.field == "vehicles"
    with pytest.raises(VrptwInputError) as err:
        CvrpInstance(distance=inst.distance[:2], demand=inst.demand, capacity=15, vehicles=4)
    assert err.value.field == "distance"
    with pytest.raises(VrptwInputError) as err:
        solve_cvrp(inst, time_limit=1.0, backend="magic")
    assert err.value.field == "backend"

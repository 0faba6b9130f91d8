"""Waves where every vehicle loads at its own depot: optima by enumeration, reloads, release
times, deadlines; every plan checked against the matrices, independently of the engine."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from reserve_service.optimize.vrp.depot_waves import (
    DepotWave,
    WaveInputError,
    WaveOrder,
    WaveSolution,
    WaveVehicle,
    route_depot_wave,
)


def trip_times(wave: DepotWave, vehicle: WaveVehicle, trips: list[list[WaveOrder]]):
    """Earliest arrivals per stop and the time back at the depot, from the matrix."""
    t = wave.travel_time[vehicle.profile]
    clock, arrivals = vehicle.available_from, []
    for trip in trips:
        clock = max([clock, *(o.ready for o in trip)])
        here = vehicle.depot
        for o in trip:
            clock += int(t[here, o.node])
            arrivals.append((o, clock))
            clock += o.service
            here = o.node
        clock += int(t[here, vehicle.depot])
    return arrivals, clock


def trips_cost(wave: DepotWave, vehicle: WaveVehicle, trips: list[list[WaveOrder]]) -> int:
    cost = (wave.cost or wave.travel_time)[vehicle.profile]
    total = 0
    for trip in trips:
        path = [vehicle.depot, *(o.node for o in trip), vehicle.depot]
        total += sum(int(cost[a, b]) for a, b in itertools.pairwise(path))
    return total


def trips_feasible(wave: DepotWave, vehicle: WaveVehicle, trips: list[list[WaveOrder]]) -> bool:
    if len(trips) > vehicle.max_reloads + 1:
        return False
    for trip in trips:
        if any(o.depot != vehicle.depot for o in trip):
            return False
        for d, cap in enumerate(vehicle.capacity):
            if sum(o.load[d] for o in trip) > cap:
                return False
    arrivals, back = trip_times(wave, vehicle, trips)
    if vehicle.return_by is not None and back > vehicle.return_by:
        return False
    return all(o.due is None or at <= o.due for o, at in arrivals)


def check_solution(wave: DepotWave, solution: WaveSolution) -> int:
    """Independent check of a plan; returns its cost (travel + prizes of orders left out)."""
    orders = {o.id: o for o in wave.orders}
    served: list[str] = []
    total = 0
    for vehicle in wave.vehicles:
        trips = [[orders[s.order_id] for s in trip] for trip in solution.trips[vehicle.id]]
        assert trips_feasible(wave, vehicle, trips), (vehicle.id, trips)
        arrivals, _ = trip_times(wave, vehicle, trips)
        reported = [s.arrival for trip in solution.trips[vehicle.id] for s in trip]
        assert reported == [at for _, at in arrivals]
        total += trips_cost(wave, vehicle, trips)
        served += [o.id for trip in trips for o in trip]
    assert len(served) == len(set(served))
    left = set(orders) - set(served)
    assert left == set(solution.dropped) | set(solution.unassignable)
    assert all(orders[o].prize is not None for o in solution.dropped)
    return total + sum(orders[o].prize or 0 for o in left)


def brute_force(wave: DepotWave) -> int:
    """Assign each order to a vehicle of its depot or to 'dropped', try every visiting order
    (single trips, so ``max_reloads`` must be 0)."""
    best = math.inf
    choices = []
    for o in wave.orders:
        own = [v.id for v in wave.vehicles if v.depot == o.depot]
        choices.append(own + ([None] if o.prize is not None else []))
    vehicles = {v.id: v for v in wave.vehicles}
    for pick in itertools.product(*choices):
        cost = sum(o.prize or 0 for o, v in zip(wave.orders, pick, strict=True) if v is None)
        for vid, vehicle in vehicles.items():
            mine = [o for o, v in zip(wave.orders, pick, strict=True) if v == vid]
            options = [
                trips_cost(wave, vehicle, [list(p)])
                for p in itertools.permutations(mine)
                if trips_feasible(wave, vehicle, [list(p)] if p else [])
            ]
            if not options:
                cost = math.inf
                break
            cost += min(options)
        best = min(best, cost)
    return int(best)


def grid_wave(seed: int) -> DepotWave:
    """Two depots (nodes 0 and 1), six delivery nodes, three vehicles, seven orders."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 60, size=(8, 2))
    t = np.ceil(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))).astype(int)
    vehicles = (
        WaveVehicle("a1", 0, (10, 6)),
        WaveVehicle("a2", 0, (6, 10), available_from=20),
        WaveVehicle("b1", 1, (12, 12)),
    )
    orders = tuple(
        WaveOrder(
            id=f"o{k}",
            depot=int(k % 2),
            node=int(rng.integers(2, 8)),
            load=(int(rng.integers(1, 6)), int(rng.integers(1, 6))),
            ready=int(rng.choice([0, 0, 30])),
            due=int(rng.choice([60, 120])) if k % 3 else None,
            service=5,
            prize=int(rng.integers(80, 200)) if k != 0 else None,
        )
        for k in range(7)
    )
    return DepotWave({"default": t}, vehicles, orders, coordinates=xy)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_waves_reach_the_enumerated_optimum(seed: int) -> None:
    wave = grid_wave(seed)
    solution = route_depot_wave(wave, time_limit=1.0)
    assert solution.status == "feasible"
    cost = check_solution(wave, solution)
    assert cost == solution.cost == brute_force(wave)


def line_wave(max_reloads: int) -> DepotWave:
    """Depot 0 on a line with nodes 1 and 2 at 10 and 20; one vehicle carrying 10."""
    t = np.array([[0, 10, 20], [10, 0, 10], [20, 10, 0]])
    return DepotWave(
        {"default": t},
        (WaveVehicle("v", 0, (10,), max_reloads=max_reloads),),
        (
            WaveOrder("near", 0, 1, (8,), prize=100),
            WaveOrder("far", 0, 2, (8,), ready=50, prize=300),
        ),
    )


def test_a_reload_lets_one_vehicle_deliver_two_loads() -> None:
    wave = line_wave(max_reloads=1)
    solution = route_depot_wave(wave, time_limit=0.5)
    assert check_solution(wave, solution) == solution.cost == 60  # 2 × 10 + 2 × 20
    assert solution.dropped == []
    assert [len(trip) for trip in solution.trips["v"]] == [1, 1]
    far = next(s for trip in solution.trips["v"] for s in trip if s.order_id == "far")
    assert far.arrival >= 50 + 20  # leaves once the goods are ready


def test_without_reloads_the_cheaper_order_is_left_out() -> None:
    wave = line_wave(max_reloads=0)
    solution = route_depot_wave(wave, time_limit=0.5)
    assert solution.dropped == ["near"]
    assert check_solution(wave, solution) == solution.cost == 40 + 100


def test_profiles_deadlines_and_orders_nobody_can_carry() -> None:
    slow = np.array([[0, 30, 40], [30, 0, 30], [40, 30, 0]])
    fast = slow // 3
    wave = DepotWave(
        {"fast": fast, "slow": slow},
        (
            WaveVehicle("slow", 0, (5,), profile="slow"),
            WaveVehicle("fast", 0, (5,), profile="fast"),
        ),
        (
            WaveOrder("urgent", 0, 1, (5,), due=15),  # only the fast vehicle is in time
            WaveOrder("heavy", 0, 2, (9,), prize=50),  # fits no vehicle
            WaveOrder("stranded", 2, 1, (1,), prize=70),  # no vehicle at depot 2
        ),
    )
    solution = route_depot_wave(wave, time_limit=0.5)
    assert solution.trips["fast"][0][0].order_id == "urgent"
    assert sorted(solution.unassignable) == ["heavy", "stranded"]
    assert check_solution(wave, solution) == solution.cost == 20 + 50 + 70


def test_bad_waves_name_the_field() -> None:
    wave = line_wave(0)
    with pytest.raises(WaveInputError) as err:
        route_depot_wave(DepotWave(wave.travel_time, wave.vehicles, (WaveOrder("x", 7, 1, (1,)),)))
    assert err.value.field == "orders[0].depot"
    with pytest.raises(WaveInputError) as err:
        route_depot_wave(
            DepotWave(wave.travel_time, wave.vehicles, (WaveOrder("x", 0, 1, (1, 2)),))
        )
    assert err.value.field == "load"
    with pytest.raises(WaveInputError) as err:
        route_depot_wave(
            DepotWave(wave.travel_time, (WaveVehicle("v", 0, (1,), profile="boat"),), ())
        )
    assert err.value.field == "vehicles[0].profile"

"""Benchmark the dispatch engine: (a) its routing engine on CVRP and VRPTW, (b) a 宿州 flood.

(a) Public instances with known optima, solved by the routing engine and by PyVRP under the same
time limit in the same run:

* CVRP (``benchmarks/data/cvrp``): Augerat A/B/P, Christofides–Eilon E and Uchoa X (32–189
  customers), optima in ``cvrp_optima.csv``; Euclidean distances rounded to the nearest
  integer (CVRPLIB ``nint``); the fleet is the ``k`` of the name (X: its ``VEHICLES`` line).
* Solomon VRPTW (``benchmarks/data/solomon``), 100 customers; reference = the CVRPLIB
  best-known solutions in ``solomon_bks.csv`` (``cvrplib_sol_distance_min_dist_1dec_trunc``):
  minimise total distance only (no vehicle-count objective), Euclidean distances truncated to
  one decimal (DIMACS), travel time = distance.
* Homberger 200-customer VRPTW: no instance file is in this repository or its shared data, so
  that set is not run.

Solvers: ``engine`` = :func:`reserve_service.optimize.vrptw.solve_vrptw` /
:func:`reserve_service.optimize.vrp.cvrp.solve_cvrp` with their default backend (PyVRP);
``engine-ortools`` = the engine's OR-Tools backend (guided local search, then ruin and
recreate); ``ortools`` = OR-Tools guided local search alone; ``pyvrp`` = PyVRP called here
directly on its own model, as a peer.  Every solution is re-checked here (coverage, capacity,
time windows, fleet) and its distance recomputed from the matrix before it is printed.
``--time-limit 10,30`` runs every solver at each limit and checks that a longer limit never
gave a worse result.  Prints the gap to the optimum per instance, the mean gap per set and
solver, and the ratio of each engine's mean gap to PyVRP's.

(b) A synthetic 宿州-scale flood: 60 affected townships (coordinates and populations from
``seed_data/regions.csv``), 20 sources of every reserve mode, 40 trucks (some without
green-channel approval), 10 relief items; travel hours from haversine distance × detour /
speed, with flooded townships cut off.  Prints solve time and the share of people fully
served by 10 h.

Examples
--------
    python benchmarks/bench_dispatch.py                       # both parts
    python benchmarks/bench_dispatch.py --part a --sets cvrp --time-limit 10,30
    python benchmarks/bench_dispatch.py --part a --sets solomon --time-limit 10 --instances C101
    python benchmarks/bench_dispatch.py --part a --instances all --solvers engine,ortools,pyvrp
    python benchmarks/bench_dispatch.py --part b --routing-seconds 15
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reserve_service.optimize.dispatch import (
    AffectedRegion,
    DispatchParams,
    DispatchProblem,
    Incident,
    Item,
    StockLot,
    SupplySource,
    TravelTimes,
    Vehicle,
    expected_positions,
    plan_dispatch,
    replan,
)
from reserve_service.optimize.solvers import SolverParams
from reserve_service.optimize.vrp.cvrp import read_vrplib
from reserve_service.optimize.vrptw import VrptwInstance, read_solomon, solve_vrptw

HERE = Path(__file__).resolve().parent
SOLOMON = HERE / "data" / "solomon"
CVRP = HERE / "data" / "cvrp"
REGIONS_CSV = HERE.parent / "seed_data" / "regions.csv"
DEFAULT_INSTANCES = (
    "C101",
    "C201",
    "R101",
    "R105",
    "R109",
    "R201",
    "R205",
    "RC101",
    "RC105",
    "RC201",
    "RC205",
)


# --------------------------------------------------------------------------------------------
# (a) the routing engine on public CVRP and VRPTW instances
# --------------------------------------------------------------------------------------------


def check_routes(name: str, inst: VrptwInstance, routes: list[list[int]]) -> int:
    """Distance of feasible routes; raises if a window, capacity or visit is wrong."""
    seen: list[int] = []
    total = 0
    for route in routes:
        if sum(int(inst.demand[c]) for c in route) > inst.capacity:
            raise AssertionError(f"{name}: route over capacity")
        t, here = 0, 0
        for c in route:
            t = max(t + int(inst.travel_time[here, c]), int(inst.ready[c]))
            if t > inst.due[c]:
                raise AssertionError(f"{name}: customer {c} served at {t} > due {inst.due[c]}")
            total += int(inst.distance[here, c])
            t += int(inst.service[c])
            here = c
        total += int(inst.distance[here, 0])
        if t + inst.travel_time[here, 0] > inst.due[0]:
            raise AssertionError(f"{name}: route returns after the depot closes")
        seen += route
    if sorted(seen) != list(range(1, len(inst.demand))):
        raise AssertionError(f"{name}: customers missing or repeated")
    if len(routes) > inst.vehicles:
        raise AssertionError(f"{name}: {len(routes)} routes > {inst.vehicles} vehicles")
    return total


def solve_engine(inst: VrptwInstance, seconds: float) -> list[list[int]]:
    """The project's engine with its default backend (PyVRP)."""
    return solve_vrptw(inst, seconds).routes


def solve_engine_ortools(inst: VrptwInstance, seconds: float) -> list[list[int]]:
    """The engine's OR-Tools backend: guided local search, then ruin and recreate."""
    return solve_vrptw(inst, seconds, backend="ortools", improvement="ruin_recreate").routes


def solve_ortools_gls(inst: VrptwInstance, seconds: float) -> list[list[int]]:
    """OR-Tools alone: parallel cheapest insertion, then guided local search throughout."""
    return solve_vrptw(inst, seconds, backend="ortools", improvement="gls").routes


def solve_pyvrp(inst: VrptwInstance, seconds: float) -> list[list[int]] | None:
    """PyVRP (hybrid genetic search) on the same integer data, modelled here independently of
    the engine; ``None`` if not installed."""
    try:
        from pyvrp import Model
        from pyvrp.stop import MaxRuntime
    except ImportError:
        return None
    m = Model()
    m.add_vehicle_type(
        num_available=inst.vehicles, capacity=inst.capacity, tw_late=int(inst.due[0])
    )
    assert inst.coordinates is not None
    locations = [m.add_location(float(x), float(y)) for x, y in inst.coordinates]
    m.add_depot(locations[0], tw_early=int(inst.ready[0]), tw_late=int(inst.due[0]))
    for c in range(1, len(inst.demand)):
        m.add_client(
            locations[c],
            delivery=int(inst.demand[c]),
            service_duration=int(inst.service[c]),
            tw_early=int(inst.ready[c]),
            tw_late=int(inst.due[c]),
        )
    for i, frm in enumerate(locations):
        for j, to in enumerate(locations):
            m.add_edge(
                frm,
                to,
                distance=int(inst.distance[i, j]),
                duration=int(inst.travel_time[i, j]),
            )
    result = m.solve(stop=MaxRuntime(seconds), display=False, seed=0)
    if not result.best.is_feasible():
        return []
    # a scheduled client activity's idx counts clients from 0; locations put the depot first
    return [[1 + act.idx for act in route if act.is_client()] for route in result.best.routes()]


SOLVERS = {
    "engine": solve_engine,
    "engine-ortools": solve_engine_ortools,
    "ortools": solve_ortools_gls,
    "pyvrp": solve_pyvrp,
}


@dataclass(frozen=True)
class BenchInstance:
    """One public instance as a VRPTW (a CVRP has windows that never bind), its optimum."""

    set_name: str  # "A", "B", "E", "P", "X" or "Solomon"
    name: str
    instance: VrptwInstance
    optimum: float  # in the units printed
    scale: float  # printed distance = integer distance / scale


def cvrp_instances(names: list[str] | None) -> list[BenchInstance]:
    rows = list(csv.DictReader((CVRP / "cvrp_optima.csv").open()))
    out = []
    for row in rows:
        if names is not None and row["instance"] not in names:
            continue
        inst = read_vrplib(CVRP / f"{row['instance']}.vrp")
        out.append(
            BenchInstance(
                row["instance"][0], row["instance"], inst.as_vrptw(), float(row["optimum"]), 1.0
            )
        )
    return out


def solomon_instances(names: list[str] | None) -> list[BenchInstance]:
    bks = {row["instance"]: row for row in csv.DictReader((SOLOMON / "solomon_bks.csv").open())}
    chosen = list(bks) if names == ["all"] else (names or list(DEFAULT_INSTANCES))
    return [
        BenchInstance(
            "Solomon",
            name,
            read_solomon(SOLOMON / f"{name}.txt"),
            float(bks[name]["cvrplib_sol_distance_min_dist_1dec_trunc"]),
            10.0,
        )
        for name in chosen
        if name in bks
    ]


def bench_routing(
    instances: list[BenchInstance], limits: list[float], solver_names: list[str]
) -> bool:
    """Print the table; True when no solver got worse with more time."""
    header = (
        f"{'set':7} {'instance':11} {'n':>4} {'solver':14} {'limit':>5} {'veh':>4} "
        f"{'distance':>9} {'optimum':>9} {'gap %':>6} {'time s':>6}"
    )
    print("(a) routing engine vs PyVRP — gap to the optimum / CVRPLIB best known, total distance")
    print(header)
    print("-" * len(header))
    gaps: dict[tuple[str, str, float], list[float]] = defaultdict(list)
    worse: list[str] = []
    for bi in instances:
        n = len(bi.instance.demand) - 1
        for label in solver_names:
            previous: float | None = None
            for limit in limits:
                started = time.perf_counter()
                routes = SOLVERS[label](bi.instance, limit)
                elapsed = time.perf_counter() - started
                row = f"{bi.set_name:7} {bi.name:11} {n:4d} {label:14} {limit:5g}"
                if routes is None:
                    print(f"{row} (not installed)")
                    continue
                if not routes:
                    print(f"{row} no feasible solution")
                    continue
                distance = check_routes(bi.name, bi.instance, routes) / bi.scale
                gap = 100.0 * (distance - bi.optimum) / bi.optimum
                gaps[(bi.set_name, label, limit)].append(gap)
                gaps[("all", label, limit)].append(gap)
                if previous is not None and distance > previous + 1e-9:
                    worse.append(f"{bi.name} {label}: {previous:g} → {distance:g} at {limit:g} s")
                previous = distance
                print(
                    f"{row} {len(routes):4d} {distance:9.1f} {bi.optimum:9.1f} {gap:6.2f} "
                    f"{elapsed:6.1f}",
                    flush=True,
                )
    print()
    sets = sorted({k[0] for k in gaps} - {"all"}) + ["all"]
    print(f"{'set':7} {'solver':14} {'limit':>5} {'count':>5} {'mean gap %':>10} {'÷ pyvrp':>8}")
    for set_name in sets:
        for limit in limits:
            peer = gaps.get((set_name, "pyvrp", limit))
            for label in solver_names:
                values = gaps.get((set_name, label, limit))
                if not values:
                    continue
                mean = float(np.mean(values))
                ratio = "-"
                if peer and label != "pyvrp":
                    peer_mean = float(np.mean(peer))
                    ratio = (
                        f"{mean / peer_mean:.2f}"
                        if peer_mean > 0
                        else ("1.00" if mean == 0 else "inf")
                    )
                print(
                    f"{set_name:7} {label:14} {limit:5g} {len(values):5d} {mean:10.3f} {ratio:>8}"
                )
    if len(limits) > 1:
        print()
        if worse:
            print("more time gave a worse result:")
            for line in worse:
                print(f"  {line}")
        else:
            print(f"more time never gave a worse result (limits {', '.join(map(str, limits))} s)")
    return not worse


# --------------------------------------------------------------------------------------------
# (b) synthetic 宿州 flood
# --------------------------------------------------------------------------------------------

# id, name, kg, m3, norm quantity, basis, per day  (norms: 1 day of relief)
SUZHOU_ITEMS = (
    Item("1010101", 38.0, 0.22, 0.33, "person", False, "relief tent 12 m²"),
    Item("1010201", 8.0, 0.05, 0.5, "person", False, "folding bed"),
    Item("1010301", 2.5, 0.02, 1.0, "person", False, "cotton quilt"),
    Item("1010401", 1.2, 0.004, 1.0, "person", False, "clothing set"),
    Item("1020101", 9.3, 0.012, 1.0, "person", True, "bottled water 6×1.5 L"),
    Item("1020201", 1.0, 0.003, 1.0, "person", True, "instant food ration 1 kg"),
    Item("1010501", 0.4, 0.002, 1.0, "household", False, "flashlight"),
    Item("1010601", 1.5, 0.006, 1.0, "person", False, "raincoat and boots"),
    Item("1030101", 4.0, 0.02, 0.05, "person", False, "first-aid kit"),
    Item("1010701", 20.0, 0.08, 0.02, "person", False, "mobile toilet kit"),
)


def _haversine_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lat1, lng1 = np.radians(a[:, 0])[:, None], np.radians(a[:, 1])[:, None]
    lat2, lng2 = np.radians(b[:, 0])[None, :], np.radians(b[:, 1])[None, :]
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))


def suzhou_flood(
    seed: int = 7,
    townships: int = 60,
    n_sources: int = 20,
    trucks: int = 40,
    displaced: tuple[float, float] = (0.01, 0.04),
) -> DispatchProblem:
    """A deterministic flood on 宿州 townships; stock sized so that some needs go unmet."""
    rng = np.random.default_rng(seed)
    rows = [
        r for r in csv.DictReader(REGIONS_CSV.open(encoding="utf-8")) if r["level"] == "township"
    ]
    rows.sort(key=lambda r: r["adcode"])
    picked = [rows[k] for k in sorted(rng.choice(len(rows), size=townships, replace=False))]
    town_xy = np.array([[float(r["lat"]), float(r["lng"])] for r in picked])
    lat0, lat1 = town_xy[:, 0].min(), town_xy[:, 0].max()
    lng0, lng1 = town_xy[:, 1].min(), town_xy[:, 1].max()
    source_xy = np.column_stack(
        [rng.uniform(lat0, lat1, n_sources), rng.uniform(lng0, lng1, n_sources)]
    )
    # mutual-aid cities sit outside (徐州 north, 商丘 west, 宿迁 east, 蚌埠 south — approximate)
    source_xy[-4:] = [[34.26, 117.18], [34.41, 115.65], [33.96, 118.28], [32.92, 117.39]]
    depot_xy = source_xy.copy()
    nodes = [f"T{k}" for k in range(townships)] + [f"S{k}" for k in range(n_sources)]
    xy = np.vstack([town_xy, depot_xy])
    km = _haversine_km(xy, xy) * 1.3  # road detour factor
    relief = km / 50.0 + 0.15  # 50 km/h average, 9 min access
    public = km / 45.0 + 0.5  # unapproved trucks: tolls, queues, traffic control
    np.fill_diagonal(relief, 0.0)
    np.fill_diagonal(public, 0.0)
    # the flood: three townships cut off, ten more reachable only by approved trucks, slowly
    cut = rng.choice(townships, size=3, replace=False)
    slow = rng.choice([k for k in range(townships) if k not in cut], size=10, replace=False)
    for m in (relief, public):
        m[cut, :] = np.inf
        m[:, cut] = np.inf
        m[cut, cut] = 0.0
    relief[slow, :] *= 1.8
    relief[:, slow] *= 1.8
    public[slow, :] = np.inf
    public[:, slow] = np.inf
    public[slow, slow] = 0.0
    start = dt.datetime(2026, 7, 12, 4, 0)
    regions = tuple(
        AffectedRegion(
            id=picked[k]["adcode"],
            node=f"T{k}",
            relocated_people=int(float(picked[k]["population"]) * rng.uniform(*displaced)),
            priority=float(rng.choice([1.0, 1.0, 1.5, 2.0])),
        )
        for k in range(townships)
    )
    people = sum(r.relocated_people for r in regions)
    need = {it.id: people * it.norm_quantity for it in SUZHOU_ITEMS}
    modes = ["government"] * 9 + ["enterprise_held"] * 3 + ["agreement"] * 3 + ["capacity"] * 1
    modes += ["mutual_aid"] * 4
    sources = []
    for k, mode in enumerate(modes):
        share = rng.uniform(0.03, 0.12)
        if mode in ("government", "enterprise_held"):
            lots = tuple(
                StockLot(
                    f"S{k}-{it.id}-{j}",
                    it.id,
                    int(need[it.id] * share / 2),
                    start.date() + dt.timedelta(days=int(rng.integers(30, 900))),
                )
                for it in SUZHOU_ITEMS
                for j in range(2)
            )
            lead = 0.0 if mode == "government" else float(rng.uniform(1.0, 3.0))
            sources.append(SupplySource(f"src{k}", f"S{k}", mode, lots=lots, lead_time_h=lead))
        elif mode == "capacity":
            rates = {it.id: need[it.id] * 0.3 for it in SUZHOU_ITEMS if it.norm_per_day}
            sources.append(
                SupplySource(f"src{k}", f"S{k}", mode, quantities=rates, lead_time_h=4.0)
            )
        else:
            quantities = {it.id: need[it.id] * share for it in SUZHOU_ITEMS}
            lead = (
                float(rng.uniform(2.0, 6.0))
                if mode == "agreement"
                else float(rng.uniform(4.0, 8.0))
            )
            sources.append(
                SupplySource(f"src{k}", f"S{k}", mode, quantities=quantities, lead_time_h=lead)
            )
    fleet = tuple(
        Vehicle(
            id=f"truck{k:02d}",
            start_node=f"S{int(rng.integers(0, n_sources - 4))}",
            weight_capacity_kg=float(rng.choice([5000, 8000, 10000, 15000])),
            volume_capacity_m3=float(rng.choice([25, 40, 45, 60])),
            available_from_h=float(rng.choice([0.0, 0.5, 1.0, 2.0])),
            green_channel=bool(rng.random() < 0.8),
        )
        for k in range(trucks)
    )
    travel = TravelTimes(tuple(nodes), {"relief_truck": relief, "public_truck": public})
    return DispatchProblem(Incident(start, regions), SUZHOU_ITEMS, tuple(sources), fleet, travel)


SCENARIOS = {"moderate": (0.003, 0.012), "severe": (0.01, 0.04)}


def bench_suzhou(routing_seconds: float, solver: str, order_quantile: float, late: bool) -> None:
    print()
    print("(b) synthetic 宿州 flood: 60 townships, 20 sources (all modes), 40 trucks, 10 items;")
    print(f"    routing {routing_seconds:g} s, allocation solver {solver}; served = people in")
    print("    townships with every item complete by 10 h; fill = mean over townships of the")
    print("    mean over items of the share delivered by 10 h")
    header = (
        f"{'scenario':9} {'people':>7} {'need t':>7} {'orders':>6} {'served%':>7} {'fill%':>6} "
        f"{'t by 10h':>8} {'latest h':>8} {'trucks':>6} {'alloc s':>7} {'route s':>7} "
        f"{'wall s':>6}"
    )
    print(header)
    print("-" * len(header))
    notes = []
    for name, displaced in SCENARIOS.items():
        problem = suzhou_flood(displaced=displaced)
        kg = {it.id: it.weight_kg for it in problem.items}
        params = DispatchParams(
            routing_time_limit_s=routing_seconds,
            solver=SolverParams(solver=solver, time_limit=10.0),
            order_capacity_quantile=order_quantile,
            route_late_orders=late,
        )
        started = time.perf_counter()
        plan = plan_dispatch(problem, params)
        wall = time.perf_counter() - started
        s = plan.summary
        need_t = sum(kg[i] * q for rp in plan.regions for i, q in rp.need.items()) / 1000
        on_time_t = sum(kg[i] * q for rp in plan.regions for i, q in rp.on_time.items()) / 1000
        fill = np.mean([rp.fill_rate_by_deadline for rp in plan.regions])
        latest = f"{s.latest_arrival_h:.2f}" if s.latest_arrival_h is not None else "-"
        print(
            f"{name:9} {s.people_total:7d} {need_t:7.0f} {len(plan.orders):6d} "
            f"{100 * s.share_people_fully_served:7.1f} {100 * fill:6.1f} {on_time_t:8.0f} "
            f"{latest:>8} {s.vehicles_used:6d} {s.allocation_seconds:7.1f} "
            f"{s.routing_seconds:7.1f} {wall:6.1f}"
        )
        # re-plan at 1 h: three more townships cut off, trucks on the road keep their cargo
        hours = {k: v.copy() for k, v in problem.travel.hours.items()}
        for node in ("T5", "T17", "T33"):
            k = problem.travel.index(node)
            for m in hours.values():
                m[k, :] = np.inf
                m[:, k] = np.inf
                m[k, k] = 0.0
        positions = expected_positions(plan, 1.0)
        started = time.perf_counter()
        again = replan(plan, TravelTimes(problem.travel.nodes, hours), positions, now_h=1.0)
        replan_s = time.perf_counter() - started
        notes.append(
            f"{name}: re-plan at 1 h after 3 more townships are cut off ({len(positions)} trucks "
            f"on the road): {replan_s:.1f} s, served {100 * s.share_people_fully_served:.1f} % → "
            f"{100 * again.plan.summary.share_people_fully_served:.1f} %, "
            f"{len(again.changed_etas)} (township, item) ETA changes"
        )
        # the same at 1 h with nothing changed: what moves is churn, not news
        started = time.perf_counter()
        same = replan(plan, problem.travel, positions, now_h=1.0)
        notes.append(
            f"{name}: re-plan at 1 h with nothing changed: {time.perf_counter() - started:.1f} s, "
            f"served {100 * same.plan.summary.share_people_fully_served:.1f} %, "
            f"{len(same.changed_etas)} (township, item) ETA changes, "
            f"{sum(c.new_on_time < c.old_on_time for c in same.changed_etas)} with less on time"
        )
        reasons: dict[str, int] = {}
        for sf in plan.shortfalls():
            reasons[sf.reason] = reasons.get(sf.reason, 0) + sf.quantity
        notes.append(
            f"{name}: allocation {s.allocation_status}, routing {s.routing_status}, "
            f"{len(plan.unrouted_orders)} orders unrouted; units short by 10 h: "
            + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
        )
    for note in notes:
        print(note)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--part", choices=("a", "b", "both"), default="both")
    ap.add_argument("--sets", default="cvrp,solomon", help="(a) comma-separated: cvrp, solomon")
    ap.add_argument(
        "--instances",
        default="",
        help="(a) comma-separated names (default: all CVRP, a Solomon selection); 'all' = all",
    )
    ap.add_argument(
        "--time-limit",
        default="10,30",
        help="(a) seconds per solver and instance; several (10,30) also check monotonicity",
    )
    ap.add_argument(
        "--solvers",
        default="engine,engine-ortools,pyvrp",
        help=f"(a) comma-separated, of: {', '.join(SOLVERS)}",
    )
    ap.add_argument("--routing-seconds", type=float, default=15.0, help="(b) OR-Tools search limit")
    ap.add_argument("--solver", default="highs", help="(b) allocation LP solver")
    ap.add_argument(
        "--order-quantile", type=float, default=0.5, help="(b) order size = this fleet quantile"
    )
    ap.add_argument("--no-late", action="store_true", help="(b) do not route late orders")
    args = ap.parse_args(argv)
    if args.part in ("a", "both"):
        names = [x.strip() for x in args.instances.split(",") if x.strip()] or None
        solver_names = [x.strip() for x in args.solvers.split(",") if x.strip()]
        unknown = set(solver_names) - set(SOLVERS)
        if unknown:
            ap.error(f"unknown solvers: {', '.join(sorted(unknown))}")
        limits = sorted(float(x) for x in args.time_limit.split(",") if x.strip())
        sets = {x.strip() for x in args.sets.split(",") if x.strip()}
        instances = []
        if "cvrp" in sets:
            instances += cvrp_instances(None if names in (None, ["all"]) else names)
        if "solomon" in sets:
            instances += solomon_instances(names)
        bench_routing(instances, limits, solver_names)
    if args.part in ("b", "both"):
        bench_suzhou(args.routing_seconds, args.solver, args.order_quantile, not args.no_late)
    return 0


if __name__ == "__main__":
    sys.exit(main())

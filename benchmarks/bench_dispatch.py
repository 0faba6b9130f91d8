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

(b) 宿州 floods of 10, 30, 60 and 112 townships on the seed data (the whole supply: every
depot, enterprise store, agreement and capacity reserve; the preset fleet; the seed road
network) planned through the API job — ``POST /incidents`` then ``POST /incidents/{id}/plans``
on a fresh SQLite database, default parameters — printing the job's wall time, the share of
people fully served by 10 h, its upper bound and gap, latest and mean arrival, and trucks
available at 0 h left idle.

Examples
--------
    python benchmarks/bench_dispatch.py                       # both parts
    python benchmarks/bench_dispatch.py --part a --sets cvrp --time-limit 10,30
    python benchmarks/bench_dispatch.py --part a --sets solomon --time-limit 10 --instances C101
    python benchmarks/bench_dispatch.py --part a --instances all --solvers engine,ortools,pyvrp
    python benchmarks/bench_dispatch.py --part b --townships 10,60
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
# (b) A city-wide flood on the seed data, through the API job
# --------------------------------------------------------------------------------------------

CITY_SIZES = (10, 30, 60, 112)


def seeded_app(folder: Path) -> tuple[Any, dict[str, str]]:
    """An app on a fresh SQLite database in ``folder`` with the seed data, the seed road
    network and a dispatcher token; returns the app and the request headers."""
    from reserve_service import create_app, migrate
    from reserve_service.auth import create_token
    from reserve_service.db import transaction
    from reserve_service.routing.service import store_network
    from reserve_service.seed import load_seed

    url = f"sqlite:///{folder / 'bench.db'}"
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    factory = app.extensions["database"].writer_factory
    roads = HERE.parent / "seed_data" / "roads"
    with transaction(factory) as session:
        load_seed(session)
        store_network(
            session,
            "宿州 seed network",
            (roads / "nodes.csv").read_text(encoding="utf-8"),
            (roads / "edges.csv").read_text(encoding="utf-8"),
        )
        token = create_token(session, "bench", "dispatcher")
    return app, {"Authorization": f"Bearer {token}"}


def city_incident(townships: int, displaced: float) -> dict[str, Any]:
    """A flood over ``townships`` of the 112 townships (evenly spread over the adcode order),
    ``displaced`` of each township's census population relocated; every other field default."""
    rows = [
        r for r in csv.DictReader(REGIONS_CSV.open(encoding="utf-8")) if r["level"] == "township"
    ]
    rows.sort(key=lambda r: r["adcode"])
    step = len(rows) / townships
    picked = [rows[int(k * step)] for k in range(townships)]
    return {
        "name": f"bench flood, {townships} townships",
        "start_at": dt.datetime.now(dt.UTC).isoformat(),
        "regions": [
            {"region": r["adcode"], "relocated_people": int(float(r["population"]) * displaced)}
            for r in picked
        ],
    }


def plan_through_api(client: Any, headers: dict[str, str], body: dict[str, Any]
                     ) -> tuple[dict[str, Any], dict[str, Any], float]:
    """POST the incident, POST a plan job, wait for it; the job, the plan and the seconds from
    the job's submission to its end."""
    created = client.post("/api/v1/incidents", headers=headers, json=body)
    assert created.status_code == 201, created.json
    started = time.perf_counter()
    job = client.post(f"/api/v1/incidents/{created.json['id']}/plans", headers=headers).json
    while True:
        state = client.get(job["url"], headers=headers).json
        if state["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    plan: dict[str, Any] = {}
    if state["status"] == "succeeded":
        plan = client.get(f"/api/v1/dispatch-plans/{state['result']['plan_id']}",
                          headers=headers).json
    return state, plan, seconds


def bench_city(sizes: Sequence[int], displaced: float) -> None:
    """Plan floods of each size over the seed's whole supply and preset fleet, default
    parameters, through the HTTP API and the job runner — what a dispatcher's request does."""
    import tempfile

    from reserve_service.optimize.dispatch.service import default_fleet

    print()
    print("(b) 宿州 floods on the seed data through POST /incidents/{id}/plans (default")
    print(f"    parameters, preset fleet, every source); {100 * displaced:g} % of each township's")
    print("    population relocated; served = people in townships with every item complete by")
    print("    10 h; bound = upper bound on that (LP relaxation); idle = trucks available at 0 h")
    print("    with no stop. Targets: 60 townships <= 30 s, 112 <= 60 s (machine shared: inflated)")
    header = (
        f"{'towns':>5} {'people':>7} {'status':>9} {'wall s':>6} {'served%':>7} {'bound%':>6} "
        f"{'gap%':>5} {'fill%':>5} {'latest h':>8} {'mean h':>6} {'trucks':>6} {'idle0':>5} "
        f"{'alloc':>18}"
    )
    with tempfile.TemporaryDirectory() as folder:
        app, headers = seeded_app(Path(folder))
        with app.extensions["database"].session_factory() as session:
            fleet = default_fleet(session)
        at_zero = {v["id"] for v in fleet if v["available_from_h"] == 0}
        print(header)
        print("-" * len(header))
        client = app.test_client()
        for townships in sizes:
            state, plan, seconds = plan_through_api(
                client, headers, city_incident(townships, displaced)
            )
            if not plan:
                print(f"{townships:5d} {'':7} {state['status']:>9} {seconds:6.1f}  "
                      f"{state.get('error') or state.get('message')}")
                continue
            body = plan.get("plan", plan)
            s = body["summary"]
            etas = [v for rp in body["regions"] for v in rp["eta_h"].values()]
            used = {v["vehicle_id"] for v in body["vehicles"]}
            bound, gap = s.get("bound_share_people_served"), s.get("gap")
            latest = "-" if s["latest_arrival_h"] is None else f"{s['latest_arrival_h']:.2f}"
            print(
                f"{townships:5d} {s['people_total']:7d} {state['status']:>9} {seconds:6.1f} "
                f"{100 * s['share_people_fully_served']:7.1f} "
                f"{'-' if bound is None else f'{100 * bound:.1f}':>6} "
                f"{'-' if gap is None else f'{100 * gap:.1f}':>5} "
                f"{100 * np.mean([rp['fill_rate_by_deadline'] for rp in body['regions']]):5.1f} "
                f"{latest:>8} "
                f"{np.mean(etas) if etas else float('nan'):6.2f} {s['vehicles_used']:6d} "
                f"{len(at_zero - used):5d} {','.join(s['allocation_status']):>18}"
            )


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
    ap.add_argument(
        "--townships",
        default=",".join(map(str, CITY_SIZES)),
        help="(b) comma-separated incident sizes (townships, at most 112)",
    )
    ap.add_argument(
        "--displaced", type=float, default=0.03, help="(b) share of each township relocated"
    )
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
        bench_city([int(n) for n in args.townships.split(",") if n.strip()], args.displaced)
    return 0


if __name__ == "__main__":
    sys.exit(main())

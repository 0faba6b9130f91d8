"""Benchmark two-stage stochastic pre-positioning on the 宿州 seed instance.

The instance: 112 townships, 30 depots (city old + planned new, 5 county depots, 8 candidates
with two size classes each, the 15 most populous township points), 10 items, enterprise-held
stock, agreement and capacity reserves, 10 h deadline, on the seed road network with each
scenario's road events applied; scenarios from the documented generator
(``optimize.scenarios.generate_suzhou_scenarios``, seed 2026). For 10 / 50 / 200 scenarios it
solves the extensive form (PuLP → HiGHS; at 10 scenarios also OR-Tools SCIP and PuLP → CBC) and the multi-cut
L-shaped decomposition, and prints one table: build + solve seconds, objective, proven bound,
gap, difference to the best objective of the row group, coverage. After the table, at 10
scenarios: VSS, EVPI and the budget curve (PNG under ``benchmarks/out``).

Targets (issue 6): 50 scenarios optimal within 10 minutes; 200 scenarios within 1 % gap.

Examples
--------
    python benchmarks/bench_prepositioning.py
    python benchmarks/bench_prepositioning.py --sizes 10,50 --no-extras
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reserve_service.optimize.prepositioning import (  # noqa: E402
    PrepositioningResult,
    budget_sweep,
    build_extensive,
    expected_value_of_perfect_information,
    instance_from_seed,
    plot_budget_curve,
    solve_prepositioning,
    value_of_stochastic_solution,
)
from reserve_service.optimize.prepositioning.scenarios import (  # noqa: E402
    generate_suzhou_scenarios,
    load_rivers,
    read_seed_places,
)
from reserve_service.optimize.solvers import SolverParams  # noqa: E402
from reserve_service.routing.graph import RoadGraph  # noqa: E402

SEED_DIR = ROOT / "seed_data"
OUT = ROOT / "benchmarks" / "out"

# time limits (s) per scenario count: (extensive form, decomposition); the script must end < 25 min
LIMITS = {10: (300.0, 300.0), 50: (600.0, 600.0), 200: (300.0, 480.0)}


def _fmt(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def run(
    method: str, solver: str, inst: Any, budget: float, limit: float
) -> tuple[PrepositioningResult | None, float, str]:
    started = time.perf_counter()
    try:
        res = solve_prepositioning(
            inst,
            budget=budget,
            method=method,  # type: ignore[arg-type]
            params=SolverParams(solver=solver, time_limit=limit),
        )
    except Exception as exc:  # noqa: BLE001 - a benchmark row reports any failure
        return None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:60]
    return res, time.perf_counter() - started, res.message


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200")
    parser.add_argument("--budget", type=float, default=5e6, help="yuan (default 5 million)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-extras", action="store_true", help="skip VSS, EVPI, budget curve")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    t0 = time.perf_counter()
    graph = RoadGraph.from_directory(SEED_DIR / "roads")
    towns, depots = read_seed_places(SEED_DIR)
    rivers = load_rivers(SEED_DIR / "roads" / "rivers.geojson")
    print(
        f"road graph {graph.node_count} nodes, {graph.edge_count} edges; "
        f"budget {args.budget:,.0f} yuan; deadline 10 h; seed {args.seed}"
    )
    header = (
        f"{'scen':>4} {'method':<10} {'solver':<14} {'status':<10} {'build+solve s':>13} "
        f"{'objective':>14} {'bound':>14} {'gap':>9} {'Δ best':>9} {'E cov':>6} {'worst':>6} "
        f"{'iters':>5}  size"
    )
    rows: list[str] = []
    instances: dict[int, Any] = {}
    for n in sizes:
        t = time.perf_counter()
        scenarios = generate_suzhou_scenarios(towns, depots, n=n, seed=args.seed, rivers=rivers)
        inst = instance_from_seed(SEED_DIR, scenarios, graph)
        instances[n] = inst
        prep = time.perf_counter() - t
        ef_limit, bd_limit = LIMITS.get(n, (600.0, 600.0))
        runs = [("benders", "highs", bd_limit), ("extensive", "highs", ef_limit)]
        if n <= 10:
            runs += [("extensive", "ortools", ef_limit), ("extensive", "cbc", ef_limit)]
        group: list[tuple[str, str, PrepositioningResult | None, float, str]] = []
        for method, solver, limit in runs:
            res, secs, msg = run(method, solver, inst, args.budget, limit)
            group.append((method, solver, res, secs, msg))
        best = min(
            (r.objective for _, _, r, _, _ in group if r is not None and r.objective is not None),
            default=None,
        )
        for method, solver, res, secs, msg in group:
            if res is None:
                rows.append(f"{n:>4} {method:<10} {solver:<14} {'error':<10} {secs:>13.1f}  {msg}")
                continue
            delta = None
            if best is not None and res.objective is not None:
                delta = (res.objective - best) / abs(best)
            rows.append(
                f"{n:>4} {method:<10} {res.solver:<14} {res.status:<10} {secs:>13.1f} "
                f"{_fmt(res.objective, ',.0f'):>14} {_fmt(res.bound, ',.0f'):>14} "
                f"{_fmt(res.gap, '.2e'):>9} {_fmt(delta, '.1e'):>9} "
                f"{_fmt(res.expected_coverage, '.1%'):>6} {_fmt(res.worst_coverage, '.1%'):>6} "
                f"{res.iterations:>5}  {msg}"
            )
        print(
            f"[{n} scenarios: instance {prep:.1f} s; rows done at "
            f"{time.perf_counter() - t0:.0f} s]",
            flush=True,
        )
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        print(row)
    print()
    print(
        "Δ best: relative difference to the best objective of the same scenario count; "
        "E cov / worst: expected and worst-scenario share of need met within 10 h."
    )

    if not args.no_extras and sizes:
        n = min(sizes)
        inst = instances[n]
        em = build_extensive(inst, budget=args.budget)
        print(f"\nAt {n} scenarios ({em.model.summary()}):")
        rp = solve_prepositioning(inst, budget=args.budget)
        vss = value_of_stochastic_solution(inst, rp=rp, budget=args.budget)
        evpi = expected_value_of_perfect_information(inst, rp=rp, budget=args.budget)
        print(
            f"  RP {rp.objective:,.0f}  EV {vss.ev:,.0f}  EEV {vss.eev:,.0f}  "
            f"VSS {vss.vss:,.0f} ({vss.vss / rp.objective:.1%} of RP)"
        )
        print(f"  WS {evpi.ws:,.0f}  EVPI {evpi.evpi:,.0f} ({evpi.evpi / rp.objective:.1%} of RP)")
        budgets = [0, 1e6, 2.5e6, 5e6, 1e7, 2e7, 4e7]
        points = budget_sweep(inst, budgets)
        print(f"  {'budget':>12} {'objective':>14} {'first stage':>12} {'E cov':>6} {'worst':>6}")
        for p in points:
            print(
                f"  {p.budget:>12,.0f} {_fmt(p.objective, ',.0f'):>14} "
                f"{_fmt(p.first_stage_cost, ',.0f'):>12} "
                f"{_fmt(p.expected_coverage, '.1%'):>6} {_fmt(p.worst_coverage, '.1%'):>6}"
            )
        OUT.mkdir(parents=True, exist_ok=True)
        png = plot_budget_curve(
            points,
            OUT / "prepositioning_budget_curve.png",
            title=f"Suzhou seed instance, {n} scenarios",
        )
        print(f"  curve: {png.relative_to(ROOT)}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

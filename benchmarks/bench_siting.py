"""Benchmark the siting models on OR-Library instances against published optima and spopt.

Prints one table per instance family.  pmed rows also solve the same instance with PySAL spopt
(``PMedian.from_cost_matrix(...).solve(PULP_CBC_CMD)``) in the same run and report the speed
ratio spopt seconds / our fastest seconds.  Seconds are wall clock for the whole call
(input checks, heuristic, model build, solve, read-out), as spopt's are.

Examples
--------
    python benchmarks/bench_siting.py --pmed 1-20 --cap all
    python benchmarks/bench_siting.py --pmed 1,6,11 --cap none --solvers highs,cbc,ortools
    SHARED_BENCHMARKS=/path/to/benchmarks python benchmarks/bench_siting.py --pmed 1-40
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from reserve_service.optimize import siting
from reserve_service.optimize.orlib import read_cap, read_pmed
from reserve_service.optimize.solvers import SolverParams

DATA = Path(os.environ.get("SHARED_BENCHMARKS", Path(__file__).resolve().parent / "data"))
CAP_DEFAULT = [
    f"cap{k}"
    for k in (41, 42, 43, 44, 51, 61, 62, 63, 64, 71, 72, 73, 74, 81, 82, 83, 84, 91, 92, 93, 94)
    + (101, 102, 103, 104, 111, 112, 113, 114, 121, 122, 123, 124, 131, 132, 133, 134)
]


def _parse_pmed(spec: str) -> list[str]:
    if spec in ("", "none"):
        return []
    names: list[str] = []
    for part in spec.split(","):
        if "-" in part:
            a, b = (int(x) for x in part.split("-"))
            names += [f"pmed{k}" for k in range(a, b + 1)]
        else:
            names.append(part if part.startswith("pmed") else f"pmed{int(part)}")
    return names


def _parse_cap(spec: str) -> list[str]:
    if spec in ("", "none"):
        return []
    if spec == "all":
        return CAP_DEFAULT
    return [s if s.startswith("cap") else f"cap{s}" for s in spec.split(",")]


def _table(name: str) -> dict[str, dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return {row["instance"]: row for row in csv.DictReader(fh)}


def _timed(func: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = func()
    return out, time.perf_counter() - started


def _spopt_pmedian(cost: np.ndarray, p: int, time_limit: float) -> tuple[float | None, str, float]:
    import pulp
    from spopt.locate import PMedian

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = PMedian.from_cost_matrix(cost, np.ones(cost.shape[0]), p_facilities=p)
            try:
                return model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
            except RuntimeError:  # spopt raises when CBC stops without a solution
                return model

    model, seconds = _timed(run)
    if model.problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return None, "no solution", seconds
    status = pulp.LpStatus[model.problem.status]
    if model.problem.sol_status == pulp.LpSolutionIntegerFeasible:
        status = "time_limit"
    return pulp.value(model.problem.objective), status, seconds


def _fmt(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}f}"


def _print_rows(header: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(header)
    ]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)), flush=True)


def bench_pmed(
    names: list[str], solvers: list[str], time_limit: float, spopt_limit: float, spopt_max_n: int
) -> list[dict[str, Any]]:
    optima = _table("pmed_optima.csv")
    header = ["instance", "n", "p", "optimum"]
    for s in solvers:
        header += [f"{s} obj", f"{s} gap%", f"{s} s"]
    header += ["spopt obj", "spopt s", "spopt/ours"]
    print(f"\n## p-median (OR-Library pmed), time limit {time_limit:g}s per solve\n")
    print(" | ".join(header), flush=True)
    records = []
    for name in names:
        inst = read_pmed(DATA / "pmed" / f"{name}.txt")
        opt = float(optima[name]["optimum"])
        row = [name, str(inst.n), str(inst.p), _fmt(opt)]
        ours = []
        record: dict[str, Any] = {"instance": name, "n": inst.n, "p": inst.p, "optimum": opt}
        for s in solvers:
            res = siting.p_median(
                inst.cost, inst.demand, inst.p, params=SolverParams(solver=s, time_limit=time_limit)
            )
            ok = (
                res.status == "optimal"
                and res.objective is not None
                and abs(res.objective - opt) < 1e-6
            )
            mark = "" if ok else ("*" if res.status != "optimal" else "!")
            row += [
                _fmt(res.objective) + mark,
                _fmt(100 * (res.gap or 0.0), 2),
                _fmt(res.solve_seconds, 1),
            ]
            record[s] = {
                "objective": res.objective,
                "status": res.status,
                "gap": res.gap,
                "seconds": res.solve_seconds,
            }
            if ok:
                ours.append(res.solve_seconds)
        if inst.n <= spopt_max_n:
            obj, status, secs = _spopt_pmedian(inst.cost, inst.p, spopt_limit)
            mark = "" if status == "Optimal" else "*"
            ratio = _fmt(secs / min(ours), 1) + "x" if ours and status == "Optimal" else "-"
            row += [_fmt(obj) + mark, _fmt(secs, 1), ratio]
            record["spopt"] = {"objective": obj, "status": status, "seconds": secs}
        else:
            row += ["skipped", "-", "-"]
        print(" | ".join(row), flush=True)
        records.append(record)
    print("\n(* = stopped at the time limit, gap shown; ! = optimal status but objective differs)")
    return records


def bench_cap(names: list[str], solvers: list[str], time_limit: float) -> list[dict[str, Any]]:
    optima = _table("cap_optima.csv")
    print(f"\n## capacitated warehouse location (OR-Library cap), time limit {time_limit:g}s\n")
    header = ["instance", "m x n", "optimum"]
    for s in solvers:
        header += [f"{s} obj", f"{s} status", f"{s} s"]
    print(" | ".join(header), flush=True)
    records = []
    for name in names:
        row_info = optima[name]
        override = float(row_info["capacity_override"]) if row_info["capacity_override"] else None
        inst = read_cap(DATA / row_info["file"], capacity_override=override)
        opt = float(row_info["optimum"])
        row = [name, f"{inst.n_warehouses}x{inst.n_customers}", f"{opt:.3f}"]
        record: dict[str, Any] = {"instance": name, "optimum": opt}
        for s in solvers:
            res = siting.capacitated(
                inst.cost,
                inst.demand,
                inst.capacity,
                inst.fixed_cost,
                params=SolverParams(solver=s, time_limit=time_limit),
            )
            ok = (
                res.status == "optimal"
                and res.objective is not None
                and abs(res.objective - opt) < 2e-3
            )
            row += [
                _fmt(res.objective, 3) + ("" if ok else "!"),
                res.status,
                _fmt(res.solve_seconds, 2),
            ]
            record[s] = {
                "objective": res.objective,
                "status": res.status,
                "seconds": res.solve_seconds,
            }
        print(" | ".join(row), flush=True)
        records.append(record)
    print("\n(! = not proven equal to the published optimum within 0.002)")
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pmed", default="1-40", help="e.g. 1-20 or 1,5,38 or none (default 1-40)")
    parser.add_argument("--cap", default="all", help="cap41..cap134 as 'all', a list, or none")
    parser.add_argument("--solvers", default="highs,ortools", help="backends, comma separated")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--spopt-time-limit", type=float, default=300.0)
    parser.add_argument("--spopt-max-n", type=int, default=400, help="skip spopt above this n")
    args = parser.parse_args(argv)
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    pmed = _parse_pmed(args.pmed)
    cap = _parse_cap(args.cap)
    if pmed:
        bench_pmed(pmed, solvers, args.time_limit, args.spopt_time_limit, args.spopt_max_n)
    if cap:
        bench_cap(cap, solvers, args.time_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Routing benchmark: RoadGraph (CSR + compiled kernel) against plain NetworkX, same run.

A road-like grid of ~200,000 nodes (448 × 448, ~400 m spacing, 15 % of links missing; every 10th
line a county road, every 50th a national road, one tolled expressway) is written to CSV and
loaded with ``RoadGraph.from_csv``. Travel-time matrices for the ``relief_truck`` profile
(30×120, the issue's 50×1,500, 100×1,000) are timed (median of ``--repeats``) and compared with
NetworkX ``single_source_dijkstra_path_length`` from each source on a ``DiGraph`` with the same
hours (``--nx-repeats`` runs; it is slow); the 50×1,500 matrix is also timed on the scipy
csgraph fallback path. Answers are checked to agree (bit for bit where they do). The JIT
compile of the kernel is timed in a fresh process with an empty numba cache and kept out of the
other rows. A closure that cuts a target off is timed, and the next matrix must see it. Peak
memory: tracemalloc for one matrix, the kernel's per-thread workspace, and the process peak RSS
before and after the NetworkX graph exists. Prints two tables.

    python benchmarks/bench_routing.py [--side 448] [--repeats 5] [--nx-repeats 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path

import networkx as nx
import numpy as np

from reserve_service.routing import kernel, loaders
from reserve_service.routing.events import RoadEvent
from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.policy import ROAD_CLASSES, default_policy

PROFILE = "relief_truck"
SPACING_M = 400.0


def make_grid(side: int, seed: int) -> dict[str, np.ndarray]:
    """Edge arrays of a perturbed grid with a road-class hierarchy."""
    rng = np.random.default_rng(seed)
    index = np.arange(side * side).reshape(side, side)
    horizontal = np.column_stack([index[:, :-1].ravel(), index[:, 1:].ravel()])
    vertical = np.column_stack([index[:-1, :].ravel(), index[1:, :].ravel()])
    pairs = np.vstack([horizontal, vertical])
    line = np.concatenate(
        [np.repeat(np.arange(side), side - 1), np.tile(np.arange(side), side - 1)]
    )  # the grid row (horizontal links) or column (vertical links) each link lies on
    road_class = np.full(len(pairs), ROAD_CLASSES.index("village"))
    road_class[line % 10 == 0] = ROAD_CLASSES.index("county")
    road_class[line % 50 == 0] = ROAD_CLASSES.index("national")
    expressway = (np.arange(len(pairs)) < len(horizontal)) & (line == side // 2)
    road_class[expressway] = ROAD_CLASSES.index("expressway")
    keep = (rng.random(len(pairs)) > 0.15) | (road_class != ROAD_CLASSES.index("village"))
    speed = np.array([120.0, 80.0, 70.0, 60.0, 40.0, 30.0])[road_class]
    return {
        "u": pairs[keep, 0],
        "v": pairs[keep, 1],
        "length_m": np.round(SPACING_M * rng.uniform(1.0, 1.3, keep.sum()), 1),
        "road_class": road_class[keep],
        "speed_kmh": speed[keep],
        "toll": expressway[keep].astype(int),
    }


def write_csv(folder: Path, side: int, edges: dict[str, np.ndarray]) -> tuple[Path, Path]:
    rows, cols = np.divmod(np.arange(side * side), side)
    lat = 33.3 + rows * SPACING_M / 111_195.0
    lng = 116.2 + cols * SPACING_M / 93_000.0
    nodes_csv, edges_csv = folder / "nodes.csv", folder / "edges.csv"
    with open(nodes_csv, "w", encoding="utf-8") as handle:
        handle.write("id,lat,lng\n")
        handle.writelines(
            f"{i},{a:.6f},{b:.6f}\n" for i, (a, b) in enumerate(zip(lat, lng, strict=True))
        )
    with open(edges_csv, "w", encoding="utf-8") as handle:
        handle.write("u,v,length_m,road_class,speed_kmh,toll\n")
        handle.writelines(
            f"{u},{v},{length},{ROAD_CLASSES[c]},{s:g},{t}\n"
            for u, v, length, c, s, t in zip(
                edges["u"],
                edges["v"],
                edges["length_m"],
                edges["road_class"],
                edges["speed_kmh"],
                edges["toll"],
                strict=True,
            )
        )
    return nodes_csv, edges_csv


def networkx_graph(edges: dict[str, np.ndarray]) -> nx.DiGraph:
    """A plain DiGraph with the relief_truck hours of every link in both directions."""
    profile = default_policy().profile(PROFILE)
    class_speed = np.array([profile.speed_kmh[c] for c in ROAD_CLASSES])
    hours = (
        edges["length_m"]
        / 1000.0
        / np.minimum(edges["speed_kmh"], class_speed[edges["road_class"]])
    )
    g = nx.DiGraph()
    triples = list(zip(edges["u"].tolist(), edges["v"].tolist(), hours.tolist(), strict=True))
    g.add_weighted_edges_from(triples, weight="hours")
    g.add_weighted_edges_from(((v, u, h) for u, v, h in triples), weight="hours")
    return g


def networkx_matrix(g: nx.DiGraph, sources: list[int], targets: list[int]) -> np.ndarray:
    out = np.full((len(sources), len(targets)), np.inf)
    for i, s in enumerate(sources):
        dist = nx.single_source_dijkstra_path_length(g, s, weight="hours")
        out[i] = [dist.get(t, np.inf) for t in targets]
    return out


def timed(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time (s) over ``repeats`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


_COLD_JIT = """
import time
t0 = time.perf_counter()
import numba  # noqa: F401
t1 = time.perf_counter()
import numpy as np
from reserve_service.routing import kernel
kernel.many_to_many(np.array([0, 1, 1], np.int32), np.array([1], np.int32), np.array([1.0]),
                    np.array([0]), np.array([1]), workers=1)
print(t1 - t0, time.perf_counter() - t1)
"""


def cold_jit_seconds() -> tuple[float, float]:
    """(numba import, first kernel call) in a fresh process with an empty numba cache."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as cache:
        env = {
            **os.environ,
            "NUMBA_CACHE_DIR": cache,
            "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        }
        done = subprocess.run(
            [sys.executable, "-c", _COLD_JIT], env=env, capture_output=True, text=True, check=True
        )
    numba_import, compile_ = (float(x) for x in done.stdout.split())
    return numba_import, compile_


def scipy_path(run: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
    """``run`` with the compiled kernel switched off: the scipy csgraph fallback path."""

    def fallback() -> np.ndarray:
        saved, kernel.AVAILABLE = kernel.AVAILABLE, False
        try:
            return run()
        finally:
            kernel.AVAILABLE = saved

    return fallback


def agreement(ours: np.ndarray, expected: np.ndarray) -> str:
    if np.array_equal(ours, expected):
        return "bit-for-bit equal"
    finite = np.isfinite(expected)
    same = np.array_equal(finite, np.isfinite(ours)) and np.allclose(
        ours[finite], expected[finite], rtol=1e-9
    )
    return "equal (rtol 1e-9)" if same else "DIFFERENT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=448, help="grid side; nodes = side²")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--nx-repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    edges = make_grid(args.side, args.seed)
    rows: list[tuple[str, str, str, str, str]] = []
    memory: list[tuple[str, str]] = []

    def row(what: str, ours: float, theirs: float | None = None, check: str = "") -> None:
        ratio = f"{theirs / ours:,.{0 if theirs / ours >= 10 else 2}f}×" if theirs else ""
        rows.append(
            (what, f"{ours * 1000:,.1f}", f"{theirs * 1000:,.1f}" if theirs else "", ratio, check)
        )

    with tempfile.TemporaryDirectory() as folder:
        nodes_csv, edges_csv = write_csv(Path(folder), args.side, edges)
        parse, tables = timed(lambda: loaders.read_csv(nodes_csv, edges_csv), 1)
    build, graph = timed(lambda: RoadGraph(tables), 1)
    row(f"read CSV ({graph.node_count:,} nodes, {graph.edge_count:,} edges)", parse)
    build_row = len(rows)
    rows.append(("", "", "", "", ""))  # filled in once the NetworkX graph is built, at the end

    # Fast path first, before any NetworkX object exists, so the peak RSS is the service's own.
    numba_import, cold_compile = cold_jit_seconds() if kernel.AVAILABLE else (0.0, 0.0)
    first, _ = timed(
        lambda: (
            graph.travel_time_matrix([0], [1], profile=PROFILE),
            graph.travel_time_matrix([0, 1], [2], profile=PROFILE),  # transposed graph
        ),
        1,
    )
    row("first query: CSR views + kernel (compiled code from the disk cache)", first)
    if kernel.AVAILABLE:
        row(
            "kernel JIT compile, cold cache (fresh process, first call)",
            cold_compile,
            check=f"+ {numba_import * 1000:,.0f} ms to import numba; not in the rows below",
        )

    sizes = ((30, 120), (50, 1500), (100, 1000))
    cases = {}
    for n_sources, n_targets in sizes:
        sources = rng.choice(graph.node_count, n_sources, replace=False).tolist()
        targets = rng.choice(graph.node_count, n_targets, replace=False).tolist()
        run = partial(graph.travel_time_matrix, sources, targets, profile=PROFILE)
        ours, matrix = timed(run, args.repeats)
        cases[n_sources, n_targets] = (sources, targets, run, ours, matrix)

    sources, targets, run, ours_main, matrix_main = cases[50, 1500]
    scipy_time, scipy_matrix = timed(scipy_path(run), args.repeats)
    tracemalloc.start()
    run()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    memory.append(
        ("numpy/Python peak during one 50×1500 matrix (tracemalloc)", f"{traced_peak / 2**20:,.1f}")
    )
    if kernel.AVAILABLE:
        _, buckets = kernel.bucket_width(graph._view(PROFILE).forward.data)
        workspace = kernel.workspace_bytes(graph.node_count, buckets)
        memory.append(
            (
                f"kernel workspace per worker thread (× {kernel.default_workers()}; not traced)",
                f"{workspace / 2**20:,.1f}",
            )
        )

    wide_sources = rng.choice(graph.node_count, 1000, replace=False).tolist()
    few_targets = rng.choice(graph.node_count, 100, replace=False).tolist()
    wide, _ = timed(
        lambda: graph.travel_time_matrix(wide_sources, few_targets, profile=PROFILE), args.repeats
    )
    a, b = rng.choice(graph.node_count, 2, replace=False).tolist()
    route, _ = timed(lambda: graph.route(a, b, profile=PROFILE), args.repeats)

    # A closure that cuts one target off: applied in place, seen by the next query, and undone.
    cut = next(t for t in targets if t not in sources)
    around = np.flatnonzero((edges["u"] == cut) | (edges["v"] == cut))  # edge id = row order
    applied, removed = [], []
    for _ in range(args.repeats):
        event = RoadEvent("closure", edge_ids=tuple(int(e) for e in around))
        start = time.perf_counter()
        graph.apply_event(event)
        applied.append(time.perf_counter() - start)
        closed = run()
        start = time.perf_counter()
        graph.remove_event(event.id)
        removed.append(time.perf_counter() - start)
    column = targets.index(cut)
    others = np.delete(np.arange(len(targets)), column)
    seen = np.isinf(closed[:, column]).all() and bool(
        (closed[:, others] >= matrix_main[:, others]).all()  # detours, never shortcuts
    )
    restored = np.array_equal(run(), matrix_main)

    edge_id = int(graph.edge_ids[len(graph.edge_ids) // 2])
    lat, lng = graph.node_latlng(graph.node_count // 2 + args.side // 2)
    area = {
        "type": "Polygon",
        "coordinates": [
            [
                [lng - 0.05, lat - 0.04],
                [lng + 0.05, lat - 0.04],
                [lng + 0.05, lat + 0.04],
                [lng - 0.05, lat + 0.04],
                [lng - 0.05, lat - 0.04],
            ]
        ],
    }
    index, _ = timed(lambda: graph.edges_in_area(area), 1)
    event_rows = []
    for label, make in (
        ("1 edge closure", lambda: RoadEvent("closure", edge_ids=(edge_id,))),
        ("area slowdown", lambda: RoadEvent("slowdown", area=area, speed_factor=0.5)),
    ):
        times_applied, times_removed, covered = [], [], 0
        for _ in range(args.repeats):
            event = make()
            start = time.perf_counter()
            graph.apply_event(event)
            times_applied.append(time.perf_counter() - start)
            covered = len(graph.event_edge_ids(event.id))
            start = time.perf_counter()
            graph.remove_event(event.id)
            times_removed.append(time.perf_counter() - start)
        event_rows.append((label, covered, times_applied, times_removed))
    memory.append(
        ("process peak RSS after the fast-path rows (no NetworkX yet)", f"{peak_rss_mb():,.0f}")
    )

    # NetworkX: the same hours on a plain DiGraph, single-source Dijkstra per source.
    start = time.perf_counter()
    reference = networkx_graph(edges)
    nx_build = time.perf_counter() - start
    rows[build_row] = (
        "build graph from the tables",
        f"{build * 1000:,.1f}",
        f"{nx_build * 1000:,.1f}",
        f"{nx_build / build:,.2f}×",
        "nx: DiGraph from arrays",
    )
    for n_sources, n_targets in sizes:
        sources_k, targets_k, _, ours, matrix = cases[n_sources, n_targets]
        theirs, expected = timed(
            lambda s=sources_k, t=targets_k: networkx_matrix(reference, s, t), args.nx_repeats
        )
        check = f"nx: {agreement(matrix, expected)}"
        if (n_sources, n_targets) == (50, 1500):
            check += (
                f"; scipy path {scipy_time * 1000:,.0f} ms ({scipy_time / ours:.1f}× ours), "
                f"{agreement(matrix, scipy_matrix)}"
            )
        row(f"matrix {n_sources}×{n_targets}", ours, theirs, check)
    memory.append(
        ("process peak RSS at the end (with the NetworkX DiGraph)", f"{peak_rss_mb():,.0f}")
    )

    row("matrix 1000×100 (transposed graph)", wide)
    row("route A→B with breakdown + geometry", route)
    row(
        f"apply closure cutting off a target ({len(around)} edges)",
        statistics.median(applied),
        check=(
            ("next matrix: target unreachable, no time shorter" if seen else "NOT SEEN")
            + ("; removed: bit-for-bit restored" if restored else "; NOT RESTORED")
        ),
    )
    row("remove that closure", statistics.median(removed))
    row("spatial index of edges (first area query)", index)
    for label, covered, times_applied, times_removed in event_rows:
        row(f"apply event: {label} ({covered:,} edges)", statistics.median(times_applied))
        row(f"remove event: {label}", statistics.median(times_removed))

    header = ("operation", "reserve_service ms", "networkx ms", "nx / ours", "check")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    print(f"| {' | '.join(h.ljust(w) for h, w in zip(header, widths, strict=True))} |")
    print(f"|{'|'.join('-' * (w + 2) for w in widths)}|")
    for r in rows:
        print(f"| {' | '.join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))} |")
    print()
    header_m = ("memory", "MB")
    widths_m = [max(len(r[i]) for r in [header_m, *memory]) for i in range(2)]
    print(f"| {' | '.join(h.ljust(w) for h, w in zip(header_m, widths_m, strict=True))} |")
    print(f"|{'|'.join('-' * (w + 2) for w in widths_m)}|")
    for r in memory:
        print(f"| {' | '.join(c.ljust(w) for c, w in zip(r, widths_m, strict=True))} |")
    path = "numba kernel" if kernel.AVAILABLE else "scipy csgraph (numba not installed)"
    print(
        f"\nreserve_service ({path}, {kernel.default_workers()} worker threads): median of "
        f"{args.repeats}; networkx: median of {args.nx_repeats} (per-source "
        f"single_source_dijkstra_path_length on a DiGraph). Profile {PROFILE}. "
        f"Load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs."
    )


if __name__ == "__main__":
    main()

"""Routing benchmark: RoadGraph (CSR + scipy dijkstra) against plain NetworkX, same run.

A road-like grid of ~200,000 nodes (448 × 448, ~400 m spacing, 15 % of links missing; every 10th
line a county road, every 50th a national road, one tolled expressway) is written to CSV and
loaded with ``RoadGraph.from_csv``. Travel-time matrices for the ``relief_truck`` profile are
timed (median of ``--repeats``) and compared with NetworkX ``single_source_dijkstra_path_length``
from each source on a ``DiGraph`` with the same hours (``--nx-repeats`` runs; it is slow).
The answers are checked to agree. Prints one table.

    python benchmarks/bench_routing.py [--side 448] [--repeats 5] [--nx-repeats 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np

from reserve_service.routing import loaders
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

    def row(what: str, ours: float, theirs: float | None = None, check: str = "") -> None:
        ratio = f"{theirs / ours:,.{0 if theirs / ours >= 10 else 2}f}×" if theirs else ""
        rows.append(
            (what, f"{ours * 1000:,.1f}", f"{theirs * 1000:,.1f}" if theirs else "", ratio, check)
        )

    with tempfile.TemporaryDirectory() as folder:
        nodes_csv, edges_csv = write_csv(Path(folder), args.side, edges)
        parse, tables = timed(lambda: loaders.read_csv(nodes_csv, edges_csv), 1)
    build, graph = timed(lambda: RoadGraph(tables), 1)
    start = time.perf_counter()
    reference = networkx_graph(edges)
    nx_build = time.perf_counter() - start
    row(f"read CSV ({graph.node_count:,} nodes, {graph.edge_count:,} edges)", parse)
    row("build graph from the tables", build, nx_build, "nx: DiGraph from arrays")
    view, _ = timed(lambda: graph.travel_time_matrix([0], [0], profile=PROFILE), 1)
    row("first query: CSR view for the profile", view)

    for n_sources, n_targets in ((30, 120), (100, 1000)):
        sources = rng.choice(graph.node_count, n_sources, replace=False).tolist()
        targets = rng.choice(graph.node_count, n_targets, replace=False).tolist()
        ours, matrix = timed(
            lambda s=sources, t=targets: graph.travel_time_matrix(s, t, profile=PROFILE),
            args.repeats,
        )
        theirs, expected = timed(
            lambda s=sources, t=targets: networkx_matrix(reference, s, t), args.nx_repeats
        )
        finite = np.isfinite(expected)
        same = np.array_equal(finite, np.isfinite(matrix)) and np.allclose(
            matrix[finite], expected[finite], rtol=1e-9
        )
        row(f"matrix {n_sources}×{n_targets}", ours, theirs, "equal" if same else "DIFFERENT")

    wide_sources = rng.choice(graph.node_count, 1000, replace=False).tolist()
    few_targets = rng.choice(graph.node_count, 100, replace=False).tolist()
    ours, _ = timed(
        lambda: graph.travel_time_matrix(wide_sources, few_targets, profile=PROFILE), args.repeats
    )
    row("matrix 1000×100 (transposed graph)", ours)
    a, b = rng.choice(graph.node_count, 2, replace=False).tolist()
    ours, _ = timed(lambda: graph.route(a, b, profile=PROFILE), args.repeats)
    row("route A→B with breakdown + geometry", ours)

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
    row("spatial index of edges (first area query)", index)
    for label, make in (
        ("1 edge closure", lambda: RoadEvent("closure", edge_ids=(edge_id,))),
        ("area slowdown", lambda: RoadEvent("slowdown", area=area, speed_factor=0.5)),
    ):
        applied, removed, covered = [], [], 0
        for _ in range(args.repeats):
            event = make()
            start = time.perf_counter()
            graph.apply_event(event)
            applied.append(time.perf_counter() - start)
            covered = len(graph.event_edge_ids(event.id))
            start = time.perf_counter()
            graph.remove_event(event.id)
            removed.append(time.perf_counter() - start)
        row(f"apply event: {label} ({covered:,} edges)", statistics.median(applied))
        row(f"remove event: {label}", statistics.median(removed))

    header = ("operation", "reserve_service ms", "networkx ms", "nx / ours", "check")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    print(f"| {' | '.join(h.ljust(w) for h, w in zip(header, widths, strict=True))} |")
    print(f"|{'|'.join('-' * (w + 2) for w in widths)}|")
    for r in rows:
        print(f"| {' | '.join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))} |")
    print(
        f"\nreserve_service: median of {args.repeats}; networkx: median of {args.nx_repeats} "
        f"(per-source single_source_dijkstra_path_length on a DiGraph). Profile {PROFILE}."
    )


if __name__ == "__main__":
    main()

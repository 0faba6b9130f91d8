"""The compiled many-to-many kernel against scipy's dijkstra and NetworkX, bit for bit.

Random directed multigraphs (parallel arcs, self-loops, zero and ``inf`` weights, unreachable
nodes) are reduced to a CSR of per-pair minimum weights the way ``RoadGraph`` does; the kernel
must return exactly (``np.array_equal``) what ``scipy.sparse.csgraph.dijkstra`` and NetworkX
``single_source_dijkstra_path_length`` return, with and without a ``limit``. Through
``RoadGraph``, the kernel path must equal the scipy fallback under closures and slowdowns, and
after they are removed.
"""

from __future__ import annotations

import io
import multiprocessing
import os

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from reserve_service.routing import kernel
from reserve_service.routing.events import RoadEvent
from reserve_service.routing.graph import RoadGraph

pytestmark = pytest.mark.skipif(not kernel.AVAILABLE, reason="numba is not installed")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WEIGHTS = [0.0, 0.1, 0.2, 0.30000000000000004, 1 / 3, 0.7, 1.0, 2.5, 1e-9, 1e6, np.inf]


@st.composite
def multigraphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, float]]]:
    """(n, arcs) with arcs (u, v, weight); weights from a few values so that ties and
    rounding-sensitive sums (0.1 + 0.2) occur, plus any positive float."""
    n = draw(st.integers(1, 25))
    node = st.integers(0, n - 1)
    weight = st.one_of(
        st.sampled_from(WEIGHTS),
        st.floats(min_value=0.0, max_value=50.0, allow_nan=False, allow_infinity=False),
    )
    arcs = draw(st.lists(st.tuples(node, node, weight), max_size=4 * n))
    return n, arcs


def to_csr(n: int, arcs: list[tuple[int, int, float]]) -> csr_matrix:
    """One entry per (u, v) pair holding the minimum weight; self-loops dropped."""
    best: dict[tuple[int, int], float] = {}
    for u, v, w in arcs:
        if u != v:
            best[u, v] = min(w, best.get((u, v), np.inf))
    pairs = sorted(best)
    rows = np.array([u for u, _ in pairs], dtype=np.int64)
    indptr = np.searchsorted(rows, np.arange(n + 1))
    indices = np.array([v for _, v in pairs], dtype=np.int32)
    data = np.array([best[p] for p in pairs], dtype=np.float64)
    return csr_matrix((data, indices, indptr), shape=(n, n))


def networkx_matrix(
    n: int, arcs: list[tuple[int, int, float]], origins: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """NetworkX Dijkstra on the raw multigraph; ``inf`` arcs are absent roads."""
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from((u, v, w) for u, v, w in arcs if np.isfinite(w))
    out = np.full((len(origins), len(ends)), np.inf)
    for i, s in enumerate(origins):
        dist = nx.single_source_dijkstra_path_length(g, int(s), weight="weight")
        out[i] = [dist.get(int(t), np.inf) for t in ends]
    return out


def run(matrix: csr_matrix, origins: np.ndarray, ends: np.ndarray, **options) -> np.ndarray:
    return kernel.many_to_many(matrix.indptr, matrix.indices, matrix.data, origins, ends, **options)


@SETTINGS
@given(multigraphs(), st.data())
def test_kernel_equals_scipy_and_networkx(graph, data) -> None:
    n, arcs = graph
    matrix = to_csr(n, arcs)
    node = st.integers(0, n - 1)
    origins = np.array(data.draw(st.lists(node, min_size=1, max_size=8, unique=True)))
    ends = np.array(data.draw(st.lists(node, min_size=1, max_size=12)))  # repeats allowed
    workers = data.draw(st.sampled_from([1, 2, 3]))
    got = run(matrix, origins, ends, workers=workers)
    expected = dijkstra(matrix, directed=True, indices=origins)[:, ends]
    assert np.array_equal(got, expected)
    assert np.array_equal(got, networkx_matrix(n, arcs, origins, ends))


@SETTINGS
@given(multigraphs(), st.data())
def test_limit_equals_scipy(graph, data) -> None:
    """Times above the limit are inf, times equal to it are kept (limits drawn from answers)."""
    n, arcs = graph
    matrix = to_csr(n, arcs)
    origins = np.arange(n)
    ends = np.arange(n)
    full = dijkstra(matrix, directed=True, indices=origins)
    finite = sorted(set(full[np.isfinite(full)].tolist()))
    limit = data.draw(st.sampled_from([*finite, 0.0, 0.15, np.inf]))
    got = run(matrix, origins, ends, limit=limit)
    assert np.array_equal(got, dijkstra(matrix, directed=True, indices=origins, limit=limit))


@SETTINGS
@given(multigraphs(), st.integers(4, 64))
def test_bucket_width_does_not_change_answers(graph, max_buckets) -> None:
    """Wide buckets (weights spanning more than MAX_BUCKETS widths) give the same times."""
    n, arcs = graph
    matrix = to_csr(n, arcs)
    origins = np.arange(n)
    expected = dijkstra(matrix, directed=True, indices=origins)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernel, "MAX_BUCKETS", max_buckets)
        assert np.array_equal(run(matrix, origins, origins), expected)


def test_unreachable_is_inf_and_self_is_zero() -> None:
    # 0 → 1 → 2, 3 isolated, 2 → 0 closed (inf).
    matrix = to_csr(4, [(0, 1, 0.5), (1, 2, 0.25), (2, 0, np.inf)])
    got = run(matrix, np.array([0, 2, 3]), np.array([0, 1, 2, 3]))
    expected = [[0.0, 0.5, 0.75, np.inf], [np.inf, np.inf, 0.0, np.inf], [np.inf] * 3 + [0.0]]
    assert np.array_equal(got, np.array(expected))


def test_early_exit_keeps_exact_times() -> None:
    """A long chain with a shortcut found late: stopping at the targets must not cut it."""
    n = 400
    arcs = [(i, i + 1, 0.1) for i in range(n - 1)] + [(0, n - 1, 39.0), (0, 5, 0.3)]
    matrix = to_csr(n, arcs)
    ends = np.array([5, n - 1, 3])
    expected = dijkstra(matrix, directed=True, indices=[0, 7])[:, ends]
    assert np.array_equal(run(matrix, np.array([0, 7]), ends), expected)


def test_empty_and_bad_limit() -> None:
    matrix = to_csr(3, [(0, 1, 1.0)])
    assert run(matrix, np.array([], dtype=np.int64), np.array([1])).shape == (0, 1)
    assert run(matrix, np.array([0]), np.array([], dtype=np.int64)).shape == (1, 0)
    with pytest.raises(ValueError, match="limit"):
        run(matrix, np.array([0]), np.array([1]), limit=-1.0)


# -- through RoadGraph: kernel path == scipy fallback, with events -------------------------


def grid_graph(side: int, seed: int) -> RoadGraph:
    rng = np.random.default_rng(seed)
    nodes = "id,lat,lng\n" + "".join(
        f"{i},{33.5 + 0.004 * (i // side)},{117 + 0.004 * (i % side)}\n" for i in range(side**2)
    )
    rows = []
    for i in range(side**2):
        for j in (i + 1, i + side):
            if (j == i + 1 and j % side == 0) or j >= side**2 or rng.random() < 0.15:
                continue
            length = round(float(rng.uniform(300, 600)), 1)
            road = rng.choice(["county", "village", "national"])
            oneway = int(rng.random() < 0.1)
            rows.append(f"{len(rows)},{i},{j},{length},{road},{rng.choice([30, 60])},{oneway}\n")
    edges = "id,u,v,length_m,road_class,speed_kmh,oneway\n" + "".join(rows)
    return RoadGraph.from_csv(io.StringIO(nodes), io.StringIO(edges))


def scipy_matrix(graph: RoadGraph, sources, targets, **options) -> np.ndarray:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernel, "AVAILABLE", False)
        return graph.travel_time_matrix(sources, targets, **options)


@pytest.mark.parametrize("profile", ["relief_truck", "heavy_truck"])
def test_roadgraph_kernel_equals_scipy_under_events(profile) -> None:
    graph = grid_graph(14, seed=3)
    rng = np.random.default_rng(5)
    sources = rng.choice(graph.node_count, 6, replace=False).tolist()
    targets = rng.choice(graph.node_count, 30, replace=False).tolist()

    def check(**options) -> np.ndarray:
        ours = graph.travel_time_matrix(sources, targets, profile=profile, **options)
        assert np.array_equal(
            ours, scipy_matrix(graph, sources, targets, profile=profile, **options)
        )
        # more sources than targets: the transposed graph
        wide = graph.travel_time_matrix(targets, sources, profile=profile, **options)
        assert np.array_equal(
            wide, scipy_matrix(graph, targets, sources, profile=profile, **options)
        )
        return ours

    before = check()
    assert np.isfinite(before).any()
    closure = graph.apply_event(RoadEvent("closure", edge_ids=tuple(range(0, graph.edge_count, 4))))
    slowdown = graph.apply_event(
        RoadEvent("slowdown", edge_ids=tuple(range(1, graph.edge_count, 3)), speed_factor=0.3)
    )
    during = check()
    assert np.isinf(during).sum() >= np.isinf(before).sum()
    assert not np.array_equal(during, before)
    check(max_hours=float(np.median(during[np.isfinite(during)])))
    graph.remove_event(closure.id)
    graph.remove_event(slowdown.id)
    assert np.array_equal(check(), before)


def test_roadgraph_duplicate_sources_and_isolated_node() -> None:
    nodes = "id,lat,lng\na,33.5,117.0\nb,33.5,117.01\nc,33.5,117.02\nd,33.6,117.5\n"
    edges = "u,v,length_m,road_class,speed_kmh\na,b,1000,county,60\nb,c,500,county,60\n"
    graph = RoadGraph.from_csv(io.StringIO(nodes), io.StringIO(edges))
    sources, targets = ["a", "c", "a", "d"], ["a", "b", "c", "d", "b"]
    ours = graph.travel_time_matrix(sources, targets)
    assert np.array_equal(ours, scipy_matrix(graph, sources, targets))
    assert np.isinf(ours[3, :3]).all() and ours[3, 3] == 0.0
    assert np.array_equal(ours[0], ours[2])


def _search_in_child(conn) -> None:
    matrix = to_csr(3, [(0, 1, 1.0), (1, 2, 2.0)])
    conn.send(run(matrix, np.array([0, 1, 2]), np.array([2])).tolist())
    conn.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_worker_pool_is_recreated_in_a_forked_child() -> None:
    """A pool made before a fork (gunicorn --preload) has no threads in the child."""
    matrix = to_csr(3, [(0, 1, 1.0), (1, 2, 2.0)])
    run(matrix, np.array([0, 1, 2]), np.array([2]))  # the parent's pool now exists
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=_search_in_child, args=(child,))
    process.start()
    try:
        assert parent.poll(60), "the search in the forked child hung"
        assert parent.recv() == [[3.0], [2.0], [0.0]]
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()

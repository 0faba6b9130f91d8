"""Compiled many-to-many shortest travel times over a CSR graph (numba).

:func:`many_to_many` runs one search per origin in numba-compiled code and stops it as soon as
every wanted end node is final. The search is Dial's algorithm on float keys: nodes wait in
circular buckets of width ``delta`` (the smallest positive arc weight, or wider when weights
span more than :data:`MAX_BUCKETS` widths) kept as doubly linked lists, so queue operations are
O(1) instead of a heap's O(log n). A node improved again inside its own bucket is simply
searched again (label-correcting), so the answers never depend on the bucket width.

The answers are bit-for-bit those of ``scipy.sparse.csgraph.dijkstra``: every final label is
the minimum, over all paths, of the left-to-right float64 sum of arc weights — float addition
is monotone, so any correct label-setting or label-correcting search reaches that same value,
whatever its queue or tie order. Times above ``limit`` and unreachable nodes are ``inf``;
``inf`` arcs (closed roads) are never taken.

Origins are split into chunks that a thread pool (one thread per usable CPU) runs concurrently;
the kernel releases the GIL, and no numba threading layer is involved, so concurrent callers are
safe. Compiled code is cached on disk (``cache=True``); the first call in a fresh environment
compiles it (1–2 s). Without numba, :data:`AVAILABLE` is ``False`` and callers fall
back to scipy.
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: numba is installed; without it the graph falls back to scipy. numba itself is imported, and
#: the kernel compiled (or loaded from the disk cache), on the first search only.
AVAILABLE = importlib.util.find_spec("numba") is not None

#: Most buckets in the circular queue; weights spanning more widths widen the buckets.
MAX_BUCKETS = 1 << 16

# Chunks per worker: a few, so a preempted worker does not hold up the whole matrix.
_CHUNKS_PER_WORKER = 4
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_compiled: Callable[..., None] | None = None
_lock = threading.Lock()


def _search_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    origins: np.ndarray,
    is_end: np.ndarray,
    n_ends: int,
    ends: np.ndarray,
    limit: float,
    delta: float,
    n_buckets: int,
    out: np.ndarray,
) -> None:
    """Fill ``out[r, k]`` with the shortest time from ``origins[r]`` to ``ends[k]``.

    ``indptr``/``indices`` are unsigned (no negative-index handling in the hot loop) and
    ``n_buckets`` is a power of two.
    """
    n = indptr.shape[0] - 1
    none = np.uint32(0xFFFFFFFF)
    mask = n_buckets - 1
    inv = 1.0 / delta
    dist = np.empty(n, dtype=np.float64)
    counted = np.empty(n, dtype=np.uint8)
    # link[v] = (next, prev) in v's bucket list, prev = none: in no bucket; row n + h heads
    # the circular list of bucket h.
    link = np.empty((n + n_buckets, 2), dtype=np.uint32)
    for r in range(origins.shape[0]):
        dist[:] = np.inf
        counted[:] = 0
        link[:n, 1] = none
        for h in range(n, n + n_buckets):
            link[h, 0] = h
            link[h, 1] = h
        s = np.uint32(origins[r])
        first = np.uint32(n)
        dist[s] = 0.0
        link[s, 0] = first
        link[s, 1] = first
        link[first, 0] = s
        link[first, 1] = s
        pending = 1  # nodes waiting in a bucket
        cur = 0  # absolute index of the bucket being emptied
        remaining = n_ends
        done = False
        while pending > 0:
            head = np.uint32(n + (cur & mask))
            while True:
                u = link[head, 0]
                if u == head:
                    break
                q = link[u, 0]
                link[head, 0] = q
                link[q, 1] = head
                link[u, 1] = none
                pending -= 1
                if is_end[u] and counted[u] == 0:
                    counted[u] = 1
                    remaining -= 1
                    done = remaining == 0  # all ends final once this bucket is empty
                du = dist[u]
                for j in range(np.uint64(indptr[u]), np.uint64(indptr[u + 1])):
                    v = indices[j]
                    nd = du + weights[j]
                    if nd < dist[v] and nd <= limit:
                        dist[v] = nd
                        p = link[v, 1]
                        if p != none:  # unlink from the bucket it waits in
                            q = link[v, 0]
                            link[p, 0] = q
                            link[q, 1] = p
                        else:
                            pending += 1
                        b = np.int64(nd * inv)
                        if b < cur:
                            b = cur
                        hb = np.uint32(n + (b & mask))
                        f = link[hb, 0]
                        link[v, 0] = f
                        link[v, 1] = hb
                        link[f, 1] = v
                        link[hb, 0] = v
            if done:
                break
            cur += 1
        for k in range(ends.shape[0]):
            out[r, k] = dist[ends[k]]


def _kernel() -> Callable[..., None]:
    """The numba-compiled :func:`_search_rows` (compiled per argument types on first call)."""
    global _compiled
    with _lock:
        if _compiled is None:
            from numba import njit

            _compiled = njit(nogil=True, cache=True, error_model="numpy")(_search_rows)
        return _compiled


def bucket_width(weights: np.ndarray) -> tuple[float, int]:
    """(bucket width, bucket count) for arc ``weights``: the smallest positive finite weight,
    widened so that the largest finite weight spans at most :data:`MAX_BUCKETS` - 3 widths."""
    finite = weights[np.isfinite(weights)]
    top = float(finite.max()) if len(finite) else 0.0
    positive = finite[finite > 0]
    delta = float(positive.min()) if len(positive) else 1.0
    delta = max(delta, top / (MAX_BUCKETS - 3))
    return delta, 1 << (int(top / delta) + 2).bit_length()  # a power of two > top / delta + 2


def _unsigned(index: np.ndarray) -> np.ndarray:
    """A signed index array viewed as unsigned (same bits; entries are never negative)."""
    return index.view(np.dtype(f"u{index.dtype.itemsize}"))


def workspace_bytes(n_nodes: int, n_buckets: int) -> int:
    """Memory one worker thread's search allocates (dist, flags, bucket links)."""
    return n_nodes * (8 + 1) + (n_nodes + n_buckets) * 2 * 4


def default_workers() -> int:
    """Worker threads used when ``workers`` is not given: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _executor() -> ThreadPoolExecutor:
    """The shared worker pool, created on first use and again in a forked child process."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(default_workers(), thread_name_prefix="reserve-dijkstra")
            _pool_pid = os.getpid()
        return _pool


def many_to_many(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    origins: np.ndarray,
    ends: np.ndarray,
    limit: float = math.inf,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """Shortest times (len(origins) × len(ends)) over a CSR graph; ``inf`` if unreachable.

    ``indptr``/``indices``/``weights`` are a CSR matrix's arrays (row = arc tail) without
    duplicate entries; weights must be ``>= 0`` (``inf``: no arc). Times above ``limit`` are
    ``inf``. ``workers`` threads (default: the CPUs this process may use) share the origins.
    """
    if not AVAILABLE:
        raise RuntimeError("numba is not installed; use scipy.sparse.csgraph.dijkstra")
    if limit < 0:
        raise ValueError("limit must be >= 0")
    search = _kernel()
    n = len(indptr) - 1
    origins = np.ascontiguousarray(origins, dtype=np.int64)
    ends = np.ascontiguousarray(ends, dtype=np.int64)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    indptr, indices = (_unsigned(np.ascontiguousarray(x)) for x in (indptr, indices))
    out = np.empty((len(origins), len(ends)), dtype=np.float64)
    if len(origins) == 0 or len(ends) == 0:
        return out
    is_end = np.zeros(n, dtype=np.bool_)
    is_end[ends] = True
    n_ends = int(np.count_nonzero(is_end))
    delta, n_buckets = bucket_width(weights)
    if n + n_buckets >= 0xFFFFFFFF:
        raise ValueError(f"{n:,} nodes is beyond the kernel's 32-bit node numbers")
    args = (indptr, indices, weights)
    tail = (is_end, n_ends, ends, float(limit), delta, n_buckets)
    count = min(len(origins), workers or default_workers())
    if count <= 1:
        search(*args, origins, *tail, out)
        return out
    chunks = min(len(origins), count * _CHUNKS_PER_WORKER)
    bounds = np.unique(np.linspace(0, len(origins), chunks + 1).astype(np.int64))
    pool = _executor() if workers is None else ThreadPoolExecutor(count)
    try:
        jobs = [
            pool.submit(search, *args, origins[a:b], *tail, out[a:b])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        for job in jobs:
            job.result()
    finally:
        if pool is not _pool:
            pool.shutdown()
    return out

"""Readers for OR-Library facility-location instances (Beasley 1985, 1988).

* ``pmed1..pmed40`` — uncapacitated p-median: first line ``n n_edges p``, then ``i j cost``
  undirected edges with 1-based vertices.  Costs are all-pairs shortest-path lengths over that
  graph.  The files repeat some vertex pairs with different costs; the published optima are
  reproduced only when the LATER occurrence overwrites the earlier one (not the minimum), so
  that is what :func:`read_pmed` does.
* ``cap41..cap134``, ``capa/b/c`` — capacitated warehouse location: ``m n``; ``m`` lines
  ``capacity fixed_cost``; then per customer ``demand`` followed by ``m`` costs, each the cost
  of serving ALL of that customer's demand from that warehouse.  ``capa/b/c`` carry the word
  ``capacity`` instead of a number; the literature solves them with one capacity for every
  warehouse (``capacity_override``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import csgraph_from_dense, shortest_path


@dataclass(frozen=True)
class PMedianInstance:
    """An OR-Library p-median instance: every vertex is both a demand point and a site."""

    name: str
    n: int
    p: int
    n_edges: int
    cost: np.ndarray  # (n, n) shortest-path lengths
    demand: np.ndarray  # all ones


@dataclass(frozen=True)
class CapacitatedInstance:
    """An OR-Library capacitated warehouse-location instance."""

    name: str
    capacity: np.ndarray  # (m,) per warehouse
    fixed_cost: np.ndarray  # (m,)
    demand: np.ndarray  # (n,)
    cost: np.ndarray  # (n, m): cost of serving all of customer i's demand from warehouse j

    @property
    def n_customers(self) -> int:
        return int(self.demand.shape[0])

    @property
    def n_warehouses(self) -> int:
        return int(self.capacity.shape[0])


def _instance_name(path: str | os.PathLike[str]) -> str:
    return os.path.splitext(os.path.basename(os.fspath(path)))[0]


def read_pmed(path: str | os.PathLike[str]) -> PMedianInstance:
    """Read a ``pmedN.txt`` file and return all-pairs shortest-path costs.

    Duplicate edges: the later line wins (see module docstring).
    """
    with open(path, encoding="ascii") as fh:
        tokens = fh.read().split()
    if len(tokens) < 3:
        raise ValueError(f"{path}: expected 'n n_edges p' header")
    n, n_edges, p = (int(t) for t in tokens[:3])
    body = tokens[3:]
    if len(body) < 3 * n_edges:
        raise ValueError(f"{path}: header promises {n_edges} edges, file holds {len(body) // 3}")
    edges = np.asarray(body[: 3 * n_edges], dtype=np.float64).reshape(n_edges, 3)

    adjacency = np.full((n, n), np.inf)
    # A plain loop keeps "later overwrites earlier" obvious; n_edges <= 16 200.
    for i, j, c in edges:
        a, b = int(i) - 1, int(j) - 1
        if a != b:
            adjacency[a, b] = adjacency[b, a] = c
    graph = csgraph_from_dense(adjacency, null_value=np.inf)
    cost = shortest_path(graph, method="D", directed=False)
    return PMedianInstance(
        name=_instance_name(path), n=n, p=p, n_edges=n_edges, cost=cost, demand=np.ones(n)
    )


def read_cap(
    path: str | os.PathLike[str], capacity_override: float | None = None
) -> CapacitatedInstance:
    """Read a ``capNN.txt`` / ``capa.txt`` file.

    Parameters
    ----------
    path
        The instance file.
    capacity_override
        Capacity for every warehouse; required when the file says ``capacity`` instead of a
        number (``capa``, ``capb``, ``capc``), and replaces the file's numbers otherwise.
    """
    with open(path, encoding="ascii") as fh:
        tokens = fh.read().split()
    m, n = int(tokens[0]), int(tokens[1])
    pos = 2
    capacity = np.empty(m)
    fixed_cost = np.empty(m)
    for j in range(m):
        cap_token, fixed_token = tokens[pos], tokens[pos + 1]
        pos += 2
        if capacity_override is not None:
            capacity[j] = capacity_override
        elif cap_token.lower() == "capacity":
            raise ValueError(
                f"{path}: warehouse {j} has capacity given as 'capacity'; pass capacity_override"
            )
        else:
            capacity[j] = float(cap_token)
        fixed_cost[j] = float(fixed_token)
    expected = pos + n * (m + 1)
    if len(tokens) < expected:
        raise ValueError(f"{path}: expected {expected} tokens for {n} customers, got {len(tokens)}")
    block = np.asarray(tokens[pos:expected], dtype=np.float64).reshape(n, m + 1)
    return CapacitatedInstance(
        name=_instance_name(path),
        capacity=capacity,
        fixed_cost=fixed_cost,
        demand=block[:, 0].copy(),
        cost=block[:, 1:].copy(),
    )

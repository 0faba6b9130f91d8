r"""The capacitated VRP (pure code): instance, CVRPLIB reader, solve with a chosen backend.

Formulation
-----------
* Sets: customers :math:`C = \{1..n\}`, depot 0, identical vehicles :math:`K`
  (at most ``vehicles``) of capacity :math:`Q`.
* Data: distance :math:`d_{ij}` (integers), demand :math:`q_i`.
* Variables: successor :math:`x_{ij} \in \{0,1\}`.
* Objective: :math:`\min \sum_{ij} d_{ij} x_{ij}` (total distance).
* Constraints: every customer visited once; each route starts and ends at the depot; the
  load of a route is at most :math:`Q`; at most :math:`|K|` routes.

This is the VRPTW of :mod:`reserve_service.optimize.vrptw` without time windows, so both
backends solve it through the VRPTW code: ``"pyvrp"`` (hybrid genetic search, the default) and
``"ortools"`` (OR-Tools routing, guided local search, then ruin and recreate).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..monitor import SolveMonitor
from ..vrptw import VrptwInputError, VrptwInstance, VrptwSolution, solve_vrptw


@dataclass(frozen=True)
class CvrpInstance:
    """Node 0 is the depot; ``distance`` is an integer (n, n) matrix, ``demand`` has n entries."""

    distance: np.ndarray
    demand: np.ndarray
    capacity: int
    vehicles: int
    coordinates: np.ndarray | None = None  # (n, 2)
    name: str = ""

    def __post_init__(self) -> None:
        n = len(self.demand)
        if n < 2:
            raise VrptwInputError("demand", "needs the depot and at least one customer")
        if np.shape(self.distance) != (n, n):
            raise VrptwInputError("distance", f"must be {n}×{n}")
        if np.any(np.asarray(self.distance) < 0):
            raise VrptwInputError("distance", "must be >= 0")
        if np.any(np.asarray(self.demand) < 0):
            raise VrptwInputError("demand", "must be >= 0")
        if self.capacity < 1:
            raise VrptwInputError("capacity", "must be >= 1")
        if np.any(np.asarray(self.demand) > self.capacity):
            raise VrptwInputError("demand", "a customer needs more than a vehicle carries")
        total = int(np.asarray(self.demand).sum())
        if self.vehicles * self.capacity < total:
            raise VrptwInputError(
                "vehicles",
                f"{self.vehicles} vehicles × {self.capacity} cannot carry the total demand {total}",
            )

    def as_vrptw(self) -> VrptwInstance:
        """The same problem as a VRPTW whose windows never bind."""
        n = len(self.demand)
        distance = np.asarray(self.distance, dtype=np.int64)
        # a horizon longer than any route that visits every node once: no window binds
        horizon = int(distance.max(axis=1).sum()) + 1
        return VrptwInstance(
            distance=distance,
            travel_time=distance,
            demand=np.asarray(self.demand, dtype=np.int64),
            ready=np.zeros(n, dtype=np.int64),
            due=np.full(n, horizon, dtype=np.int64),
            service=np.zeros(n, dtype=np.int64),
            vehicles=self.vehicles,
            capacity=int(self.capacity),
            coordinates=self.coordinates,
        )


def read_vrplib(path: str | Path, vehicles: int | None = None) -> CvrpInstance:
    """A CVRPLIB (TSPLIB-style) ``.vrp`` file with ``EDGE_WEIGHT_TYPE : EUC_2D``.

    Distances are Euclidean, rounded to the nearest integer (CVRPLIB's ``nint``); the depot
    (``DEPOT_SECTION``, usually node 1) becomes node 0.  The fleet is ``vehicles``, else the
    ``VEHICLES`` line, else the ``k`` of a name such as ``A-n33-k5``, else one per customer.
    """
    text = Path(path).read_text()
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if re.match(r"^[A-Z_]+\s*:", line):
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip().strip('"')
            current = None
        elif re.match(r"^[A-Z_]+SECTION$", line):
            current = line
            sections[current] = []
        elif current is not None:
            sections[current].append(line.split())
    if header.get("EDGE_WEIGHT_TYPE", "EUC_2D") != "EUC_2D":
        raise VrptwInputError("EDGE_WEIGHT_TYPE", "only EUC_2D is read")
    coords = {int(r[0]): (float(r[1]), float(r[2])) for r in sections["NODE_COORD_SECTION"]}
    demand = {int(r[0]): int(r[1]) for r in sections["DEMAND_SECTION"]}
    depot_rows = [int(r[0]) for r in sections.get("DEPOT_SECTION", [["1"]]) if int(r[0]) > 0]
    depot = depot_rows[0]
    order = [depot, *sorted(k for k in coords if k != depot)]
    xy = np.array([coords[k] for k in order])
    euclid = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    distance = np.floor(euclid + 0.5).astype(np.int64)
    name = header.get("NAME", Path(path).stem).strip()
    if vehicles is None:
        if "VEHICLES" in header:
            vehicles = int(header["VEHICLES"])
        elif m := re.search(r"-k(\d+)", name):
            vehicles = int(m.group(1))
        else:
            vehicles = len(order) - 1
    return CvrpInstance(
        distance=distance,
        demand=np.array([demand[k] for k in order], dtype=np.int64),
        capacity=int(header["CAPACITY"]),
        vehicles=vehicles,
        coordinates=xy,
        name=name,
    )


def cvrp_routes_valid(inst: CvrpInstance, routes: list[list[int]]) -> bool:
    """Every customer once, no route over capacity, at most ``vehicles`` routes."""
    visits = sorted(c for r in routes for c in r)
    if visits != list(range(1, len(inst.demand))) or len(routes) > inst.vehicles:
        return False
    return all(int(sum(inst.demand[c] for c in r)) <= inst.capacity for r in routes)


def solve_cvrp(
    inst: CvrpInstance,
    time_limit: float = 30.0,
    *,
    backend: str = "pyvrp",
    seed: int = 0,
    monitor: SolveMonitor | None = None,
) -> VrptwSolution:
    """Build → solve → extract, on the backend named by ``backend`` (``"pyvrp"`` or
    ``"ortools"``); see :func:`reserve_service.optimize.vrptw.solve_vrptw`."""
    if not (isinstance(time_limit, int | float) and math.isfinite(time_limit)):
        raise VrptwInputError("time_limit", "must be a finite number of seconds")
    return solve_vrptw(inst.as_vrptw(), time_limit, backend=backend, seed=seed, monitor=monitor)

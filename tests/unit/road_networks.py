"""Random small road networks for the routing unit tests, and the NetworkX oracle they are
checked against.

The oracle computes each edge's hours from the raw edge row and the policy YAML on its own (free
speed capped by the profile's class speed, toll-plaza queue for unapproved vehicles, bridge
weight limits, and the road events given: closures and repairs shut an edge, traffic control
shuts it to unapproved vehicles, slowdowns scale its speed), then runs ``networkx`` Dijkstra on
a MultiDiGraph.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import yaml
from hypothesis import strategies as st

from reserve_service.routing.events import RoadEvent
from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.policy import DEFAULT_POLICY_PATH

CLASSES = ["expressway", "national", "provincial", "county", "township", "village"]
POLICY = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Row:
    """One edges.csv row as the test wrote it."""

    id: int
    u: int
    v: int
    length_m: float
    road_class: str
    speed_kmh: float
    oneway: bool
    toll: bool = False
    toll_plaza: bool = False
    max_weight_t: float | None = None


def oracle_hours(row: Row, profile: str, events: Sequence[RoadEvent] = ()) -> float | None:
    """Hours on one edge from the YAML alone; None when the vehicle may not use it."""
    spec = POLICY["profiles"][profile]
    if row.max_weight_t is not None and row.max_weight_t < spec["weight_t"]:
        return None
    mine = [e for e in events if row.id in e.edge_ids]
    if any(e.kind in ("closure", "repair") for e in mine):
        return None
    if any(e.kind == "traffic_control" for e in mine) and not spec["green_channel_approved"]:
        return None
    speed = min(row.speed_kmh, spec["speed_kmh"][row.road_class])
    for e in mine:
        if e.kind == "slowdown":
            speed *= e.speed_factor
    queue = 0.0 if spec["green_channel_approved"] else spec["toll_plaza_queue_minutes"] / 60
    return row.length_m / 1000 / speed + (queue if row.toll_plaza else 0.0)


def oracle_graph(
    n: int, rows: list[Row], profile: str, events: Sequence[RoadEvent] = ()
) -> nx.MultiDiGraph:
    """The network as the oracle sees it for ``profile`` under ``events``."""
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    for row in rows:
        h = oracle_hours(row, profile, events)
        if h is None:
            continue
        g.add_edge(row.u, row.v, key=row.id, hours=h)
        if not row.oneway:
            g.add_edge(row.v, row.u, key=row.id, hours=h)
    return g


def oracle_matrix(g: nx.MultiDiGraph, sources: Sequence[int], targets: Sequence[int]) -> np.ndarray:
    """Dijkstra hours from every source to every target (inf where none)."""
    out = np.full((len(sources), len(targets)), np.inf)
    for i, s in enumerate(sources):
        dist = nx.single_source_dijkstra_path_length(g, s, weight="hours")
        for j, t in enumerate(targets):
            out[i, j] = dist.get(t, np.inf)
    return out


def write_csv(
    n: int, rows: list[Row], coords: list[tuple[float, float]]
) -> tuple[io.StringIO, io.StringIO]:
    """nodes.csv and edges.csv of the network."""
    nodes = io.StringIO(
        "id,lat,lng\n" + "".join(f"{i},{la},{ln}\n" for i, (la, ln) in enumerate(coords))
    )
    lines = ["id,u,v,length_m,road_class,speed_kmh,oneway,toll,toll_plaza,max_weight_t"]
    for r in rows:
        weight = "" if r.max_weight_t is None else r.max_weight_t
        lines.append(
            f"{r.id},{r.u},{r.v},{r.length_m},{r.road_class},{r.speed_kmh},{int(r.oneway)},"
            f"{int(r.toll)},{int(r.toll_plaza)},{weight}"
        )
    return nodes, io.StringIO("\n".join(lines) + "\n")


@st.composite
def networks(
    draw: st.DrawFn,
    max_nodes: int = 12,
    min_edges: int = 0,
    lengths: Sequence[float] = (0.0, 1.5, 250.0, 1234.5, 5000.0, 17000.0),
    speeds: Sequence[float] = (15.0, 45.0, 60.0, 90.0, 120.0),
    weight_limits: Sequence[float | None] = (None, None, 10.0, 20.0, 40.0),
) -> tuple[int, list[Row], RoadGraph]:
    """Random small road networks with parallel edges, self-loops, one-ways, tolls and limits:
    ``(node count, edge rows, the RoadGraph read from their CSV)``."""
    n = draw(st.integers(2, max_nodes))
    m = draw(st.integers(min_edges, 3 * n))
    ids = draw(st.lists(st.integers(0, 10_000), min_size=m, max_size=m, unique=True))
    rows = [
        Row(
            id=edge_id,
            u=draw(st.integers(0, n - 1)),
            v=draw(st.integers(0, n - 1)),
            length_m=draw(st.sampled_from(lengths)),
            road_class=draw(st.sampled_from(CLASSES)),
            speed_kmh=draw(st.sampled_from(speeds)),
            oneway=draw(st.booleans()),
            toll=draw(st.booleans()),
            toll_plaza=draw(st.booleans()),
            max_weight_t=draw(st.sampled_from(weight_limits)),
        )
        for edge_id in ids
    ]
    coords = [(33.5 + 0.01 * draw(st.integers(0, 50)), 117.0 + 0.01 * i) for i in range(n)]
    return n, rows, RoadGraph.from_csv(*write_csv(n, rows, coords))

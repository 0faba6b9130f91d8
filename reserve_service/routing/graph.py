"""Road graph with green-channel travel times, road events and fast matrices.

The network is held as edge columns (numpy) — the source of truth — with two derived views:

* a NetworkX ``MultiDiGraph`` (:attr:`RoadGraph.graph`, built on first use; key = edge id) for
  inspection and interoperability;
* per vehicle profile, a CSR adjacency of travel hours (parallel arcs reduced to their minimum)
  and its transpose; matrices are searched by the compiled kernel in :mod:`.kernel` (numba;
  ``scipy.sparse.csgraph.dijkstra`` without it), routes and reachability by scipy.

Edge ids are stable integers (the ``id`` column, or row order); a two-way segment is one edge id
with an arc in each direction. Road events are applied in place to every built CSR view; removing
an event recomputes the touched edges from the event-free base, so times return exactly.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from reserve_service.routing import kernel, loaders
from reserve_service.routing.errors import (
    NoRouteError,
    RoadEventError,
    RoutingInputError,
    SnapDistanceError,
    UnknownNodeError,
)
from reserve_service.routing.events import EventKind, RoadEvent, as_utc
from reserve_service.routing.policy import (
    ROAD_CLASSES,
    RoutingPolicy,
    VehicleProfile,
    default_policy,
)

# A dijkstra call returns (sources × nodes) float64; batches keep that block under ~64 MB.
_MATRIX_BATCH_CELLS = 8_000_000

#: the arc and slot arrays derived from the edge columns (see ``_build_arcs``); read-only once
#: built, so :mod:`.store` keeps them with the columns and processes map them instead
ARC_ARRAYS = ("_arc_edge", "_arc_from", "_arc_to", "_reverse_arc", "_slot_arcs", "_slot_start",
              "_slot_from", "_slot_to", "_forward_indptr", "_slot_of_arc", "_back_slot",
              "_back_position", "_back_indices", "_back_indptr")


class _EdgePositions:
    """Edge id → row position without a dict of every edge: the identity when ids are the row
    numbers (CSV, GeoJSON, OSM loaders), else a binary search over the sorted ids."""

    def __init__(self, edge_ids: np.ndarray) -> None:
        self._n = len(edge_ids)
        self._identity = bool(np.array_equal(edge_ids, np.arange(self._n)))
        if not self._identity:
            self._order = np.argsort(edge_ids, kind="stable")
            self._sorted = np.asarray(edge_ids)[self._order]

    def get(self, edge_id: int) -> int | None:
        if self._identity:
            return edge_id if 0 <= edge_id < self._n else None
        i = int(np.searchsorted(self._sorted, edge_id))
        return int(self._order[i]) if i < self._n and self._sorted[i] == edge_id else None

    def __contains__(self, edge_id: object) -> bool:
        return isinstance(edge_id, numbers.Integral) and self.get(int(edge_id)) is not None

    def __getitem__(self, edge_id: int) -> int:
        found = self.get(edge_id)
        if found is None:
            raise KeyError(edge_id)
        return found


@dataclass(frozen=True)
class SnapResult:
    """The road node nearest to a point and its distance."""

    node: Any
    distance_m: float


@dataclass(frozen=True)
class RouteLeg:
    """One edge of a route as driven by the profile."""

    edge_id: int
    from_node: Any
    to_node: Any
    road_class: str
    name: str
    ref: str
    length_m: float
    speed_kmh: float
    hours: float
    queue_hours: float
    toll_yuan: float
    toll_saved_yuan: float
    event_ids: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    """The fastest route between two nodes for a vehicle profile."""

    source: Any
    target: Any
    profile: str
    policy_version: str
    eta_hours: float
    length_m: float
    toll_yuan: float
    toll_saved_yuan: float
    rules_applied: tuple[str, ...]
    legs: tuple[RouteLeg, ...]
    geometry: dict[str, Any] = field(repr=False)

    def to_geojson(self) -> dict[str, Any]:
        """The route as a GeoJSON Feature with its totals as properties."""
        return {
            "type": "Feature",
            "geometry": self.geometry,
            "properties": {
                "source": self.source,
                "target": self.target,
                "profile": self.profile,
                "policy_version": self.policy_version,
                "eta_hours": self.eta_hours,
                "length_m": self.length_m,
                "toll_yuan": self.toll_yuan,
                "toll_saved_yuan": self.toll_saved_yuan,
                "rules_applied": list(self.rules_applied),
                "edge_ids": [leg.edge_id for leg in self.legs],
            },
        }

    def summary(self) -> str:
        """One line for logs and dispatch notes."""
        roads = [leg.ref or leg.name for leg in self.legs if leg.ref or leg.name]
        via = " → ".join(dict.fromkeys(roads)) or "local roads"
        return (
            f"{self.source} → {self.target} [{self.profile}]: {self.eta_hours:.2f} h, "
            f"{self.length_m / 1000:.1f} km via {via}; toll {self.toll_yuan:.2f} yuan "
            f"(saved {self.toll_saved_yuan:.2f}); rules: {', '.join(self.rules_applied) or 'none'}"
        )


class _ProfileView:
    """Travel hours of every edge for one profile, and the CSR views searched by dijkstra."""

    def __init__(self, graph: RoadGraph, profile: VehicleProfile) -> None:
        policy = graph.policy
        self.profile = profile
        self.passes_traffic_control = policy.passes_traffic_control(profile)
        class_speed = np.array([profile.speed_kmh[c] for c in ROAD_CLASSES])
        self.cap_kmh = np.minimum(graph._speed_kmh, class_speed[graph._road_class])
        queue = (
            profile.toll_plaza_queue_minutes / 60.0 if policy.queues_at_toll_plaza(profile) else 0.0
        )
        self.queue_hours = np.where(graph._toll_plaza, queue, 0.0)
        self.blocked = graph._max_weight_t < profile.weight_t
        self.base_hours = np.where(
            self.blocked, np.inf, graph._length_m / 1000.0 / self.cap_kmh + self.queue_hours
        )
        self.hours = self.base_hours.copy()
        self.forward = csr_matrix(
            (graph._slot_values(self.hours), graph._slot_to, graph._forward_indptr),
            shape=(graph.node_count, graph.node_count),
        )
        self.backward = csr_matrix(
            (self.forward.data[graph._back_slot], graph._back_indices, graph._back_indptr),
            shape=(graph.node_count, graph.node_count),
        )

    def hours_with(
        self, graph: RoadGraph, edges: np.ndarray, events: Iterable[RoadEvent]
    ) -> np.ndarray:
        """Hours of ``edges`` (sorted positions) recomputed from the base under ``events``."""
        closed = np.zeros(len(edges), dtype=bool)
        factor = np.ones(len(edges))
        for event in events:
            hit = graph._event_edges[event.id]
            inside = np.isin(edges, hit, assume_unique=True)
            if event.closes_edges or (
                event.kind is EventKind.TRAFFIC_CONTROL and not self.passes_traffic_control
            ):
                closed |= inside
            elif event.kind is EventKind.SLOWDOWN:
                factor[inside] *= event.speed_factor
        hours = self.base_hours[edges].copy()
        slowed = (factor < 1.0) & ~self.blocked[edges]
        hours[slowed] = (
            graph._length_m[edges[slowed]] / 1000.0 / (self.cap_kmh[edges[slowed]] * factor[slowed])
            + self.queue_hours[edges[slowed]]
        )
        hours[closed] = np.inf
        return hours


class RoadGraph:
    """A road network with vehicle-profile travel times, road events and fast matrices.

    Parameters
    ----------
    tables : loaders.NetworkTables
        Node and edge columns, as returned by the ``loaders.read_*`` functions.
    policy : RoutingPolicy, optional
        Vehicle profiles and green-channel rules; default ``policies/green_channel_v1.yaml``.
    max_snap_m : float
        Points farther than this from every node raise :class:`SnapDistanceError`.
    arcs : mapping of str to numpy arrays, optional
        The arrays of ``ARC_ARRAYS`` of this same network (from :meth:`arc_arrays`, e.g.
        memory-mapped by :mod:`.store`); built from the edge columns when omitted.
    """

    def __init__(
        self,
        tables: loaders.NetworkTables,
        *,
        policy: RoutingPolicy | None = None,
        max_snap_m: float = 2_000.0,
        arcs: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        if not max_snap_m > 0:
            raise RoutingInputError("max_snap_m", f"max_snap_m must be > 0, got {max_snap_m!r}")
        self.policy = policy or default_policy()
        self.max_snap_m = float(max_snap_m)
        self._tables = tables
        self._node_ids = list(tables.node_ids)
        self._node_position = {node: i for i, node in enumerate(self._node_ids)}
        self._lat, self._lng = tables.lat, tables.lng
        self._edge_ids = tables.edge_id
        self._edge_position = _EdgePositions(tables.edge_id)
        self._length_m = tables.length_m
        self._road_class = tables.road_class
        self._speed_kmh = tables.speed_kmh
        self._toll = tables.toll
        self._toll_plaza = tables.toll_plaza
        self._max_weight_t = tables.max_weight_t
        if arcs is None:
            self._build_arcs()
        else:
            for name in ARC_ARRAYS:
                setattr(self, name, arcs[name])
        self._views: dict[str, _ProfileView] = {}
        self._events: dict[str, RoadEvent] = {}
        self._event_edges: dict[str, np.ndarray] = {}
        self._lock = threading.RLock()

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_csv(
        cls,
        nodes_csv: loaders.Source,
        edges_csv: loaders.Source,
        **options: Any,
    ) -> RoadGraph:
        """Read ``nodes.csv`` (id, lat, lng) and ``edges.csv`` (see :func:`loaders.read_csv`)."""
        return cls(loaders.read_csv(nodes_csv, edges_csv), **options)

    @classmethod
    def from_geojson(cls, source: loaders.Source | Mapping[str, Any], **options: Any) -> RoadGraph:
        """Read GeoJSON road lines (see :func:`loaders.read_geojson`)."""
        return cls(loaders.read_geojson(source), **options)

    @classmethod
    def from_osm(cls, source: loaders.Source, **options: Any) -> RoadGraph:
        """Read an OpenStreetMap ``.osm``/``.osm.pbf`` extract (see :func:`loaders.read_osm`)."""
        return cls(loaders.read_osm(source), **options)

    @classmethod
    def from_directory(cls, directory: str | Path, **options: Any) -> RoadGraph:
        """Read ``nodes.csv`` and ``edges.csv`` from one folder (e.g. ``seed_data/roads``)."""
        folder = Path(directory)
        return cls.from_csv(folder / "nodes.csv", folder / "edges.csv", **options)

    def _build_arcs(self) -> None:
        """Directed arcs (two per two-way edge) grouped into CSR slots per (from, to) pair."""
        t = self._tables
        two_way = np.flatnonzero(~t.oneway)
        self._arc_edge = np.concatenate([np.arange(len(t.u)), two_way])
        self._arc_from = np.concatenate([t.u, t.v[two_way]])
        self._arc_to = np.concatenate([t.v, t.u[two_way]])
        # Arc ids of an edge: the edge position itself, plus its reverse arc when two-way.
        self._reverse_arc = np.full(len(t.u), -1)
        self._reverse_arc[two_way] = len(t.u) + np.arange(len(two_way))
        # Self-loops never shorten a path; they stay in the edge tables but not in the CSR.
        keep = np.flatnonzero(self._arc_from != self._arc_to)
        n = self.node_count
        pair = self._arc_from[keep] * n + self._arc_to[keep]
        order = np.argsort(pair, kind="stable")
        self._slot_arcs = keep[order]
        sorted_pair = pair[order]
        first = np.ones(len(sorted_pair), dtype=bool)
        first[1:] = sorted_pair[1:] != sorted_pair[:-1]
        self._slot_start = np.append(np.flatnonzero(first), len(sorted_pair))
        slot_pair = sorted_pair[first]
        self._slot_from, self._slot_to = slot_pair // n, slot_pair % n
        self._forward_indptr = np.searchsorted(self._slot_from, np.arange(n + 1))
        self._slot_of_arc = np.full(len(self._arc_edge), -1)
        self._slot_of_arc[self._slot_arcs] = np.repeat(
            np.arange(len(slot_pair)), np.diff(self._slot_start)
        )
        back_order = np.lexsort((self._slot_from, self._slot_to))
        self._back_slot = back_order
        self._back_position = np.empty_like(back_order)
        self._back_position[back_order] = np.arange(len(back_order))
        self._back_indices = self._slot_from[back_order]
        self._back_indptr = np.searchsorted(self._slot_to[back_order], np.arange(n + 1))

    @property
    def tables(self) -> loaders.NetworkTables:
        """The node and edge columns the graph was built from (read-only)."""
        return self._tables

    def arc_arrays(self) -> dict[str, np.ndarray]:
        """The derived arc and slot arrays, for storing beside the edge columns."""
        return {name: getattr(self, name) for name in ARC_ARRAYS}

    def _slot_values(self, edge_hours: np.ndarray, slots: np.ndarray | None = None) -> np.ndarray:
        """Minimum hours over the parallel arcs of each slot (all slots, or ``slots``)."""
        if slots is None:
            arc_hours = edge_hours[self._arc_edge[self._slot_arcs]]
            if len(arc_hours) == 0:
                return arc_hours
            return np.minimum.reduceat(arc_hours, self._slot_start[:-1])
        starts, ends = self._slot_start[slots], self._slot_start[slots + 1]
        counts = ends - starts
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        gather = np.repeat(starts - offsets, counts) + np.arange(counts.sum())
        return np.minimum.reduceat(edge_hours[self._arc_edge[self._slot_arcs[gather]]], offsets)

    # -- basic facts -------------------------------------------------------------------------

    @property
    def node_count(self) -> int:
        """Number of nodes."""
        return len(self._node_ids)

    @property
    def edge_count(self) -> int:
        """Number of edges (a two-way segment counts once)."""
        return len(self._edge_ids)

    @property
    def node_ids(self) -> list[Any]:
        """Node ids in internal order."""
        return list(self._node_ids)

    @property
    def edge_ids(self) -> np.ndarray:
        """Edge ids in internal order."""
        return self._edge_ids.copy()

    def node_position(self, node: Any, field_name: str = "node") -> int:
        """Internal position of a node id."""
        try:
            return self._node_position[node]
        except (KeyError, TypeError):
            raise UnknownNodeError(node, field_name) from None

    def node_latlng(self, node: Any) -> tuple[float, float]:
        """(lat, lng) of a node."""
        i = self.node_position(node)
        return float(self._lat[i]), float(self._lng[i])

    def edge(self, edge_id: int) -> dict[str, Any]:
        """Attributes of one edge as a dict."""
        try:
            i = self._edge_position[int(edge_id)]
        except (KeyError, TypeError, ValueError):
            raise RoutingInputError(
                "edge_id", f"edge {edge_id!r} is not in the road graph"
            ) from None
        return self._edge_attributes(i)

    def _edge_attributes(self, i: int) -> dict[str, Any]:
        t = self._tables
        return {
            "id": int(t.edge_id[i]),
            "u": self._node_ids[t.u[i]],
            "v": self._node_ids[t.v[i]],
            "length_m": float(t.length_m[i]),
            "road_class": ROAD_CLASSES[t.road_class[i]],
            "speed_kmh": float(t.speed_kmh[i]),
            "oneway": bool(t.oneway[i]),
            "toll": bool(t.toll[i]),
            "toll_plaza": bool(t.toll_plaza[i]),
            "bridge": bool(t.bridge[i]),
            "lanes": int(t.lanes[i]),
            "max_weight_t": None if math.isinf(t.max_weight_t[i]) else float(t.max_weight_t[i]),
            "name": t.name[i],
            "ref": t.ref[i],
        }

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The network as a NetworkX MultiDiGraph (key = edge id; one arc per direction).

        Built on first use and not updated by road events; treat it as read-only.
        """
        g = nx.MultiDiGraph()
        g.add_nodes_from(
            (node, {"lat": float(la), "lng": float(ln)})
            for node, la, ln in zip(self._node_ids, self._lat, self._lng, strict=True)
        )
        for arc, edge in enumerate(self._arc_edge):
            attributes = self._edge_attributes(int(edge))
            u = self._node_ids[self._arc_from[arc]]
            v = self._node_ids[self._arc_to[arc]]
            g.add_edge(u, v, key=attributes["id"], **attributes)
        return g

    # -- snapping ----------------------------------------------------------------------------

    @cached_property
    def _projection(self) -> tuple[float, np.ndarray, cKDTree]:
        """Equirectangular metres around the mean latitude, and a KD-tree over snappable nodes.

        Points snap to nodes on an ordinary road (an edge that is not an expressway): a depot
        beside a motorway must join it at an interchange, not in mid-carriageway. A network with
        no such node snaps to any node.
        """
        t = self._tables
        ordinary = t.road_class != ROAD_CLASSES.index("expressway")
        snappable = np.unique(np.concatenate([t.u[ordinary], t.v[ordinary]]))
        if len(snappable) == 0:
            snappable = np.arange(self.node_count)
        cos_lat = math.cos(math.radians(float(np.mean(self._lat))))
        points = self._project(self._lat[snappable], self._lng[snappable], cos_lat)
        return cos_lat, snappable, cKDTree(points)

    @staticmethod
    def _project(lat: Any, lng: Any, cos_lat: float) -> np.ndarray:
        scale = loaders.EARTH_RADIUS_M * math.pi / 180.0
        return np.column_stack([np.asarray(lng) * scale * cos_lat, np.asarray(lat) * scale])

    def snap(self, lat: float, lng: float, *, max_snap_m: float | None = None) -> SnapResult:
        """The ordinary-road node nearest to (lat, lng); :class:`SnapDistanceError` beyond the limit."""
        return self.snap_many([(lat, lng)], max_snap_m=max_snap_m)[0]

    def snap_many(
        self, points: Sequence[tuple[float, float]], *, max_snap_m: float | None = None
    ) -> list[SnapResult]:
        """Nearest nodes to many (lat, lng) points."""
        limit = self.max_snap_m if max_snap_m is None else float(max_snap_m)
        if not points:
            return []
        coords = np.asarray(points, dtype=np.float64)
        if coords.ndim != 2 or coords.shape[1] != 2 or not np.isfinite(coords).all():
            raise RoutingInputError("point", "points must be finite (lat, lng) pairs")
        cos_lat, snappable, tree = self._projection
        _, found = tree.query(self._project(coords[:, 0], coords[:, 1], cos_lat))
        nearest = snappable[found]
        distance = loaders.haversine_m(
            coords[:, 0], coords[:, 1], self._lat[nearest], self._lng[nearest]
        )
        results = []
        for (lat, lng), i, d in zip(coords, nearest, distance, strict=True):
            if d > limit:
                raise SnapDistanceError(float(lat), float(lng), float(d), limit)
            results.append(SnapResult(self._node_ids[i], float(d)))
        return results

    def _positions(self, items: Iterable[Any], field_name: str) -> np.ndarray:
        """Node positions for node ids or (lat, lng) tuples (snapped)."""
        positions = []
        for item in items:
            if _hashable(item) and item in self._node_position:
                positions.append(self._node_position[item])
            elif _is_point(item):
                positions.append(
                    self._node_position[self.snap(float(item[0]), float(item[1])).node]
                )
            else:
                raise UnknownNodeError(item, field_name)
        return np.asarray(positions, dtype=np.int64)

    # -- profiles and events -----------------------------------------------------------------

    def _view(self, profile: str) -> _ProfileView:
        name = self.policy.profile(profile).name
        view = self._views.get(name)
        if view is None:
            view = _ProfileView(self, self.policy.profile(name))
            touched = self._touched_edges(self._events)
            if len(touched):
                self._store_hours(
                    view, touched, view.hours_with(self, touched, self._events.values())
                )
            self._views[name] = view
        return view

    def _touched_edges(self, event_ids: Iterable[str]) -> np.ndarray:
        arrays = [self._event_edges[e] for e in event_ids]
        return np.unique(np.concatenate(arrays)) if arrays else np.empty(0, dtype=np.int64)

    def _events_on(self, edges: np.ndarray) -> list[RoadEvent]:
        return [
            event
            for event in self._events.values()
            if np.isin(self._event_edges[event.id], edges, assume_unique=True).any()
        ]

    def _store_hours(self, view: _ProfileView, edges: np.ndarray, hours: np.ndarray) -> None:
        """Write new edge hours into a view and its two CSR matrices, in place."""
        view.hours[edges] = hours
        reverse = self._reverse_arc[edges]
        arcs = np.concatenate([edges, reverse[reverse >= 0]])
        slots = np.unique(self._slot_of_arc[arcs])
        slots = slots[slots >= 0]
        if len(slots):
            values = self._slot_values(view.hours, slots)
            view.forward.data[slots] = values
            view.backward.data[self._back_position[slots]] = values

    def edges_in_area(self, area: Mapping[str, Any]) -> np.ndarray:
        """Ids of edges whose line crosses or lies in a GeoJSON Polygon/MultiPolygon (lng/lat)."""
        geometry = RoadEvent(EventKind.CLOSURE, area=area).area_geometry()
        hits = self._edge_tree.query(geometry, predicate="intersects")
        return np.sort(self._edge_ids[hits])

    @cached_property
    def _edge_tree(self) -> shapely.STRtree:
        """Spatial index over edge lines (with their interior vertices)."""
        t = self._tables
        ends = np.stack(
            [
                np.column_stack([self._lng[t.u], self._lat[t.u]]),
                np.column_stack([self._lng[t.v], self._lat[t.v]]),
            ],
            axis=1,
        )
        lines = shapely.linestrings(ends)
        for i, interior in enumerate(t.geometry):
            if interior:
                lines[i] = shapely.linestrings([tuple(ends[i, 0]), *interior, tuple(ends[i, 1])])
        return shapely.STRtree(lines)

    @property
    def events(self) -> list[RoadEvent]:
        """Applied events, oldest first."""
        return list(self._events.values())

    def event_edge_ids(self, event_id: str) -> list[int]:
        """The edge ids an applied event covers."""
        if event_id not in self._event_edges:
            raise RoadEventError("event_id", f"no applied event {event_id!r}")
        return [int(e) for e in self._edge_ids[self._event_edges[event_id]]]

    def apply_event(self, event: RoadEvent) -> RoadEvent:
        """Apply a road event in place to every profile view; returns the event."""
        with self._lock:
            if event.id in self._events:
                raise RoadEventError("id", f"event {event.id!r} is already applied")
            if event.area is not None:
                edge_ids = self.edges_in_area(event.area)
                if len(edge_ids) == 0:
                    raise RoadEventError(
                        "area", f"the area of {event.kind} event {event.id} crosses no road"
                    )
            else:
                edge_ids = np.asarray(event.edge_ids)
            unknown = [int(e) for e in edge_ids if int(e) not in self._edge_position]
            if unknown:
                raise RoadEventError("edge_ids", f"edge ids not in the graph: {unknown[:10]}")
            edges = np.unique([self._edge_position[int(e)] for e in edge_ids])
            self._events[event.id] = event
            self._event_edges[event.id] = edges
            self._refresh(edges)
            return event

    def remove_event(self, event_id: str) -> RoadEvent:
        """Remove an applied event; touched edges are recomputed from the base times."""
        with self._lock:
            if event_id not in self._events:
                raise RoadEventError("event_id", f"no applied event {event_id!r}")
            event = self._events.pop(event_id)
            edges = self._event_edges.pop(event_id)
            self._refresh(edges)
            return event

    def _refresh(self, edges: np.ndarray) -> None:
        events = self._events_on(edges)
        for view in self._views.values():
            self._store_hours(view, edges, view.hours_with(self, edges, events))

    def _matrices_at(
        self, profile: str, at: datetime | str | None
    ) -> tuple[_ProfileView, np.ndarray, csr_matrix, csr_matrix]:
        """Edge hours and (forward, backward) CSR for ``profile`` with events in force at ``at``."""
        moment = as_utc(at)
        return self._matrices_with(
            profile, [e for e in self._events.values() if e.in_force_at(moment)]
        )

    def _matrices_with(
        self, profile: str, active: list[RoadEvent]
    ) -> tuple[_ProfileView, np.ndarray, csr_matrix, csr_matrix]:
        """Edge hours and (forward, backward) CSR for ``profile`` under the ``active`` events."""
        view = self._view(profile)
        if len(active) == len(self._events):
            return view, view.hours, view.forward, view.backward
        hours = view.base_hours.copy()
        touched = self._touched_edges(e.id for e in active)
        if len(touched):
            hours[touched] = view.hours_with(self, touched, active)
        values = self._slot_values(hours)
        forward = csr_matrix(
            (values, view.forward.indices, view.forward.indptr), shape=view.forward.shape
        )
        backward = csr_matrix(
            (values[self._back_slot], view.backward.indices, view.backward.indptr),
            shape=view.backward.shape,
        )
        return view, hours, forward, backward

    # -- queries -----------------------------------------------------------------------------

    def travel_time_matrix(
        self,
        sources: Sequence[Any],
        targets: Sequence[Any],
        profile: str = "relief_truck",
        at: datetime | str | None = None,
        *,
        max_hours: float | None = None,
    ) -> np.ndarray:
        """Fastest travel hours from each source to each target; ``np.inf`` when unreachable.

        Sources/targets are node ids or (lat, lng) points (snapped). ``at`` selects the events
        in force at that moment (``None``: every applied event); the network is taken as it is
        at ``at`` for the whole trip (a snapshot; :meth:`leg_hours` gives the roads as they
        will be while driving). Times beyond ``max_hours`` are
        reported as ``inf``. Runs dijkstra from the smaller side (the transposed graph when
        there are more sources than targets).
        """
        src = self._positions(sources, "sources")
        dst = self._positions(targets, "targets")
        limit = np.inf if max_hours is None else float(max_hours)
        with self._lock:
            moment = as_utc(at)
            active = [e for e in self._events.values() if e.in_force_at(moment)]
            return self._matrix_under(profile, active, src, dst, limit)

    def leg_hours(
        self,
        sources: Sequence[Any],
        targets: Sequence[Any],
        profile: str = "relief_truck",
        depart: datetime | str | None = None,
        *,
        max_hours: float | None = None,
    ) -> np.ndarray:
        """Hours of each source → target leg leaving at ``depart``, with the roads as they will be.

        An event applies to a leg when it is in force at any moment of the drive
        ``[depart, depart + hours]`` (:meth:`RoadEvent.in_force_during`): a closure that
        starts after the truck has arrived does not block it, a repair that reopens before it
        leaves does not either. Events only ever lengthen a drive, so the hours are found by
        widening the drive's window one event boundary at a time until it no longer reaches
        the next boundary. ``depart=None`` is now.
        """
        start = as_utc(depart) or datetime.now(UTC)
        src = self._positions(sources, "sources")
        dst = self._positions(targets, "targets")
        limit = np.inf if max_hours is None else float(max_hours)
        with self._lock:
            events = list(self._events.values())
            boundaries = sorted(
                {t for e in events for t in (e.starts_at, e.ends_at) if t is not None and t > start}
            )
            hours = self._matrix_under(
                profile, [e for e in events if e.in_force_at(start)], src, dst, limit
            )
            for boundary in boundaries:
                reach = (boundary - start).total_seconds() / 3600.0
                longer = np.isfinite(hours) & (hours >= reach)
                if not longer.any():
                    break
                during = [e for e in events if e.in_force_during(start, boundary)]
                hours[longer] = self._matrix_under(profile, during, src, dst, limit)[longer]
        return hours

    def _matrix_under(
        self,
        profile: str,
        active: list[RoadEvent],
        src: np.ndarray,
        dst: np.ndarray,
        limit: float,
    ) -> np.ndarray:
        _, _, forward, backward = self._matrices_with(profile, active)
        if len(src) == 0 or len(dst) == 0:
            return np.zeros((len(src), len(dst)))
        if len(src) <= len(dst):
            return self._many_to_many(forward, src, dst, limit)
        return self._many_to_many(backward, dst, src, limit).T

    def _many_to_many(
        self, matrix: csr_matrix, origins: np.ndarray, ends: np.ndarray, limit: float
    ) -> np.ndarray:
        unique, inverse = np.unique(origins, return_inverse=True)
        if kernel.AVAILABLE:  # compiled search with early exit; same hours as scipy
            rows = kernel.many_to_many(
                matrix.indptr, matrix.indices, matrix.data, unique, ends, limit
            )
            return rows[inverse]
        batch = max(1, _MATRIX_BATCH_CELLS // max(1, self.node_count))
        rows = [
            dijkstra(matrix, directed=True, indices=unique[i : i + batch], limit=limit)[:, ends]
            for i in range(0, len(unique), batch)
        ]
        return np.vstack(rows)[inverse]

    def reachable_within(
        self,
        sources: Sequence[Any],
        hours: float,
        profile: str = "relief_truck",
        at: datetime | str | None = None,
    ) -> dict[Any, float]:
        """Nodes reachable from any source within ``hours``, mapped to their fastest time."""
        if isinstance(hours, bool) or not isinstance(hours, numbers.Real) or not hours >= 0:
            raise RoutingInputError("hours", f"hours must be a number >= 0, got {hours!r}")
        src = self._positions(sources, "sources")
        if len(src) == 0:
            return {}
        with self._lock:
            _, _, forward, _ = self._matrices_at(profile, at)
            best = dijkstra(
                forward, directed=True, indices=np.unique(src), limit=float(hours), min_only=True
            )
        reached = np.flatnonzero(best <= hours)
        return {self._node_ids[i]: float(best[i]) for i in reached}

    def route(
        self,
        source: Any,
        target: Any,
        profile: str = "relief_truck",
        at: datetime | str | None = None,
        *,
        as_driven: bool = False,
    ) -> Route:
        """The fastest route with ETA, length, tolls (paid and saved), rules and geometry.

        ``at`` as in :meth:`travel_time_matrix` (the roads at that moment); with ``as_driven``
        the route leaves at ``at`` and meets the roads as :meth:`leg_hours` does (every event
        in force at some moment of the drive), so its ETA is the leg's hours. Raises
        :class:`NoRouteError` when the target cannot be reached (closures, weight limits,
        one-ways).
        """
        a = int(self._positions([source], "source")[0])
        b = int(self._positions([target], "target")[0])
        with self._lock:
            moment = as_utc(at)
            if as_driven:
                moment = moment or datetime.now(UTC)
                hours_ab = float(self.leg_hours([source], [target], profile, moment)[0, 0])
                end = moment + timedelta(hours=hours_ab if math.isfinite(hours_ab) else 0.0)
                events = [e for e in self._events.values() if e.in_force_during(moment, end)]
            else:
                events = [e for e in self._events.values() if e.in_force_at(moment)]
            view, hours, forward, _ = self._matrices_with(profile, events)
            distance, predecessor = dijkstra(
                forward, directed=True, indices=a, return_predecessors=True
            )
            if not np.isfinite(distance[b]):
                raise NoRouteError(self._node_ids[a], self._node_ids[b], view.profile.name)
            path = [b]
            while path[-1] != a:
                path.append(int(predecessor[path[-1]]))
            path.reverse()
            legs, coords = self._legs(view, hours, path, events)
        return self._assemble_route(view, legs, coords, a, b)

    def _legs(
        self, view: _ProfileView, hours: np.ndarray, path: list[int], events: list[RoadEvent]
    ) -> tuple[list[RouteLeg], list[tuple[float, float]]]:
        """Per-edge breakdown along a node path, and the route's (lng, lat) vertices."""
        t = self._tables
        pays = self.policy.pays_toll(view.profile)
        legs: list[RouteLeg] = []
        coords = [(float(self._lng[path[0]]), float(self._lat[path[0]]))]
        for u, v in zip(path[:-1], path[1:], strict=True):
            row = slice(view.forward.indptr[u], view.forward.indptr[u + 1])
            slot = row.start + int(np.flatnonzero(view.forward.indices[row] == v)[0])
            arcs = self._slot_arcs[self._slot_start[slot] : self._slot_start[slot + 1]]
            arc = int(arcs[np.argmin(hours[self._arc_edge[arcs]])])
            e = int(self._arc_edge[arc])
            road_class = ROAD_CLASSES[t.road_class[e]]
            toll_due = (
                t.length_m[e] / 1000.0 * view.profile.toll_yuan_per_km[road_class]
                if t.toll[e]
                else 0.0
            )
            edge_events = [ev for ev in events if e in self._event_edges[ev.id]]
            speed_factor = math.prod(
                ev.speed_factor for ev in edge_events if ev.kind is EventKind.SLOWDOWN
            )
            legs.append(
                RouteLeg(
                    edge_id=int(t.edge_id[e]),
                    from_node=self._node_ids[u],
                    to_node=self._node_ids[v],
                    road_class=road_class,
                    name=t.name[e],
                    ref=t.ref[e],
                    length_m=float(t.length_m[e]),
                    speed_kmh=float(view.cap_kmh[e] * speed_factor),
                    hours=float(hours[e]),
                    queue_hours=float(view.queue_hours[e]),
                    toll_yuan=float(toll_due) if pays else 0.0,
                    toll_saved_yuan=0.0 if pays else float(toll_due),
                    event_ids=tuple(ev.id for ev in edge_events),
                )
            )
            interior = list(t.geometry[e] or [])
            if self._arc_from[arc] != t.u[e]:
                interior.reverse()
            coords.extend(interior)
            coords.append((float(self._lng[v]), float(self._lat[v])))
        return legs, coords

    def _rules_applied(self, profile: VehicleProfile, legs: list[RouteLeg]) -> list[str]:
        """Names of the policy rules and events that shaped this route's time or cost."""
        policy = self.policy
        positions = [self._edge_position[leg.edge_id] for leg in legs]
        route_events = [self._events[i] for leg in legs for i in leg.event_ids]
        rules: list[str] = []
        if any(self._toll[positions]):
            rules.append(
                "toll.charged" if policy.pays_toll(profile) else "green_channel.toll_exempt"
            )
        if any(self._toll_plaza[positions]):
            rules.append(
                "toll_plaza.queued"
                if policy.queues_at_toll_plaza(profile)
                else "green_channel.skips_toll_plaza_queue"
            )
        if any(ev.kind is EventKind.TRAFFIC_CONTROL for ev in route_events):
            rules.append("green_channel.passes_traffic_control")
        slowdowns = sorted({ev.id for ev in route_events if ev.kind is EventKind.SLOWDOWN})
        rules.extend(f"slowdown:{event_id}" for event_id in slowdowns)
        return rules

    def _assemble_route(
        self,
        view: _ProfileView,
        legs: list[RouteLeg],
        coords: list[tuple[float, float]],
        a: int,
        b: int,
    ) -> Route:
        if len(coords) == 1:
            coords = coords * 2
        return Route(
            source=self._node_ids[a],
            target=self._node_ids[b],
            profile=view.profile.name,
            policy_version=self.policy.version,
            eta_hours=float(sum(leg.hours for leg in legs)),
            length_m=float(sum(leg.length_m for leg in legs)),
            toll_yuan=float(sum(leg.toll_yuan for leg in legs)),
            toll_saved_yuan=float(sum(leg.toll_saved_yuan for leg in legs)),
            rules_applied=tuple(self._rules_applied(view.profile, legs)),
            legs=tuple(legs),
            geometry={"type": "LineString", "coordinates": [list(c) for c in coords]},
        )


def _hashable(item: Any) -> bool:
    try:
        hash(item)
    except TypeError:
        return False
    return True


def _is_point(item: Any) -> bool:
    """True for a (lat, lng) pair of real numbers."""
    return (
        isinstance(item, tuple | list)
        and len(item) == 2
        and all(isinstance(x, int | float | np.floating) and not isinstance(x, bool) for x in item)
    )

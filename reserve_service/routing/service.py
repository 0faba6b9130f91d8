"""The service's road network: stored in the database, cached per process, kept in step with
the dispatchers' road events.

Each web or job worker builds the active network's ``RoadGraph`` once and then, before every
query, checks one cheap version against the database: the active network's uid and the
network's event count and removed-event count (events are only added and marked removed, so
the pair grows with every change). Only when it moved are the event rows read, and the events
added or withdrawn since the last look applied or removed in place, without rebuilding. A
network row is immutable: loading a new network makes a new row active and every process
switches to it on its next query.

A process builds the graph from the network's columns stored as memory-mapped ``.npy`` files
(:mod:`.store`, ``GRAPH_DIR``, by default ``instance/graphs/<uid>/``), written by the first
process that needs them, so the CSV text is parsed once per machine and the columns are shared.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reserve_service.auth import Principal
from reserve_service.errors import Conflict, InvalidInput, NotFound
from reserve_service.inventory.services import get_depot, get_region
from reserve_service.inventory.tables import Depot, Region
from reserve_service.routing import loaders, store
from reserve_service.routing.errors import RoutingInputError
from reserve_service.routing.events import RoadEvent
from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.loaders import NetworkTables, format_geometry
from reserve_service.routing.policy import ROAD_CLASSES
from reserve_service.routing.tables import RoadEventRow, RoadNetwork


@dataclass
class _Cached:
    network_uid: str
    graph: RoadGraph
    events_version: tuple[int, int] = (-1, -1)


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()
#: where the memory-mapped network columns live; None keeps graphs in memory only
_graph_dir: Path | None = None


def configure(graph_dir: str | Path | None) -> None:
    """Set the folder of the memory-mapped networks (the app factory passes ``GRAPH_DIR``)."""
    global _graph_dir
    _graph_dir = Path(graph_dir) if graph_dir else None


def _build_graph(session: Session, network_id: int, uid: str) -> RoadGraph:
    """The network's graph from its stored columns, storing them first if no process has."""
    folder = _graph_dir / uid if _graph_dir is not None else None
    if folder is None or not store.is_stored(folder):
        row = session.get(RoadNetwork, network_id)
        graph = RoadGraph(loaders.read_csv(io.StringIO(row.nodes_csv), io.StringIO(row.edges_csv)))
        if folder is None:
            return graph
        try:
            store.save(folder, graph.tables, graph.arc_arrays())
        except OSError:  # a read-only or full disk: serve from memory, the next process tries again
            return graph
    return RoadGraph(store.load(folder), arcs=store.load_arcs(folder))


EDGE_COLUMNS = ("id", "u", "v", "length_m", "road_class", "speed_kmh", "oneway", "toll", "toll_plaza",
                "bridge", "lanes", "max_weight_t", "name", "ref", "geometry")


def tables_to_csv(tables: NetworkTables) -> tuple[str, str]:
    """Node and edge CSV text of loaded tables (GeoJSON or OSM), in ``RoadGraph.from_csv`` form.

    Interior vertices of curved roads are kept, so area events test the real road, not its chord.
    """
    nodes = io.StringIO()
    writer = csv.writer(nodes, lineterminator="\n")
    writer.writerow(("id", "lat", "lng"))
    writer.writerows((node, f"{lat:.7f}", f"{lng:.7f}")
                     for node, lat, lng in zip(tables.node_ids, tables.lat, tables.lng, strict=True))
    edges = io.StringIO()
    writer = csv.writer(edges, lineterminator="\n")
    writer.writerow(EDGE_COLUMNS)
    ids = tables.node_ids
    for i in range(len(tables.edge_id)):
        weight = tables.max_weight_t[i]
        writer.writerow((
            int(tables.edge_id[i]), ids[int(tables.u[i])], ids[int(tables.v[i])], f"{tables.length_m[i]:.1f}",
            ROAD_CLASSES[int(tables.road_class[i])], f"{tables.speed_kmh[i]:g}", int(tables.oneway[i]), int(tables.toll[i]),
            int(tables.toll_plaza[i]), int(tables.bridge[i]), int(tables.lanes[i]),
            "" if not np.isfinite(weight) else f"{weight:g}", tables.name[i], tables.ref[i],
            format_geometry(tables.geometry[i])))
    return nodes.getvalue(), edges.getvalue()


def store_network(session: Session, name: str, nodes_csv: str, edges_csv: str, source: str = "") -> RoadNetwork:
    """Validate a network by building it, then store it as the active network."""
    graph = RoadGraph.from_csv(io.StringIO(nodes_csv), io.StringIO(edges_csv))
    session.execute(update(RoadNetwork).values(active=False))
    row = RoadNetwork(name=name, source=source, nodes_csv=nodes_csv, edges_csv=edges_csv,
                      node_count=graph.node_count, edge_count=graph.edge_count, active=True)
    session.add(row)
    session.flush()
    return row


def active_network(session: Session) -> RoadNetwork:
    row = session.scalar(select(RoadNetwork).where(RoadNetwork.active.is_(True)).order_by(RoadNetwork.id.desc()))
    if row is None:
        raise NotFound("no road network is loaded; run `flask --app wsgi load-roads`",
                       {"network": ["none loaded"]})
    return row


def road_graph(session: Session, cache_key: str = "default") -> tuple[RoadGraph, int]:
    """The active network's graph with exactly the current road events applied."""
    found = session.execute(
        select(RoadNetwork.id, RoadNetwork.uid).where(RoadNetwork.active.is_(True))
        .order_by(RoadNetwork.id.desc()).limit(1)).first()
    if found is None:
        active_network(session)  # raises the explained 404
    network_id, uid = found
    with _cache_lock:
        cached = _cache.get(cache_key)
        if cached is None or cached.network_uid != uid:
            cached = _cache[cache_key] = _Cached(uid, _build_graph(session, network_id, uid))
        version = tuple(session.execute(
            select(func.count(RoadEventRow.id), func.count(RoadEventRow.removed_at))
            .where(RoadEventRow.network_id == network_id)).one())
        if version != cached.events_version:
            _sync_events(session, cached.graph, network_id)
            cached.events_version = version
        return cached.graph, network_id


def _sync_events(session: Session, graph: RoadGraph, network_id: int) -> None:
    """Apply the events added and remove the events withdrawn since the graph's last look."""
    wanted = {
        r.id: r.payload for r in session.scalars(
            select(RoadEventRow).where(RoadEventRow.network_id == network_id,
                                       RoadEventRow.removed_at.is_(None)))
    }
    applied = {event.id for event in graph.events}
    for event_id in applied - wanted.keys():
        graph.remove_event(event_id)
    for event_id in wanted.keys() - applied:
        graph.apply_event(RoadEvent.from_dict(wanted[event_id]))


def add_event(session: Session, principal: Principal, payload: dict[str, Any]) -> tuple[RoadEventRow, list[int]]:
    """Validate an event against the graph (it must touch at least one road) and store it."""
    graph, network_id = road_graph(session)
    event = RoadEvent.from_dict(payload)
    if session.get(RoadEventRow, event.id) is not None:
        raise Conflict(f"event {event.id} exists", {"id": ["already used"]})
    with _cache_lock:
        graph.apply_event(event)  # raises, leaving the graph unchanged, if it touches nothing
        edges = graph.event_edge_ids(event.id)
    row = RoadEventRow(id=event.id, network_id=network_id, kind=event.kind.value, payload=event.to_dict(),
                       edge_count=len(edges), created_by=principal.name)
    session.add(row)
    try:
        session.commit()
    except Exception:
        with _cache_lock:
            graph.remove_event(event.id)
        raise
    return row, edges


def remove_event(session: Session, event_id: str) -> RoadEventRow:
    row = session.get(RoadEventRow, event_id)
    if row is None or row.removed_at is not None:
        raise NotFound(f"no active road event {event_id!r}", {"event_id": ["unknown or removed"]})
    row.removed_at = dt.datetime.now(dt.UTC)
    session.commit()
    road_graph(session)
    return row


def resolve_location(
    session: Session, graph: RoadGraph, spec: dict[str, Any], field: str
) -> tuple[Any, dict[str, Any]]:
    """The road node of a location given as depot, region, node or lat/lng (snapped)."""
    if "depot" in spec:
        depot = get_depot(session, spec["depot"], f"{field}.depot")
        point, info = (depot.lat, depot.lng), {"depot": depot.code, "name": depot.name}
    elif "region" in spec:
        region = get_region(session, spec["region"], f"{field}.region")
        if region.lat is None or region.lng is None:
            raise InvalidInput.field(f"{field}.region", f"region {region.adcode} has no coordinates")
        point, info = (region.lat, region.lng), {"region": region.adcode, "name": region.name}
    elif "node" in spec:
        try:
            graph.node_position(spec["node"], f"{field}.node")
        except RoutingInputError as exc:
            raise InvalidInput.field(f"{field}.node", str(exc)) from exc
        return spec["node"], {"node": spec["node"]}
    elif "lat" in spec and "lng" in spec:
        point, info = (float(spec["lat"]), float(spec["lng"])), {"lat": spec["lat"], "lng": spec["lng"]}
    else:
        raise InvalidInput.field(field, "give one of depot, region, node, or lat and lng")
    try:
        snapped = graph.snap(*point)
    except RoutingInputError as exc:
        raise InvalidInput.field(field, str(exc)) from exc
    return snapped.node, {**info, "node": snapped.node, "snap_m": round(snapped.distance_m, 1)}


def reachability(
    db: Session, depot_codes: list[str], hours: list[float], profile: str, depart: dt.datetime
) -> dict[str, Any]:
    """Which townships the depots (given codes, or every operating depot) reach within each of
    ``hours``, the population covered per band, and the townships no depot reaches at all."""
    if depot_codes:
        known = {d.code: d for d in db.scalars(select(Depot).where(Depot.code.in_(depot_codes)))}
        missing = [c for c in depot_codes if c not in known]
        if missing:
            raise InvalidInput.field("depots", f"unknown depots {missing}")
        depots = [known[c] for c in depot_codes]
    else:
        depots = list(db.scalars(select(Depot).where(Depot.status == "operating")))
    towns = list(db.scalars(select(Region).where(Region.level == "township", Region.lat.is_not(None))))
    graph, _ = road_graph(db)
    leg = graph.leg_hours([(d.lat, d.lng) for d in depots], [(r.lat, r.lng) for r in towns],
                          profile=profile, depart=depart)
    best = leg.min(axis=0) if len(depots) else np.full(len(towns), np.inf)
    total = sum(r.population for r in towns)
    bands = []
    for limit in sorted(hours):
        inside = [r for r, h in zip(towns, best, strict=True) if h <= limit]
        covered = sum(r.population for r in inside)
        bands.append({"hours": limit, "regions": len(inside), "population": covered,
                      "share": round(covered / total, 4) if total else None,
                      "outside": [r.adcode for r, h in zip(towns, best, strict=True) if h > limit]})
    return {"profile": profile, "depots": [d.code for d in depots], "townships": len(towns),
            "population": total, "bands": bands,
            "unreachable": [r.adcode for r, h in zip(towns, best, strict=True) if not np.isfinite(h)]}

"""Map layers as GeoJSON under /api/v1/maps: what the console draws instead of an internet basemap."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from sqlalchemy import select

from reserve_service.extensions import session
from reserve_service.inventory.tables import Depot, Region
from reserve_service.maps import layers
from reserve_service.routing import service as routing
from reserve_service.routing.tables import RoadEventRow

blp = Blueprint("maps", __name__, url_prefix="/api/v1/maps",
                description="GeoJSON layers for the console's map (no internet basemap needed)")

RIVERS = Path(__file__).resolve().parents[2] / "seed_data" / "roads" / "rivers.geojson"
GEOJSON = "application/geo+json"

# Road lines of a stored network never change (a new load gets a new uid): parse them once.
_lines_lock = threading.Lock()
_lines: dict[str, dict[int, layers.RoadLine]] = {}
_roads_body: dict[tuple[str, tuple[str, ...]], str] = {}

# Where county outlines come from: the stored polygons, a hull of townships where none is stored.
BOUNDARIES: layers.BoundarySource = layers.StoredBoundaries()


def _geojson(body: dict[str, Any] | str, max_age: int = 0) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    response = current_app.response_class(text, mimetype=GEOJSON)
    if max_age:
        response.cache_control.max_age = max_age
        response.cache_control.private = True
    return response


def _places(level: str) -> list[layers.Place]:
    db = session()
    parents: dict[int | None, str] = dict(db.execute(select(Region.id, Region.adcode)).all())
    return [layers.Place(r.adcode, r.name, r.level, parents.get(r.parent_id), r.population, r.lat, r.lng,
                         r.location_quality, r.boundary)
            for r in db.scalars(select(Region).where(Region.level == level).order_by(Region.adcode))]


def _road_lines() -> tuple[str, dict[int, layers.RoadLine]]:
    row = routing.active_network(session())
    with _lines_lock:
        if row.uid not in _lines:
            _lines.clear()
            _roads_body.clear()
            _lines[row.uid] = layers.road_lines_from_csv(row.nodes_csv, row.edges_csv)
        return row.uid, _lines[row.uid]


@blp.route("/boundaries")
@blp.doc(responses={200: {"description": "County outlines (GeoJSON FeatureCollection): the stored polygons; "
                                         "approximate: true where a county has none and a hull stands in",
                          "content": {GEOJSON: {}}}})
def boundaries():
    """County outlines as stored with the regions; a buffered hull of its townships (labelled
    approximate) for a county without one."""
    return _geojson(BOUNDARIES.boundaries(_places("county"), _places("township")), max_age=300)


@blp.route("/townships")
@blp.doc(responses={200: {"description": "Township points with population", "content": {GEOJSON: {}}}})
def townships():
    """Township points with population, county and location quality."""
    return _geojson(layers.townships_layer(_places("township")), max_age=300)


@blp.route("/roads")
@blp.doc(parameters=[{"in": "query", "name": "classes", "schema": {"type": "string"},
                      "description": "comma-separated road classes (default: all but village)"}],
         responses={200: {"description": "Roads merged per class/name/ref and simplified",
                          "content": {GEOJSON: {}}}})
def roads():
    """Roads by class, merged into long lines and simplified for the map (cached per network)."""
    from reserve_service.errors import InvalidInput

    wanted = tuple(c.strip() for c in request.args.get("classes", "").split(",") if c.strip()) \
        or layers.MAP_ROAD_CLASSES
    known = ("expressway", "national", "provincial", "county", "township", "village")
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise InvalidInput.field("classes", f"unknown road classes {unknown}; known: {', '.join(known)}")
    uid, lines = _road_lines()
    with _lines_lock:
        body = _roads_body.get((uid, wanted))
        if body is None:
            body = _roads_body[(uid, wanted)] = json.dumps(
                layers.roads_layer(lines.values(), wanted), ensure_ascii=False, separators=(",", ":"))
    return _geojson(body, max_age=300)


@blp.route("/rivers")
@blp.doc(responses={200: {"description": "Rivers (seed data)", "content": {GEOJSON: {}}}})
def rivers():
    """The main rivers (新汴河, 沱河, 浍河 …) from the seed data."""
    return _geojson(RIVERS.read_text(encoding="utf-8"), max_age=3600)


@blp.route("/depots")
@blp.doc(responses={200: {"description": "Depot points by tier, operator and status", "content": {GEOJSON: {}}}})
def depots():
    """Depots with tier, operator, status and capacity."""
    db = session()
    rows = db.scalars(select(Depot).order_by(Depot.code))
    return _geojson(layers.depots_layer(
        {"lat": d.lat, "lng": d.lng, "code": d.code, "name": d.name, "tier": d.tier, "operator": d.operator,
         "status": d.status, "capacity_m3": d.capacity_m3} for d in rows))


@blp.route("/events")
@blp.doc(responses={200: {"description": "Road events in force: areas and touched roads", "content": {GEOJSON: {}}}})
def events():
    """Road events in force: the closure area when given, and the roads they touch."""
    db = session()
    graph, _ = routing.road_graph(db)
    _, lines = _road_lines()
    rows = list(db.scalars(select(RoadEventRow).where(RoadEventRow.removed_at.is_(None))
                           .order_by(RoadEventRow.created_at)))
    applied = {e.id for e in graph.events}
    touched = {r.id: [lines[e] for e in graph.event_edge_ids(r.id) if e in lines]
               for r in rows if r.id in applied}
    return _geojson(layers.events_layer(({**r.payload, "id": r.id, "created_by": r.created_by} for r in rows),
                                        touched))

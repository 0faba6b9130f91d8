"""Pure builders of the console's GeoJSON layers (no Flask, no ORM).

Coordinates are GeoJSON order (lng, lat). Every builder returns a FeatureCollection dict.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import shapely
from shapely.geometry import MultiPoint, mapping

# Road classes drawn by default, from the most to the least important; village roads are
# tens of thousands of short edges, useful for routing but noise on an overview map.
MAP_ROAD_CLASSES = ("expressway", "national", "provincial", "county", "township")
# About 30 m at 宿州's latitude: enough to keep the map's shape, small enough to drop most vertices.
SIMPLIFY_DEGREES = 0.0003
# Buffer around a hull of township points, so a county's edge townships sit inside its outline.
HULL_BUFFER_DEGREES = 0.03


@dataclass(frozen=True)
class Place:
    """A region as the map needs it."""

    adcode: str
    name: str
    level: str
    parent_adcode: str | None
    population: int
    lat: float | None
    lng: float | None
    location_quality: str = "approximate"
    boundary: Mapping[str, Any] | None = None  # GeoJSON geometry of the region's outline, if known


@dataclass(frozen=True)
class RoadLine:
    """One road edge as a line: class, name/ref and its end points (lat, lng)."""

    road_class: str
    name: str
    ref: str
    start: tuple[float, float]
    end: tuple[float, float]


class BoundarySource(Protocol):
    """Where county outlines come from: real polygons when the regions have them, else a hull."""

    def boundaries(self, counties: Sequence[Place], townships: Sequence[Place]) -> dict[str, Any]: ...


def road_lines_from_csv(nodes_csv: str, edges_csv: str) -> dict[int, RoadLine]:
    """Every edge of a stored network (its nodes.csv and edges.csv text) as a line, by edge id."""
    nodes = {row["id"]: (float(row["lat"]), float(row["lng"])) for row in csv.DictReader(io.StringIO(nodes_csv))}
    lines = {}
    for number, row in enumerate(csv.DictReader(io.StringIO(edges_csv))):
        edge_id = int(row["id"]) if row.get("id") not in (None, "") else number
        lines[edge_id] = RoadLine(row.get("road_class") or "", row.get("name") or "", row.get("ref") or "",
                                  nodes[row["u"]], nodes[row["v"]])
    return lines


def collection(features: Iterable[dict[str, Any]], **properties: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features), **properties}


def point_feature(lng: float, lat: float, properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lng, 6), round(lat, 6)]},
            "properties": dict(properties)}


class HullBoundaries:
    """Approximate county outlines: the buffered convex hull of each county's township points.

    The regions table holds no polygons yet; every feature says ``approximate: true`` and
    ``method: "buffered convex hull of township points"`` so nobody reads it as a real border.
    """

    method = "buffered convex hull of township points"

    def boundaries(self, counties: Sequence[Place], townships: Sequence[Place]) -> dict[str, Any]:
        points: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for town in townships:
            if town.parent_adcode and town.lat is not None and town.lng is not None:
                points[town.parent_adcode].append((town.lng, town.lat))
        features = []
        for county in counties:
            own = points.get(county.adcode, [])
            if county.lat is not None and county.lng is not None:
                own = [*own, (county.lng, county.lat)]
            if not own:
                continue
            shape = MultiPoint(own).convex_hull.buffer(HULL_BUFFER_DEGREES, quad_segs=4)
            shape = shapely.set_precision(shape, 1e-5)
            features.append({"type": "Feature", "geometry": mapping(shape),
                             "properties": {"adcode": county.adcode, "name": county.name,
                                            "population": county.population, "approximate": True,
                                            "method": self.method, "townships": len(own) - 1}})
        return collection(features, approximate=True, method=self.method)


class StoredBoundaries:
    """County outlines as stored with the regions (``regions.boundary``, real polygons); a county
    without one falls back to :class:`HullBoundaries` and says so in its properties."""

    method = "stored outline"

    def __init__(self) -> None:
        self.fallback = HullBoundaries()

    def boundaries(self, counties: Sequence[Place], townships: Sequence[Place]) -> dict[str, Any]:
        features = [
            {"type": "Feature", "geometry": dict(county.boundary),
             "properties": {"adcode": county.adcode, "name": county.name, "population": county.population,
                            "approximate": False, "method": self.method}}
            for county in counties if county.boundary
        ]
        missing = [county for county in counties if not county.boundary]
        if missing:
            features += self.fallback.boundaries(missing, townships)["features"]
        method = self.method if not missing else f"{self.method}; {self.fallback.method} where none is stored"
        return collection(features, approximate=bool(missing), method=method)


def townships_layer(townships: Sequence[Place]) -> dict[str, Any]:
    """Township points with population (the console sizes the circles by it)."""
    return collection(
        point_feature(t.lng, t.lat, {"adcode": t.adcode, "name": t.name, "population": t.population,
                                     "county": t.parent_adcode, "location_quality": t.location_quality})
        for t in townships if t.lat is not None and t.lng is not None)


def roads_layer(lines: Iterable[RoadLine], classes: Sequence[str] = MAP_ROAD_CLASSES,
                tolerance: float = SIMPLIFY_DEGREES) -> dict[str, Any]:
    """Edges of the wanted classes merged into long lines per (class, name, ref), then simplified."""
    groups: dict[tuple[str, str, str], list[tuple[tuple[float, float], tuple[float, float]]]] = defaultdict(list)
    wanted = set(classes)
    for line in lines:
        if line.road_class in wanted:
            groups[(line.road_class, line.name, line.ref)].append(
                ((line.start[1], line.start[0]), (line.end[1], line.end[0])))
    features = []
    order = {c: i for i, c in enumerate(classes)}
    for (road_class, name, ref), segments in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1:])):
        merged = shapely.line_merge(shapely.MultiLineString(segments))
        simple = shapely.simplify(merged, tolerance, preserve_topology=False)
        simple = shapely.set_precision(simple, 1e-5)
        if simple.is_empty:
            continue
        features.append({"type": "Feature", "geometry": mapping(simple),
                         "properties": {"road_class": road_class, "name": name, "ref": ref,
                                        "edges": len(segments)}})
    return collection(features, classes=list(classes))


def depots_layer(depots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Depot points; each mapping has lat, lng and the properties to show (code, tier, operator…)."""
    return collection(point_feature(d["lng"], d["lat"], {k: v for k, v in d.items() if k not in ("lat", "lng")})
                      for d in depots)


def events_layer(events: Iterable[Mapping[str, Any]], edge_lines: Mapping[str, Sequence[RoadLine]]) -> dict[str, Any]:
    """Road events in force: the area polygon when there is one, else the touched edges as lines."""
    features = []
    for event in events:
        props = {k: event.get(k) for k in ("id", "kind", "cause", "starts_at", "ends_at", "speed_factor",
                                           "created_by")}
        area = event.get("area")
        if area:
            features.append({"type": "Feature", "geometry": area, "properties": {**props, "shape": "area"}})
        lines = edge_lines.get(str(event.get("id")), ())
        if lines:
            coords = [[[round(ln.start[1], 6), round(ln.start[0], 6)], [round(ln.end[1], 6), round(ln.end[0], 6)]]
                      for ln in lines]
            features.append({"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": coords},
                             "properties": {**props, "shape": "edges"}})
    return collection(features)

"""GeoJSON areas checked as RFC 7946 defines them, before any geometry library repairs them.

A Polygon is a list of linear rings; a linear ring has at least four positions and its first and
last positions are equal (shapely silently closes an open ring, so the check must come first).
A position is ``[lng, lat]`` (an optional altitude may follow) with finite numbers in range.
Errors name the offending member as a dotted path, e.g. ``area.coordinates.0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from reserve_service.routing.errors import RoadEventError

AREA_TYPES = ("Polygon", "MultiPolygon")


def check_area(area: Any, field: str = "area") -> None:
    """Raise :class:`RoadEventError` unless ``area`` is a valid GeoJSON Polygon or MultiPolygon."""
    if not isinstance(area, Mapping):
        raise RoadEventError(field, f"{field} must be a GeoJSON object, got {type(area).__name__}")
    kind = area.get("type")
    if kind not in AREA_TYPES:
        raise RoadEventError(field, f"{field} must be a GeoJSON Polygon or MultiPolygon, got {kind!r}")
    coordinates = area.get("coordinates")
    where = f"{field}.coordinates"
    if kind == "Polygon":
        _check_polygon(coordinates, where)
        return
    if not isinstance(coordinates, list) or not coordinates:
        raise RoadEventError(where, f"{where} must be a non-empty list of polygons")
    for index, polygon in enumerate(coordinates):
        _check_polygon(polygon, f"{where}.{index}")


def _check_polygon(rings: Any, where: str) -> None:
    if not isinstance(rings, list) or not rings:
        raise RoadEventError(where, f"{where} must be a non-empty list of linear rings")
    for index, ring in enumerate(rings):
        _check_ring(ring, f"{where}.{index}")


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        count = len(ring) if isinstance(ring, list) else 0
        raise RoadEventError(
            where, f"{where}: a linear ring needs at least 4 positions (first = last), got {count}"
        )
    for index, position in enumerate(ring):
        _check_position(position, f"{where}.{index}")
    if [float(x) for x in ring[0][:2]] != [float(x) for x in ring[-1][:2]]:
        raise RoadEventError(
            where,
            f"{where}: the ring is not closed: first position {ring[0]} differs from last {ring[-1]}",
        )
    if len({(float(p[0]), float(p[1])) for p in ring}) < 3:
        raise RoadEventError(where, f"{where}: a linear ring needs at least 3 distinct positions")


def _check_position(position: Any, where: str) -> None:
    if (
        not isinstance(position, list | tuple)
        or not 2 <= len(position) <= 3
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in position)
    ):
        raise RoadEventError(where, f"{where}: a position is [lng, lat] (numbers), got {position!r}")
    lng, lat = float(position[0]), float(position[1])
    if not (math.isfinite(lng) and math.isfinite(lat)) or not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise RoadEventError(
            where, f"{where}: [lng, lat] must be within [-180, 180] × [-90, 90], got {position!r}"
        )

"""OpenStreetMap ``.osm`` / ``.osm.pbf`` extracts (via pyosmium) read into :class:`NetworkTables`,
with OSM's own conventions for access, direction, tolls and speeds."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reserve_service.routing.errors import NetworkFileError
from reserve_service.routing.loaders import (
    DEFAULT_FREE_SPEED_KMH,
    DEFAULT_LANES,
    LngLat,
    NetworkTables,
    Source,
    _EdgeRows,
    _Junctions,
    _pieces,
    _split_points,
    polyline_length_m,
)
from reserve_service.routing.policy import ROAD_CLASSES

# OSM highway=* → road class. Footways, tracks, service aisles and construction are not roads
# a relief lorry should be routed over, so they are skipped.
OSM_HIGHWAY_CLASS: dict[str, str] = {
    "motorway": "expressway",
    "motorway_link": "expressway",
    "trunk": "national",
    "trunk_link": "national",
    "primary": "provincial",
    "primary_link": "provincial",
    "secondary": "county",
    "secondary_link": "county",
    "tertiary": "township",
    "tertiary_link": "township",
    "unclassified": "village",
    "residential": "village",
    "living_street": "village",
    "road": "village",
}
# Chinese route numbers (GB/T 917): G### national, S### provincial, X county, Y township, C village.
_REF_CLASS = (
    (re.compile(r"^G\d{3}$"), "national"),
    (re.compile(r"^S\d{3}$"), "provincial"),
    (re.compile(r"^X\d+$"), "county"),
    (re.compile(r"^Y\d+$"), "township"),
    (re.compile(r"^C\d+$"), "village"),
)
_NUMBER_WITH_UNIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z/]*)\s*$", re.IGNORECASE)


def _osm_class(tags: Mapping[str, str]) -> str | None:
    """Road class of an OSM way, or None when it is not a road for vehicles."""
    road_class = OSM_HIGHWAY_CLASS.get(tags.get("highway", ""))
    if road_class is None or road_class == "expressway":
        return road_class
    ranks = [ROAD_CLASSES.index(road_class)]
    for ref in re.split(r"[;,]", tags.get("ref", "")):
        for pattern, ref_class in _REF_CLASS:
            if pattern.match(ref.strip().upper()):
                ranks.append(ROAD_CLASSES.index(ref_class))
    return ROAD_CLASSES[min(ranks)]


def parse_maxspeed_kmh(value: str | None) -> float | None:
    """km/h from an OSM ``maxspeed`` value ("60", "60 km/h", "40 mph"); None when not numeric."""
    match = _NUMBER_WITH_UNIT.match(value or "")
    if not match or float(match.group(1)) <= 0:
        return None
    unit = match.group(2).lower()
    if unit in ("", "km/h", "kmh", "kph"):
        return float(match.group(1))
    if unit == "mph":
        return float(match.group(1)) * 1.609344
    return None


def parse_maxweight_t(value: str | None) -> float | None:
    """Tonnes from an OSM ``maxweight`` value ("30", "30 t", "20000 kg"); None when not numeric."""
    match = _NUMBER_WITH_UNIT.match(value or "")
    if not match or float(match.group(1)) <= 0:
        return None
    unit = match.group(2).lower()
    if unit in ("", "t"):
        return float(match.group(1))
    if unit == "kg":
        return float(match.group(1)) / 1000.0
    return None


def _osm_direction(tags: Mapping[str, str]) -> int | None:
    """+1 one-way along the way, -1 one-way against it, 0 two-way, None not routable.

    ``oneway=reversible`` ways change direction by time of day (tidal lanes): a plan made hours
    ahead cannot rely on either direction, so they are not routed. Motorways and
    ``junction=roundabout`` / ``junction=circular`` are one-way unless tagged otherwise.
    """
    oneway = tags.get("oneway", "").strip().lower()
    if oneway == "reversible":
        return None
    if oneway in ("yes", "true", "1"):
        return 1
    if oneway in ("-1", "reverse"):
        return -1
    if oneway in ("no", "false", "0"):
        return 0
    implied = tags.get("highway") in ("motorway", "motorway_link") or tags.get("junction") in (
        "roundabout",
        "circular",
    )
    return 1 if implied else 0


# The OSM access hierarchy for a relief lorry, most specific first: the first tag present decides.
_OSM_ACCESS_KEYS = ("hgv", "goods", "motor_vehicle", "vehicle", "access")
_OSM_NO_ACCESS = ("no", "private")


def osm_lorry_may_use(tags: Mapping[str, str]) -> bool:
    """Whether a heavy goods vehicle may drive the way (``access=no``/``private`` ways are not)."""
    for key in _OSM_ACCESS_KEYS:
        value = tags.get(key, "").strip().lower()
        if value:
            return value not in _OSM_NO_ACCESS
    return True


def osm_lorry_pays_toll(tags: Mapping[str, str]) -> bool:
    """``toll:hgv`` (the relief vehicles are lorries) overrides ``toll`` when present."""
    value = tags.get("toll:hgv") or tags.get("toll", "no")
    return value.strip().lower() == "yes"


def _osm_directed_speeds(tags: Mapping[str, str], road_class: str) -> tuple[float, float]:
    """Speed (km/h) along and against the way: ``maxspeed:forward/backward``, else ``maxspeed``."""
    default = parse_maxspeed_kmh(tags.get("maxspeed")) or DEFAULT_FREE_SPEED_KMH[road_class]
    forward = parse_maxspeed_kmh(tags.get("maxspeed:forward")) or default
    backward = parse_maxspeed_kmh(tags.get("maxspeed:backward")) or default
    return forward, backward


def _osm_input(source: Source) -> Any:
    import osmium

    if isinstance(source, str | Path):
        if not Path(source).is_file():
            raise NetworkFileError("file", f"cannot open {source}: no such file")
        return str(source)
    data = source.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    fmt = "pbf" if data[:64].find(b"OSMHeader") >= 0 else "osm"
    return osmium.io.FileBuffer(data, fmt)


def read_osm(source: Source) -> NetworkTables:
    """Read an OpenStreetMap ``.osm`` (XML) or ``.osm.pbf`` file, or an open file object.

    Ways whose ``highway`` is in :data:`OSM_HIGHWAY_CLASS` become edges, split at junctions and at
    toll booths (``barrier=toll_booth``, which marks the segment ending there as a toll plaza).
    Chinese route numbers in ``ref`` refine the class (G### national, S### provincial, ...).
    ``maxspeed`` and ``maxspeed:forward/backward`` (else the class free speed), ``oneway``
    (motorways and roundabouts implied; ``reversible`` ways are not routed), ``toll`` and
    ``toll:hgv``, ``bridge``, ``maxweight`` and ``lanes`` are read; ways a lorry may not use
    (``access``/``vehicle``/``motor_vehicle``/``goods``/``hgv`` = ``no`` or ``private``, the most
    specific decides) are skipped; tag values that are not numbers fall back to defaults.
    Node ids are OSM node ids; nodes missing from the extract split a way (their segments drop).
    """
    import osmium

    toll_booths: set[int] = set()
    ways: list[tuple[list[int], list[LngLat], dict[str, str], str]] = []
    try:
        processor = osmium.FileProcessor(
            _osm_input(source), osmium.osm.NODE | osmium.osm.WAY
        ).with_locations()
        for obj in processor:
            if obj.is_node():
                if obj.tags.get("barrier") == "toll_booth":
                    toll_booths.add(obj.id)
                continue
            tags = dict(obj.tags)
            road_class = _osm_class(tags)
            if road_class is None:
                continue
            # A way leaving the extract has nodes without locations: keep its located runs.
            run_refs: list[int] = []
            run_points: list[LngLat] = []
            for n in [*obj.nodes, None]:
                if n is not None and n.location.valid():
                    run_refs.append(n.ref)
                    run_points.append((n.location.lon, n.location.lat))
                    continue
                if len(run_refs) >= 2:
                    ways.append((run_refs, run_points, tags, road_class))
                run_refs, run_points = [], []
    except RuntimeError as exc:
        raise NetworkFileError("file", f"cannot read OSM data: {exc}") from exc

    split = _split_points([refs for refs, _, _, _ in ways]) | toll_booths
    nodes = _Junctions()
    edges = _EdgeRows()
    for refs, points, tags, road_class in ways:
        for way_refs, way_points, speed, oneway in _osm_carriageways(refs, points, tags, road_class):
            attributes = {**_osm_attributes(tags, road_class), "speed_kmh": speed, "oneway": oneway}
            _add_osm_pieces(edges, nodes, way_refs, way_points, split, toll_booths, attributes)
    if not nodes.ids:
        raise NetworkFileError("highway", "the OSM data has no usable highway ways")
    return edges.tables(nodes.ids, nodes.lat, nodes.lng)


def _osm_carriageways(
    refs: list[int], points: list[LngLat], tags: Mapping[str, str], road_class: str
) -> list[tuple[list[int], list[LngLat], float, bool]]:
    """The directed runs a way becomes: (refs, points, speed, one-way) in driving order.

    A two-way way with different ``maxspeed:forward`` and ``maxspeed:backward`` becomes two
    one-way runs, one per direction, each with its own speed.
    """
    direction = _osm_direction(tags)
    if direction is None or not osm_lorry_may_use(tags):
        return []
    forward, backward = _osm_directed_speeds(tags, road_class)
    if direction == 1:
        return [(refs, points, forward, True)]
    if direction == -1:
        return [(refs[::-1], points[::-1], backward, True)]
    if forward == backward:
        return [(refs, points, forward, False)]
    return [(refs, points, forward, True), (refs[::-1], points[::-1], backward, True)]


def _osm_attributes(tags: Mapping[str, str], road_class: str) -> dict[str, Any]:
    max_weight = parse_maxweight_t(tags.get("maxweight"))
    lanes = tags.get("lanes", "")
    return {
        "road_class": road_class,
        "toll": osm_lorry_pays_toll(tags),
        "bridge": tags.get("bridge", "no").lower() not in ("no", ""),
        "lanes": int(lanes) if lanes.isdigit() and int(lanes) > 0 else DEFAULT_LANES[road_class],
        "max_weight_t": max_weight if max_weight is not None else math.inf,
        "name": tags.get("name", ""),
        "ref": tags.get("ref", ""),
    }


def _add_osm_pieces(
    edges: _EdgeRows,
    nodes: _Junctions,
    refs: list[int],
    points: list[LngLat],
    split: set[Any],
    toll_booths: set[int],
    attributes: dict[str, Any],
) -> None:
    """One edge per piece of a run between junctions, keeping the interior points."""
    for start, end in _pieces(refs, split):
        if refs[start] == refs[end] and end - start < 2:
            continue
        coords = points[start : end + 1]
        u = nodes.node(refs[start], refs[start], *coords[0])
        v = nodes.node(refs[end], refs[end], *coords[-1])
        edges.add(
            u=u,
            v=v,
            length_m=polyline_length_m(coords),
            toll_plaza=refs[end] in toll_booths or (start == 0 and refs[0] in toll_booths),
            geometry=coords[1:-1] or None,
            **attributes,
        )

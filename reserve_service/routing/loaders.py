"""Readers that turn road-network files into column tables for :class:`RoadGraph`.

Three inputs are supported, each returning :class:`NetworkTables`:

* CSV node and edge lists (``read_csv``) — the format of ``seed_data/roads/``;
* GeoJSON LineStrings with road properties (``read_geojson``) — nodes are identified by coordinate;
* OpenStreetMap ``.osm`` / ``.osm.pbf`` (``read_osm``, via pyosmium) — highway tags mapped to classes.

Malformed input raises :class:`NetworkFileError` (a ``RoutingInputError``) naming the field.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from reserve_service.routing.errors import NetworkFileError
from reserve_service.routing.policy import ROAD_CLASSES

Source = str | Path | IO[str] | IO[bytes]
LngLat = tuple[float, float]

EARTH_RADIUS_M = 6_371_008.8
# Free speed (km/h) used when a file gives none; design speeds of Chinese road classes (A).
DEFAULT_FREE_SPEED_KMH: dict[str, float] = {
    "expressway": 120.0,
    "national": 80.0,
    "provincial": 80.0,
    "county": 60.0,
    "township": 40.0,
    "village": 30.0,
}
DEFAULT_LANES: dict[str, int] = {
    "expressway": 4,
    "national": 4,
    "provincial": 2,
    "county": 2,
    "township": 2,
    "village": 1,
}
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


@dataclass
class NetworkTables:
    """Column tables of a road network; row ``i`` of the edge columns is one road segment.

    ``u``/``v`` are node positions (indices into ``node_ids``); a two-way segment is one row.
    ``geometry[i]`` holds the interior (lng, lat) vertices between ``u`` and ``v``, or None.
    """

    node_ids: list[Any]
    lat: np.ndarray
    lng: np.ndarray
    edge_id: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    road_class: np.ndarray
    speed_kmh: np.ndarray
    oneway: np.ndarray
    toll: np.ndarray
    toll_plaza: np.ndarray
    bridge: np.ndarray
    lanes: np.ndarray
    max_weight_t: np.ndarray
    name: list[str]
    ref: list[str]
    geometry: list[list[LngLat] | None]


class _EdgeRows:
    """Accumulates edge rows (ids 0, 1, ... in order) and converts them to arrays."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {
            k: []
            for k in (
                "u",
                "v",
                "length_m",
                "road_class",
                "speed_kmh",
                "oneway",
                "toll",
                "toll_plaza",
                "bridge",
                "lanes",
                "max_weight_t",
                "name",
                "ref",
                "geometry",
            )
        }

    def add(self, **row: Any) -> None:
        for key, column in self.cols.items():
            column.append(row[key])

    def tables(
        self, node_ids: list[Any], lat: Iterable[float], lng: Iterable[float]
    ) -> NetworkTables:
        c = self.cols
        return NetworkTables(
            node_ids=node_ids,
            lat=np.asarray(list(lat), dtype=np.float64),
            lng=np.asarray(list(lng), dtype=np.float64),
            edge_id=np.arange(len(c["u"]), dtype=np.int64),
            u=np.asarray(c["u"], dtype=np.int64),
            v=np.asarray(c["v"], dtype=np.int64),
            length_m=np.asarray(c["length_m"], dtype=np.float64),
            road_class=np.asarray([ROAD_CLASSES.index(x) for x in c["road_class"]], dtype=np.int8),
            speed_kmh=np.asarray(c["speed_kmh"], dtype=np.float64),
            oneway=np.asarray(c["oneway"], dtype=bool),
            toll=np.asarray(c["toll"], dtype=bool),
            toll_plaza=np.asarray(c["toll_plaza"], dtype=bool),
            bridge=np.asarray(c["bridge"], dtype=bool),
            lanes=np.asarray(c["lanes"], dtype=np.int64),
            max_weight_t=np.asarray(c["max_weight_t"], dtype=np.float64),
            name=list(c["name"]),
            ref=list(c["ref"]),
            geometry=list(c["geometry"]),
        )


def haversine_m(lat1: Any, lng1: Any, lat2: Any, lng2: Any) -> Any:
    """Great-circle distance in metres (works on scalars and numpy arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lng2) - np.asarray(lng1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def polyline_length_m(coords: list[LngLat]) -> float:
    """Length in metres of a (lng, lat) polyline."""
    arr = np.asarray(coords, dtype=np.float64)
    return float(np.sum(haversine_m(arr[:-1, 1], arr[:-1, 0], arr[1:, 1], arr[1:, 0])))


# ---------------------------------------------------------------------------------------------
# value parsing shared by the readers


def _flag(value: Any, field: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise NetworkFileError(field, f"{where}: {field} must be 0/1 (or true/false), got {value!r}")


def _float(value: Any, field: str, where: str, *, minimum: float, strict: bool) -> float:
    """Parse a finite number >= minimum (> minimum when ``strict``)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if (
        isinstance(value, bool)
        or not math.isfinite(number)
        or number < minimum
        or (strict and number == minimum)
    ):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise NetworkFileError(field, f"{where}: {field} must be a number {bound}, got {value!r}")
    return number


def _optional_float(value: Any, field: str, where: str, default: float) -> float:
    if value is None or str(value).strip() == "":
        return default
    return _float(value, field, where, minimum=0.0, strict=True)


def _optional_int(value: Any, field: str, where: str, default: int) -> int:
    if value is None or str(value).strip() == "":
        return default
    number = _float(value, field, where, minimum=1.0, strict=False)
    if number != int(number):
        raise NetworkFileError(field, f"{where}: {field} must be a whole number, got {value!r}")
    return int(number)


def _road_class(value: Any, where: str) -> str:
    text = str(value or "").strip().lower()
    if text not in ROAD_CLASSES:
        raise NetworkFileError(
            "road_class",
            f"{where}: road_class must be one of {', '.join(ROAD_CLASSES)}, got {value!r}",
        )
    return text


def _latlng(lat: Any, lng: Any, where: str) -> tuple[float, float]:
    lat_f = _float(lat, "lat", where, minimum=-90.0, strict=False)
    lng_f = _float(lng, "lng", where, minimum=-180.0, strict=False)
    if lat_f > 90.0:
        raise NetworkFileError("lat", f"{where}: lat must be within [-90, 90], got {lat!r}")
    if lng_f > 180.0:
        raise NetworkFileError("lng", f"{where}: lng must be within [-180, 180], got {lng!r}")
    return lat_f, lng_f


# ---------------------------------------------------------------------------------------------
# CSV


def _open_text(source: Source) -> Iterator[str] | IO[str]:
    """Open a path or wrap a file object as text (UTF-8, BOM tolerated)."""
    if isinstance(source, str | Path):
        try:
            return open(source, encoding="utf-8-sig", newline="")  # noqa: SIM115 - caller closes
        except OSError as exc:
            raise NetworkFileError("file", f"cannot open {source}: {exc.strerror}") from exc
    if isinstance(source, io.TextIOBase):
        return source
    return io.TextIOWrapper(source, encoding="utf-8-sig", newline="")  # type: ignore[arg-type]


def _csv_columns(
    source: Source, label: str, required: tuple[str, ...]
) -> tuple[int, dict[str, list[str]]]:
    """Row count and stripped text columns of a CSV file (missing cells are empty)."""
    stream = _open_text(source)
    try:
        reader = csv.reader(stream)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise NetworkFileError(missing[0], f"{label} lacks column(s) {', '.join(missing)}")
        rows = list(reader)
    except UnicodeDecodeError as exc:
        raise NetworkFileError("file", f"{label} is not UTF-8 text: {exc}") from exc
    except csv.Error as exc:
        raise NetworkFileError("file", f"{label} is not valid CSV: {exc}") from exc
    finally:
        if isinstance(source, str | Path):
            stream.close()  # type: ignore[union-attr]
        elif isinstance(stream, io.TextIOWrapper) and stream is not source:
            stream.detach()
    columns = {
        name: [row[i].strip() if i < len(row) else "" for row in rows]
        for i, name in enumerate(header)
    }
    return len(rows), columns


def _number_column(
    values: list[str],
    field: str,
    label: str,
    *,
    minimum: float,
    strict: bool,
    empty: float | None = None,
) -> np.ndarray:
    """Finite numbers >= ``minimum`` (> when ``strict``); empty cells become ``empty`` if given."""
    blank = np.array([v == "" for v in values], dtype=bool)
    if empty is None:
        blank[:] = False
    try:
        placeholder = values if empty is None else [v or "0" for v in values]
        numbers = np.array(placeholder, dtype=np.float64)
        bad = ~blank & (
            ~np.isfinite(numbers) | (numbers < minimum) | (strict & (numbers == minimum))
        )
    except ValueError:
        numbers, bad = np.zeros(len(values)), ~blank
    for i in np.flatnonzero(bad):  # the first bad cell raises with its line number
        _float(values[i], field, f"{label} line {i + 2}", minimum=minimum, strict=strict)
    if empty is not None:
        numbers[blank] = empty
    return numbers


def _coded_column(values: list[str], field: str, label: str, parse: Any) -> list[Any]:
    """Parse a low-cardinality column once per distinct value."""
    table: dict[str, Any] = {}
    for value in dict.fromkeys(values):
        table[value] = parse(value, f"{label} line {values.index(value) + 2}")
    return [table[v] for v in values]


def read_csv(nodes_csv: Source, edges_csv: Source) -> NetworkTables:
    """Read ``nodes.csv`` (id, lat, lng) and ``edges.csv``.

    ``edges.csv`` columns: u, v, length_m, road_class, speed_kmh, and optionally id, oneway,
    toll, toll_plaza, bridge, lanes, max_weight_t, name, ref, geometry. A segment is two-way unless
    ``oneway=1``; an empty ``max_weight_t`` means no limit; without ``id`` the ids are 0, 1, ...
    in file order; ``geometry`` holds the interior vertices of a curved road as
    ``lng lat;lng lat;...`` (see :func:`format_geometry`). Node ids are integers when every id is
    a whole number, else strings. Extra columns are ignored.
    """
    count, nodes = _csv_columns(nodes_csv, "nodes.csv", ("id", "lat", "lng"))
    if count == 0:
        raise NetworkFileError("id", "nodes.csv has no rows")
    raw_ids = nodes["id"]
    integer_ids = all(i.removeprefix("-").isdigit() for i in raw_ids)
    node_ids: list[Any] = [int(i) for i in raw_ids] if integer_ids else list(raw_ids)
    position = {node: i for i, node in enumerate(node_ids)}
    if len(position) != count:
        line, node = next((i + 2, n) for i, n in enumerate(node_ids) if position[n] != i)
        raise NetworkFileError("id", f"nodes.csv line {line}: node id {node!r} is repeated")
    if "" in position:
        line = raw_ids.index("") + 2
        raise NetworkFileError("id", f"nodes.csv line {line}: id is empty")
    lat = _number_column(nodes["lat"], "lat", "nodes.csv", minimum=-90.0, strict=False)
    lng = _number_column(nodes["lng"], "lng", "nodes.csv", minimum=-180.0, strict=False)
    for name, column, bound in (("lat", lat, 90.0), ("lng", lng, 180.0)):
        if (column > bound).any():
            line = int(np.argmax(column > bound)) + 2
            raise NetworkFileError(
                name, f"nodes.csv line {line}: {name} must be within [-{bound:g}, {bound:g}]"
            )

    count, edges = _csv_columns(
        edges_csv, "edges.csv", ("u", "v", "length_m", "road_class", "speed_kmh")
    )
    label = "edges.csv"
    ends = {}
    for end in ("u", "v"):
        keys = (
            [int(k) if k.removeprefix("-").isdigit() else k for k in edges[end]]
            if integer_ids
            else edges[end]
        )
        found = [position.get(k, -1) for k in keys]
        if -1 in found:
            i = found.index(-1)
            raise NetworkFileError(
                end, f"{label} line {i + 2}: {end}={edges[end][i]!r} is not in nodes.csv"
            )
        ends[end] = found
    classes = _coded_column(edges["road_class"], "road_class", label, _road_class)
    empty = [""] * count

    def flags(name: str) -> list[bool]:
        return _coded_column(
            edges.get(name, empty), name, label, lambda v, where: _flag(v, name, where)
        )

    lanes = _coded_column(
        edges.get("lanes", empty),
        "lanes",
        label,
        lambda v, where: _optional_int(v, "lanes", where, 0),
    )
    edge_ids = (
        _number_column(edges["id"], "id", label, minimum=0.0, strict=False)
        if "id" in edges
        else np.arange(count)
    )
    not_whole = (edge_ids != np.floor(edge_ids)) | (edge_ids >= 2.0**62)
    if not_whole.any():
        line = int(np.argmax(not_whole)) + 2
        raise NetworkFileError("id", f"{label} line {line}: id must be a whole number < 2**62")
    unique_ids, seen = np.unique(edge_ids, return_counts=True)
    if (seen > 1).any():
        raise NetworkFileError(
            "id", f"edge id {int(unique_ids[seen > 1][0])} is used more than once"
        )
    class_codes = np.array([ROAD_CLASSES.index(c) for c in classes], dtype=np.int8)
    default_lanes = np.array([DEFAULT_LANES[c] for c in ROAD_CLASSES])[class_codes]
    lanes_array = np.array(lanes, dtype=np.int64)
    return NetworkTables(
        node_ids=node_ids,
        lat=lat,
        lng=lng,
        edge_id=edge_ids.astype(np.int64),
        u=np.array(ends["u"], dtype=np.int64),
        v=np.array(ends["v"], dtype=np.int64),
        length_m=_number_column(edges["length_m"], "length_m", label, minimum=0.0, strict=False),
        road_class=class_codes,
        speed_kmh=_number_column(edges["speed_kmh"], "speed_kmh", label, minimum=0.0, strict=True),
        oneway=np.array(flags("oneway"), dtype=bool),
        toll=np.array(flags("toll"), dtype=bool),
        toll_plaza=np.array(flags("toll_plaza"), dtype=bool),
        bridge=np.array(flags("bridge"), dtype=bool),
        lanes=np.where(lanes_array == 0, default_lanes, lanes_array),
        max_weight_t=_number_column(
            edges.get("max_weight_t", empty),
            "max_weight_t",
            label,
            minimum=0.0,
            strict=True,
            empty=math.inf,
        ),
        name=edges.get("name", empty),
        ref=edges.get("ref", empty),
        geometry=[
            parse_geometry(value, f"{label} line {line}")
            for line, value in enumerate(edges.get("geometry", empty), start=2)
        ],
    )


def format_geometry(points: list[LngLat] | None) -> str:
    """Interior vertices as CSV text ``lng lat;lng lat`` (7 decimals, about 1 cm); '' for none."""
    return ";".join(f"{lng:.7f} {lat:.7f}" for lng, lat in points or ())


def parse_geometry(value: str, where: str) -> list[LngLat] | None:
    """The inverse of :func:`format_geometry`; raises ``NetworkFileError`` naming ``geometry``."""
    if not value.strip():
        return None
    points: list[LngLat] = []
    for pair in value.split(";"):
        parts = pair.split()
        try:
            lng, lat = (float(x) for x in parts)
        except ValueError:
            raise NetworkFileError("geometry", f"{where}: geometry vertex {pair!r} is not 'lng lat'") from None
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise NetworkFileError("geometry", f"{where}: geometry vertex {pair!r} is out of range")
        points.append((lng, lat))
    return points


# ---------------------------------------------------------------------------------------------
# shared splitting of polylines at junctions (GeoJSON and OSM)


class _Junctions:
    """Assigns node positions to polyline vertices that must become graph nodes."""

    def __init__(self) -> None:
        self.ids: list[Any] = []
        self.lat: list[float] = []
        self.lng: list[float] = []
        self.position: dict[Any, int] = {}

    def node(self, key: Any, node_id: Any, lng: float, lat: float) -> int:
        if key not in self.position:
            self.position[key] = len(self.ids)
            self.ids.append(node_id)
            self.lat.append(lat)
            self.lng.append(lng)
        return self.position[key]


def _split_points(lines: list[list[Any]]) -> set[Any]:
    """Vertex keys where lines must split: line ends and vertices used more than once."""
    uses: Counter[Any] = Counter()
    for keys in lines:
        uses.update(keys)
    split = {k for k, n in uses.items() if n > 1}
    for keys in lines:
        split.add(keys[0])
        split.add(keys[-1])
    return split


def _pieces(keys: list[Any], split: set[Any]) -> Iterator[tuple[int, int]]:
    """Index ranges [start, end] of a vertex list between consecutive split vertices."""
    start = 0
    for i in range(1, len(keys)):
        if keys[i] in split:
            yield start, i
            start = i


# ---------------------------------------------------------------------------------------------
# GeoJSON


def _geojson_lines(feature: Any, index: int) -> list[list[LngLat]]:
    where = f"features[{index}]"
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise NetworkFileError("features", f"{where} is not a GeoJSON Feature")
    geometry = feature.get("geometry")
    if not isinstance(geometry, Mapping):
        raise NetworkFileError("geometry", f"{where} has no geometry")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "LineString":
        parts = [coords]
    elif kind == "MultiLineString":
        parts = coords if isinstance(coords, list) else [None]
    else:
        raise NetworkFileError("geometry", f"{where}: geometry must be a LineString, got {kind!r}")
    lines: list[list[LngLat]] = []
    for part in parts:
        if not isinstance(part, list) or len(part) < 2:
            raise NetworkFileError("geometry", f"{where}: a line needs at least two positions")
        line: list[LngLat] = []
        for position in part:
            if not isinstance(position, list | tuple) or len(position) < 2:
                raise NetworkFileError("geometry", f"{where}: bad position {position!r}")
            lat, lng = _latlng(position[1], position[0], where)
            if not line or line[-1] != (lng, lat):
                line.append((lng, lat))
        if len(line) < 2:
            raise NetworkFileError("geometry", f"{where}: a line has zero length")
        lines.append(line)
    return lines


def read_geojson(source: Source | Mapping[str, Any], *, precision: int = 7) -> NetworkTables:
    """Read a FeatureCollection of LineString/MultiLineString road features.

    Properties: ``road_class`` (required), ``speed_kmh`` (default: class free speed), ``oneway``,
    ``toll``, ``toll_plaza``, ``bridge``, ``lanes``, ``max_weight_t``, ``name``, ``ref``.
    Vertices with equal coordinates (rounded to ``precision`` decimals) are the same node; lines
    split at their ends and at every vertex shared with another line. Lengths are geodesic.
    """
    if isinstance(source, Mapping):
        document: Any = source
    else:
        stream = _open_text(source)
        try:
            document = json.load(stream)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise NetworkFileError("file", f"not valid GeoJSON: {exc}") from exc
        finally:
            if isinstance(source, str | Path):
                stream.close()  # type: ignore[union-attr]
    if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
        raise NetworkFileError("type", "GeoJSON must be a FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise NetworkFileError("features", "GeoJSON 'features' must be a list")

    def vertex_key(point: LngLat) -> tuple[float, float]:
        return round(point[0], precision), round(point[1], precision)

    lines: list[tuple[list[LngLat], Mapping[str, Any], str]] = []
    for index, feature in enumerate(features):
        properties = (feature.get("properties") if isinstance(feature, Mapping) else None) or {}
        if not isinstance(properties, Mapping):
            raise NetworkFileError("properties", f"features[{index}]: properties must be an object")
        for line in _geojson_lines(feature, index):
            lines.append((line, properties, f"features[{index}]"))
    key_lists = [[vertex_key(p) for p in line] for line, _, _ in lines]
    split = _split_points(key_lists)
    nodes = _Junctions()
    edges = _EdgeRows()
    for (line, props, where), keys in zip(lines, key_lists, strict=True):
        road_class = _road_class(props.get("road_class"), where)
        attributes = {
            "road_class": road_class,
            "speed_kmh": _optional_float(
                props.get("speed_kmh"), "speed_kmh", where, DEFAULT_FREE_SPEED_KMH[road_class]
            ),
            "oneway": _flag(props.get("oneway"), "oneway", where),
            "toll": _flag(props.get("toll"), "toll", where),
            "toll_plaza": _flag(props.get("toll_plaza"), "toll_plaza", where),
            "bridge": _flag(props.get("bridge"), "bridge", where),
            "lanes": _optional_int(props.get("lanes"), "lanes", where, DEFAULT_LANES[road_class]),
            "max_weight_t": _optional_float(
                props.get("max_weight_t"), "max_weight_t", where, math.inf
            ),
            "name": str(props.get("name") or ""),
            "ref": str(props.get("ref") or ""),
        }
        for start, end in _pieces(keys, split):
            u = nodes.node(keys[start], len(nodes.ids), *line[start])
            v = nodes.node(keys[end], len(nodes.ids), *line[end])
            segment = line[start : end + 1]
            edges.add(
                u=u,
                v=v,
                length_m=polyline_length_m(segment),
                geometry=segment[1:-1] or None,
                **attributes,
            )
    if not nodes.ids:
        raise NetworkFileError("features", "GeoJSON has no road lines")
    return edges.tables(nodes.ids, nodes.lat, nodes.lng)


def read_osm(source: Source) -> NetworkTables:
    """Read an OpenStreetMap extract: see :func:`reserve_service.routing.osm.read_osm`."""
    from reserve_service.routing import osm

    return osm.read_osm(source)

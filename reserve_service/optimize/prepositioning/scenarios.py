"""Disaster scenarios for stochastic pre-positioning: data, JSON, validation and a generator.

A :class:`Scenario` is one possible disaster: its hazard, probability, severity, the regions
where people are displaced (region id → displaced persons), road events (closures and
slowdowns, as :class:`~reserve_service.routing.events.RoadEvent` dicts on an area or edge
ids) and damaged depots (depot id → share of the stock lost, 0–1). A scenario set is a list of
scenarios whose probabilities sum to 1.

JSON shape (``scenarios_to_json`` / ``scenarios_from_json``)::

    {"meta": {...}, "scenarios": [
      {"id": "flood-001", "hazard": "flood", "probability": 0.02, "severity": "severe",
       "description": "...", "affected": {"341302102000": 1520},
       "road_events": [{"kind": "closure", "area": {"type": "Polygon", ...}}],
       "damaged_depots": {"TS-341302102": 0.4}}]}

Validation (:func:`validate_scenarios`) raises :class:`ScenarioInputError` naming the field:
probabilities must be finite, ≥ 0 and sum to 1 within ``1e-6`` — or, with ``normalize=True``,
they are rescaled to sum to 1 (a set with zero total is still rejected); displaced people must
be finite and ≥ 0; damage shares must lie in [0, 1]; ids must be unique; road events must be
valid RoadEvents; with a catalogue of known region / depot ids, unknown ids are rejected.

Generator (:func:`generate_suzhou_scenarios`) — deterministic for a given ``seed`` (all draws
come from ``random.Random`` seeded with a string; same seed → byte-identical JSON). Numbers
marked **A** are assumptions to be replaced by the city's own risk assessment.

* Hazard mix of a "disaster large enough to need the reserve" (**A**, after the events listed
  in 宿州's 十四五 防灾减灾 plan: floods 2017/2020, snow 2018): flood 0.55, snowstorm 0.20,
  chemical accident 0.15, earthquake 0.10. ``n`` scenarios are split over hazards by largest
  remainder (each hazard at least one when ``n >= 4``) and a scenario's probability is its
  hazard's weight divided by that hazard's scenario count, so hazard probabilities are exact
  and the sum is 1.
* Severity (**A**): moderate 0.6, severe 0.3, extreme 0.1 (drawn per scenario).
* Flood (**A** river choice 新汴河 0.3, 濉河/奎濉河 0.3, 浍河 0.2, 沱河 0.2): a reach covering
  30 / 50 / 80 % of the river line (by severity) at a random position floods. A township at
  distance ``d`` km from the reach loses ``s · exp(-d / L)`` of its people to displacement with
  ``(s, L)`` = (0.10, 2), (0.20, 4), (0.35, 6) km, times a factor U(0.8, 1.2), cut at
  ``d > 3 L``. Roads within 0.3 / 0.6 / 1.0 km of the reach are closed, except within 2.5 km
  of a township seat (towns stand on higher ground behind dikes). Depots within 3 km lose
  ``q · exp(-d / 1 km)`` of their stock, ``q`` = 0.2 / 0.4 / 0.7. River lines come from the
  repository's ``seed_data/roads/rivers.geojson``; 沱河 (absent there) uses the approximate
  polyline :data:`ASSUMED_RIVERS` written below (**A**).
* Earthquake (**A**): epicentre with probability 0.6 in the east (lng ≥ 117.75, towards the
  郯庐 fault zone), else anywhere in the city box; magnitude class 5.0 / 5.5 / 6.0 with
  ``(s, L)`` = (0.05, 8), (0.15, 15), (0.30, 25) km; roads closed within 2 / 4 / 6 km (seats
  excepted as above), slowed ×0.7 within ``2 L``; depots lose ``q · exp(-d / L)``,
  ``q`` = 0.2 / 0.4 / 0.6.
* Snowstorm (**A**): every road in the city slowed ×0.6 / 0.45 / 0.3; a township is affected
  with probability 0.3 / 0.5 / 0.8 and then displaces 0.2 / 0.5 / 1.0 % × U(0.5, 1.5) of its
  people (collapsed roofs, stranded travellers); 街道 (urban) × 0.3.
* Chemical accident (**A**): a site 1–3 km from a random township seat; evacuation radius
  3 / 5 / 8 km; a township at distance ``d`` displaces ``s · (1 - d / R)`` of its people,
  ``s`` = 0.5 / 0.7 / 0.9; a traffic-control cordon of radius ``R / 2`` (relief vehicles with
  green-channel passage still pass).
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon, mapping
from shapely.ops import substring

from reserve_service.routing.errors import RoadEventError
from reserve_service.routing.events import RoadEvent

HAZARDS: tuple[str, ...] = ("flood", "earthquake", "snowstorm", "chemical", "other")
SEVERITIES: tuple[str, ...] = ("moderate", "severe", "extreme")
PROBABILITY_TOLERANCE = 1e-6

#: Hazard weights given that a reserve-relevant disaster happens (A).
HAZARD_WEIGHTS: dict[str, float] = {
    "flood": 0.55,
    "snowstorm": 0.20,
    "chemical": 0.15,
    "earthquake": 0.10,
}
#: Severity probabilities (A).
SEVERITY_WEIGHTS: dict[str, float] = {"moderate": 0.6, "severe": 0.3, "extreme": 0.1}
#: Which river floods, given a flood (A).
RIVER_WEIGHTS: dict[str, float] = {"新汴河": 0.3, "濉河": 0.3, "浍河": 0.2, "沱河": 0.2}

#: Approximate river polylines (lng, lat) used when the repository's rivers file lacks a river.
#: **Assumption (A)**: drawn from general knowledge of the course (沱河 enters 埇桥 from 永城,
#: passes south of 宿州城区 and through 灵璧 and 泗县 south towards 五河 / 沱湖); not surveyed.
ASSUMED_RIVERS: dict[str, list[tuple[float, float]]] = {
    "沱河": [
        (116.40, 33.56),
        (116.70, 33.57),
        (116.95, 33.58),
        (117.15, 33.53),
        (117.40, 33.47),
        (117.60, 33.40),
        (117.80, 33.33),
    ],
}
RIVER_ALIASES: dict[str, str] = {"奎濉河": "濉河"}

#: 宿州 bounding box (S: 116°09′–118°10′E, 33°18′–34°38′N).
BBOX = {"lng_min": 116.15, "lng_max": 118.1667, "lat_min": 33.30, "lat_max": 34.6333}
_LAT0, _LNG0 = 33.95, 117.15
_KX = 111.32 * math.cos(math.radians(_LAT0))
_KY = 110.57


class ScenarioInputError(ValueError):
    """Invalid scenario data; ``field`` names the offending field (e.g. ``scenarios[3].probability``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Scenario:
    """One disaster scenario.

    Parameters
    ----------
    id
        Unique id within a set.
    hazard
        One of :data:`HAZARDS`.
    probability
        Probability of this scenario within its set (≥ 0).
    severity
        One of :data:`SEVERITIES` (free text is rejected).
    affected
        Region id → displaced persons (≥ 0).
    road_events
        RoadEvent dicts (``kind`` closure / slowdown / traffic_control / repair; ``area`` as a
        GeoJSON polygon or ``edge_ids``; ``speed_factor`` for slowdowns).
    damaged_depots
        Depot id → share of its stock lost (0–1).
    description
        Human-readable summary.
    """

    id: str
    hazard: str
    probability: float
    severity: str = "moderate"
    affected: dict[str, float] = field(default_factory=dict)
    road_events: list[dict[str, Any]] = field(default_factory=list)
    damaged_depots: dict[str, float] = field(default_factory=dict)
    description: str = ""

    @property
    def total_displaced(self) -> float:
        return float(sum(self.affected.values()))

    def road_event_objects(self) -> list[RoadEvent]:
        """The road events as :class:`RoadEvent` objects (ids ``<scenario id>/<k>``)."""
        out = []
        for k, data in enumerate(self.road_events):
            values = dict(data)
            values.setdefault("id", f"{self.id}/{k}")
            out.append(RoadEvent.from_dict(values))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hazard": self.hazard,
            "probability": self.probability,
            "severity": self.severity,
            "description": self.description,
            "affected": dict(self.affected),
            "road_events": [dict(e) for e in self.road_events],
            "damaged_depots": dict(self.damaged_depots),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "scenario") -> Scenario:
        """Build a scenario from a dict; structural errors raise :class:`ScenarioInputError`."""
        if not isinstance(data, Mapping):
            raise ScenarioInputError(f"{where} must be an object", where)
        known = {
            "id",
            "hazard",
            "probability",
            "severity",
            "description",
            "affected",
            "road_events",
            "damaged_depots",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise ScenarioInputError(f"unknown fields {unknown}", f"{where}.{unknown[0]}")
        for key in ("id", "hazard", "probability"):
            if key not in data:
                raise ScenarioInputError(f"{where} needs '{key}'", f"{where}.{key}")
        affected = data.get("affected") or {}
        damaged = data.get("damaged_depots") or {}
        events = data.get("road_events") or []
        if not isinstance(affected, Mapping):
            raise ScenarioInputError("affected must map region id → people", f"{where}.affected")
        if not isinstance(damaged, Mapping):
            raise ScenarioInputError(
                "damaged_depots must map depot id → share lost", f"{where}.damaged_depots"
            )
        if not isinstance(events, list):
            raise ScenarioInputError("road_events must be a list", f"{where}.road_events")
        return cls(
            id=str(data["id"]),
            hazard=str(data["hazard"]),
            probability=_number(data["probability"], f"{where}.probability"),
            severity=str(data.get("severity", "moderate")),
            affected={str(k): _number(v, f"{where}.affected.{k}") for k, v in affected.items()},
            road_events=[dict(e) if isinstance(e, Mapping) else e for e in events],
            damaged_depots={
                str(k): _number(v, f"{where}.damaged_depots.{k}") for k, v in damaged.items()
            },
            description=str(data.get("description", "")),
        )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioInputError(f"{where} must be a number, got {value!r}", where)
    if not math.isfinite(value):
        raise ScenarioInputError(f"{where} must be finite, got {value!r}", where)
    return float(value)


# --------------------------------------------------------------------------------------------
# Validation and JSON
# --------------------------------------------------------------------------------------------


def validate_scenarios(
    scenarios: Sequence[Scenario],
    *,
    normalize: bool = False,
    region_ids: Iterable[str] | None = None,
    depot_ids: Iterable[str] | None = None,
    tolerance: float = PROBABILITY_TOLERANCE,
) -> list[Scenario]:
    """Check a scenario set; return it (probabilities rescaled when ``normalize``).

    Raises :class:`ScenarioInputError` with ``field`` such as ``scenarios[2].probability``,
    ``scenarios.probability`` (the sum), ``scenarios[0].affected.341302999000``.
    """
    if not scenarios:
        raise ScenarioInputError("a scenario set needs at least one scenario", "scenarios")
    regions = set(region_ids) if region_ids is not None else None
    depots = set(depot_ids) if depot_ids is not None else None
    seen: set[str] = set()
    for k, sc in enumerate(scenarios):
        where = f"scenarios[{k}]"
        if not sc.id:
            raise ScenarioInputError("scenario id must not be empty", f"{where}.id")
        if sc.id in seen:
            raise ScenarioInputError(f"duplicate scenario id {sc.id!r}", f"{where}.id")
        seen.add(sc.id)
        if sc.hazard not in HAZARDS:
            raise ScenarioInputError(
                f"hazard must be one of {HAZARDS}, got {sc.hazard!r}", f"{where}.hazard"
            )
        if sc.severity not in SEVERITIES:
            raise ScenarioInputError(
                f"severity must be one of {SEVERITIES}, got {sc.severity!r}", f"{where}.severity"
            )
        p = _number(sc.probability, f"{where}.probability")
        if p < 0:
            raise ScenarioInputError(f"probability must be >= 0, got {p}", f"{where}.probability")
        for region, people in sc.affected.items():
            people = _number(people, f"{where}.affected.{region}")
            if people < 0:
                raise ScenarioInputError(
                    f"displaced people must be >= 0, got {people} for region {region}",
                    f"{where}.affected.{region}",
                )
            if regions is not None and region not in regions:
                raise ScenarioInputError(
                    f"unknown region id {region!r}", f"{where}.affected.{region}"
                )
        for depot, share in sc.damaged_depots.items():
            share = _number(share, f"{where}.damaged_depots.{depot}")
            if not 0 <= share <= 1:
                raise ScenarioInputError(
                    f"share of stock lost must be in [0, 1], got {share} for depot {depot}",
                    f"{where}.damaged_depots.{depot}",
                )
            if depots is not None and depot not in depots:
                raise ScenarioInputError(
                    f"unknown depot id {depot!r}", f"{where}.damaged_depots.{depot}"
                )
        for j, event in enumerate(sc.road_events):
            try:
                RoadEvent.from_dict({**event, "id": f"{sc.id}/{j}"})
            except (RoadEventError, TypeError) as exc:
                sub = getattr(exc, "field", None) or "kind"
                raise ScenarioInputError(
                    f"road event {j} of {sc.id}: {exc}", f"{where}.road_events[{j}].{sub}"
                ) from exc
    total = math.fsum(sc.probability for sc in scenarios)
    if normalize:
        if not total > 0:
            raise ScenarioInputError(
                f"probabilities sum to {total}; cannot normalize", "scenarios.probability"
            )
        return [_with_probability(sc, sc.probability / total) for sc in scenarios]
    if abs(total - 1.0) > tolerance:
        raise ScenarioInputError(
            f"probabilities sum to {total:.9g}, not 1 (±{tolerance:g}); pass normalize=True "
            "to rescale them",
            "scenarios.probability",
        )
    return list(scenarios)


def _with_probability(sc: Scenario, p: float) -> Scenario:
    return Scenario(**{**sc.__dict__, "probability": p})


def scenarios_from_json(
    source: str | bytes | Mapping[str, Any] | Sequence[Any],
    *,
    normalize: bool = False,
    region_ids: Iterable[str] | None = None,
    depot_ids: Iterable[str] | None = None,
) -> list[Scenario]:
    """Parse and validate ``{"scenarios": [...]}`` (or a bare list), text or already decoded."""
    data: Any = source
    if isinstance(source, str | bytes):
        try:
            data = json.loads(source)
        except json.JSONDecodeError as exc:
            raise ScenarioInputError(f"not valid JSON: {exc}", "scenarios") from exc
    if isinstance(data, Mapping):
        if "scenarios" not in data:
            raise ScenarioInputError("expected an object with 'scenarios'", "scenarios")
        data = data["scenarios"]
    if not isinstance(data, list):
        raise ScenarioInputError("scenarios must be a list", "scenarios")
    parsed = [Scenario.from_dict(item, f"scenarios[{k}]") for k, item in enumerate(data)]
    return validate_scenarios(
        parsed, normalize=normalize, region_ids=region_ids, depot_ids=depot_ids
    )


def scenarios_to_json(scenarios: Sequence[Scenario], meta: Mapping[str, Any] | None = None) -> str:
    """Stable JSON text (sorted keys, UTF-8 characters kept, ``\\n`` at the end)."""
    payload = {"meta": dict(meta or {}), "scenarios": [sc.to_dict() for sc in scenarios]}
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def load_scenarios(path: str | Path, **options: Any) -> list[Scenario]:
    """Read and validate a scenario JSON file (options as :func:`scenarios_from_json`)."""
    return scenarios_from_json(Path(path).read_text(encoding="utf-8"), **options)


# --------------------------------------------------------------------------------------------
# Geometry helpers (local equirectangular projection, km)
# --------------------------------------------------------------------------------------------


def _to_km(lng: float, lat: float) -> tuple[float, float]:
    return ((lng - _LNG0) * _KX, (lat - _LAT0) * _KY)


def _to_lnglat(x: float, y: float) -> tuple[float, float]:
    return (round(_LNG0 + x / _KX, 5), round(_LAT0 + y / _KY, 5))


def _geojson_area(geom_km: Any) -> dict[str, Any] | None:
    """A km-projected (Multi)Polygon as a GeoJSON area in lng/lat, simplified; None if empty."""
    if geom_km.is_empty:
        return None
    geom = shapely.transform(geom_km, lambda xy: [_to_lnglat(x, y) for x, y in xy])
    geom = geom.simplify(0.0005, preserve_topology=True)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        polys = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
        if not polys:
            return None
        geom = shapely.MultiPolygon(polys)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return json.loads(json.dumps(mapping(geom)))


def load_rivers(path: str | Path | None = None) -> dict[str, list[tuple[float, float]]]:
    """River polylines (lng, lat) by name: the rivers GeoJSON if given and present, plus the
    assumed lines in :data:`ASSUMED_RIVERS` for rivers it lacks."""
    rivers: dict[str, list[tuple[float, float]]] = {}
    if path is not None and Path(path).exists():
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for feature in data.get("features", []):
            name = RIVER_ALIASES.get(feature["properties"]["name"], feature["properties"]["name"])
            geom = feature["geometry"]
            lines = [geom["coordinates"]] if geom["type"] == "LineString" else geom["coordinates"]
            rivers[name] = [(float(x), float(y)) for x, y in max(lines, key=len)]
    for name, line in ASSUMED_RIVERS.items():
        rivers.setdefault(name, list(line))
    return rivers


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A point with an id (township or depot); ``population`` and ``level`` for townships."""

    id: str
    lat: float
    lng: float
    population: float = 0.0
    name: str = ""
    urban: bool = False


def read_seed_places(seed_dir: str | Path) -> tuple[list[Place], list[Place]]:
    """Townships (regions.csv rows with level township) and depots (depots.csv) as places."""
    folder = Path(seed_dir)
    with (folder / "regions.csv").open(encoding="utf-8") as fh:
        towns = [
            Place(
                id=row["adcode"],
                lat=float(row["lat"]),
                lng=float(row["lng"]),
                population=float(row["population"]),
                name=row["name"],
                urban=row["name"].endswith("街道"),
            )
            for row in csv.DictReader(fh)
            if row["level"] == "township"
        ]
    with (folder / "depots.csv").open(encoding="utf-8") as fh:
        depots = [
            Place(id=row["code"], lat=float(row["lat"]), lng=float(row["lng"]), name=row["name"])
            for row in csv.DictReader(fh)
        ]
    return towns, depots


def _split_counts(n: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Largest-remainder split of ``n`` over weights; each key ≥ 1 when ``n >= len(weights)``."""
    total = sum(weights.values())
    keys = list(weights)
    floor = {k: int(n * weights[k] / total) for k in keys}
    if n >= len(keys):
        for k in keys:
            floor[k] = max(floor[k], 1)
    while sum(floor.values()) > n:
        k = max(keys, key=lambda k: (floor[k] - n * weights[k] / total, k))
        floor[k] -= 1
    rest = n - sum(floor.values())
    order = sorted(keys, key=lambda k: (-(n * weights[k] / total - floor[k]), k))
    for k in order[:rest]:
        floor[k] += 1
    return floor


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def generate_suzhou_scenarios(
    towns: Sequence[Place],
    depots: Sequence[Place] = (),
    *,
    n: int = 50,
    seed: int = 0,
    rivers: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    hazard_weights: Mapping[str, float] | None = None,
) -> list[Scenario]:
    """Generate ``n`` scenarios for 宿州's hazards (rules and assumptions: module docstring).

    Parameters
    ----------
    towns
        Township places with population (e.g. :func:`read_seed_places`).
    depots
        Depot places (for damage); may be empty.
    n
        Number of scenarios (≥ 1).
    seed
        Seed; the same inputs and seed give the same scenarios.
    rivers
        River polylines by name; default :func:`load_rivers` with no file (assumed lines only).
    hazard_weights
        Override of :data:`HAZARD_WEIGHTS` (hazards with weight 0 are left out).
    """
    if n < 1:
        raise ScenarioInputError(f"n must be >= 1, got {n}", "n")
    weights = {k: v for k, v in (hazard_weights or HAZARD_WEIGHTS).items() if v > 0}
    for hazard in weights:
        if hazard not in HAZARDS:
            raise ScenarioInputError(f"unknown hazard {hazard!r}", "hazard_weights")
    rivers = dict(rivers) if rivers is not None else load_rivers(None)
    river_weights = {k: v for k, v in RIVER_WEIGHTS.items() if k in rivers}
    town_km = [Point(_to_km(t.lng, t.lat)) for t in towns]
    depot_km = [Point(_to_km(d.lng, d.lat)) for d in depots]
    seats = shapely.unary_union([p.buffer(2.5, quad_segs=4) for p in town_km])
    geo = _Geo(towns, town_km, depots, depot_km, seats, rivers, river_weights)
    makers = {
        "flood": _flood,
        "earthquake": _earthquake,
        "snowstorm": _snowstorm,
        "chemical": _chemical,
    }
    if "other" in weights:
        raise ScenarioInputError("the generator has no rule for hazard 'other'", "hazard_weights")
    total_w = sum(weights.values())
    counts = _split_counts(n, weights)
    out: list[Scenario] = []
    for hazard in sorted(counts, key=lambda h: list(weights).index(h)):
        for k in range(counts[hazard]):
            rng = random.Random(f"suzhou-hazards/{seed}/{hazard}/{k}")
            severity = _pick(rng, SEVERITY_WEIGHTS)
            level = SEVERITIES.index(severity)
            sid = f"{hazard}-{k + 1:03d}"
            prob = weights[hazard] / total_w / counts[hazard]
            draw = _Draw(rng, sid, prob, severity, level)
            sc = makers[hazard](draw, geo)
            out.append(sc)
    total = math.fsum(sc.probability for sc in out)
    return [_with_probability(sc, sc.probability / total) for sc in out]


def _displacement(
    rng: random.Random,
    towns: Sequence[Place],
    distances: Sequence[float],
    share: Any,
) -> dict[str, float]:
    """Region id → displaced persons given a share-by-distance function (None = unaffected)."""
    out: dict[str, float] = {}
    for town, d in zip(towns, distances, strict=True):
        s = share(d)
        if s is None or s <= 0:
            continue
        people = round(town.population * s * rng.uniform(0.8, 1.2))
        if people >= 1:
            out[town.id] = float(people)
    return out


def _damage(depots: Sequence[Place], distances: Sequence[float], share: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for depot, d in zip(depots, distances, strict=True):
        s = share(d)
        if s is not None and s >= 0.02:
            out[depot.id] = round(min(s, 1.0), 3)
    return out


@dataclass(frozen=True)
class _Draw:
    """One scenario's identity and random stream."""

    rng: random.Random
    sid: str
    prob: float
    severity: str
    level: int


@dataclass(frozen=True)
class _Geo:
    """Geometry shared by all scenarios of a generator run (km projection)."""

    towns: Sequence[Place]
    town_km: list[Point]
    depots: Sequence[Place]
    depot_km: list[Point]
    seats: Any
    rivers: Mapping[str, Sequence[tuple[float, float]]]
    river_weights: Mapping[str, float]


def _flood(draw: _Draw, geo: _Geo) -> Scenario:
    rng, sid, prob, severity, level = draw.rng, draw.sid, draw.prob, draw.severity, draw.level
    rivers, river_weights, towns, town_km = geo.rivers, geo.river_weights, geo.towns, geo.town_km
    depots, depot_km, seats = geo.depots, geo.depot_km, geo.seats
    river = _pick(rng, river_weights)
    line = LineString([_to_km(x, y) for x, y in rivers[river]])
    frac = (0.3, 0.5, 0.8)[level]
    start = rng.uniform(0.0, 1.0 - frac)
    reach = substring(line, start, start + frac, normalized=True)
    s_max, length = (0.10, 0.20, 0.35)[level], (2.0, 4.0, 6.0)[level]
    dist = [reach.distance(p) for p in town_km]
    affected = _displacement(
        rng, towns, dist, lambda d: s_max * math.exp(-d / length) if d <= 3 * length else None
    )
    q = (0.2, 0.4, 0.7)[level]
    damaged = _damage(
        depots,
        [reach.distance(p) for p in depot_km],
        lambda d: q * math.exp(-d / 1.0) if d <= 3.0 else None,
    )
    width = (0.3, 0.6, 1.0)[level]
    area = _geojson_area(reach.buffer(width, quad_segs=2).difference(seats))
    events = [{"kind": "closure", "area": area, "cause": f"{river} flood"}] if area else []
    return Scenario(
        id=sid,
        hazard="flood",
        probability=prob,
        severity=severity,
        affected=affected,
        road_events=events,
        damaged_depots=damaged,
        description=f"{severity} flood on {river}, {int(frac * 100)} % of its course from "
        f"{start:.2f} along the line; roads within {width} km closed",
    )


def _earthquake(draw: _Draw, geo: _Geo) -> Scenario:
    rng, sid, prob, severity, level = draw.rng, draw.sid, draw.prob, draw.severity, draw.level
    towns, town_km, depots, depot_km, seats = (
        geo.towns,
        geo.town_km,
        geo.depots,
        geo.depot_km,
        geo.seats,
    )
    if rng.random() < 0.6:
        lng = rng.uniform(117.75, BBOX["lng_max"])
    else:
        lng = rng.uniform(BBOX["lng_min"], BBOX["lng_max"])
    lat = rng.uniform(BBOX["lat_min"], BBOX["lat_max"])
    centre = Point(_to_km(lng, lat))
    s_max, length = (0.05, 0.15, 0.30)[level], (8.0, 15.0, 25.0)[level]
    dist = [centre.distance(p) for p in town_km]
    affected = _displacement(
        rng, towns, dist, lambda d: s_max * math.exp(-d / length) if d <= 3 * length else None
    )
    q = (0.2, 0.4, 0.6)[level]
    damaged = _damage(
        depots,
        [centre.distance(p) for p in depot_km],
        lambda d: q * math.exp(-d / length) if d <= 3 * length else None,
    )
    radius = (2.0, 4.0, 6.0)[level]
    events = []
    closed = _geojson_area(centre.buffer(radius, quad_segs=4).difference(seats))
    if closed:
        events.append({"kind": "closure", "area": closed, "cause": "earthquake damage"})
    slowed = _geojson_area(centre.buffer(2 * length, quad_segs=4))
    if slowed:
        events.append(
            {"kind": "slowdown", "area": slowed, "speed_factor": 0.7, "cause": "earthquake debris"}
        )
    magnitude = (5.0, 5.5, 6.0)[level]
    return Scenario(
        id=sid,
        hazard="earthquake",
        probability=prob,
        severity=severity,
        affected=affected,
        road_events=events,
        damaged_depots=damaged,
        description=f"M{magnitude} earthquake at {lat:.3f} N {lng:.3f} E",
    )


def _snowstorm(draw: _Draw, geo: _Geo) -> Scenario:
    rng, sid, prob, severity, level = draw.rng, draw.sid, draw.prob, draw.severity, draw.level
    towns = geo.towns
    factor = (0.6, 0.45, 0.3)[level]
    chance = (0.3, 0.5, 0.8)[level]
    base = (0.002, 0.005, 0.01)[level]
    affected: dict[str, float] = {}
    for town in towns:
        if rng.random() >= chance:
            continue
        share = base * rng.uniform(0.5, 1.5) * (0.3 if town.urban else 1.0)
        people = round(town.population * share)
        if people >= 1:
            affected[town.id] = float(people)
    pad = 0.05
    box = Polygon(
        [
            (BBOX["lng_min"] - pad, BBOX["lat_min"] - pad),
            (BBOX["lng_max"] + pad, BBOX["lat_min"] - pad),
            (BBOX["lng_max"] + pad, BBOX["lat_max"] + pad),
            (BBOX["lng_min"] - pad, BBOX["lat_max"] + pad),
        ]
    )
    events = [
        {"kind": "slowdown", "area": mapping(box), "speed_factor": factor, "cause": "snow and ice"}
    ]
    events = json.loads(json.dumps(events))
    return Scenario(
        id=sid,
        hazard="snowstorm",
        probability=prob,
        severity=severity,
        affected=affected,
        road_events=events,
        description=f"{severity} citywide snowstorm; roads at {factor:.0%} speed",
    )


def _chemical(draw: _Draw, geo: _Geo) -> Scenario:
    rng, sid, prob, severity, level = draw.rng, draw.sid, draw.prob, draw.severity, draw.level
    towns, town_km = geo.towns, geo.town_km
    k = rng.randrange(len(towns))
    angle, off = rng.uniform(0, 2 * math.pi), rng.uniform(1.0, 3.0)
    site = Point(town_km[k].x + off * math.cos(angle), town_km[k].y + off * math.sin(angle))
    radius = (3.0, 5.0, 8.0)[level]
    s = (0.5, 0.7, 0.9)[level]
    dist = [site.distance(p) for p in town_km]
    affected = _displacement(
        rng, towns, dist, lambda d: s * (1 - d / radius) if d < radius else None
    )
    cordon = _geojson_area(site.buffer(radius / 2, quad_segs=4))
    events = [{"kind": "traffic_control", "area": cordon, "cause": "chemical cordon"}]
    return Scenario(
        id=sid,
        hazard="chemical",
        probability=prob,
        severity=severity,
        affected=affected,
        road_events=events if cordon else [],
        description=f"{severity} chemical accident near {towns[k].name}; evacuation radius "
        f"{radius} km",
    )

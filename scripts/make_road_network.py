"""Generate the 宿州市 seed road network: seed_data/roads/{nodes,edges}.csv, rivers.geojson, README.md.

Deterministic: the same regions.csv and --seed give byte-identical files.

What is sourced and what is assumed (details in the README this script writes):

* Sourced (seed/FACTS_AND_SOURCES.md §2): which expressways and trunk roads exist and the towns
  some of them pass — G3 京台 (埇桥), G30 连霍 (砀山/萧县; "verify"), S07 徐明 (灵璧, 泗县),
  泗许高速 (泗县), 徐淮阜高速 (萧县 圣泉–马井–杜楼–王寨–孙圩子), G343 宿灵泗快速通道 (110 km,
  6 lanes, 80 km/h), 宿萧砀快速通道, G206 and S101/S302/S303/S305 through 埇桥 (older numbering);
  rivers 新汴河, 濉河 (灰古, 时村, 尹集, 泗县), 浍河 (south 埇桥).
* Assumed: every alignment (polylines through approximate township points), interchange
  positions, speeds, lanes, bridge weight limits, and the whole county/township/village layer,
  which is synthetic: county roads join the townships of each county (minimum spanning tree plus
  a second neighbour), and village roads are a thinned Delaunay mesh of seeded village points
  around each township seat (more points for more people).

Run from the repository root::

    python scripts/make_road_network.py            # writes seed_data/roads/
    python scripts/make_road_network.py --check    # regenerate in memory, compare with the files
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
import shapely.geometry
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.loaders import haversine_m

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 20260101
MAX_TOTAL_BYTES = 15_000_000
COORD_DECIMALS = 6

# Free speeds (km/h) by class: the design speeds of JTG B01-2014 公路工程技术标准 for the class
# such roads mostly are (expressway 120; national roads class 1-2, 80; provincial class 2, 60;
# county roads class 3, 40; township roads class 4, 30; village roads class 4, 20), bounded by
# 道路交通安全法实施条例 §45 (40 km/h on highways without a centre line). S for the standard, A
# for which class a road is. A vehicle drives the lower of this and its profile's speed.
# Winding: edge length over the straight line between its nodes. Roads of the 淮北 plain follow
# field strips, canals and village streets with right-angle turns; A, calibrated so that the
# network's route length over the straight line (detour) is ~1.3-1.4 for depot-township trips,
# the range reported for rural road networks (Ballou, Rahardja & Sakai 2002, Transp. Res. A 36).
SPEED_KMH = {
    "expressway": 120,
    "national": 80,
    "provincial": 60,
    "county": 40,
    "township": 30,
    "village": 20,
}
WINDING = {
    "expressway": 1.02,
    "national": 1.05,
    "provincial": 1.10,
    "county": 1.20,
    "township": 1.25,
    "village": 1.30,
}
LANES = {"expressway": 4, "national": 4, "provincial": 2, "county": 2, "township": 2, "village": 1}
# Spacing (m) of nodes along densified corridors.
STEP_M = {"expressway": 2500.0, "national": 1500.0, "provincial": 1500.0, "county": 1500.0}
# Expressway carriageways run beside, not through, the towns they serve (A): ~1.2 km east.
EXPRESSWAY_OFFSET_LNG = 0.013
RAMP_SPEED_KMH = 40
RAMP_MIN_M = 400.0
# Real expressway alignment: OpenStreetMap motorway bridges (ODbL, see seed_data/README.md).
OSM_BRIDGES_FILE = "osm_motorway_bridges.geojson"
BOUNDARIES = REPO / "seed_data" / "boundaries.geojson"
BRIDGE_SITE_M = 600.0  # bridges of the two carriageways closer than this are one crossing
CITY_MARGIN_M = 4000.0  # bridge sites this far outside the city outline end the line at the border
# Interchanges on OSM-drawn expressways (A): at every county seat within INTERCHANGE_REACH_M of
# the line, then at the most populous townships within reach, at least INTERCHANGE_SPACING_M
# apart along the line (rural interchanges in Anhui are ~10-25 km apart).
INTERCHANGE_REACH_M = 7000.0
INTERCHANGE_SPACING_M = 12000.0
# Village roads: points per township = population / PEOPLE_PER_POINT within these bounds.
PEOPLE_PER_POINT = 300
POINTS_MIN, POINTS_MAX = 60, 180
SPREAD_M = {"street": 900.0, "town": 2300.0}  # gaussian sigma around the seat: 街道 vs 镇/乡
MESH_MAX_EDGE_M = 2600.0
MESH_KEEP_SHARE = 0.55
# Bridge limits on minor roads (A): village bridges 20 t (one in five 10 t), township 30 t.
VILLAGE_BRIDGE_T = (20.0, 10.0)
TOWNSHIP_BRIDGE_T = 30.0
# Rivers are crossed only at bridges (A): every county-or-larger road that crosses a river has
# a bridge; township and village roads keep a bridge at most every MINOR_BRIDGE_SPACING_M along
# each river (the rest of the field tracks end at the bank), plus any crossing whose removal
# would cut part of the network off.
MINOR_BRIDGE_SPACING_M = 3000.0


@dataclass(frozen=True)
class Corridor:
    """A named road drawn through waypoints: "county/township" names or (lat, lng) pairs."""

    name: str
    ref: str
    road_class: str
    waypoints: tuple[str | tuple[float, float], ...]
    source: str
    speed_kmh: float | None = None
    lanes: int | None = None
    toll: bool = False
    # Expressways drawn through real OpenStreetMap bridges: the refs (and, for ways without a
    # ref, the name) of the osm_motorway_bridges.geojson features that anchor the alignment.
    osm_refs: tuple[str, ...] = ()
    osm_name: str = ""


# Waypoint names are "<county>/<township>" or "<county>" (the county seat). Bare tuples are
# assumed border points where a road leaves the city.
CORRIDORS: tuple[Corridor, ...] = (
    Corridor(
        "京台高速",
        "G3",
        "expressway",
        (),
        "S: passes 埇桥 (FACTS §2); alignment through its OSM bridges (ref G3)",
        toll=True,
        osm_refs=("G3",),
        osm_name="京台高速",
    ),
    Corridor(
        "连霍高速",
        "G30",
        "expressway",
        (),
        "S: FACTS §2 (via 萧县); alignment through its OSM bridges (ref G30), which run through "
        "south 萧县, not 砀山 as the first release assumed",
        toll=True,
        osm_refs=("G30",),
        osm_name="连霍高速",
    ),
    Corridor(
        "徐明高速",
        "S07",
        "expressway",
        (),
        "S: N-S via 灵璧, 泗县, 139 km in Anhui (FACTS §2); alignment through its OSM bridges",
        toll=True,
        osm_refs=("S07",),
        osm_name="徐明高速",
    ),
    Corridor(
        "泗许高速",
        "G1516",
        "expressway",
        (),
        "S: 泗洪-许昌, links S07/G3 (FACTS §2); it is the 泗许 section of G1516 盐洛高速, whose "
        "OSM bridges (ref G1516) give the alignment",
        toll=True,
        osm_refs=("G1516",),
        osm_name="盐洛高速",
    ),
    Corridor(
        "德上高速",
        "G0321",
        "expressway",
        (),
        "S: OSM bridges ref G0321 (德上高速) through 砀山; alignment through them",
        toll=True,
        osm_refs=("G0321",),
        osm_name="德上高速",
    ),
    Corridor(
        "徐淮阜高速",
        "",
        "expressway",
        (
            (34.42, 117.05),
            "萧县/杜楼镇",
            "萧县/王寨镇",
            "萧县/孙圩子镇",
            "萧县/圣泉镇",
            "萧县/马井镇",
        ),
        "S: 宿州段 through 圣泉-马井-杜楼-王寨-孙圩子, 39.8 km, opening 2025 (FACTS §2); "
        "assumed open; order of towns and alignment A",
        toll=True,
    ),
    Corridor(
        "宿灵泗快速通道",
        "G343",
        "national",
        (
            "埇桥区",
            "埇桥区/蕲县镇",
            "灵璧县/渔沟镇",
            "灵璧县/虞姬镇",
            "灵璧县",
            "灵璧县/大路镇",
            "泗县/山头镇",
            "泗县",
        ),
        "S: G343, 110 km, class 1, 6 lanes, 80 km/h (FACTS §2); alignment A",
        80,
        6,
    ),
    Corridor(
        "宿萧砀快速通道",
        "",
        "national",
        (
            "埇桥区",
            "埇桥区/时村镇",
            "萧县/永堌镇",
            "萧县",
            "萧县/庄里镇",
            "萧县/酒店镇",
            "砀山县/朱楼镇",
            "砀山县",
        ),
        "S: ~65 km 快速通道 (FACTS §2); route number not found; alignment A",
        80,
        4,
    ),
    Corridor(
        "国道206",
        "G206",
        "national",
        (
            (33.95, 116.99),
            "埇桥区/大店镇",
            "埇桥区/桃园镇",
            "埇桥区",
            "埇桥区/栏杆镇",
            "埇桥区/夹沟镇",
            (33.32, 116.74),
        ),
        "S: G206 through 埇桥 (33map, older numbering); alignment A",
    ),
    Corridor(
        "省道101",
        "S101",
        "provincial",
        ("埇桥区/永镇镇", "埇桥区/朱仙庄镇", "埇桥区/解集镇", "埇桥区/蒿沟镇", "埇桥区/曹村镇"),
        "S: S101 through 埇桥 (33map, older numbering); alignment A",
    ),
    Corridor(
        "省道302",
        "S302",
        "provincial",
        ("埇桥区", "埇桥区/杨庄镇", "埇桥区/灰古镇"),
        "S: S302 through 埇桥 (33map, older numbering); alignment A",
    ),
    Corridor(
        "省道303",
        "S303",
        "provincial",
        ("埇桥区", "埇桥区/顺河镇", "埇桥区/褚兰镇", "埇桥区/永安镇"),
        "S: S303 through 埇桥 (33map, older numbering); alignment A",
    ),
    Corridor(
        "省道305",
        "S305",
        "provincial",
        (
            "埇桥区",
            "埇桥区/支河镇",
            "埇桥区/北杨寨乡",
            "灵璧县/娄庄镇",
            "灵璧县/游集镇",
            "灵璧县/黄湾镇",
        ),
        "S: S305 through 埇桥 (33map, older numbering); alignment A",
    ),
)

# Rivers (for bridges and flood areas). Names and the towns they pass are sourced (FACTS §2);
# the lines are assumed (drawn in the first release through the towns named in each source) and
# fixed here as coordinates, so that moving township points does not move a river.
RIVERS: tuple[tuple[str, tuple[tuple[float, float], ...], str], ...] = (
    (
        "新汴河",
        (
            (33.69, 116.5),
            (33.615, 116.99),
            (33.6, 117.3),
            (33.57, 117.6),
            (33.564507, 117.759142),
            (33.52, 118.05),
            (33.48, 118.25),
        ),
        "S: affects 埇桥, 灵璧, 泗县; 宿县闸 warning level 27.30 m; line A",
    ),
    (
        "濉河",
        (
            (33.5, 116.5),
            (33.5246, 116.704936),
            (33.790958, 116.941162),
            (33.7, 117.2),
            (33.424228, 117.564146),
            (33.45, 117.8),
            (33.46, 117.9),
            (33.4, 118.15),
        ),
        "S: via 灰古闸, 时村, 灵璧 尹集, 泗县 八里桥闸 to 泗洪; line A",
    ),
    (
        "浍河",
        (
            (33.48, 116.4),
            (33.4, 116.8),
            (33.38, 117.05),
            (33.3, 117.25),
        ),
        "S: 211 km through south 埇桥 to 固镇; line A",
    ),
)


@dataclass
class Region:
    adcode: str
    name: str
    level: str
    parent: str
    population: int
    lat: float
    lng: float


@dataclass
class Network:
    """Nodes and edges as they are built."""

    lat: list[float] = field(default_factory=list)
    lng: list[float] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    adcode: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)
    pairs: set[tuple[int, int]] = field(default_factory=set)

    def add_node(self, lat: float, lng: float, kind: str, adcode: str = "", name: str = "") -> int:
        self.lat.append(round(lat, COORD_DECIMALS))
        self.lng.append(round(lng, COORD_DECIMALS))
        self.kind.append(kind)
        self.adcode.append(adcode)
        self.name.append(name)
        return len(self.lat) - 1

    def add_edge(
        self,
        u: int,
        v: int,
        road_class: str,
        *,
        name: str = "",
        ref: str = "",
        speed_kmh: float | None = None,
        lanes: int | None = None,
        toll: bool = False,
        toll_plaza: bool = False,
        min_length_m: float = 1.0,
    ) -> None:
        if u == v or (min(u, v), max(u, v)) in self.pairs:
            return
        self.pairs.add((min(u, v), max(u, v)))
        straight = float(haversine_m(self.lat[u], self.lng[u], self.lat[v], self.lng[v]))
        self.edges.append(
            {
                "u": u,
                "v": v,
                "length_m": round(max(straight * WINDING[road_class], min_length_m), 1),
                "road_class": road_class,
                "speed_kmh": speed_kmh or SPEED_KMH[road_class],
                "toll": int(toll),
                "toll_plaza": int(toll_plaza),
                "bridge": 0,
                "lanes": lanes or LANES[road_class],
                "max_weight_t": "",
                "name": name,
                "ref": ref,
            }
        )


def read_regions(path: Path) -> list[Region]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    regions = [
        Region(
            r["adcode"],
            r["name"],
            r["level"],
            r["parent_adcode"],
            int(float(r["population"] or 0)),
            float(r["lat"]),
            float(r["lng"]),
        )
        for r in rows
        if r["level"] in ("city", "county", "township") and r["lat"] and r["lng"]
    ]
    return sorted(regions, key=lambda r: r.adcode)


def city_outline(path: Path = BOUNDARIES) -> shapely.Geometry:
    """The 宿州市 polygon of seed_data/boundaries.geojson."""
    data = json.loads(path.read_text(encoding="utf-8"))
    city = next(f for f in data["features"] if f["properties"]["level"] == "city")
    return shapely.geometry.shape(city["geometry"])


def bridge_sites(
    features: list[dict], corridor: Corridor, city: shapely.Geometry
) -> list[tuple[float, float]]:
    """(lat, lng) of the corridor's OSM bridges in and just around the city, in road order.

    Both carriageways' bridges of one crossing merge into one site (closer than BRIDGE_SITE_M);
    sites are ordered along the line's principal axis (these expressways run straight enough
    across 宿州 for that to be their order)."""
    points = []
    for feature in features:
        refs = set(filter(None, (feature["properties"].get("ref") or "").split(";")))
        name = feature["properties"].get("name", "")
        if refs & set(corridor.osm_refs) or (not refs and name == corridor.osm_name):
            centre = shapely.geometry.shape(feature["geometry"]).centroid
            points.append((centre.y, centre.x))
    lat0 = 33.9
    xy = np.array([[lng * 111_195.0 * math.cos(math.radians(lat0)), lat * 111_195.0] for lat, lng in points])
    near = city.buffer(CITY_MARGIN_M / 111_195.0)
    keep = shapely.contains_xy(near, [p[1] for p in points], [p[0] for p in points])
    xy, points = xy[keep], [p for p, k in zip(points, keep.tolist(), strict=True) if k]
    if len(points) < 2:
        raise SystemExit(f"{corridor.name}: fewer than two OSM bridge sites near the city")
    order = np.argsort(xy[:, 0] if np.ptp(xy[:, 0]) > np.ptp(xy[:, 1]) else xy[:, 1], kind="stable")
    sites: list[list[int]] = []
    for index in order.tolist():
        if sites and np.hypot(*(xy[index] - xy[sites[-1]].mean(axis=0))) < BRIDGE_SITE_M:
            sites[-1].append(index)
        else:
            sites.append([index])
    return [
        (float(np.mean([points[i][0] for i in group])), float(np.mean([points[i][1] for i in group])))
        for group in sites
    ]


def densify(points: Sequence[tuple[float, float]], step_m: float) -> list[tuple[float, float]]:
    """Insert evenly spaced points so no piece of the polyline is longer than ``step_m``."""
    out = [points[0]]
    for (lat1, lng1), (lat2, lng2) in zip(points[:-1], points[1:], strict=True):
        pieces = max(1, math.ceil(float(haversine_m(lat1, lng1, lat2, lng2)) / step_m))
        out.extend(
            (lat1 + (lat2 - lat1) * k / pieces, lng1 + (lng2 - lng1) * k / pieces)
            for k in range(1, pieces + 1)
        )
    return out


class Builder:
    """Builds the network layer by layer."""

    def __init__(self, regions: list[Region], seed: int, osm_bridges: list[dict]) -> None:
        self.rng = np.random.default_rng(seed)
        self.osm_bridges = osm_bridges
        self.city = city_outline()
        self.regions = regions
        self.net = Network()
        self.counties = {r.adcode: r for r in regions if r.level == "county"}
        self.townships = [r for r in regions if r.level == "township"]
        self.by_name: dict[str, int] = {}
        self.seat_node: dict[str, int] = {}
        city = next(r for r in regions if r.level == "city")
        self.seat_node[city.adcode] = self.net.add_node(
            city.lat, city.lng, "city_centre", city.adcode, city.name
        )
        for county in self.counties.values():
            node = self.net.add_node(
                county.lat, county.lng, "county_seat", county.adcode, county.name
            )
            self.seat_node[county.adcode] = node
            self.by_name[county.name] = node
        for town in self.townships:
            node = self.net.add_node(town.lat, town.lng, "township_seat", town.adcode, town.name)
            self.seat_node[town.adcode] = node
            self.by_name[f"{self.counties[town.parent].name}/{town.name}"] = node
        self.expressway_nodes: dict[str, list[int]] = {}
        self.interchange_towns: dict[str, list[int]] = {}

    def waypoint(self, point: str | tuple[float, float]) -> tuple[float, float] | int:
        if isinstance(point, tuple):
            return point
        if point not in self.by_name:
            raise SystemExit(f"waypoint {point!r} is not in regions.csv")
        return self.by_name[point]

    def corridors(self) -> None:
        """Expressways (beside towns, joined by ramps) and at-grade trunk roads (through towns)."""
        for corridor in CORRIDORS:
            points: list[tuple[float, float] | int] = [self.waypoint(p) for p in corridor.waypoints]
            if corridor.osm_refs:
                points = list(bridge_sites(self.osm_bridges, corridor, self.city))
            if corridor.road_class == "expressway":
                self.expressway(corridor, points)
            else:
                self.trunk_road(corridor, points)

    def trunk_road(self, corridor: Corridor, points: list[tuple[float, float] | int]) -> None:
        previous: int | None = None
        for point in points:
            node = point if isinstance(point, int) else self.net.add_node(*point, "border")
            if previous is not None:
                self.chain(
                    previous,
                    node,
                    corridor.road_class,
                    STEP_M[corridor.road_class],
                    "road",
                    name=corridor.name,
                    ref=corridor.ref,
                    speed_kmh=corridor.speed_kmh,
                    lanes=corridor.lanes,
                )
            previous = node

    def expressway(self, corridor: Corridor, points: list[tuple[float, float] | int]) -> None:
        coords, towns = [], []
        for point in points:
            if isinstance(point, int):
                coords.append((self.net.lat[point], self.net.lng[point] + EXPRESSWAY_OFFSET_LNG))
                towns.append(point)
            else:
                coords.append(point)
                towns.append(-1)
        nodes: list[int] = []
        for i, (lat, lng) in enumerate(densify(coords, STEP_M["expressway"])):
            nodes.append(self.net.add_node(lat, lng, "expressway", name=corridor.name))
            if i:
                self.net.add_edge(
                    nodes[-2],
                    nodes[-1],
                    "expressway",
                    name=corridor.name,
                    ref=corridor.ref,
                    toll=corridor.toll,
                )
        self.expressway_nodes[corridor.name] = nodes
        self.interchange_towns[corridor.name] = (
            self.served_towns(nodes) if corridor.osm_refs else [t for t in towns if t >= 0]
        )

    def served_towns(self, line: list[int]) -> list[int]:
        """Seats that get an interchange on an OSM-drawn expressway (see INTERCHANGE_*)."""
        tree = cKDTree(self.projected(line))
        seats = [r for r in self.regions if r.level in ("county", "township")]
        distance, position = tree.query(self.projected([self.seat_node[r.adcode] for r in seats]))
        along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(self.projected(line), axis=0).T))])
        candidates = sorted(
            (
                (r.level != "county", -r.population, r.adcode, float(along[p]))
                for r, d, p in zip(seats, distance.tolist(), position.tolist(), strict=True)
                if d <= INTERCHANGE_REACH_M
            )
        )
        chosen: list[tuple[str, float]] = []
        for _, _, adcode, at in candidates:
            if all(abs(at - other) >= INTERCHANGE_SPACING_M for _, other in chosen):
                chosen.append((adcode, at))
        return [self.seat_node[adcode] for adcode, _ in sorted(chosen, key=lambda c: c[1])]

    def chain(
        self, u: int, v: int, road_class: str, step_m: float, kind: str, **attributes
    ) -> None:
        """Join u and v by a densified straight road with intermediate nodes of ``kind``."""
        inner = densify(
            [(self.net.lat[u], self.net.lng[u]), (self.net.lat[v], self.net.lng[v])], step_m
        )[1:-1]
        nodes = [u] + [self.net.add_node(lat, lng, kind) for lat, lng in inner] + [v]
        for a, b in zip(nodes[:-1], nodes[1:], strict=True):
            self.net.add_edge(a, b, road_class, **attributes)

    def county_roads(self) -> None:
        """Per county: a spanning tree over seat + townships plus each town's second-nearest link;
        across counties: the two closest town pairs of every neighbouring county pair."""
        number = 0
        groups: dict[str, list[int]] = {}
        for adcode in self.counties:
            groups[adcode] = [self.seat_node[adcode]] + [
                self.seat_node[t.adcode] for t in self.townships if t.parent == adcode
            ]
        links: list[tuple[int, int]] = []
        for members in groups.values():
            lat = np.array([self.net.lat[m] for m in members])
            lng = np.array([self.net.lng[m] for m in members])
            dist = haversine_m(lat[:, None], lng[:, None], lat[None, :], lng[None, :])
            tree = minimum_spanning_tree(dist).tocoo()
            links += [(members[i], members[j]) for i, j in zip(tree.row, tree.col, strict=True)]
            for i in range(len(members)):
                order = np.argsort(dist[i])
                if len(order) > 2:
                    links.append((members[i], members[int(order[2])]))
        codes = list(groups)
        for x, a in enumerate(codes):
            for b in codes[x + 1 :]:
                pairs = [
                    (
                        float(
                            haversine_m(
                                self.net.lat[p], self.net.lng[p], self.net.lat[q], self.net.lng[q]
                            )
                        ),
                        p,
                        q,
                    )
                    for p in groups[a]
                    for q in groups[b]
                ]
                pairs.sort()
                if pairs[0][0] < 25_000:
                    links += [(p, q) for _, p, q in pairs[:2]]
        linked: set[tuple[int, int]] = set()
        for u, v in links:
            if (min(u, v), max(u, v)) in linked:
                continue
            linked.add((min(u, v), max(u, v)))
            number += 1
            self.chain(u, v, "county", STEP_M["county"], "road", ref=f"X{number:03d}")

    def village_mesh(self) -> None:
        """Seeded village points around each seat, joined by a thinned Delaunay mesh that also
        ties in every at-grade road node (expressway nodes excluded)."""
        for town in self.townships:
            count = int(np.clip(town.population // PEOPLE_PER_POINT, POINTS_MIN, POINTS_MAX))
            sigma = SPREAD_M["street" if town.name.endswith("街道") else "town"]
            offsets = self.rng.normal(0.0, sigma, size=(count, 2)).clip(-3 * sigma, 3 * sigma)
            for north, east in offsets:
                lat = town.lat + north / 111_195.0
                lng = town.lng + east / (111_195.0 * math.cos(math.radians(town.lat)))
                self.net.add_node(lat, lng, "village")
        mesh = [i for i, kind in enumerate(self.net.kind) if kind != "expressway"]
        xy = self.projected(mesh)
        triangles = Delaunay(xy).simplices
        pairs = np.unique(
            np.sort(
                np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [0, 2]]]),
                axis=1,
            ),
            axis=0,
        )
        length = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
        graph = coo_matrix(
            (length + 1e-9, (pairs[:, 0], pairs[:, 1])), shape=(len(mesh), len(mesh))
        )
        tree = minimum_spanning_tree(graph).tocoo()
        in_tree = set(zip(tree.row.tolist(), tree.col.tolist(), strict=True))
        keep = self.rng.random(len(pairs)) < MESH_KEEP_SHARE
        for (a, b), metres, kept in zip(
            pairs.tolist(), length.tolist(), keep.tolist(), strict=True
        ):
            if (a, b) in in_tree or (b, a) in in_tree or (kept and metres <= MESH_MAX_EDGE_M):
                u, v = mesh[a], mesh[b]
                seats = ("township_seat", "county_seat", "city_centre")
                road_class = (
                    "township"
                    if self.net.kind[u] in seats or self.net.kind[v] in seats
                    else "village"
                )
                self.net.add_edge(u, v, road_class)

    def projected(self, nodes: Sequence[int]) -> np.ndarray:
        lat = np.array([self.net.lat[i] for i in nodes])
        lng = np.array([self.net.lng[i] for i in nodes])
        return np.column_stack([lng * 111_195.0 * math.cos(math.radians(33.9)), lat * 111_195.0])

    def interchanges(self) -> None:
        """Ramps (toll plaza) from each expressway to the nearest ordinary node at every town it
        serves, and links where two expressways meet (hubs). Ends at the border stay open."""
        ordinary = [i for i, kind in enumerate(self.net.kind) if kind != "expressway"]
        ordinary_tree = cKDTree(self.projected(ordinary))
        for name, nodes in self.expressway_nodes.items():
            line_tree = cKDTree(self.projected(nodes))
            ramps = {
                int(line_tree.query(self.projected([town]))[1][0])
                for town in self.interchange_towns[name]
            }
            for position in sorted(ramps):
                node = nodes[position]
                _, nearest = ordinary_tree.query(self.projected([node]))
                self.net.add_edge(
                    node,
                    ordinary[int(nearest[0])],
                    "expressway",
                    name=f"{name}互通",
                    speed_kmh=RAMP_SPEED_KMH,
                    lanes=1,
                    toll_plaza=True,
                    min_length_m=RAMP_MIN_M,
                )
        names = list(self.expressway_nodes)
        for x, a in enumerate(names):
            for b in names[x + 1 :]:
                tree_b = cKDTree(self.projected(self.expressway_nodes[b]))
                dist, index = tree_b.query(self.projected(self.expressway_nodes[a]))
                best = int(np.argmin(dist))
                if dist[best] < 3_000:
                    self.net.add_edge(
                        self.expressway_nodes[a][best],
                        self.expressway_nodes[b][int(index[best])],
                        "expressway",
                        name=f"{a}/{b}枢纽",
                        speed_kmh=60,
                        lanes=1,
                        min_length_m=RAMP_MIN_M,
                    )

    def rivers(self) -> list[tuple[str, list[tuple[float, float]], str]]:
        lines = []
        for name, points, source in RIVERS:
            lines.append((name, list(points), source))
        return lines

    def bridges(self, rivers: list[tuple[str, list[tuple[float, float]], str]]) -> None:
        """Cross rivers only at bridges (see MINOR_BRIDGE_SPACING_M); minor-road bridges get
        weight limits."""
        lines = [shapely.LineString([(lng, lat) for lat, lng in c]) for _, c, _ in rivers]
        u = np.array([e["u"] for e in self.net.edges])
        v = np.array([e["v"] for e in self.net.edges])
        lat, lng = np.array(self.net.lat), np.array(self.net.lng)
        segments = shapely.linestrings(
            np.stack([np.column_stack([lng[u], lat[u]]), np.column_stack([lng[v], lat[v]])], axis=1)
        )
        bridge: set[int] = set()
        dropped: list[int] = []
        for river in lines:
            crossing = np.flatnonzero(shapely.intersects(segments, river)).tolist()
            minor = []
            for index in crossing:
                if self.net.edges[index]["road_class"] in ("township", "village"):
                    point = shapely.intersection(segments[index], river)
                    minor.append((river.project(point.centroid) * 111_195.0, index))
                else:
                    bridge.add(index)
            last = -math.inf
            for at, index in sorted(minor):
                if at - last >= MINOR_BRIDGE_SPACING_M:
                    bridge.add(index)
                    last = at
                else:
                    dropped.append(index)
        dropped = sorted(set(dropped) - bridge)
        bridge |= self.keep_connected(set(dropped))
        weak = self.rng.random(len(bridge)) < 0.2
        for index, is_weak in zip(sorted(bridge), weak.tolist(), strict=True):
            edge = self.net.edges[index]
            edge["bridge"] = 1
            if edge["road_class"] == "village":
                edge["max_weight_t"] = VILLAGE_BRIDGE_T[1] if is_weak else VILLAGE_BRIDGE_T[0]
            elif edge["road_class"] == "township":
                edge["max_weight_t"] = TOWNSHIP_BRIDGE_T
        gone = set(dropped) - bridge
        self.net.edges = [e for i, e in enumerate(self.net.edges) if i not in gone]
        self.net.pairs = {(min(e["u"], e["v"]), max(e["u"], e["v"])) for e in self.net.edges}

    def keep_connected(self, dropped: set[int]) -> set[int]:
        """The dropped crossings that must stay so that the network remains one component."""
        parent = list(range(len(self.net.lat)))

        def root(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for index, edge in enumerate(self.net.edges):
            if index not in dropped:
                parent[root(edge["u"])] = root(edge["v"])
        kept = set()
        for index in sorted(dropped):
            a, b = root(self.net.edges[index]["u"]), root(self.net.edges[index]["v"])
            if a != b:
                parent[a] = b
                kept.add(index)
        return kept


def build(
    regions_csv: Path, seed: int
) -> tuple[Network, list[tuple[str, list[tuple[float, float]], str]]]:
    osm = json.loads((REPO / "seed_data" / "roads" / OSM_BRIDGES_FILE).read_text(encoding="utf-8"))
    builder = Builder(read_regions(regions_csv), seed, osm["features"])
    builder.corridors()
    builder.county_roads()
    builder.village_mesh()
    builder.interchanges()
    rivers = builder.rivers()
    builder.bridges(rivers)
    return builder.net, rivers


def render(
    net: Network, rivers: list[tuple[str, list[tuple[float, float]], str]]
) -> dict[str, str]:
    """File name → text of every generated data file."""
    nodes = io.StringIO()
    writer = csv.writer(nodes, lineterminator="\n")
    writer.writerow(["id", "lat", "lng", "kind", "adcode", "name"])
    for i in range(len(net.lat)):
        writer.writerow(
            [i, f"{net.lat[i]:.6f}", f"{net.lng[i]:.6f}", net.kind[i], net.adcode[i], net.name[i]]
        )
    edges = io.StringIO()
    columns = [
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
    ]
    writer = csv.writer(edges, lineterminator="\n")
    writer.writerow(["id", *columns])
    for i, edge in enumerate(net.edges):
        writer.writerow([i, *[edge.get(c, 0) for c in columns]])
    features = [
        {
            "type": "Feature",
            "properties": {"name": name, "source": source},
            "geometry": {
                "type": "LineString",
                "coordinates": [[round(lng, 6), round(lat, 6)] for lat, lng in coords],
            },
        }
        for name, coords, source in rivers
    ]
    river_text = json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1
    )
    return {
        "nodes.csv": nodes.getvalue(),
        "edges.csv": edges.getvalue(),
        "rivers.geojson": river_text + "\n",
    }


def check(files: dict[str, str], regions_csv: Path) -> dict[str, object]:
    """Assert the network is usable: one component, every township reachable within 10 h by
    every lorry profile, files under the size budget. Returns figures for the README."""
    total = sum(len(text.encode("utf-8")) for text in files.values())
    assert total < MAX_TOTAL_BYTES, f"road files are {total} bytes, over {MAX_TOTAL_BYTES}"
    graph = RoadGraph.from_csv(io.StringIO(files["nodes.csv"]), io.StringIO(files["edges.csv"]))
    tables = list(csv.DictReader(io.StringIO(files["nodes.csv"])))
    seats = {row["adcode"]: int(row["id"]) for row in tables if row["adcode"]}
    townships = [r for r in read_regions(regions_csv) if r.level == "township"]
    n = graph.node_count
    edges = list(csv.DictReader(io.StringIO(files["edges.csv"])))
    adjacency = coo_matrix(
        (np.ones(len(edges)), ([int(e["u"]) for e in edges], [int(e["v"]) for e in edges])),
        shape=(n, n),
    )
    components, _ = connected_components(adjacency, directed=False)
    assert components == 1, f"the network has {components} components"
    city = seats[next(r.adcode for r in read_regions(regions_csv) if r.level == "city")]
    figures: dict[str, object] = {"nodes": n, "edges": len(edges), "bytes": total}
    for profile in ("relief_truck", "heavy_truck", "public_truck"):
        hours = graph.travel_time_matrix(
            [city], [seats[t.adcode] for t in townships], profile=profile
        )[0]
        unreachable = [
            t.name for t, h in zip(townships, hours, strict=True) if not math.isfinite(h)
        ]
        assert not unreachable, f"{profile} cannot reach {unreachable}"
        assert hours.max() < 10, f"{profile} needs {hours.max():.1f} h to reach a township"
        figures[f"max_hours_{profile}"] = round(float(hours.max()), 2)
    by_class: dict[str, float] = {}
    for edge in edges:
        by_class[edge["road_class"]] = (
            by_class.get(edge["road_class"], 0.0) + float(edge["length_m"]) / 1000
        )
    figures["km_by_class"] = {
        k: round(v) for k, v in sorted(by_class.items(), key=lambda kv: -kv[1])
    }
    figures.update(coverage_figures(graph, seats, townships))
    figures["bridges"] = sum(e["bridge"] == "1" for e in edges)
    figures["limited_bridges"] = sum(e["max_weight_t"] != "" for e in edges)
    return figures


TODAY_DEPOTS = ("SZ-CITY-OLD", "SZ-341302", "SZ-341321", "SZ-341322", "SZ-341323", "SZ-341324")
COVERAGE_HOURS = (0.5, 1.0, 2.0, 4.0)


def coverage_figures(
    graph: RoadGraph, seats: dict[str, int], townships: list[Region]
) -> dict[str, object]:
    """The calibration's yardsticks: for each township, the fastest approved 18 t lorry from
    today's six operating depots (city + five county depots); the share of townships (and of
    people) within 0.5/1/2/4 h; and the detour (route length over the straight line) of those
    trips, median and quartiles."""
    with open(REPO / "seed_data" / "depots.csv", encoding="utf-8", newline="") as handle:
        depots = {row["code"]: row for row in csv.DictReader(handle)}
    origins = [graph.snap(float(depots[c]["lat"]), float(depots[c]["lng"])).node for c in TODAY_DEPOTS]
    targets = [seats[t.adcode] for t in townships]
    hours = graph.travel_time_matrix(origins, targets, profile="relief_truck")
    best = hours.min(axis=0)
    people = np.array([t.population for t in townships], dtype=float)
    detours = []
    for column, town in enumerate(townships):
        origin = origins[int(np.argmin(hours[:, column]))]
        lat, lng = graph.node_latlng(origin)
        straight = float(haversine_m(lat, lng, town.lat, town.lng))
        if straight > 2000:  # a town next to its depot says nothing about detours
            detours.append(graph.route(origin, targets[column]).length_m / straight)
    figures: dict[str, object] = {
        "detour_median": round(float(np.median(detours)), 2),
        "detour_q1": round(float(np.percentile(detours, 25)), 2),
        "detour_q3": round(float(np.percentile(detours, 75)), 2),
        "hours_median": round(float(np.median(best)), 2),
        "hours_max": round(float(best.max()), 2),
    }
    for h in COVERAGE_HOURS:
        key = f"{h:g}".replace(".", "_")
        figures[f"share_within_{key}h"] = round(float((best <= h).mean()), 3)
        figures[f"people_within_{key}h"] = round(float(people[best <= h].sum() / people.sum()), 3)
    return figures


README = """# 宿州市 seed road network (`seed_data/roads/`)

Generated by `scripts/make_road_network.py` (seed {seed}) from `seed_data/regions.csv`; do not edit
by hand — change the script and regenerate. `python scripts/make_road_network.py --check` verifies
that these files are exactly what the script produces.

**This is a planning-grade network, not a survey.** County and city outlines are real
(`seed_data/boundaries.geojson`), and the five expressways G3, G30, S07, G1516 (泗许) and G0321
run through their real OpenStreetMap bridges (`osm_motorway_bridges.geojson`, ODbL); township
points are placed inside their real county polygons but are approximate, and the trunk,
county, township and village layers are generated. Use it to exercise siting, coverage and
dispatch; do not read a single route off it as fact.

## Files
| file | rows | columns |
|---|---|---|
| `nodes.csv` | {nodes} | `id, lat, lng` (read by `RoadGraph.from_csv`) + `kind` (city_centre, county_seat, township_seat, road, border, expressway, village), `adcode` and `name` for seats |
| `edges.csv` | {edges} | `id, u, v, length_m, road_class, speed_kmh, oneway, toll, toll_plaza, bridge, lanes, max_weight_t, name, ref`; all two-way |
| `rivers.geojson` | {rivers} | river lines used for bridges (and handy for flood areas); lines assumed |
| `osm_motorway_bridges.geojson` | 334 | input: OpenStreetMap motorway bridges in and around 宿州 (overpass export of 2024-03-22; © OpenStreetMap contributors, ODbL 1.0) |

Total size {megabytes:.1f} MB. Length of road by class (km): {km_by_class}.
{bridges} edges are bridges; {limited_bridges} of them (village/township roads) carry a weight limit.
Fastest time from the city centre to the farthest township seat: relief_truck {max_hours_relief_truck} h,
heavy_truck {max_hours_heavy_truck} h, public_truck {max_hours_public_truck} h (green-channel policy v1).

From today's six operating depots (city + five county depots) an approved 18 t relief lorry
reaches the median township seat in {hours_median} h and the farthest in {hours_max} h; townships
(people) within 0.5 h: {share_within_0_5h:.0%} ({people_within_0_5h:.0%}), 1 h: {share_within_1h:.0%}
({people_within_1h:.0%}), 2 h: {share_within_2h:.0%} ({people_within_2h:.0%}), 4 h:
{share_within_4h:.0%} ({people_within_4h:.0%}). Detour of those trips (route length over the
straight line, towns more than 2 km from their depot): median {detour_median} (quartiles
{detour_q1}-{detour_q3}).

Seat nodes: the node with `adcode` = a region's adcode sits exactly at that region's
`lat, lng` in `regions.csv` (city centre, 5 county seats, every township). Depots snap to the
nearest ordinary-road node (`RoadGraph.snap`).

## Sourced (seed/FACTS_AND_SOURCES.md §2)
{sourced}

## Assumed (A)
- Expressways G3, G30, S07, G1516, G0321: straight pieces between their OSM bridge sites in road
  order (the two carriageways' bridges closer than 600 m are one site; sites up to 4 km outside
  the city end the line at the border). 徐淮阜高速 (opened 2025, not in the 2024 export) and the
  trunk roads: straight pieces between the waypoints listed in the script (`CORRIDORS`), through
  township points that are themselves approximate (`location_quality = approximate`). Modelled
  lengths therefore differ from the sourced ones (e.g. 徐淮阜高速 39.8 km sourced).
- Expressways: 120 km/h free speed, 4 lanes, tolled. Interchanges (a ramp of 40 km/h, >= 400 m,
  `toll_plaza = 1`, to the nearest ordinary node): on OSM-drawn lines at every county seat within
  7 km of the line, then at the most populous townships within 7 km, at least 12 km apart along
  the line; on 徐淮阜高速 one per town it is drawn through. Hubs where two expressways come
  within 3 km. A public lorry therefore queues twice per expressway trip (entry and exit).
- Free speeds (km/h), the JTG B01-2014 design speed of the class such roads mostly are: national
  80 (class 1-2), provincial 60 (class 2), county 40 (class 3), township 30 and village 20
  (class 4), bounded by 道路交通安全法实施条例 §45 (40 km/h without a centre line); 宿灵泗 and
  宿萧砀 快速通道 80 (G343's 80 km/h is sourced). A vehicle drives the lower of this and its
  profile's speed in the green-channel policy (an 18 t relief lorry: expressway 80, national 60).
  The first release used 70/60/40/30 for provincial/county/township/village roads, which let
  every township be reached within 0.9 h.
- Lengths: straight-line distance × winding factor (expressway 1.02, national 1.05, provincial
  1.10, county 1.20, township 1.25, village 1.30): roads of the 淮北 plain follow field strips
  and canals with right-angle turns.
- County roads (`ref` X###): per county a minimum spanning tree over seat and townships plus each
  township's second-nearest neighbour; between counties the two closest township pairs (< 25 km).
- Township/village roads: {people} residents per village point ({pmin}–{pmax} per township), gaussian
  around the seat (sigma {street} m for 街道, {town} m for 镇/乡); Delaunay mesh over these points and all
  at-grade road nodes, keeping a spanning tree plus {keep:.0%} of the other links up to {maxedge} m.
  Links touching a seat are `township`, the rest `village`.
- Rivers are crossed only at bridges: every county-or-larger road crossing a river has one;
  township and village roads keep a bridge at most every 3 km along each river (plus any
  crossing without which part of the network would be cut off) and the other field tracks end
  at the bank. Village bridges 20 t (one in five 10 t), township bridges 30 t, larger roads
  unlimited — so the 30 t heavy_truck detours around village bridges.
"""


def write_readme(folder: Path, figures: dict[str, object], seed: int) -> None:
    sourced = "\n".join(
        f"- {c.ref or '—'} {c.name} ({c.road_class}): {c.source}" for c in CORRIDORS
    )
    sourced += "\n" + "\n".join(f"- river {name}: {source}" for name, _, source in RIVERS)
    km = ", ".join(f"{name} {length:,}" for name, length in figures["km_by_class"].items())
    text = README.format(
        **{**figures, "km_by_class": km},
        seed=seed,
        sourced=sourced,
        rivers=len(RIVERS),
        megabytes=int(figures["bytes"]) / 1e6,
        people=PEOPLE_PER_POINT,
        pmin=POINTS_MIN,
        pmax=POINTS_MAX,
        street=int(SPREAD_M["street"]),
        town=int(SPREAD_M["town"]),
        keep=MESH_KEEP_SHARE,
        maxedge=int(MESH_MAX_EDGE_M),
    )
    (folder / "README.md").write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--regions", type=Path, default=REPO / "seed_data" / "regions.csv")
    parser.add_argument("--out", type=Path, default=REPO / "seed_data" / "roads")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--check", action="store_true", help="compare with the files in --out, write nothing"
    )
    args = parser.parse_args(argv)
    files = render(*build(args.regions, args.seed))
    if args.check:
        stale = [
            name
            for name, text in files.items()
            if not (args.out / name).is_file()
            or (args.out / name).read_text(encoding="utf-8") != text
        ]
        print("stale: " + ", ".join(stale) if stale else "up to date")
        return 1 if stale else 0
    figures = check(files, args.regions)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    write_readme(args.out, figures, args.seed)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.loaders import haversine_m

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 20260101
MAX_TOTAL_BYTES = 15_000_000
COORD_DECIMALS = 6

# Free speeds (km/h) and length factors over the straight line between nodes (winding), A.
SPEED_KMH = {
    "expressway": 120,
    "national": 80,
    "provincial": 70,
    "county": 60,
    "township": 40,
    "village": 30,
}
WINDING = {
    "expressway": 1.02,
    "national": 1.03,
    "provincial": 1.05,
    "county": 1.06,
    "township": 1.10,
    "village": 1.15,
}
LANES = {"expressway": 4, "national": 4, "provincial": 2, "county": 2, "township": 2, "village": 1}
# Spacing (m) of nodes along densified corridors.
STEP_M = {"expressway": 2500.0, "national": 1500.0, "provincial": 1500.0, "county": 1500.0}
# Expressway carriageways run beside, not through, the towns they serve (A): ~1.2 km east.
EXPRESSWAY_OFFSET_LNG = 0.013
RAMP_SPEED_KMH = 40
RAMP_MIN_M = 400.0
# Village roads: points per township = population / PEOPLE_PER_POINT within these bounds.
PEOPLE_PER_POINT = 300
POINTS_MIN, POINTS_MAX = 60, 180
SPREAD_M = {"street": 900.0, "town": 2300.0}  # gaussian sigma around the seat: 街道 vs 镇/乡
MESH_MAX_EDGE_M = 2600.0
MESH_KEEP_SHARE = 0.55
# Bridge limits on minor roads (A): village bridges 20 t (one in five 10 t), township 30 t.
VILLAGE_BRIDGE_T = (20.0, 10.0)
TOWNSHIP_BRIDGE_T = 30.0


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


# Waypoint names are "<county>/<township>" or "<county>" (the county seat). Bare tuples are
# assumed border points where a road leaves the city.
CORRIDORS: tuple[Corridor, ...] = (
    Corridor(
        "京台高速",
        "G3",
        "expressway",
        (
            (34.26, 117.12),
            "萧县/孙圩子镇",
            "埇桥区/大店镇",
            "埇桥区/桃园镇",
            (33.64, 116.925),
            "埇桥区/大泽乡镇",
            "埇桥区/大营镇",
            (33.30, 117.18),
        ),
        "S: passes 埇桥 (FACTS §2, general knowledge, verify); alignment A",
        toll=True,
    ),
    Corridor(
        "连霍高速",
        "G30",
        "expressway",
        (
            (34.47, 116.05),
            "砀山县/唐寨镇",
            "砀山县/官庄坝镇",
            "砀山县/关帝庙镇",
            "砀山县/朱楼镇",
            "萧县/杨楼镇",
            "萧县/官桥镇",
            "萧县/刘套镇",
            "萧县/赵庄镇",
            (34.28, 117.16),
        ),
        "S: via 砀山/萧县 (FACTS §2 says verify); alignment A",
        toll=True,
    ),
    Corridor(
        "徐明高速",
        "S07",
        "expressway",
        (
            (33.82, 117.52),
            "灵璧县/禅堂镇",
            "灵璧县/冯庙镇",
            "灵璧县/高楼镇",
            "灵璧县/大路镇",
            "泗县/黑塔镇",
            "泗县/瓦坊镇",
            (33.22, 117.80),
        ),
        "S: N-S via 灵璧, 泗县, 139 km in Anhui (FACTS §2); alignment A",
        toll=True,
    ),
    Corridor(
        "泗许高速",
        "",
        "expressway",
        (
            (33.47, 118.22),
            "泗县/墩集镇",
            "泗县/屏山镇",
            "泗县/虹城街道",
            "泗县/大庄镇",
            "灵璧县/朱集镇",
            "埇桥区/曹村镇",
            "埇桥区/大泽乡镇",
            "埇桥区/苗安镇",
            "埇桥区/灰古镇",
            (33.55, 116.45),
        ),
        "S: 泗洪-许昌, links S07/G3 (FACTS §2); route number not found; alignment A",
        toll=True,
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
# the lines are assumed.
RIVERS: tuple[tuple[str, tuple[str | tuple[float, float], ...], str], ...] = (
    (
        "新汴河",
        (
            (33.69, 116.50),
            (33.615, 116.99),
            (33.60, 117.30),
            (33.57, 117.60),
            "泗县/草庙镇",
            (33.52, 118.05),
            (33.48, 118.25),
        ),
        "S: affects 埇桥, 灵璧, 泗县; 宿县闸 warning level 27.30 m; line A",
    ),
    (
        "濉河",
        (
            (33.50, 116.50),
            "埇桥区/灰古镇",
            "埇桥区/时村镇",
            (33.70, 117.20),
            "灵璧县/尹集镇",
            (33.45, 117.80),
            (33.46, 117.90),
            (33.40, 118.15),
        ),
        "S: via 灰古闸, 时村, 灵璧 尹集, 泗县 八里桥闸 to 泗洪; line A",
    ),
    (
        "浍河",
        ((33.48, 116.40), (33.40, 116.80), (33.38, 117.05), (33.30, 117.25)),
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

    def __init__(self, regions: list[Region], seed: int) -> None:
        self.rng = np.random.default_rng(seed)
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
            points = [self.waypoint(p) for p in corridor.waypoints]
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
        self.interchange_towns[corridor.name] = [t for t in towns if t >= 0]

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
            coords = []
            for point in points:
                resolved = self.waypoint(point)
                coords.append(
                    resolved
                    if isinstance(resolved, tuple)
                    else (self.net.lat[resolved], self.net.lng[resolved])
                )
            lines.append((name, coords, source))
        return lines

    def bridges(self, rivers: list[tuple[str, list[tuple[float, float]], str]]) -> None:
        """Mark edges crossing a river as bridges; minor-road bridges get weight limits."""
        water = shapely.union_all(
            [shapely.LineString([(lng, lat) for lat, lng in c]) for _, c, _ in rivers]
        )
        u = np.array([e["u"] for e in self.net.edges])
        v = np.array([e["v"] for e in self.net.edges])
        lat, lng = np.array(self.net.lat), np.array(self.net.lng)
        lines = shapely.linestrings(
            np.stack([np.column_stack([lng[u], lat[u]]), np.column_stack([lng[v], lat[v]])], axis=1)
        )
        crossing = np.flatnonzero(shapely.intersects(lines, water))
        weak = self.rng.random(len(crossing)) < 0.2
        for index, is_weak in zip(crossing.tolist(), weak.tolist(), strict=True):
            edge = self.net.edges[index]
            edge["bridge"] = 1
            if edge["road_class"] == "village":
                edge["max_weight_t"] = VILLAGE_BRIDGE_T[1] if is_weak else VILLAGE_BRIDGE_T[0]
            elif edge["road_class"] == "township":
                edge["max_weight_t"] = TOWNSHIP_BRIDGE_T


def build(
    regions_csv: Path, seed: int
) -> tuple[Network, list[tuple[str, list[tuple[float, float]], str]]]:
    builder = Builder(read_regions(regions_csv), seed)
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
    figures["bridges"] = sum(e["bridge"] == "1" for e in edges)
    figures["limited_bridges"] = sum(e["max_weight_t"] != "" for e in edges)
    return figures


README = """# 宿州市 seed road network (`seed_data/roads/`)

Generated by `scripts/make_road_network.py` (seed {seed}) from `seed_data/regions.csv`; do not edit
by hand — change the script and regenerate. `python scripts/make_road_network.py --check` verifies
that these files are exactly what the script produces.

**This is a synthetic, planning-grade network, not a survey.** Named corridors exist (sources
below) but every alignment is assumed, drawn through approximate township points; the county,
township and village layers are generated. Use it to exercise siting, coverage and dispatch; do
not read a single route off it as fact.

## Files
| file | rows | columns |
|---|---|---|
| `nodes.csv` | {nodes} | `id, lat, lng` (read by `RoadGraph.from_csv`) + `kind` (city_centre, county_seat, township_seat, road, border, expressway, village), `adcode` and `name` for seats |
| `edges.csv` | {edges} | `id, u, v, length_m, road_class, speed_kmh, oneway, toll, toll_plaza, bridge, lanes, max_weight_t, name, ref`; all two-way |
| `rivers.geojson` | {rivers} | river lines used for bridges (and handy for flood areas); lines assumed |

Total size {megabytes:.1f} MB. Length of road by class (km): {km_by_class}.
{bridges} edges are bridges; {limited_bridges} of them (village/township roads) carry a weight limit.
Fastest time from the city centre to the farthest township seat: relief_truck {max_hours_relief_truck} h,
heavy_truck {max_hours_heavy_truck} h, public_truck {max_hours_public_truck} h (green-channel policy v1).

Seat nodes: the node with `adcode` = a region's adcode sits exactly at that region's
`lat, lng` in `regions.csv` (city centre, 5 county seats, every township). Depots snap to the
nearest ordinary-road node (`RoadGraph.snap`).

## Sourced (seed/FACTS_AND_SOURCES.md §2)
{sourced}

## Assumed (A)
- Alignments: straight pieces between the waypoints listed in the script (`CORRIDORS`), through
  township points that are themselves approximate (`location_quality = approximate`). Border
  points where a road leaves the city are invented. Modelled lengths therefore differ from the
  sourced ones (e.g. 徐淮阜高速 39.8 km sourced).
- Expressways: 120 km/h, 4 lanes, tolled, carriageway ~1.2 km east of the towns they serve; one
  interchange per served town: a ramp (40 km/h, >= 400 m,
  `toll_plaza = 1`) to the nearest ordinary node; hubs where two expressways come within 3 km.
  A public lorry therefore queues twice per expressway trip (entry and exit).
- Speeds (km/h): national 80, provincial 70, county 60, township 40, village 30; 宿灵泗 and
  宿萧砀 快速通道 80 (G343's 80 km/h is sourced).
- Lengths: straight-line distance × winding factor (expressway 1.02 … village 1.15).
- County roads (`ref` X###): per county a minimum spanning tree over seat and townships plus each
  township's second-nearest neighbour; between counties the two closest township pairs (< 25 km).
- Township/village roads: {people} residents per village point ({pmin}–{pmax} per township), gaussian
  around the seat (sigma {street} m for 街道, {town} m for 镇/乡); Delaunay mesh over these points and all
  at-grade road nodes, keeping a spanning tree plus {keep:.0%} of the other links up to {maxedge} m.
  Links touching a seat are `township`, the rest `village`.
- Bridges: every edge crossing a river line. Village bridges 20 t (one in five 10 t), township
  bridges 30 t, larger roads unlimited — so the 30 t heavy_truck detours around village bridges.
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

"""The 宿州 seed geography: township points inside their real county polygons, expressways on
their OpenStreetMap alignment, and travel times that follow the documented calibration."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.loaders import haversine_m

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "seed_data"


@pytest.fixture(scope="module")
def boundaries() -> dict[str, shapely.Geometry]:
    data = json.loads((SEED / "boundaries.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["adcode"]: shape(f["geometry"]) for f in data["features"]}


@pytest.fixture(scope="module")
def regions() -> list[dict[str, str]]:
    with open(SEED / "regions.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def seed_graph() -> RoadGraph:
    return RoadGraph.from_directory(SEED / "roads")


def _area_km2(geometry: shapely.Geometry) -> float:
    kx = 111.320 * math.cos(math.radians(geometry.centroid.y))
    return shapely.transform(geometry, lambda xy: xy * [kx, 110.574]).area


def test_boundaries_cover_the_city_and_its_five_counties(boundaries, regions):
    counties = {r["adcode"] for r in regions if r["level"] == "county"}
    assert counties | {"341300000000"} == set(boundaries)
    # 宿州市 is 9,939 km² (FACTS §1); the polygons give within 1 % of that
    assert _area_km2(boundaries["341300000000"]) == pytest.approx(9939, rel=0.01)
    for adcode in counties:
        assert boundaries["341300000000"].buffer(1e-6).contains(boundaries[adcode])


def test_every_township_point_lies_inside_its_own_county(boundaries, regions):
    townships = [r for r in regions if r["level"] == "township"]
    assert len(townships) == 112
    outside = [
        r["name"]
        for r in townships
        if not boundaries[r["parent_adcode"]].contains(shapely.Point(float(r["lng"]), float(r["lat"])))
    ]
    assert outside == []


def test_county_seats_lie_inside_their_counties(boundaries, regions):
    for r in regions:
        if r["level"] == "county":
            assert boundaries[r["adcode"]].contains(shapely.Point(float(r["lng"]), float(r["lat"])))


@pytest.mark.parametrize("ref", ["G3", "G30", "S07", "G1516", "G0321"])
def test_expressways_pass_through_their_osm_bridges(seed_graph, boundaries, ref):
    """Every OSM bridge of the expressway inside 宿州 is within 650 m of the modelled carriageway
    (bridges of one crossing closer than 600 m merge into one site the line passes through)."""
    osm = json.loads((SEED / "roads" / "osm_motorway_bridges.geojson").read_text(encoding="utf-8"))
    city = boundaries["341300000000"]
    bridges = [
        shape(f["geometry"]).centroid
        for f in osm["features"]
        if ref in (f["properties"].get("ref") or "").split(";")
    ]
    inside = [b for b in bridges if city.contains(b)]
    assert inside, f"no {ref} bridge inside the city"
    nodes = {
        node
        for e in seed_graph.edge_ids
        if (edge := seed_graph.edge(e))["ref"] == ref and edge["road_class"] == "expressway"
        for node in (edge["u"], edge["v"])
    }
    lat, lng = np.array([seed_graph.node_latlng(n) for n in nodes]).T
    for bridge in inside:
        nearest = float(np.min(haversine_m(bridge.y, bridge.x, lat, lng)))
        assert nearest < 650, f"{ref} misses its bridge at {bridge.y:.4f}, {bridge.x:.4f} by {nearest:.0f} m"


def test_travel_times_can_tell_plans_apart(seed_graph, regions):
    """With the calibrated speeds, today's six depots do not reach every township within
    0.5 h or 1 h (the first release reached all within 0.87 h), and no township is beyond 4 h."""
    with open(SEED / "depots.csv", encoding="utf-8", newline="") as handle:
        depots = {row["code"]: row for row in csv.DictReader(handle)}
    today = ["SZ-CITY-OLD", "SZ-341302", "SZ-341321", "SZ-341322", "SZ-341323", "SZ-341324"]
    origins = [(float(depots[c]["lat"]), float(depots[c]["lng"])) for c in today]
    towns = [(float(r["lat"]), float(r["lng"])) for r in regions if r["level"] == "township"]
    best = seed_graph.travel_time_matrix(origins, towns, profile="relief_truck").min(axis=0)
    assert 0.3 < (best <= 0.5).mean() < 0.8
    assert (best <= 1.0).mean() < 1.0
    assert best.max() < 4.0


def test_rivers_are_crossed_only_at_bridges(seed_graph):
    rivers = json.loads((SEED / "roads" / "rivers.geojson").read_text(encoding="utf-8"))
    water = shapely.union_all([shape(f["geometry"]) for f in rivers["features"]])
    crossing_non_bridges = []
    for e in seed_graph.edge_ids:
        edge = seed_graph.edge(e)
        (la, lo), (lb, lb_lng) = seed_graph.node_latlng(edge["u"]), seed_graph.node_latlng(edge["v"])
        if not edge["bridge"] and shapely.LineString([(lo, la), (lb_lng, lb)]).intersects(water):
            crossing_non_bridges.append(e)
    assert crossing_non_bridges == []

"""OSM tags read by OSM conventions, each on a small file the test writes; stored networks keep
the interior points of curved roads, so an area event tests the road and not its chord.

Every way runs west → east along lat 33.60 from node 1 (117.00) to node 2 (117.01), about
927 m, unless it says otherwise.
"""

from __future__ import annotations

import io

import pytest

from reserve_service.routing.errors import NetworkFileError, NoRouteError
from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.loaders import read_csv, read_osm
from reserve_service.routing.service import tables_to_csv

WEST, EAST = (117.00, 33.60), (117.01, 33.60)


def _osm(tmp_path, ways, nodes=None):
    """Write a tiny .osm file: ``ways`` is a list of (node refs, tags)."""
    nodes = nodes or {1: WEST, 2: EAST}
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    for node, (lon, lat) in nodes.items():
        lines.append(f'<node id="{node}" version="1" lat="{lat}" lon="{lon}"/>')
    for index, (refs, tags) in enumerate(ways):
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{100 + index}" version="1">{body}</way>')
    path = tmp_path / "tags.osm"
    path.write_text("\n".join(lines + ["</osm>"]), encoding="utf-8")
    return path


def _edges(graph: RoadGraph) -> dict[tuple[object, object], dict]:
    return {(e["u"], e["v"]): e for e in (graph.edge(i) for i in graph.edge_ids)}


@pytest.mark.parametrize("tags", [
    {"access": "no"},
    {"access": "private"},
    {"motor_vehicle": "no"},
    {"access": "yes", "hgv": "no"},
])
def test_ways_a_lorry_may_not_use_are_not_routed(tmp_path, tags):
    path = _osm(tmp_path, [([1, 2], {"highway": "secondary", **tags}),
                           ([1, 2], {"highway": "tertiary", "name": "open"})])
    graph = RoadGraph.from_osm(path)
    assert [e["name"] for e in _edges(graph).values()] == ["open"]


def test_the_most_specific_access_tag_decides(tmp_path):
    path = _osm(tmp_path, [([1, 2], {"highway": "secondary", "access": "private", "hgv": "designated"})])
    assert len(RoadGraph.from_osm(path).edge_ids) == 1
    only_closed = _osm(tmp_path, [([1, 2], {"highway": "secondary", "access": "no"})])
    with pytest.raises(NetworkFileError):
        read_osm(only_closed)


@pytest.mark.parametrize("tags, toll", [
    ({"toll": "yes"}, True),
    ({"toll:hgv": "yes"}, True),
    ({"toll": "yes", "toll:hgv": "no"}, False),
    ({}, False),
])
def test_toll_for_lorries_follows_toll_hgv(tmp_path, tags, toll):
    graph = RoadGraph.from_osm(_osm(tmp_path, [([1, 2], {"highway": "trunk", **tags})]))
    (edge,) = _edges(graph).values()
    assert edge["toll"] is toll
    public = graph.route(1, 2, profile="public_truck")
    assert (public.toll_yuan > 0) is toll


def test_reversible_ways_are_not_routed(tmp_path):
    path = _osm(tmp_path, [([1, 2], {"highway": "primary", "oneway": "reversible"}),
                           ([1, 2], {"highway": "tertiary", "name": "detour"})])
    assert [e["name"] for e in _edges(RoadGraph.from_osm(path)).values()] == ["detour"]


# A ring 1 → 2 → 3 → 1; a spur from 2 makes 2 a junction.
ROUNDABOUT_NODES = {1: WEST, 2: EAST, 3: (117.005, 33.605), 5: (117.02, 33.60)}
SPUR = ([2, 5], {"highway": "tertiary", "name": "spur"})


@pytest.mark.parametrize("junction", ["roundabout", "circular"])
def test_roundabouts_and_circular_junctions_are_one_way(tmp_path, junction):
    path = _osm(tmp_path, [([1, 2, 3, 1], {"highway": "secondary", "junction": junction}),
                           SPUR], ROUNDABOUT_NODES)
    graph = RoadGraph.from_osm(path)
    ring = {k: e for k, e in _edges(graph).items() if e["name"] != "spur"}
    assert set(ring) == {(1, 2), (2, 1)} and all(e["oneway"] for e in ring.values())
    forward = graph.route(1, 2).eta_hours
    backward = graph.route(2, 1).eta_hours  # the long way round via 3, not against the flow
    assert backward > 1.3 * forward


def test_explicit_oneway_no_on_a_roundabout_is_two_way(tmp_path):
    path = _osm(tmp_path, [([1, 2, 3, 1], {"highway": "secondary", "junction": "roundabout",
                                            "oneway": "no"}), SPUR], ROUNDABOUT_NODES)
    graph = RoadGraph.from_osm(path)
    assert graph.route(2, 1).eta_hours == pytest.approx(graph.route(1, 2).eta_hours)


def test_maxspeed_forward_and_backward_give_each_direction_its_speed(tmp_path):
    path = _osm(tmp_path, [([1, 2], {"highway": "secondary", "maxspeed": "30",
                                     "maxspeed:forward": "40", "maxspeed:backward": "20"})])
    graph = RoadGraph.from_osm(path)
    edges = _edges(graph)
    assert edges[1, 2]["speed_kmh"] == 40.0 and edges[2, 1]["speed_kmh"] == 20.0
    assert edges[1, 2]["oneway"] and edges[2, 1]["oneway"]
    east, west = graph.route(1, 2), graph.route(2, 1)
    assert west.eta_hours == pytest.approx(2 * east.eta_hours)


def test_maxspeed_backward_applies_to_a_reversed_oneway(tmp_path):
    path = _osm(tmp_path, [([1, 2], {"highway": "secondary", "oneway": "-1",
                                     "maxspeed:forward": "80", "maxspeed:backward": "40"})])
    graph = RoadGraph.from_osm(path)
    assert {k: e["speed_kmh"] for k, e in _edges(graph).items()} == {(2, 1): 40.0}
    with pytest.raises(NoRouteError):
        graph.route(1, 2)


def test_one_maxspeed_for_both_directions_stays_one_two_way_edge(tmp_path):
    path = _osm(tmp_path, [([1, 2], {"highway": "secondary", "maxspeed:forward": "50",
                                     "maxspeed:backward": "50"})])
    edges = _edges(RoadGraph.from_osm(path))
    assert list(edges) == [(1, 2)] and not edges[1, 2]["oneway"] and edges[1, 2]["speed_kmh"] == 50


# A road that bends north: 1 → shape points 3, 4 (lat 33.62) → 2. Its chord runs along lat 33.60.
CURVE_NODES = {1: WEST, 2: EAST, 3: (117.002, 33.62), 4: (117.008, 33.62)}
NORTH_OF_CHORD = {"type": "Polygon", "coordinates": [[
    [117.001, 33.615], [117.009, 33.615], [117.009, 33.625], [117.001, 33.625], [117.001, 33.615]]]}
ON_THE_CHORD = {"type": "Polygon", "coordinates": [[
    [117.004, 33.599], [117.006, 33.599], [117.006, 33.601], [117.004, 33.601], [117.004, 33.599]]]}


def _stored_curve(tmp_path) -> RoadGraph:
    """The curved road read from OSM, written as the database stores it, and read back."""
    tables = read_osm(_osm(tmp_path, [([1, 3, 4, 2], {"highway": "secondary"})], CURVE_NODES))
    nodes_csv, edges_csv = tables_to_csv(tables)
    return RoadGraph.from_csv(io.StringIO(nodes_csv), io.StringIO(edges_csv))


def test_a_stored_network_keeps_the_interior_points_of_curved_roads(tmp_path):
    direct = RoadGraph.from_osm(_osm(tmp_path, [([1, 3, 4, 2], {"highway": "secondary"})], CURVE_NODES))
    stored = _stored_curve(tmp_path)
    assert stored.route(1, 2).geometry["coordinates"] == direct.route(1, 2).geometry["coordinates"]
    assert [tuple(c) for c in stored.route(1, 2).geometry["coordinates"]] == [
        WEST, CURVE_NODES[3], CURVE_NODES[4], EAST]


def test_an_area_closure_tests_the_real_road_not_its_chord(tmp_path):
    stored = _stored_curve(tmp_path)
    assert list(stored.edges_in_area(NORTH_OF_CHORD)) == [0]
    assert list(stored.edges_in_area(ON_THE_CHORD)) == []


def test_stored_geometry_that_is_not_lng_lat_is_refused():
    nodes = "id,lat,lng\n1,33.6,117.0\n2,33.6,117.01\n"
    edges = "u,v,length_m,road_class,speed_kmh,geometry\n1,2,900,county,60,117.005 north\n"
    with pytest.raises(NetworkFileError) as error:
        read_csv(io.StringIO(nodes), io.StringIO(edges))
    assert error.value.field == "geometry"

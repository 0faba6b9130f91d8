"""RoadGraph travel times, routes, reachability and snapping against NetworkX Dijkstra.

The oracle computes each edge's hours from the raw edge row and the policy YAML on its own
(free speed capped by the profile's class speed, toll-plaza queue for unapproved vehicles,
bridge weight limits), then runs ``networkx`` Dijkstra on a MultiDiGraph.
"""

from __future__ import annotations

import io
import math

import networkx as nx
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reserve_service.routing.errors import (
    NoRouteError,
    PolicyError,
    SnapDistanceError,
    UnknownNodeError,
    UnknownProfileError,
)
from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.policy import DEFAULT_POLICY_PATH, load_policy
from tests.unit.road_networks import POLICY, networks, oracle_graph, oracle_hours, oracle_matrix

PROFILES = ["relief_truck", "public_truck", "heavy_truck"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(net=networks(), data=st.data())
def test_matrix_equals_networkx_dijkstra(net, data):
    n, rows, graph = net
    sources = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n))
    targets = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n))
    for profile in PROFILES:
        expected = oracle_matrix(oracle_graph(n, rows, profile), sources, targets)
        got = graph.travel_time_matrix(sources, targets, profile=profile)
        assert got.shape == (len(sources), len(targets))
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(net=networks(), data=st.data())
def test_route_is_a_shortest_path_with_a_consistent_breakdown(net, data):
    n, rows, graph = net
    a, b = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    profile = data.draw(st.sampled_from(PROFILES))
    oracle = oracle_graph(n, rows, profile)
    if not nx.has_path(oracle, a, b):
        with pytest.raises(NoRouteError):
            graph.route(a, b, profile=profile)
        return
    route = graph.route(a, b, profile=profile)
    assert route.eta_hours == pytest.approx(
        nx.dijkstra_path_length(oracle, a, b, weight="hours"), rel=1e-12, abs=1e-12
    )
    by_id = {r.id: r for r in rows}
    node = a
    for leg in route.legs:
        row = by_id[leg.edge_id]
        assert leg.from_node == node and {leg.from_node, leg.to_node} == {row.u, row.v}
        assert row.oneway is False or (leg.from_node, leg.to_node) == (row.u, row.v)
        assert leg.hours == pytest.approx(oracle_hours(row, profile), rel=1e-12)
        node = leg.to_node
    assert node == b
    assert route.eta_hours == pytest.approx(
        sum(leg.hours for leg in route.legs), rel=1e-12, abs=1e-12
    )
    assert route.length_m == pytest.approx(sum(by_id[leg.edge_id].length_m for leg in route.legs))
    spec = POLICY["profiles"][profile]
    due = sum(
        by_id[leg.edge_id].length_m / 1000 * spec["toll_yuan_per_km"][leg.road_class]
        for leg in route.legs
        if by_id[leg.edge_id].toll
    )
    if spec["green_channel_approved"]:
        assert route.toll_yuan == 0 and route.toll_saved_yuan == pytest.approx(due)
    else:
        assert route.toll_yuan == pytest.approx(due) and route.toll_saved_yuan == 0
    coords = route.geometry["coordinates"]
    assert route.geometry["type"] == "LineString" and len(coords) == max(2, len(route.legs) + 1)
    assert coords[0] == [graph.node_latlng(a)[1], graph.node_latlng(a)[0]]
    assert coords[-1] == [graph.node_latlng(b)[1], graph.node_latlng(b)[0]]


@SETTINGS
@given(net=networks(), data=st.data())
def test_reachable_within_equals_networkx_cutoff(net, data):
    n, rows, graph = net
    sources = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
    hours = data.draw(st.sampled_from([0.0, 0.05, 0.3, 2.0]))
    oracle = oracle_graph(n, rows, "relief_truck")
    expected = nx.multi_source_dijkstra_path_length(
        oracle, set(sources), cutoff=hours, weight="hours"
    )
    got = graph.reachable_within(sources, hours, profile="relief_truck")
    assert got.keys() == expected.keys()
    for node, h in expected.items():
        assert got[node] == pytest.approx(h, rel=1e-12, abs=1e-12)


@SETTINGS
@given(net=networks(max_nodes=30), data=st.data())
def test_snap_finds_the_nearest_ordinary_road_node(net, data):
    _, rows, graph = net
    lat = data.draw(st.floats(33.45, 34.05))
    lng = data.draw(st.floats(116.95, 117.35))
    ordinary = {end for r in rows if r.road_class != "expressway" for end in (r.u, r.v)}
    candidates = ordinary or set(graph.node_ids)
    best = min(_haversine_m(lat, lng, *graph.node_latlng(node)) for node in candidates)
    if best > 40_000:
        with pytest.raises(SnapDistanceError) as error:
            graph.snap(lat, lng, max_snap_m=40_000)
        assert error.value.field == "point" and error.value.distance_m > 40_000
        return
    snapped = graph.snap(lat, lng, max_snap_m=40_000)
    assert snapped.node in candidates
    assert snapped.distance_m == pytest.approx(best, rel=1e-3, abs=1e-6)


def _haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


# ---------------------------------------------------------------------------------------------
# green-channel rules on a named corridor


@pytest.fixture
def corridor() -> RoadGraph:
    """A (depot) to B (town): a 50 km tolled expressway with a toll plaza on the exit ramp, a
    1 km ramp, and a 60 km county road. The expressway carries a 20 t bridge."""
    nodes = io.StringIO("id,lat,lng\nA,33.60,117.00\nJ,33.60,117.50\nB,33.61,117.51\n")
    edges = io.StringIO(
        "id,u,v,length_m,road_class,speed_kmh,toll,toll_plaza,max_weight_t,ref\n"
        "1,A,J,50000,expressway,120,1,0,20,G3\n"
        "2,J,B,1000,expressway,40,0,1,,G3\n"
        "3,A,B,60000,county,60,0,0,,X201\n"
    )
    return RoadGraph.from_csv(nodes, edges)


def test_approved_vehicle_pays_no_toll_and_skips_the_queue(corridor):
    relief = corridor.route("A", "B", profile="relief_truck")
    public = corridor.route("A", "B", profile="public_truck")
    assert [leg.edge_id for leg in relief.legs] == [1, 2] == [leg.edge_id for leg in public.legs]
    assert relief.eta_hours == pytest.approx(50 / 80 + 1 / 40)
    assert public.eta_hours == pytest.approx(relief.eta_hours + 10 / 60)
    assert relief.toll_yuan == 0 and relief.toll_saved_yuan == pytest.approx(50 * 1.10)
    assert public.toll_yuan == pytest.approx(50 * 1.10) and public.toll_saved_yuan == 0
    assert relief.rules_applied == (
        "green_channel.toll_exempt",
        "green_channel.skips_toll_plaza_queue",
    )
    assert public.rules_applied == ("toll.charged", "toll_plaza.queued")
    assert relief.policy_version == "1.0.0"
    assert "G3" in relief.summary()


def test_bridge_weight_limit_diverts_the_heavy_truck(corridor):
    heavy = corridor.route("A", "B", profile="heavy_truck")
    assert [leg.edge_id for leg in heavy.legs] == [3]
    assert heavy.eta_hours == pytest.approx(60 / 40)
    assert corridor.travel_time_matrix(["A"], ["J"], profile="heavy_truck")[0, 0] == pytest.approx(
        61 / 40
    )


def test_points_are_snapped_and_far_points_rejected(corridor):
    m = corridor.travel_time_matrix([(33.6001, 117.0001)], ["B", (33.6099, 117.5101)])
    assert m[0, 0] == m[0, 1] == pytest.approx(50 / 80 + 1 / 40)
    with pytest.raises(SnapDistanceError):
        corridor.travel_time_matrix([(34.5, 118.5)], ["B"])
    with pytest.raises(UnknownNodeError) as error:
        corridor.travel_time_matrix(["nowhere"], ["B"])
    assert error.value.field == "sources"


def test_more_sources_than_targets_uses_the_transposed_graph_correctly(corridor):
    wide = corridor.travel_time_matrix(["A", "J", "B"], ["B"], profile="public_truck")
    tall = corridor.travel_time_matrix(["B"], ["A", "J", "B"], profile="public_truck")
    assert wide[:, 0] == pytest.approx([50 / 80 + 1 / 40 + 1 / 6, 1 / 40 + 1 / 6, 0.0])
    assert tall[0] == pytest.approx([1 / 40 + 1 / 6 + 50 / 80, 1 / 40 + 1 / 6, 0.0])


def test_max_hours_cuts_the_matrix(corridor):
    m = corridor.travel_time_matrix(["A"], ["J", "B"], max_hours=0.64)
    assert m[0, 0] == pytest.approx(50 / 80) and m[0, 1] == np.inf


def test_networkx_view_carries_edge_attributes(corridor):
    g = corridor.graph
    assert isinstance(g, nx.MultiDiGraph)
    assert g.nodes["A"] == {"lat": 33.60, "lng": 117.00}
    assert g.edges["A", "J", 1]["ref"] == "G3" and g.edges["J", "A", 1]["max_weight_t"] == 20.0
    assert g.number_of_edges() == 6


# ---------------------------------------------------------------------------------------------
# policy document validation


def _policy_with(path: list[str], value: object) -> dict:
    document = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (
            ["profiles", "relief_truck", "speed_kmh", "village"],
            0,
            "profiles.relief_truck.speed_kmh.village",
        ),
        (["profiles", "van", "speed_kmh", "county"], -30, "profiles.van.speed_kmh.county"),
        (["profiles", "van", "speed_kmh", "county"], "fast", "profiles.van.speed_kmh.county"),
        (["profiles", "heavy_truck", "weight_t"], 0, "profiles.heavy_truck.weight_t"),
        (
            ["profiles", "van", "toll_yuan_per_km", "expressway"],
            -1,
            "profiles.van.toll_yuan_per_km.expressway",
        ),
        (
            ["profiles", "van", "toll_plaza_queue_minutes"],
            -5,
            "profiles.van.toll_plaza_queue_minutes",
        ),
        (
            ["profiles", "van", "green_channel_approved"],
            "yes",
            "profiles.van.green_channel_approved",
        ),
        (["green_channel", "passes_closures"], True, "green_channel.passes_closures"),
        (["version"], "", "version"),
    ],
)
def test_invalid_policy_documents_are_rejected(path, value, field):
    with pytest.raises(PolicyError) as error:
        load_policy(_policy_with(path, value))
    assert error.value.field == field


def test_policy_missing_a_road_class_is_rejected():
    document = _policy_with(["profiles", "van", "speed_kmh"], {"expressway": 100})
    with pytest.raises(PolicyError, match="missing road classes"):
        load_policy(document)


def test_a_changed_policy_changes_the_answer(corridor, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        yaml.safe_dump(_policy_with(["profiles", "public_truck", "toll_plaza_queue_minutes"], 30))
    )
    nodes = io.StringIO("id,lat,lng\n1,33.6,117.0\n2,33.6,117.1\n")
    edges = io.StringIO("u,v,length_m,road_class,speed_kmh,toll_plaza\n1,2,8000,expressway,120,1\n")
    graph = RoadGraph.from_csv(nodes, edges, policy=load_policy(path))
    assert graph.route(1, 2, profile="public_truck").eta_hours == pytest.approx(8 / 80 + 0.5)
    with pytest.raises(UnknownProfileError) as error:
        graph.route(1, 2, profile="tractor")
    assert error.value.field == "profile"

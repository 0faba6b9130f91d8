"""Routing over HTTP on a four-node network whose answers are worked out by hand.

    a (DEP-A) ── county 1 km ── t (DEP-T, township 341302001000)
    a ── national 60 km ── m ── national 60 km ── b (DEP-B, county 341321000000)
    a ══ expressway 80 km, toll, toll plaza ══ b

relief_truck: expressway 80 km/h, national 60, county 50 → a→b 1.0 h by expressway, toll-free;
public_truck: same speeds but pays 1.10 yuan/km and queues 10 min → 1 h 10 min, 88 yuan.
"""

from __future__ import annotations

import pytest


def route(client, roads, profile="relief_truck", **extra):
    return client.post("/api/v1/routing/route", headers=roads.headers("viewer"), json={
        "from": {"depot": "DEP-A"}, "to": {"depot": "DEP-B"}, "profile": profile, **extra})


def matrix(client, roads, profile="relief_truck"):
    response = client.post("/api/v1/routing/matrix", headers=roads.headers("viewer"), json={
        "sources": [{"depot": "DEP-A"}, {"depot": "DEP-B"}],
        "targets": [{"region": "341302001000"}, {"node": "b"}, {"lat": 34.04, "lng": 116.67}],
        "profile": profile})
    assert response.status_code == 200, response.json
    return response.json["hours"]


def test_green_channel_is_toll_free_and_skips_the_queue(client, roads):
    relief = route(client, roads).json
    assert relief["eta_hours"] == pytest.approx(1.0)
    assert relief["toll_yuan"] == 0 and relief["toll_saved_yuan"] == pytest.approx(88.0)
    assert [leg["ref"] for leg in relief["legs"]] == ["G3"]
    assert relief["geometry"]["geometry"]["type"] == "LineString"
    public = route(client, roads, "public_truck").json
    assert public["eta_hours"] == pytest.approx(1 + 10 / 60, abs=1e-4)
    assert public["toll_yuan"] == pytest.approx(88.0) and public["toll_saved_yuan"] == 0


def test_matrix_hours_and_unreachable_none(client, roads):
    hours = matrix(client, roads)
    assert hours[0] == pytest.approx([0.02, 1.0, 1.0])
    assert hours[1] == pytest.approx([1.02, 0.0, 1.0])


def test_closure_reroutes_and_removal_restores_exactly(client, roads):
    before = matrix(client, roads)
    added = client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                        json={"kind": "closure", "edge_ids": [3], "cause": "flooded underpass"})
    assert added.status_code == 201, added.json
    assert added.json["edge_ids"] == [3]
    rerouted = route(client, roads).json
    assert rerouted["eta_hours"] == pytest.approx(2.0)
    assert {leg["ref"] for leg in rerouted["legs"]} == {"G343"}
    removed = client.delete(f"/api/v1/routing/events/{added.json['id']}", headers=roads.headers("dispatcher"))
    assert removed.status_code == 200
    assert matrix(client, roads) == before


def test_traffic_control_stops_only_unapproved_vehicles(client, roads):
    client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                json={"kind": "traffic_control", "edge_ids": [3]})
    assert route(client, roads).json["eta_hours"] == pytest.approx(1.0)
    assert route(client, roads, "public_truck").json["eta_hours"] == pytest.approx(2.0)


def test_area_closure_cuts_a_township_off(client, roads):
    around_t = {"type": "Polygon", "coordinates": [[[116.969, 33.649], [116.971, 33.649],
                                                    [116.971, 33.651], [116.969, 33.651], [116.969, 33.649]]]}
    added = client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                        json={"kind": "closure", "area": around_t})
    assert added.status_code == 201 and added.json["edge_ids"] == [0]
    response = client.post("/api/v1/routing/matrix", headers=roads.headers("viewer"), json={
        "sources": [{"depot": "DEP-A"}], "targets": [{"region": "341302001000"}]})
    assert response.json["hours"] == [[None]] and response.json["unreachable"] == [[0, 0]]
    cut_off = client.post("/api/v1/routing/route", headers=roads.headers("viewer"), json={
        "from": {"depot": "DEP-A"}, "to": {"region": "341302001000"}})
    assert cut_off.status_code == 200
    assert cut_off.json["reachable"] is False and cut_off.json["eta_hours"] is None
    reach = client.post("/api/v1/routing/reachability", headers=roads.headers("viewer"),
                        json={"depots": ["DEP-A"], "hours": [1, 10]}).json
    assert reach["unreachable"] == ["341302001000"]
    assert [band["population"] for band in reach["bands"]] == [0, 0]


def test_event_window_applies_only_inside_it(client, roads):
    client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"), json={
        "kind": "closure", "edge_ids": [3], "starts_at": "2026-07-01T00:00:00+00:00",
        "ends_at": "2026-07-02T00:00:00+00:00"})
    inside = route(client, roads, at="2026-07-01T12:00:00+00:00").json
    outside = route(client, roads, at="2026-07-03T12:00:00+00:00").json
    assert inside["eta_hours"] == pytest.approx(2.0) and outside["eta_hours"] == pytest.approx(1.0)


def test_reachability_reports_population_covered(client, roads):
    reach = client.post("/api/v1/routing/reachability", headers=roads.headers("viewer"),
                        json={"depots": ["DEP-A"], "hours": [1, 4]})
    assert reach.status_code == 200
    assert [(b["hours"], b["regions"], b["population"]) for b in reach.json["bands"]] == [
        (1.0, 1, 50_000), (4.0, 1, 50_000)]


@pytest.mark.parametrize("payload, field", [
    ({"kind": "closure", "edge_ids": [99]}, "edge_ids"),
    ({"kind": "closure", "area": {"type": "Polygon", "coordinates": [[[120, 30], [120.1, 30], [120.1, 30.1], [120, 30]]]}}, "area"),
    ({"kind": "closure", "area": {"type": "Point", "coordinates": [117, 33]}}, "area.type"),
    ({"kind": "closure", "edge_ids": [3], "starts_at": "2026-07-02T00:00:00", "ends_at": "2026-07-01T00:00:00"}, "ends_at"),
    ({"kind": "slowdown", "edge_ids": [3], "speed_factor": 1.5}, "speed_factor"),
    ({"kind": "landslide", "edge_ids": [3]}, "kind"),
])
def test_bad_events_are_422_and_change_nothing(client, roads, payload, field):
    before = matrix(client, roads)
    response = client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"), json=payload)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert matrix(client, roads) == before
    assert client.get("/api/v1/routing/events", headers=roads.headers("viewer")).json["events"] == []


def test_only_dispatchers_post_events(client, roads):
    response = client.post("/api/v1/routing/events", headers=roads.headers("viewer"),
                           json={"kind": "closure", "edge_ids": [3]})
    assert response.status_code == 403


@pytest.mark.parametrize("where, field", [
    ({"region": "341399999000"}, "to.region"),
    ({"depot": "NOPE"}, "to.depot"),
    ({"node": "zz"}, "to.node"),
    ({"lat": 40.0, "lng": 116.0}, "to"),
])
def test_bad_locations_name_the_field(client, roads, where, field):
    response = client.post("/api/v1/routing/route", headers=roads.headers("viewer"),
                           json={"from": {"depot": "DEP-A"}, "to": where})
    assert response.status_code == 422 and field in response.json["errors"], response.json


def test_unknown_profile_is_422(client, roads):
    response = route(client, roads, "rocket")
    assert response.status_code == 422 and "profile" in response.json["errors"]


def test_policy_is_served(client, roads):
    body = client.get("/api/v1/routing/policy", headers=roads.headers("viewer")).json
    assert body["version"] and body["document"]["green_channel"]["passes_closures"] is False
    assert client.get("/api/v1/routing/network", headers=roads.headers("viewer")).json["edges"] == 5


def test_no_network_loaded_is_an_explained_404(client, network):
    response = client.get("/api/v1/routing/network", headers=network.headers("viewer"))
    assert response.status_code == 404 and "load-roads" in response.json["detail"]

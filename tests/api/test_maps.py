"""Map layers, GET /me and the console page, through the test client on the small named network."""

from __future__ import annotations

import json

from sqlalchemy import select

from reserve_service.maps import layers


def _geojson(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    body = json.loads(response.get_data(as_text=True))
    assert body["type"] == "FeatureCollection"
    return body


def test_boundaries_are_labelled_approximate_hulls_around_their_townships(client, network):
    body = _geojson(client.get("/api/v1/maps/boundaries", headers=network.headers("viewer")))
    assert body["approximate"] is True
    by_code = {f["properties"]["adcode"]: f for f in body["features"]}
    county_a = by_code["341302000000"]
    assert county_a["properties"]["approximate"] is True
    assert county_a["properties"]["townships"] == 1
    assert county_a["geometry"]["type"] == "Polygon"
    from shapely.geometry import Point, shape

    outline = shape(county_a["geometry"])
    assert outline.contains(Point(116.97, 33.65))  # its township
    assert outline.contains(Point(116.98, 33.64))  # its seat
    assert not outline.contains(Point(116.37, 34.44))  # the other county's seat


def test_townships_carry_population(client, network):
    body = _geojson(client.get("/api/v1/maps/townships", headers=network.headers("viewer")))
    [town] = body["features"]
    assert town["properties"]["adcode"] == "341302001000"
    assert town["properties"]["population"] == 50_000
    assert town["geometry"]["coordinates"] == [116.97, 33.65]


def test_depots_by_tier_operator_and_status(client, network):
    body = _geojson(client.get("/api/v1/maps/depots", headers=network.headers("viewer")))
    props = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    assert set(props) == {"DEP-A", "DEP-B", "DEP-C", "DEP-T"}
    assert props["DEP-C"]["status"] == "candidate"
    assert props["DEP-T"]["tier"] == "township"
    assert props["DEP-A"]["operator"] == "government"


def test_roads_merge_edges_per_road_and_skip_village_roads(client, roads):
    body = _geojson(client.get("/api/v1/maps/roads", headers=roads.headers("viewer")))
    by_ref = {f["properties"]["ref"]: f for f in body["features"]}
    # G343 is two edges a–m–b: one merged line through m.
    g343 = by_ref["G343"]
    assert g343["properties"]["edges"] == 2
    assert g343["geometry"]["type"] == "LineString"
    assert [116.67, 34.04] in g343["geometry"]["coordinates"]
    assert by_ref["G3"]["properties"]["road_class"] == "expressway"
    only = _geojson(client.get("/api/v1/maps/roads?classes=expressway", headers=roads.headers("viewer")))
    assert [f["properties"]["ref"] for f in only["features"]] == ["G3"]


def test_unknown_road_class_is_a_422_naming_the_field(client, roads):
    response = client.get("/api/v1/maps/roads?classes=motorway", headers=roads.headers("viewer"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "classes" in response.get_json()["errors"]


def test_events_layer_draws_a_closure_area_and_the_roads_it_closes(client, roads):
    area = {"type": "Polygon", "coordinates": [[[116.6, 34.0], [116.75, 34.0], [116.75, 34.1],
                                                 [116.6, 34.1], [116.6, 34.0]]]}
    posted = client.post("/api/v1/routing/events", json={"kind": "closure", "area": area, "cause": "flood"},
                         headers=roads.headers("dispatcher"))
    assert posted.status_code == 201, posted.get_json()
    body = _geojson(client.get("/api/v1/maps/events", headers=roads.headers("viewer")))
    shapes = {f["properties"]["shape"]: f for f in body["features"]}
    assert shapes["area"]["geometry"] == area
    assert shapes["area"]["properties"]["kind"] == "closure"
    closed = shapes["edges"]["geometry"]["coordinates"]
    # Both G343 edges end at m, inside the area, and the straight a–b expressway crosses it.
    assert sorted(closed) == sorted([[[116.98, 33.64], [116.67, 34.04]], [[116.67, 34.04], [116.37, 34.44]],
                                     [[116.98, 33.64], [116.37, 34.44]]])
    client.delete(f"/api/v1/routing/events/{posted.get_json()['id']}", headers=roads.headers("dispatcher"))
    assert _geojson(client.get("/api/v1/maps/events", headers=roads.headers("viewer")))["features"] == []


def test_rivers_come_from_the_seed_data(client, network):
    body = _geojson(client.get("/api/v1/maps/rivers", headers=network.headers("viewer")))
    assert any(f["properties"]["name"] == "新汴河" for f in body["features"])


def test_map_layers_need_a_token(client, network):
    assert client.get("/api/v1/maps/depots").status_code == 401


def test_me_tells_role_abilities_and_the_managers_depots(client, network):
    manager = client.get("/api/v1/me", headers=network.headers("manager")).get_json()
    assert manager["role"] == "manager"
    assert manager["abilities"] == ["stock"]
    assert manager["scope_region"] == "341302000000"
    assert manager["depots_in_scope"] == ["DEP-A", "DEP-T"]
    viewer = client.get("/api/v1/me", headers=network.headers("viewer")).get_json()
    assert viewer["abilities"] == [] and viewer["depots_in_scope"] == []
    admin = client.get("/api/v1/me", headers=network.headers("admin")).get_json()
    assert admin["depots_in_scope"] is None and "dispatch" in admin["abilities"]


def test_console_path_serves_the_app_or_explains_how_to_build_it(client):
    response = client.get("/console/dispatch")
    if response.status_code == 200:
        assert b'<div id="app">' in response.data
        assert response.headers["Cache-Control"].startswith("no-cache")
    else:
        assert response.status_code == 404
        assert "make console" in response.get_json()["detail"]
    assert client.get("/console").status_code == 308


def test_hull_of_a_county_with_no_townships_is_its_seat_buffered():
    county = layers.Place("341321000000", "砀山县", "county", None, 0, 34.44, 116.37)
    body = layers.HullBoundaries().boundaries([county], [])
    [feature] = body["features"]
    assert feature["properties"]["townships"] == 0
    assert feature["geometry"]["type"] == "Polygon"


def test_stored_county_outlines_are_served_as_they_are(client, network, app):
    """A county whose region carries its polygon (as the 宿州 seed's do) is drawn with it, not a hull."""
    from reserve_service.inventory.tables import Region

    square = {"type": "Polygon", "coordinates": [[[116.0, 33.0], [117.5, 33.0], [117.5, 34.5], [116.0, 34.5],
                                                  [116.0, 33.0]]]}
    with app.extensions["database"].writer_factory() as session:
        county = session.scalars(select(Region).where(Region.level == "county").order_by(Region.adcode)).first()
        county.boundary = square
        adcode = county.adcode
        session.commit()
    try:
        body = _geojson(client.get("/api/v1/maps/boundaries", headers=network.headers("viewer")))
        feature = next(f for f in body["features"] if f["properties"]["adcode"] == adcode)
        assert feature["geometry"] == square and feature["properties"]["approximate"] is False
    finally:
        with app.extensions["database"].writer_factory() as session:
            session.get(Region, session.scalar(select(Region.id).where(Region.adcode == adcode))).boundary = None
            session.commit()

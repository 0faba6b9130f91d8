"""Road-event areas are GeoJSON as RFC 7946 defines it: anything else is a 422 naming the member,
and nothing is stored. The network is the four-node one of ``test_routing_api``."""

from __future__ import annotations

import pytest

SQUARE = [[116.6, 33.9], [116.8, 33.9], [116.8, 34.1], [116.6, 34.1], [116.6, 33.9]]


@pytest.mark.parametrize("area, field", [
    ({"type": "Polygon", "coordinates": [SQUARE[:-1]]}, "area.coordinates.0"),  # not closed
    ({"type": "Polygon", "coordinates": [[SQUARE[0], SQUARE[1], SQUARE[0]]]}, "area.coordinates.0"),
    ({"type": "Polygon", "coordinates": [[*SQUARE[:2], [116.8, 34.1], [116.6, 33.9]], SQUARE[:-1]]},
     "area.coordinates.1"),  # a hole that is not closed
    ({"type": "Polygon", "coordinates": [[[200, 33.9], *SQUARE[1:4], [200, 33.9]]]},
     "area.coordinates.0.0"),
    ({"type": "Polygon", "coordinates": [[["116.6", 33.9], *SQUARE[1:]]]}, "area.coordinates.0.0"),
    ({"type": "Polygon", "coordinates": []}, "area.coordinates"),
    ({"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE[:-1]]]}, "area.coordinates.1.0"),
    ({"type": "Polygon"}, "area.coordinates"),
])
def test_invalid_rings_are_refused_naming_the_member(client, roads, area, field):
    response = client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                           json={"kind": "closure", "area": area})
    assert response.status_code == 422, response.json
    assert response.content_type == "application/problem+json"
    assert field in response.json["errors"], response.json
    assert client.get("/api/v1/routing/events", headers=roads.headers("viewer")).json["events"] == []


def test_a_closed_ring_is_accepted(client, roads):
    response = client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                           json={"kind": "closure", "area": {"type": "Polygon", "coordinates": [SQUARE]}})
    assert response.status_code == 201, response.json
    assert response.json["edge_count"] >= 1

"""Input no view can use is a 400 problem on every operation, before any view runs: JSON nested
past the depth limit, NUL characters, integer path segments beyond the database's range."""

from __future__ import annotations

import re

import pytest

from reserve_service.openapi_spec import current_spec

SPEC = current_spec()
WRITES = [(method, path) for path, item in SPEC["paths"].items() for method in item
          if method in ("post", "put", "patch", "delete")]
DEEP = "[" * 1100 + "]" * 1100


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize("method, path", WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_deeply_nested_json_is_a_400_on_every_write(client, network, method, path):
    response = client.open(_url(path), method=method.upper(), data=DEEP,
                           headers=network.headers("admin", **{"Content-Type": "application/json"}))
    assert response.status_code == 400, (response.status_code, response.data[:300])
    assert response.content_type == "application/problem+json"
    assert response.json["errors"] == {"_body": ["nested deeper than 64 levels"]}


def test_nesting_within_the_limit_reaches_validation(client, network):
    body = {"sources": [{"depot": "DEP-A"}], "targets": [[[[["x"]]]]]}
    response = client.post("/api/v1/routing/matrix", json=body, headers=network.headers("viewer"))
    assert response.status_code == 422 and "targets.0._schema" in response.json["errors"]


def test_a_deep_object_inside_a_string_is_only_text(client, network):
    response = client.post("/api/v1/routing/matrix", headers=network.headers("viewer"),
                           json={"sources": [{"depot": "[" * 500}], "targets": [{"depot": "DEP-A"}]})
    assert response.status_code != 400, response.json


def test_nul_characters_are_refused(client, network):
    body = client.post("/api/v1/regions", headers=network.headers("admin"),
                       json={"adcode": "341302002000", "name": "a\u0000b", "level": "township"})
    assert body.status_code == 422 and list(body.json["errors"]) == ["name"]  # the field is named
    query = client.get("/api/v1/depots?q=a%00b", headers=network.headers("viewer"))
    assert query.status_code == 422 and query.json["errors"] == {"q": ["contains a NUL character"]}
    path = client.get("/api/v1/depots/DEP%00A", headers=network.headers("viewer"))
    assert path.status_code == 422 and path.content_type == "application/problem+json"


def test_an_escaped_backslash_before_u0000_is_text(client, network):
    response = client.post("/api/v1/regions", headers=network.headers("admin"),
                           json={"adcode": "341302002000", "name": "a\\u0000b", "level": "township",
                                 "parent_adcode": "341302000000"})
    assert response.status_code == 201, response.json
    assert response.json["name"] == "a\\u0000b"


@pytest.mark.parametrize("lot_id", [2**31, 2**63, 10**30])
def test_integer_ids_beyond_the_database_range_are_404(client, network, lot_id):
    response = client.get(f"/api/v1/lots/{lot_id}", headers=network.headers("viewer"))
    assert response.status_code == 404 and response.content_type == "application/problem+json"


@pytest.mark.parametrize("text, path", [
    ('{"sources": [{"lat": 1e400, "lng": 116}], "targets": [{"depot": "DEP-A"}]}', "sources.0.lat"),
    ('{"sources": [{"lat": NaN, "lng": 116}], "targets": [{"depot": "DEP-A"}]}', "sources.0.lat"),
    ('{"sources": [{"node": 99999999999999999999999}], "targets": [{"depot": "DEP-A"}]}', "sources.0.node"),
])
def test_numbers_no_column_can_hold_are_422(client, network, text, path):
    response = client.post("/api/v1/routing/matrix", data=text, headers=network.headers(
        "viewer", **{"Content-Type": "application/json"}))
    assert response.status_code == 422 and path in response.json["errors"], response.json


def test_a_csv_that_is_not_csv_is_a_422(client, network):
    response = client.post("/api/v1/stock-counts/import?dry_run=true", data="Û¯\r\x8aÛy\x81".encode(),
                           headers=network.headers("admin", **{"Content-Type": "text/csv"}))
    assert response.status_code == 422 and "file" in response.json["errors"], response.json


def test_scenarios_are_generated_when_a_township_has_no_location(client, network):
    added = client.post("/api/v1/regions", headers=network.headers("admin"),
                        json={"adcode": "341302009000", "name": "无坐标镇", "level": "township",
                              "parent_adcode": "341302000000", "population": 1000})
    assert added.status_code == 201, added.json
    response = client.post("/api/v1/scenario-sets/generate", headers=network.headers("planner"),
                           json={"n": 3, "seed": 1})
    assert response.status_code == 201, response.json

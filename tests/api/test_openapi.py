"""The committed OpenAPI document is what the schemas generate, and it is served."""

from __future__ import annotations

from reserve_service.config import PROJECT_ROOT
from reserve_service.openapi_spec import current_spec, render


def test_committed_openapi_is_current():
    committed = (PROJECT_ROOT / "api_spec" / "openapi.json").read_text(encoding="utf-8")
    assert committed == render(current_spec()), "run `make openapi` and commit api_spec/openapi.json"


def test_openapi_and_docs_are_served_without_a_token(client):
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/movements/issues" in spec.json["paths"]
    assert client.get("/docs").status_code == 200


def test_unknown_path_is_a_problem(client):
    response = client.get("/nowhere")
    assert response.status_code == 404 and response.content_type == "application/problem+json"


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, path, operation


def test_every_operation_documents_its_success_body():
    spec = current_spec()
    missing = [f"{m.upper()} {p}" for m, p, op in _operations(spec)
               if not any(code.startswith("2") and response.get("content")
                          for code, response in op["responses"].items())]
    assert missing == []


def test_errors_are_documented_as_problems():
    spec = current_spec()
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "errors"}
    for name, response in spec["components"]["responses"].items():
        assert list(response["content"]) == ["application/problem+json"], name
    for method, path, op in _operations(spec):
        assert op["responses"]["default"] == {"$ref": "#/components/responses/DEFAULT_ERROR"}
        if path.startswith("/api/"):
            assert "401" in op["responses"], f"{method} {path}"


def test_headers_the_service_reads_and_writes_are_declared():
    paths = current_spec()["paths"]
    for path in ("/api/v1/depots/{code}", "/api/v1/lots/{lot_id}"):
        patch = paths[path]["patch"]
        assert [(p["name"], p["required"]) for p in patch["parameters"]] == [("If-Match", True)]
        assert "ETag" in patch["responses"]["200"]["headers"]
        assert "ETag" in paths[path]["get"]["responses"]["200"]["headers"]
    receipt = paths["/api/v1/movements/receipts"]["post"]
    assert [p["name"] for p in receipt["parameters"]] == ["Idempotency-Key"]
    for path in ("/api/v1/siting-runs", "/api/v1/prepositioning-runs"):
        assert "Location" in paths[path]["post"]["responses"]["202"]["headers"]


def test_sort_values_are_enumerated_and_bodies_required():
    paths = current_spec()["paths"]
    sort = next(p for p in paths["/api/v1/depots"]["get"]["parameters"] if p["name"] == "sort")
    assert "-capacity_m3" in sort["schema"]["enum"]
    for path in ("/api/v1/scenario-sets/generate", "/api/v1/routing/reachability"):
        assert paths[path]["post"]["requestBody"]["required"] is True


def test_a_missing_body_is_refused_where_one_is_documented(client, roads):
    for path in ("/api/v1/routing/reachability", "/api/v1/scenario-sets/generate"):
        response = client.post(path, headers=roads.headers("admin"))
        assert response.status_code == 422, (path, response.json)
        assert "_body" in response.json["errors"]
    assert client.post("/api/v1/routing/reachability", headers=roads.headers("admin"), json={}).status_code == 200


def test_nullable_members_are_declared_nullable():
    depot = current_spec()["components"]["schemas"]["Depot"]["properties"]
    assert depot["used_m3"].get("nullable") is True


def test_method_not_allowed_lists_the_allowed_methods(client, network):
    response = client.open("/api/v1/depots", method="TRACE", headers=network.headers("viewer"))
    assert response.status_code == 405 and response.content_type == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}

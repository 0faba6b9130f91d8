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

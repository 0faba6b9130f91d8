"""Tokens and roles: who may read, who may change which stock."""

from __future__ import annotations

import pytest

ISSUE = {"depot": "DEP-A", "item": "1010101", "quantity": 1}


def test_no_token_is_401_problem(client, network):
    response = client.get("/api/v1/depots")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401(client, network):
    response = client.get("/api/v1/depots", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


@pytest.mark.parametrize("role", ["admin", "planner", "dispatcher", "manager", "viewer"])
def test_every_role_may_read(client, network, role):
    assert client.get("/api/v1/depots", headers=network.headers(role)).status_code == 200


@pytest.mark.parametrize("role, status", [
    ("admin", 201), ("manager", 201), ("viewer", 403), ("planner", 403), ("dispatcher", 403)])
def test_who_may_issue_stock(client, network, role, status):
    response = client.post("/api/v1/movements/issues", headers=network.headers(role), json=ISSUE)
    assert response.status_code == status


def test_manager_outside_its_region_is_403(client, network):
    # the manager is scoped to 埇桥区; DEP-B lies in 砀山县
    response = client.post("/api/v1/movements/receipts", headers=network.headers("manager"), json={
        "depot": "DEP-B", "item": "1010101", "lot_no": "L", "quantity": 1})
    assert response.status_code == 403
    assert "depot" in response.json["errors"]


def test_manager_may_reach_townships_below_its_county(client, network):
    response = client.post("/api/v1/movements/receipts", headers=network.headers("manager"), json={
        "depot": "DEP-T", "item": "1010101", "lot_no": "L", "quantity": 1})
    assert response.status_code == 201


def test_only_admin_creates_master_data(client, network):
    depot = {"code": "NEW", "name": "新库", "tier": "township", "region_adcode": "341302001000",
             "lat": 33.6, "lng": 116.9, "capacity_m3": 50}
    assert client.post("/api/v1/depots", headers=network.headers("manager"), json=depot).status_code == 403
    created = client.post("/api/v1/depots", headers=network.headers("admin"), json=depot)
    assert created.status_code == 201 and created.headers["ETag"]
    again = client.post("/api/v1/depots", headers=network.headers("admin"), json=depot)
    assert again.status_code == 409


def test_token_cli_creates_a_working_scoped_token(app, network, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-token", "--name", "county-b", "--role", "manager",
                                 "--region", "341321000000"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    headers = {"Authorization": f"Bearer {token}"}
    ok = client.post("/api/v1/movements/receipts", headers=headers, json={
        "depot": "DEP-B", "item": "1010101", "lot_no": "L", "quantity": 1})
    assert ok.status_code == 201
    denied = client.post("/api/v1/movements/issues", headers=headers, json=ISSUE)
    assert denied.status_code == 403


def test_manager_token_without_scope_is_refused_by_cli(app, network):
    result = app.test_cli_runner().invoke(args=["create-token", "--name", "x", "--role", "manager"])
    assert result.exit_code != 0 and "scope" in result.output


@pytest.mark.parametrize("scope, message", [
    (["--region", "999999999999"], "unknown region"),
    (["--region", "not-a-code"], "unknown region"),
    (["--depot", "NOPE-1"], "unknown depot"),
    (["--depot", "DEP-A", "--depot", "NOPE-1"], "NOPE-1"),
])
def test_token_cli_refuses_an_unknown_scope_cleanly(app, network, scope, message):
    result = app.test_cli_runner().invoke(args=["create-token", "--name", "x", "--role", "manager", *scope])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_revoked_token_is_401_and_list_tokens_shows_uses_and_last_use(app, network, client):
    runner = app.test_cli_runner()
    token = runner.invoke(args=["create-token", "--name", "truck-desk", "--role", "viewer"]).output.strip()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/depots", headers=headers).status_code == 200
    listing = runner.invoke(args=["list-tokens"]).output
    line = next(row for row in listing.splitlines() if "truck-desk" in row)
    fields = line.split("\t")
    assert fields[2] == "viewer" and fields[4] == "1" and fields[5] != "never"
    revoked = runner.invoke(args=["revoke-token", "--name", "truck-desk"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert client.get("/api/v1/depots", headers=headers).status_code == 401
    assert "truck-desk" not in runner.invoke(args=["list-tokens"]).output
    assert "truck-desk" in runner.invoke(args=["list-tokens", "--all"]).output
    again = runner.invoke(args=["revoke-token", "--name", "truck-desk"])
    assert again.exit_code != 0 and "no live token" in again.output

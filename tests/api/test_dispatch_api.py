"""Dispatch over HTTP on the tiny network: plan, approve (ledger), dispatch, deliver, cancel,
re-plan after a closure, and bad input.

DEP-A holds 100 tents (LOT-A1) and water in LOT-W1 (1000 L, expires in 20 days) and LOT-W2
(500 L, 200 days). Township 341302001000 sits 1 km (0.02 h) from DEP-A.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from reserve_service.inventory.services import ledger_mismatches
from reserve_service.inventory.tables import StockLot

TOWN = "341302001000"
TRUCK = {"id": "T1", "depot": "DEP-A", "weight_capacity_kg": 8000, "volume_capacity_m3": 40}


def incident(**extra):
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    return {"name": "flood", "start_at": start, "modes": ["government"],
            "regions": [{"region": TOWN, "relocated_people": 100, "needs": {"1010101": 20, "1030101": 300}}],
            "fleet": [TRUCK], "routing_time_limit_s": 2, **extra}


def wait(client, roads, url):
    for _ in range(600):
        job = client.get(url, headers=roads.headers("dispatcher")).json
        if job["status"] in ("succeeded", "failed", "cancelled"):
            assert job["status"] == "succeeded", job
            return job["result"]
        time.sleep(0.1)
    pytest.fail("dispatch job did not finish")


def make_plan(client, roads, **extra):
    created = client.post("/api/v1/incidents", headers=roads.headers("dispatcher"), json=incident(**extra))
    assert created.status_code == 201, created.json
    job = client.post(f"/api/v1/incidents/{created.json['id']}/plans", headers=roads.headers("dispatcher"))
    assert job.status_code == 202
    result = wait(client, roads, job.json["url"])
    return client.get(f"/api/v1/dispatch-plans/{result['plan_id']}", headers=roads.headers("viewer")).json


def lots(db) -> dict[str, int]:
    return dict(db.execute(select(StockLot.lot_no, StockLot.quantity)).all())


def test_plan_serves_the_township_in_time_from_the_earliest_expiring_lot(client, roads):
    plan = make_plan(client, roads)
    region = plan["regions"][0]
    assert region["fully_served_by_deadline"] and region["shortfalls"] == []
    assert region["on_time"] == {"1010101": 20, "1030101": 300}
    truck = plan["vehicles"][0]
    assert {(m["item"], m["lot_no"], m["quantity"]) for m in truck["manifest"]} == {
        ("1010101", "LOT-A1", 20), ("1030101", "LOT-W1", 300)}
    delivery = [s for s in truck["stops"] if s["kind"] == "delivery"][-1]
    assert 0.5 + 0.02 <= delivery["eta_h"] <= 10  # stock ready after 0.5 h, 0.02 h drive
    assert plan["summary"]["share_people_fully_served"] == 1.0
    csv = client.get(f"/api/v1/dispatch-plans/{plan['id']}/vehicles/T1/manifest.csv",
                     headers=roads.headers("viewer"))
    assert csv.status_code == 200 and "LOT-W1" in csv.data.decode("utf-8-sig")


def test_approve_issues_the_lots_once_and_cancel_returns_them(client, roads, db):
    plan = make_plan(client, roads)
    url = f"/api/v1/dispatch-plans/{plan['id']}"
    first = client.post(f"{url}/approve", headers=roads.headers("dispatcher"))
    assert first.status_code == 200 and first.json["movements"] == 2
    again = client.post(f"{url}/approve", headers=roads.headers("dispatcher"))
    assert again.json["already"] is True
    assert lots(db)["LOT-A1"] == 80 and lots(db)["LOT-W1"] == 700
    cancelled = client.post(f"{url}/cancel", headers=roads.headers("dispatcher"))
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert lots(db)["LOT-A1"] == 100 and lots(db)["LOT-W1"] == 1000
    assert ledger_mismatches(db) == []


def test_approve_after_stock_changed_is_409_and_books_nothing(client, roads, db):
    plan = make_plan(client, roads)
    client.post("/api/v1/movements/issues", headers=roads.headers("admin"),
                json={"depot": "DEP-A", "item": "1010101", "quantity": 90})
    response = client.post(f"/api/v1/dispatch-plans/{plan['id']}/approve", headers=roads.headers("dispatcher"))
    assert response.status_code == 409
    assert response.json["changed"] == [{"depot": "DEP-A", "item": "1010101", "lot_no": "LOT-A1",
                                         "planned": 20, "available": 10}]
    assert lots(db)["LOT-W1"] == 1000
    status = client.get(f"/api/v1/dispatch-plans/{plan['id']}", headers=roads.headers("viewer")).json["status"]
    assert status == "draft"


def test_vehicle_lifecycle_to_delivered(client, roads):
    plan = make_plan(client, roads)
    url = f"/api/v1/dispatch-plans/{plan['id']}"
    early = client.post(f"{url}/vehicles/T1/dispatch", headers=roads.headers("dispatcher"))
    assert early.status_code == 409  # not approved yet
    client.post(f"{url}/approve", headers=roads.headers("dispatcher"))
    assert client.post(f"{url}/vehicles/T1/dispatch", headers=roads.headers("dispatcher")).json["status"] == "dispatched"
    refused = client.post(f"{url}/cancel", headers=roads.headers("dispatcher"))
    assert refused.status_code == 409 and refused.json["vehicles"] == ["T1"]
    done = client.post(f"{url}/vehicles/T1/deliver", headers=roads.headers("dispatcher"), json={})
    assert done.status_code == 200 and {(d["item"], d["quantity"]) for d in done.json["delivered"]} == {
        ("1010101", 20), ("1030101", 300)}
    assert client.get(url, headers=roads.headers("viewer")).json["status"] == "delivered"


def test_replan_after_the_township_road_floods(client, roads):
    plan = make_plan(client, roads)
    closure = client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                          json={"kind": "closure", "edge_ids": [0], "cause": "flooded"})
    assert closure.status_code == 201
    job = client.post(f"/api/v1/dispatch-plans/{plan['id']}/replan", headers=roads.headers("dispatcher"),
                      json={"now_h": 0.1})
    assert job.status_code == 202
    result = wait(client, roads, job.json["url"])
    new = client.get(f"/api/v1/dispatch-plans/{result['plan_id']}", headers=roads.headers("viewer")).json
    assert new["generation"] == 1 and new["parent_id"] == plan["id"]
    reasons = {s["reason"] for s in new["regions"][0]["shortfalls"]}
    assert reasons == {"unreachable"}
    assert {c["item"] for c in result["changed_etas"]} == {"1010101", "1030101"}
    old = client.get(f"/api/v1/dispatch-plans/{plan['id']}", headers=roads.headers("viewer")).json
    assert old["status"] == "superseded"


def test_replan_keeps_a_dispatched_truck_and_does_not_issue_its_load_twice(client, roads, db):
    plan = make_plan(client, roads)
    url = f"/api/v1/dispatch-plans/{plan['id']}"
    client.post(f"{url}/approve", headers=roads.headers("dispatcher"))
    client.post(f"{url}/vehicles/T1/dispatch", headers=roads.headers("dispatcher"))
    client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                json={"kind": "slowdown", "edge_ids": [0], "speed_factor": 0.5})
    job = client.post(f"{url}/replan", headers=roads.headers("dispatcher"), json={"now_h": 0.05})
    result = wait(client, roads, job.json["url"])
    new_url = f"/api/v1/dispatch-plans/{result['plan_id']}"
    new = client.get(new_url, headers=roads.headers("viewer")).json
    assert new["vehicle_status"] == {"T1": "dispatched"}
    assert client.get(url, headers=roads.headers("viewer")).json["vehicle_status"] == {"T1": "dispatched"}
    approved = client.post(f"{new_url}/approve", headers=roads.headers("dispatcher"))
    assert approved.status_code == 200 and approved.json["movements"] == 0
    assert lots(db)["LOT-A1"] == 80 and lots(db)["LOT-W1"] == 700
    assert ledger_mismatches(db) == []


def test_empty_fleet_is_an_explained_shortfall(client, roads):
    plan = make_plan(client, roads, fleet=[])
    assert {s["reason"] for s in plan["regions"][0]["shortfalls"]} == {"no_vehicle"}
    assert plan["summary"]["share_people_fully_served"] == 0.0


@pytest.mark.parametrize("change, field", [
    ({"regions": [{"region": "341399999000", "relocated_people": 5}]}, "regions.0.region"),
    ({"regions": [{"region": TOWN, "needs": {"1010101": -1}}]}, "regions.0.needs.1010101.value"),
    ({"regions": [{"region": TOWN, "needs": {"9999999": 1}}]}, "regions.0.needs"),
    ({"regions": []}, "regions"),
    ({"start_at": "2030-01-01T00:00:00+08:00"}, "start_at"),
    ({"fleet": [{**TRUCK, "depot": "NOPE"}]}, "fleet.0.depot"),
    ({"fleet": [{**TRUCK, "weight_capacity_kg": 0}]}, "fleet.0.weight_capacity_kg"),
    ({"modes": ["teleport"]}, "modes.0"),
])
def test_bad_incidents_are_422(client, roads, change, field):
    response = client.post("/api/v1/incidents", headers=roads.headers("dispatcher"), json=incident(**change))
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json


def test_only_dispatchers_create_incidents(client, roads):
    assert client.post("/api/v1/incidents", headers=roads.headers("planner"), json=incident()).status_code == 403

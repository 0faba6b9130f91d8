"""Dispatch over HTTP on the tiny network: plan, approve (ledger), dispatch, deliver, cancel,
re-plan after a closure, and bad input.

DEP-A holds 100 tents (LOT-A1) and water in LOT-W1 (1000 L, expires in 20 days) and LOT-W2
(500 L, 200 days). Township 341302001000 sits 1 km (0.02 h) from DEP-A.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from reserve_service.inventory.services import ledger_mismatches
from reserve_service.inventory.tables import StockLot
from tests.plan_checker import check_plan

TOWN = "341302001000"
TRUCK = {"id": "T1", "depot": "DEP-A", "weight_capacity_kg": 8000, "volume_capacity_m3": 40}


def incident(**extra):
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    return {"name": "flood", "start_at": start, "modes": ["government"],
            "regions": [{"region": TOWN, "relocated_people": 100, "needs": {"1010101": 20, "1030101": 300}}],
            "fleet": [TRUCK], "routing_time_limit_s": 2, **extra}


def checked(client, roads, plan_id, skip_stops=None):
    """The stored plan, after the independent plan checker passed it; its JSON as served."""
    from reserve_service.optimize.dispatch import service
    from reserve_service.optimize.tables import DispatchPlanRow

    with client.application.extensions["database"].session_factory() as s:
        row = s.get(DispatchPlanRow, plan_id)
        loaded = service.stored_plan(row)
    check_plan(loaded[0], skip_stops=skip_stops)
    return client.get(f"/api/v1/dispatch-plans/{plan_id}", headers=roads.headers("viewer")).json


def make_plan(client, roads, wait_for_job, **extra):
    created = client.post("/api/v1/incidents", headers=roads.headers("dispatcher"), json=incident(**extra))
    assert created.status_code == 201, created.json
    job = client.post(f"/api/v1/incidents/{created.json['id']}/plans", headers=roads.headers("dispatcher"))
    assert job.status_code == 202
    result = wait_for_job(job.json["url"], roads.headers("dispatcher"))["result"]
    return checked(client, roads, result["plan_id"])


def lots(db) -> dict[str, int]:
    return dict(db.execute(select(StockLot.lot_no, StockLot.quantity)).all())


def test_plan_serves_the_township_in_time_from_the_earliest_expiring_lot(client, roads, wait_for_job):
    plan = make_plan(client, roads, wait_for_job)
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


def test_approve_issues_the_lots_once_and_cancel_returns_them(client, roads, db, wait_for_job):
    plan = make_plan(client, roads, wait_for_job)
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


def test_approve_after_stock_changed_is_409_and_books_nothing(client, roads, db, wait_for_job):
    plan = make_plan(client, roads, wait_for_job)
    client.post("/api/v1/movements/issues", headers=roads.headers("admin"),
                json={"depot": "DEP-A", "item": "1010101", "quantity": 90})
    response = client.post(f"/api/v1/dispatch-plans/{plan['id']}/approve", headers=roads.headers("dispatcher"))
    assert response.status_code == 409
    assert response.json["changed"] == [{"depot": "DEP-A", "item": "1010101", "lot_no": "LOT-A1",
                                         "planned": 20, "available": 10}]
    assert lots(db)["LOT-W1"] == 1000
    status = client.get(f"/api/v1/dispatch-plans/{plan['id']}", headers=roads.headers("viewer")).json["status"]
    assert status == "draft"


def test_vehicle_lifecycle_to_delivered(client, roads, wait_for_job):
    plan = make_plan(client, roads, wait_for_job)
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


def test_replan_after_the_township_road_floods(client, roads, wait_for_job):
    plan = make_plan(client, roads, wait_for_job)
    closure = client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                          json={"kind": "closure", "edge_ids": [0], "cause": "flooded"})
    assert closure.status_code == 201
    job = client.post(f"/api/v1/dispatch-plans/{plan['id']}/replan", headers=roads.headers("dispatcher"),
                      json={"now_h": 0.1})
    assert job.status_code == 202
    result = wait_for_job(job.json["url"], roads.headers("dispatcher"))["result"]
    new = client.get(f"/api/v1/dispatch-plans/{result['plan_id']}", headers=roads.headers("viewer")).json
    assert new["generation"] == 1 and new["parent_id"] == plan["id"]
    reasons = {s["reason"] for s in new["regions"][0]["shortfalls"]}
    assert reasons == {"unreachable"}
    assert {c["item"] for c in result["changed_etas"]} == {"1010101", "1030101"}
    old = client.get(f"/api/v1/dispatch-plans/{plan['id']}", headers=roads.headers("viewer")).json
    assert old["status"] == "superseded"


def test_replan_keeps_a_dispatched_truck_and_does_not_issue_its_load_twice(client, roads, db, wait_for_job):
    plan = make_plan(client, roads, wait_for_job)
    url = f"/api/v1/dispatch-plans/{plan['id']}"
    client.post(f"{url}/approve", headers=roads.headers("dispatcher"))
    client.post(f"{url}/vehicles/T1/dispatch", headers=roads.headers("dispatcher"))
    client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                json={"kind": "slowdown", "edge_ids": [0], "speed_factor": 0.5})
    job = client.post(f"{url}/replan", headers=roads.headers("dispatcher"), json={"now_h": 0.05})
    result = wait_for_job(job.json["url"], roads.headers("dispatcher"))["result"]
    new_url = f"/api/v1/dispatch-plans/{result['plan_id']}"
    new = client.get(new_url, headers=roads.headers("viewer")).json
    assert new["vehicle_status"] == {"T1": "dispatched"}
    assert client.get(url, headers=roads.headers("viewer")).json["vehicle_status"] == {"T1": "dispatched"}
    approved = client.post(f"{new_url}/approve", headers=roads.headers("dispatcher"))
    assert approved.status_code == 200 and approved.json["movements"] == 0
    assert lots(db)["LOT-A1"] == 80 and lots(db)["LOT-W1"] == 700
    assert ledger_mismatches(db) == []


def test_empty_fleet_is_an_explained_shortfall(client, roads, wait_for_job):
    plan = make_plan(client, roads, wait_for_job, fleet=[])
    assert {s["reason"] for s in plan["regions"][0]["shortfalls"]} == {"no_vehicle"}
    assert plan["summary"]["share_people_fully_served"] == 0.0


@pytest.mark.parametrize("change, field", [
    ({"regions": [{"region": "341399999000", "relocated_people": 5}]}, "regions.0.region"),
    ({"regions": [{"region": "341300000000", "relocated_people": 5}]}, "regions.0.region"),  # no coordinates
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


# -- the lifecycle as a reserve manager checks it in the ledger ---------------------------------
#
# Each test books through the API and then reads the ledger the way a manager would: the
# balance of every lot, and per plan reference what was issued and what came back.

COUNTY_B = "341321000000"  # DEP-B's county, at node b: 1.0 h from DEP-A by expressway


def truck(vehicle_id: str, kg: float = 8000, **extra):
    return {**TRUCK, "id": vehicle_id, "weight_capacity_kg": kg, **extra}


def issued_and_returned(db, plan_ids) -> dict[str, dict[str, int]]:
    """Per lot: units issued to and returned from the plans' vehicles (a manager's ledger query)."""
    from reserve_service.inventory.tables import Movement

    refs = [m for m in db.scalars(select(Movement)) if m.reference.split(":")[1:2] and
            m.reference.split(":")[1] in set(plan_ids)]
    out: dict[str, dict[str, int]] = {}
    for m in refs:
        entry = out.setdefault(m.lot.lot_no, {"issued": 0, "returned": 0})
        entry["issued" if m.kind == "issue" else "returned"] += abs(m.quantity)
    return out


def manifest_totals(plan, vehicles=None) -> dict[str, int]:
    """Units per lot the plan's vehicles load."""
    out: dict[str, int] = {}
    for vehicle in plan["vehicles"]:
        if vehicles is None or vehicle["vehicle_id"] in vehicles:
            for line in vehicle["manifest"]:
                out[line["lot_no"]] = out.get(line["lot_no"], 0) + line["quantity"]
    return out


def replan(client, roads, wait_for_job, plan_id, now_h):
    """Re-plan; the checker skips the stops the vehicles that had left have done."""
    parent = client.get(f"/api/v1/dispatch-plans/{plan_id}", headers=roads.headers("viewer")).json
    job = client.post(f"/api/v1/dispatch-plans/{plan_id}/replan", headers=roads.headers("dispatcher"),
                      json={"now_h": now_h})
    assert job.status_code == 202, job.json
    result = wait_for_job(job.json["url"], roads.headers("dispatcher"))["result"]
    new = client.get(f"/api/v1/dispatch-plans/{result['plan_id']}", headers=roads.headers("viewer")).json
    done = {}
    for vehicle in new["vehicles"]:
        status = parent["vehicle_status"].get(vehicle["vehicle_id"])
        if status == "delivered":
            done[vehicle["vehicle_id"]] = len(vehicle["stops"])
        elif status == "dispatched":
            old = next(v for v in parent["vehicles"] if v["vehicle_id"] == vehicle["vehicle_id"])
            kept = [s for s in old["stops"] if s["kind"] == "pickup"]
            done[vehicle["vehicle_id"]] = next((k for k, s in enumerate(old["stops"]) if s["kind"] != "pickup"),
                                               len(kept))
    return checked(client, roads, result["plan_id"], skip_stops=done)


def post(client, roads, url, body=None):
    return client.post(url, headers=roads.headers("dispatcher"), json=body if body is not None else {})


def test_approve_replan_approve_reads_the_ledger_as_it_is_now(client, roads, db, wait_for_job):
    """A draft plan takes 500 L from LOT-W1; another incident's approved plan then takes 800 L
    of it. The re-plan reads the ledger (200 left in LOT-W1) and loads the rest from LOT-W2,
    so it can be approved; re-planning the approved plan and approving again issues the same
    water once more only after the first issue came back."""
    first = make_plan(client, roads, wait_for_job, regions=[{"region": TOWN, "needs": {"1030101": 500}}])
    assert manifest_totals(first) == {"LOT-W1": 500}
    other = make_plan(client, roads, wait_for_job, regions=[{"region": TOWN, "needs": {"1030101": 800}}])
    assert post(client, roads, f"/api/v1/dispatch-plans/{other['id']}/approve").status_code == 200
    assert lots(db)["LOT-W1"] == 200

    second = replan(client, roads, wait_for_job, first["id"], 0.1)
    assert manifest_totals(second) == {"LOT-W1": 200, "LOT-W2": 300}
    approved = post(client, roads, f"/api/v1/dispatch-plans/{second['id']}/approve")
    assert approved.status_code == 200, approved.json
    assert lots(db)["LOT-W1"] == 0 and lots(db)["LOT-W2"] == 200

    third = replan(client, roads, wait_for_job, second["id"], 0.2)
    assert lots(db)["LOT-W1"] == 200 and lots(db)["LOT-W2"] == 500  # the superseded plan's stock is back
    assert post(client, roads, f"/api/v1/dispatch-plans/{third['id']}/approve").status_code == 200
    assert lots(db)["LOT-W1"] + lots(db)["LOT-W2"] == 1500 - 800 - 500
    ledger = issued_and_returned(db, [first["id"], second["id"], third["id"]])
    net = {lot: e["issued"] - e["returned"] for lot, e in ledger.items()}
    assert net == {lot: q for lot, q in manifest_totals(third).items()}
    assert ledger_mismatches(db) == []


def test_dispatch_replan_approve_issues_the_new_loads_and_never_the_cargo_again(client, roads, db, wait_for_job):
    """One 500 kg truck needs two trips (10 tents, 380 kg; 400 L, 400 kg). It leaves with its
    first trip; the re-plan keeps that cargo on board and gives the truck its second load
    again; approving the re-plan issues only the second load."""
    plan = make_plan(client, roads, wait_for_job, fleet=[truck("T1", kg=500)],
                     regions=[{"region": TOWN, "needs": {"1010101": 10, "1030101": 400}}])
    assert plan["vehicles"][0]["trips"] == 2
    url = f"/api/v1/dispatch-plans/{plan['id']}"
    assert post(client, roads, f"{url}/approve").json["movements"] >= 2
    assert post(client, roads, f"{url}/vehicles/T1/dispatch").json["status"] == "dispatched"
    first_trip = []
    for stop in plan["vehicles"][0]["stops"]:
        if stop["kind"] != "pickup":
            break
        first_trip.append(stop["order"])
    carried = {}
    for line in plan["vehicles"][0]["manifest"]:
        if line["order"] in first_trip:
            carried[line["lot_no"]] = carried.get(line["lot_no"], 0) + line["quantity"]

    new = replan(client, roads, wait_for_job, plan["id"], 0.05)
    assert new["vehicle_status"] == {"T1": "dispatched"}
    before = lots(db)
    approved = post(client, roads, f"/api/v1/dispatch-plans/{new['id']}/approve")
    assert approved.status_code == 200 and approved.json["status"] == "dispatched"
    after = lots(db)
    issued_now = {lot: before[lot] - after[lot] for lot in before if before[lot] != after[lot]}
    second_load = {lot: q - carried.get(lot, 0) for lot, q in manifest_totals(new).items()
                   if q - carried.get(lot, 0) > 0}
    assert issued_now == second_load and approved.json["movements"] == len(second_load) > 0
    ledger = issued_and_returned(db, [plan["id"], new["id"]])
    net = {lot: e["issued"] - e["returned"] for lot, e in ledger.items() if e["issued"] - e["returned"]}
    assert net == manifest_totals(new)  # each unit on the truck issued exactly once
    assert sum(q for lot, q in net.items() if lot.startswith("LOT-A")) == 10
    assert sum(q for lot, q in net.items() if lot.startswith("LOT-W")) == 400
    assert ledger_mismatches(db) == []


def test_deliver_some_then_cancel_returns_the_rest(client, roads, db, wait_for_job):
    """Two 400 kg trucks share 10 tents and 400 L. The first is dispatched and confirms one
    unit less than it carried; cancel returns the second truck's load and that unit, and the
    ledger then holds exactly the initial stock less what was delivered."""
    plan = make_plan(client, roads, wait_for_job, fleet=[truck("T1", kg=400), truck("T2", kg=400)],
                     regions=[{"region": TOWN, "needs": {"1010101": 10, "1030101": 400}}])
    used = [v["vehicle_id"] for v in plan["vehicles"]]
    assert sorted(used) == ["T1", "T2"]
    url = f"/api/v1/dispatch-plans/{plan['id']}"
    initial = lots(db)
    post(client, roads, f"{url}/approve")
    first = plan["vehicles"][0]
    post(client, roads, f"{url}/vehicles/{first['vehicle_id']}/dispatch")
    line = first["manifest"][0]
    confirmed = [{"region": line["region"], "item": line["item"], "quantity": line["quantity"] - 1}]
    done = post(client, roads, f"{url}/vehicles/{first['vehicle_id']}/deliver", {"delivered": confirmed})
    assert done.status_code == 200 and done.json["delivered"] == confirmed
    cancelled = post(client, roads, f"{url}/cancel")
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["vehicle_status"][first["vehicle_id"]] == "delivered"
    final = lots(db)
    assert initial[line["lot_no"]] - final[line["lot_no"]] == line["quantity"] - 1
    assert sum(initial.values()) - sum(final.values()) == line["quantity"] - 1
    ledger = issued_and_returned(db, [plan["id"]])
    assert sum(e["issued"] for e in ledger.values()) == sum(manifest_totals(plan).values())
    assert sum(e["returned"] for e in ledger.values()) == sum(manifest_totals(plan).values()) - (line["quantity"] - 1)
    assert ledger_mismatches(db) == []


@pytest.mark.parametrize("body, field", [
    ({"delivered": [{"region": "nowhere", "item": "bogus", "quantity": -5}]}, "delivered.0.quantity"),
    ({"delivered": [{"region": "nowhere", "item": "1010101", "quantity": 5}]}, "delivered.0.region"),
    ({"delivered": [{"region": TOWN, "item": "1020101", "quantity": 5}]}, "delivered.0.item"),
    ({"delivered": [{"region": TOWN, "item": "1010101", "quantity": 21}]}, "delivered.0.quantity"),
    ({"delivered": [{"region": TOWN, "item": "1010101", "quantity": 15},
                    {"region": TOWN, "item": "1010101", "quantity": 6}]}, "delivered.1.quantity"),
    ({"delivered": [{"region": TOWN, "item": "1010101"}]}, "delivered.0.quantity"),
])
def test_deliver_is_checked_against_the_vehicle_manifest(client, roads, body, field, wait_for_job):
    plan = make_plan(client, roads, wait_for_job)
    url = f"/api/v1/dispatch-plans/{plan['id']}"
    post(client, roads, f"{url}/approve")
    post(client, roads, f"{url}/vehicles/T1/dispatch")
    response = post(client, roads, f"{url}/vehicles/T1/deliver", body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert client.get(url, headers=roads.headers("viewer")).json["vehicle_status"] == {"T1": "dispatched"}


def test_a_lot_expired_at_pickup_is_not_loaded(client, roads, app, db, wait_for_job):
    """LOT-WX expires today (Shanghai). The incident starts at 23:40 today, stock is ready
    30 min later, after midnight: the truck loads LOT-W1 instead."""
    from zoneinfo import ZoneInfo

    from reserve_service.inventory.tables import Depot, Item

    shanghai = ZoneInfo("Asia/Shanghai")
    today = dt.datetime.now(shanghai).date()
    with app.extensions["database"].writer_factory() as s:
        s.add(StockLot(depot=s.scalar(select(Depot).where(Depot.code == "DEP-A")), lot_no="LOT-WX",
                       item=s.scalar(select(Item).where(Item.code == "1030101")), quantity=1000,
                       expires_on=today))
        s.commit()
    start = dt.datetime.combine(today, dt.time(23, 40), tzinfo=shanghai).isoformat()
    plan = make_plan(client, roads, wait_for_job, start_at=start)
    water = {m["lot_no"] for m in plan["vehicles"][0]["manifest"] if m["item"] == "1030101"}
    assert water == {"LOT-W1"}
    assert plan["regions"][0]["on_time"]["1030101"] == 300


def test_each_route_is_drawn_with_its_vehicles_profile(client, roads, wait_for_job):
    """Traffic control on the expressway: a truck without green-channel approval goes by the
    national road through m, and its drawn route does too (not the relief truck's path)."""
    post(client, roads, "/api/v1/routing/events", {"kind": "traffic_control", "edge_ids": [3]})
    plan = make_plan(client, roads, wait_for_job, fleet=[truck("P1", green_channel=False)],
                     regions=[{"region": COUNTY_B, "needs": {"1010101": 5}}])
    vehicle = plan["vehicles"][0]
    assert vehicle["profile"] == "public_truck"
    assert [116.67, 34.04] in vehicle["geometry"]["coordinates"]  # node m on G343
    delivery = [s for s in vehicle["stops"] if s["kind"] == "delivery"][-1]
    pickup = [s for s in vehicle["stops"] if s["kind"] == "pickup"][0]
    assert delivery["eta_h"] - pickup["departure_h"] == pytest.approx(2.0, abs=0.01)
    assert vehicle["slower_legs"] == []


def test_a_closure_that_starts_after_the_delivery_does_not_stop_it(client, roads, wait_for_job):
    """The township's only road closes in 3 h; the plan delivers within the first hour."""
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat()
    post(client, roads, "/api/v1/routing/events", {"kind": "closure", "edge_ids": [0], "starts_at": start})
    plan = make_plan(client, roads, wait_for_job)
    assert plan["regions"][0]["fully_served_by_deadline"] and plan["regions"][0]["shortfalls"] == []


def test_a_vehicle_off_the_road_is_refused_at_post(client, roads):
    body = incident(fleet=[{"id": "F1", "lat": 0.0, "lng": 0.0, "weight_capacity_kg": 8000,
                            "volume_capacity_m3": 40}])
    response = client.post("/api/v1/incidents", headers=roads.headers("dispatcher"), json=body)
    assert response.status_code == 422, response.json
    assert "fleet.0.lat" in response.json["errors"]
    near = incident(fleet=[{"id": "F1", "lat": 33.641, "lng": 116.981, "weight_capacity_kg": 8000,
                            "volume_capacity_m3": 40}])
    assert client.post("/api/v1/incidents", headers=roads.headers("dispatcher"), json=near).status_code == 201


def test_dispatch_needs_follow_the_one_relief_norm(client, roads, wait_for_job):
    """100 relocated people and no reported needs: the plan's need is the relief norm's (tents
    0.33 per person; water 3 L per person-day over the incident's relief days: one by default,
    the first day's basic relief; over the item's own 3 norm days it is what the alerts use)."""
    from reserve_service.config import HOUSEHOLD_SIZE
    from reserve_service.inventory.norms import ReliefNorm, relief_need

    plan = make_plan(client, roads, wait_for_job, regions=[{"region": TOWN, "relocated_people": 100}])
    need = plan["regions"][0]["need"]
    assert need["1010101"] == relief_need(ReliefNorm("per_person", 0.33), 100, household_size=HOUSEHOLD_SIZE) == 33
    assert need["1030101"] == relief_need(ReliefNorm("per_person_day", 3), 100, household_size=HOUSEHOLD_SIZE,
                                          relief_days=1) == 300
    two_days = make_plan(client, roads, wait_for_job, regions=[{"region": TOWN, "relocated_people": 100}],
                         relief_days=2)
    assert two_days["regions"][0]["need"]["1030101"] == 600
    norm_days = make_plan(client, roads, wait_for_job, regions=[{"region": TOWN, "relocated_people": 100}],
                          relief_days=3)
    assert norm_days["regions"][0]["need"]["1030101"] == relief_need(
        ReliefNorm("per_person_day", 3, 3), 100, household_size=HOUSEHOLD_SIZE) == 900


def test_an_incident_start_without_a_zone_is_shanghai_time(client, roads):
    local = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8) - dt.timedelta(minutes=5)).replace(tzinfo=None)
    created = client.post("/api/v1/incidents", headers=roads.headers("dispatcher"),
                          json=incident(start_at=local.isoformat(timespec="seconds")))
    assert created.status_code == 201, created.json
    start = dt.datetime.fromisoformat(created.json["start_at"])
    assert abs((start - dt.datetime.now(dt.UTC)).total_seconds() + 300) < 120


def test_deliver_replan_approve_keeps_what_arrived(client, roads, db, wait_for_job):
    """One of two trucks has delivered; the re-plan counts its delivery as done, keeps its
    record, and approving it issues the other truck's load once more after it came back."""
    plan = make_plan(client, roads, wait_for_job, fleet=[truck("T1", kg=400), truck("T2", kg=400)],
                     regions=[{"region": TOWN, "needs": {"1010101": 10, "1030101": 400}}])
    url = f"/api/v1/dispatch-plans/{plan['id']}"
    post(client, roads, f"{url}/approve")
    first = plan["vehicles"][0]
    post(client, roads, f"{url}/vehicles/{first['vehicle_id']}/dispatch")
    assert post(client, roads, f"{url}/vehicles/{first['vehicle_id']}/deliver").status_code == 200
    new = replan(client, roads, wait_for_job, plan["id"], 0.3)
    assert new["vehicle_status"][first["vehicle_id"]] == "delivered"
    delivered = {(line["item"]): line["quantity"] for line in first["manifest"]}
    for item, quantity in delivered.items():
        assert new["regions"][0]["delivered"][item] >= quantity
    approved = post(client, roads, f"/api/v1/dispatch-plans/{new['id']}/approve")
    assert approved.status_code == 200, approved.json
    ledger = issued_and_returned(db, [plan["id"], new["id"]])
    net = {lot: e["issued"] - e["returned"] for lot, e in ledger.items() if e["issued"] - e["returned"]}
    assert net == manifest_totals(new)
    assert manifest_totals(new, [first["vehicle_id"]]) == manifest_totals(plan, [first["vehicle_id"]])
    assert sum(net.values()) == 10 + 400
    assert ledger_mismatches(db) == []


def test_a_road_under_repair_is_used_once_it_reopens(client, roads, wait_for_job):
    """The township's only road is under repair for 1.5 h: the truck waits for it and delivers
    just after it reopens (not 'unreachable'), and its drawn route is that road."""
    reopens = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1.5)
    post(client, roads, "/api/v1/routing/events", {"kind": "repair", "edge_ids": [0], "ends_at": reopens.isoformat()})
    plan = make_plan(client, roads, wait_for_job)
    region = plan["regions"][0]
    assert region["fully_served_by_deadline"], region
    start = dt.datetime.fromisoformat(plan["start_at"])
    reopen_h = (reopens - start).total_seconds() / 3600
    delivery = [s for s in plan["vehicles"][0]["stops"] if s["kind"] == "delivery"][-1]
    assert reopen_h <= delivery["eta_h"] <= reopen_h + 0.1
    assert plan["vehicles"][0]["geometry"] is not None and plan["vehicles"][0]["slower_legs"] == []

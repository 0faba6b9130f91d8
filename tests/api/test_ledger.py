"""The ledger over HTTP: every movement kind, its refusals, and balance = sum of movements."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from reserve_service.inventory.services import ledger_mismatches
from reserve_service.inventory.tables import Movement, StockLot

TODAY = dt.date.today()


def lot_quantity(db, lot_no: str, depot: str | None = None) -> int:
    from reserve_service.inventory.tables import Depot

    query = select(func.coalesce(func.sum(StockLot.quantity), 0)).where(StockLot.lot_no == lot_no)
    if depot:
        query = query.join(Depot, Depot.id == StockLot.depot_id).where(Depot.code == depot)
    return db.scalar(query)


def movement_count(db) -> int:
    return db.scalar(select(func.count(Movement.id)))


def test_receipt_creates_lot_and_reports_balance_and_alerts(client, network, db):
    response = client.post("/api/v1/movements/receipts", headers=network.headers("manager"), json={
        "depot": "DEP-A", "item": "1010101", "lot_no": "NEW-1", "quantity": 40,
        "produced_on": (TODAY - dt.timedelta(days=3)).isoformat()})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["movements"][0]["kind"] == "receipt"
    assert body["movements"][0]["balance_after"] == 40
    assert body["balances"] == [{"depot": "DEP-A", "item": "1010101", "quantity": 140}]
    # county norm: 6,000 people × 0.33 tents = 1,980 > 140 held
    assert body["alerts"][0]["kind"] == "below_norm" and body["alerts"][0]["norm"] == 1980
    assert lot_quantity(db, "NEW-1") == 40
    assert ledger_mismatches(db) == []


def test_issue_picks_first_expiry_first_out(client, network, db):
    response = client.post("/api/v1/movements/issues", headers=network.headers("manager"),
                           json={"depot": "DEP-A", "item": "1030101", "quantity": 1200, "reason": "flood"})
    assert response.status_code == 201, response.json
    taken = {m["lot_no"]: -m["quantity"] for m in response.json["movements"]}
    assert taken == {"LOT-W1": 1000, "LOT-W2": 200}
    assert lot_quantity(db, "LOT-W1") == 0 and lot_quantity(db, "LOT-W2") == 300
    assert ledger_mismatches(db) == []


def test_issue_more_than_held_is_409_and_writes_nothing(client, network, db):
    before = movement_count(db)
    response = client.post("/api/v1/movements/issues", headers=network.headers("manager"),
                           json={"depot": "DEP-A", "item": "1030101", "quantity": 1501})
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert response.json["available"] == 1500
    assert "quantity" in response.json["errors"]
    assert movement_count(db) == before
    assert lot_quantity(db, "LOT-W1") == 1000


def test_transfer_books_both_legs_in_one_group(client, network, db):
    response = client.post("/api/v1/movements/transfers", headers=network.headers("manager"), json={
        "from_depot": "DEP-A", "to_depot": "DEP-T", "item": "1010101", "quantity": 30})
    assert response.status_code == 201, response.json
    kinds = sorted(m["kind"] for m in response.json["movements"])
    assert kinds == ["transfer_in", "transfer_out"]
    assert len({m["group_id"] for m in response.json["movements"]}) == 1
    assert lot_quantity(db, "LOT-A1", "DEP-A") == 70
    assert lot_quantity(db, "LOT-A1", "DEP-T") == 30
    assert ledger_mismatches(db) == []


def test_transfer_that_does_not_fit_the_target_writes_neither_leg(client, network, db):
    before = movement_count(db)
    # DEP-T holds 10 m³; 60 tents need 12 m³
    response = client.post("/api/v1/movements/transfers", headers=network.headers("manager"), json={
        "from_depot": "DEP-A", "to_depot": "DEP-T", "item": "1010101", "quantity": 60})
    assert response.status_code == 409
    assert response.json["needed_m3"] == 12.0
    assert movement_count(db) == before
    assert lot_quantity(db, "LOT-A1", "DEP-A") == 100


def test_transfer_to_the_same_depot_is_422(client, network):
    response = client.post("/api/v1/movements/transfers", headers=network.headers("admin"), json={
        "from_depot": "DEP-A", "to_depot": "DEP-A", "item": "1010101", "quantity": 1})
    assert response.status_code == 422
    assert "to_depot" in response.json["errors"]


def test_capacity_refuses_unless_admin_forces(client, network, db):
    payload = {"depot": "DEP-T", "item": "1010101", "lot_no": "BIG", "quantity": 60}
    refused = client.post("/api/v1/movements/receipts", headers=network.headers("admin"), json=payload)
    assert refused.status_code == 409 and refused.json["free_m3"] == 10.0
    manager_force = client.post("/api/v1/movements/receipts", headers=network.headers("manager"),
                                json={**payload, "force": True})
    assert manager_force.status_code == 403
    forced = client.post("/api/v1/movements/receipts", headers=network.headers("admin"),
                         json={**payload, "force": True})
    assert forced.status_code == 201
    assert lot_quantity(db, "BIG") == 60


def test_count_adjustment_books_the_difference(client, network, db):
    lot_id = db.scalar(select(StockLot.id).where(StockLot.lot_no == "LOT-A1"))
    response = client.post("/api/v1/movements/adjustments", headers=network.headers("manager"),
                           json={"lot_id": lot_id, "counted_quantity": 97, "reason": "annual count"})
    assert response.status_code == 201
    assert response.json["movements"][0]["quantity"] == -3
    assert lot_quantity(db, "LOT-A1") == 97
    assert ledger_mismatches(db) == []


def test_rotation_swaps_near_expiry_stock_for_a_fresh_lot(client, network, db):
    lot_id = db.scalar(select(StockLot.id).where(StockLot.lot_no == "LOT-W1"))
    response = client.post("/api/v1/movements/rotations", headers=network.headers("manager"), json={
        "lot_id": lot_id, "quantity_out": 1000, "new_lot_no": "LOT-W3", "new_quantity": 1000,
        "new_produced_on": TODAY.isoformat(),
        "new_expires_on": (TODAY + dt.timedelta(days=365)).isoformat()})
    assert response.status_code == 201, response.json
    assert [m["kind"] for m in response.json["movements"]] == ["rotation_out", "rotation_in"]
    assert lot_quantity(db, "LOT-W1") == 0 and lot_quantity(db, "LOT-W3") == 1000


def test_write_off_needs_a_reason(client, network, db):
    lot_id = db.scalar(select(StockLot.id).where(StockLot.lot_no == "LOT-A1"))
    missing = client.post("/api/v1/movements/write-offs", headers=network.headers("manager"),
                          json={"lot_id": lot_id, "quantity": 5})
    assert missing.status_code == 422 and "reason" in missing.json["errors"]
    done = client.post("/api/v1/movements/write-offs", headers=network.headers("manager"),
                       json={"lot_id": lot_id, "quantity": 5, "reason": "mould"})
    assert done.status_code == 201
    assert lot_quantity(db, "LOT-A1") == 95


@pytest.mark.parametrize("payload, field", [
    ({"quantity": 0}, "quantity"),
    ({"quantity": -4}, "quantity"),
    ({"quantity": "12"}, "quantity"),
    ({"quantity": 1.5}, "quantity"),
    ({"item": "9999999"}, "item"),
    ({"depot": "NOPE"}, "depot"),
    ({"lot_no": "x" * 65}, "lot_no"),
    ({"expires_on": (TODAY - dt.timedelta(days=1)).isoformat()}, "expires_on"),
    ({"produced_on": "2026-01-10", "expires_on": "2026-01-01"}, "expires_on"),
    ({"mode": "borrowed"}, "mode"),
    ({"colour": "red"}, "colour"),
])
def test_bad_receipts_name_the_field_and_write_nothing(client, network, db, payload, field):
    before = movement_count(db)
    base = {"depot": "DEP-A", "item": "1010101", "lot_no": "R-1", "quantity": 5}
    response = client.post("/api/v1/movements/receipts", headers=network.headers("admin"),
                           json={**base, **payload})
    assert 400 <= response.status_code < 500
    assert response.content_type == "application/problem+json"
    assert field in response.json["errors"], response.json
    assert movement_count(db) == before


def test_malformed_json_is_a_problem_not_a_crash(client, network):
    response = client.post("/api/v1/movements/issues", headers=network.headers("admin"),
                           data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"


def test_idempotency_key_books_once(client, network, db):
    headers = network.headers("manager", **{"Idempotency-Key": "issue-42"})
    payload = {"depot": "DEP-A", "item": "1010101", "quantity": 10}
    first = client.post("/api/v1/movements/issues", headers=headers, json=payload)
    again = client.post("/api/v1/movements/issues", headers=headers, json=payload)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert lot_quantity(db, "LOT-A1") == 90
    reused = client.post("/api/v1/movements/issues", headers=headers, json={**payload, "quantity": 11})
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json["errors"]
    assert lot_quantity(db, "LOT-A1") == 90


def test_depot_update_needs_current_etag(client, network):
    got = client.get("/api/v1/depots/DEP-A", headers=network.headers("admin"))
    etag = got.headers["ETag"]
    no_precondition = client.patch("/api/v1/depots/DEP-A", headers=network.headers("admin"),
                                   json={"capacity_m3": 120})
    assert no_precondition.status_code == 428
    ok = client.patch("/api/v1/depots/DEP-A", headers=network.headers("admin", **{"If-Match": etag}),
                      json={"capacity_m3": 120})
    assert ok.status_code == 200 and ok.json["capacity_m3"] == 120
    assert ok.headers["ETag"] != etag
    stale = client.patch("/api/v1/depots/DEP-A", headers=network.headers("admin", **{"If-Match": etag}),
                         json={"capacity_m3": 130})
    assert stale.status_code == 412
    assert client.get("/api/v1/depots/DEP-A", headers=network.headers("viewer")).json["capacity_m3"] == 120


def test_a_manager_may_rename_its_depot_but_not_lift_its_capacity(client, network):
    etag = client.get("/api/v1/depots/DEP-A", headers=network.headers("manager")).headers["ETag"]
    lifted = client.patch("/api/v1/depots/DEP-A", headers=network.headers("manager", **{"If-Match": etag}),
                          json={"capacity_m3": 1e6})
    assert lifted.status_code == 403 and "capacity_m3" in lifted.json["errors"]
    refused = client.post("/api/v1/movements/receipts", headers=network.headers("manager"), json={
        "depot": "DEP-A", "item": "1010101", "lot_no": "BIG", "quantity": 1000})
    assert refused.status_code == 409  # 200 m³ of tents into the 100 m³ depot
    renamed = client.patch("/api/v1/depots/DEP-A", headers=network.headers("manager", **{"If-Match": etag}),
                           json={"name": "A库(新)"})
    assert renamed.status_code == 200 and renamed.json["capacity_m3"] == 100


def test_a_count_is_bounded_by_capacity_and_only_an_admin_may_force_it(client, network, db):
    lot_id = db.scalar(select(StockLot.id).where(StockLot.lot_no == "LOT-A1"))
    huge = {"lot_id": lot_id, "counted_quantity": 10**12, "reason": "count"}
    response = client.post("/api/v1/movements/adjustments", headers=network.headers("manager"), json=huge)
    assert response.status_code == 409 and "counted_quantity" in response.json["errors"]
    forced = client.post("/api/v1/movements/adjustments", headers=network.headers("manager"),
                         json={**huge, "force": True})
    assert forced.status_code == 403 and "force" in forced.json["errors"]
    assert lot_quantity(db, "LOT-A1") == 100
    fits = client.post("/api/v1/movements/adjustments", headers=network.headers("manager"),
                       json={**huge, "counted_quantity": 150})  # +10 m³ of 78.5 free
    assert fits.status_code == 201 and lot_quantity(db, "LOT-A1") == 150


def test_capacity_cannot_drop_below_stored_volume(client, network):
    etag = client.get("/api/v1/depots/DEP-A", headers=network.headers("admin")).headers["ETag"]
    response = client.patch("/api/v1/depots/DEP-A", headers=network.headers("admin", **{"If-Match": etag}),
                            json={"capacity_m3": 5})  # 100 tents = 20 m³ + 1.5 m³ water
    assert response.status_code == 422 and "capacity_m3" in response.json["errors"]


def test_lot_update_with_stale_etag_is_412(client, network, db):
    lot_id = db.scalar(select(StockLot.id).where(StockLot.lot_no == "LOT-A1"))
    etag = client.get(f"/api/v1/lots/{lot_id}", headers=network.headers("manager")).headers["ETag"]
    client.post("/api/v1/movements/issues", headers=network.headers("manager"),
                json={"depot": "DEP-A", "item": "1010101", "quantity": 1, "lot_id": lot_id})
    stale = client.patch(f"/api/v1/lots/{lot_id}", headers=network.headers("manager", **{"If-Match": etag}),
                         json={"note": "checked"})
    assert stale.status_code == 412
    fresh = client.get(f"/api/v1/lots/{lot_id}", headers=network.headers("manager")).headers["ETag"]
    ok = client.patch(f"/api/v1/lots/{lot_id}", headers=network.headers("manager", **{"If-Match": fresh}),
                      json={"note": "checked"})
    assert ok.status_code == 200 and ok.json["note"] == "checked"


def test_receiving_into_a_candidate_site_is_refused(client, network):
    response = client.post("/api/v1/movements/receipts", headers=network.headers("admin"), json={
        "depot": "DEP-C", "item": "1010101", "lot_no": "X", "quantity": 1})
    assert response.status_code == 409 and "depot" in response.json["errors"]

"""The views managers read: stock summaries, availability within H hours, alerts, history, lists."""

from __future__ import annotations

import datetime as dt

from reserve_service.inventory.tables import AgreementReserve, CapacityReserve, Item

TODAY = dt.date.today()


def add_reserves(db):
    water = db.query(Item).filter_by(code="1030101").one()
    db.add(AgreementReserve(code="AG-1", supplier="超市", item=water, committed_quantity=5000,
                            activation_lead_hours=4, valid_from=TODAY - dt.timedelta(days=10),
                            valid_to=TODAY + dt.timedelta(days=15)))
    db.add(AgreementReserve(code="AG-OLD", supplier="旧", item=water, committed_quantity=999,
                            activation_lead_hours=1, valid_from=TODAY - dt.timedelta(days=400),
                            valid_to=TODAY - dt.timedelta(days=1)))
    db.add(CapacityReserve(code="CP-1", producer="水厂", item=water, units_per_day=2400, lead_hours=6))
    db.commit()


def test_stock_summary_groups_and_totals(client, network):
    body = client.get("/api/v1/stock?group_by=depot,item", headers=network.headers("viewer")).json
    rows = {(r["depot"], r["item"]): r for r in body["rows"]}
    assert rows[("DEP-A", "1030101")]["quantity"] == 1500
    assert rows[("DEP-A", "1010101")]["volume_m3"] == 20.0
    assert body["totals"]["volume_m3"] == 21.5
    assert body["totals"]["weight_t"] == round((100 * 38 + 1500) / 1000, 3)


def test_stock_by_region_includes_the_subtree(client, network):
    body = client.get("/api/v1/stock?group_by=tier&region=341321000000", headers=network.headers("viewer")).json
    assert body["rows"] == []
    body = client.get("/api/v1/stock?group_by=tier&region=341300000000", headers=network.headers("viewer")).json
    assert [r["tier"] for r in body["rows"]] == ["county"]


def test_unknown_group_is_422(client, network):
    response = client.get("/api/v1/stock?group_by=colour", headers=network.headers("viewer"))
    assert response.status_code == 422 and "group_by.0" in response.json["errors"]


def test_availability_respects_lead_times(client, network, db):
    add_reserves(db)
    get = lambda h: {r["item"]: r for r in client.get(  # noqa: E731
        f"/api/v1/stock/availability?hours={h}", headers=network.headers("viewer")).json["items"]}
    two = get(2)["1030101"]
    assert (two["government"], two["agreement"], two["capacity"]) == (1500, 0, 0)
    ten = get(10)["1030101"]
    # the agreement (4 h) counts in full; the expired one never; capacity 2400/day for 4 h = 400
    assert (ten["government"], ten["agreement"], ten["capacity"], ten["total"]) == (1500, 5000, 400, 6900)


def test_availability_hours_must_be_positive(client, network):
    response = client.get("/api/v1/stock/availability?hours=0", headers=network.headers("viewer"))
    assert response.status_code == 422 and "hours" in response.json["errors"]


def test_below_norm_uses_tier_targets(client, network):
    body = client.get("/api/v1/alerts/below-norm?depot=DEP-A", headers=network.headers("viewer")).json
    alerts = {a["item"]: a for a in body["alerts"]}
    # county target 6,000 people: tents 0.33/person -> 1,980; water 3 L × 3 days -> 54,000
    assert alerts["1010101"]["norm"] == 1980 and alerts["1010101"]["shortfall"] == 1880
    assert alerts["1030101"]["norm"] == 54000 and alerts["1030101"]["quantity"] == 1500


def test_expiring_lots_in_fefo_order(client, network):
    body = client.get("/api/v1/alerts/expiring-lots?days=365", headers=network.headers("viewer")).json
    assert [lot["lot_no"] for lot in body["lots"]] == ["LOT-W1", "LOT-W2"]
    body = client.get("/api/v1/alerts/expiring-lots?days=30", headers=network.headers("viewer")).json
    assert [lot["lot_no"] for lot in body["lots"]] == ["LOT-W1"] and body["lots"][0]["days_left"] == 20


def test_expiring_agreements(client, network, db):
    add_reserves(db)
    body = client.get("/api/v1/alerts/expiring-agreements?days=30", headers=network.headers("viewer")).json
    assert {a["code"]: a["expired"] for a in body["agreements"]} == {"AG-OLD": True, "AG-1": False}


def test_movement_history_filters(client, network):
    headers = network.headers("manager")
    client.post("/api/v1/movements/issues", headers=headers,
                json={"depot": "DEP-A", "item": "1010101", "quantity": 3, "reference": "PLAN-7"})
    body = client.get("/api/v1/movements?depot=DEP-A&kind=issue", headers=headers).json
    assert body["total"] == 1 and body["items"][0]["reference"] == "PLAN-7"
    body = client.get("/api/v1/movements?item=1030101&sort=id", headers=headers).json
    assert body["total"] == 2 and [m["kind"] for m in body["items"]] == ["receipt", "receipt"]


def test_lists_paginate_filter_and_sort(client, network):
    headers = network.headers("viewer")
    page = client.get("/api/v1/depots?per_page=2&page=2&sort=-code", headers=headers).json
    assert page["total"] == 4 and page["pages"] == 2
    assert [d["code"] for d in page["items"]] == ["DEP-B", "DEP-A"]
    counties = client.get("/api/v1/depots?tier=county&status=operating", headers=headers).json
    assert {d["code"] for d in counties["items"]} == {"DEP-A", "DEP-B"}
    subtree = client.get("/api/v1/depots?region=341302000000", headers=headers).json
    assert {d["code"] for d in subtree["items"]} == {"DEP-A", "DEP-T"}
    bad = client.get("/api/v1/depots?sort=colour", headers=headers)
    assert bad.status_code == 422 and "sort" in bad.json["errors"]
    bad = client.get("/api/v1/depots?per_page=0", headers=headers)
    assert bad.status_code == 422 and "per_page" in bad.json["errors"]
    lots = client.get("/api/v1/lots?depot=DEP-A&expiring_within_days=30", headers=headers).json
    assert [lot["lot_no"] for lot in lots["items"]] == ["LOT-W1"]


def test_regions_items_and_reserves_read(client, network, db):
    add_reserves(db)
    headers = network.headers("viewer")
    towns = client.get("/api/v1/regions?parent=341302000000", headers=headers).json
    assert [r["name"] for r in towns["items"]] == ["埇桥街道"]
    assert client.get("/api/v1/regions/341399000000", headers=headers).status_code == 404
    assert client.get("/api/v1/items/1030101", headers=headers).json["norm_days"] == 3
    assert client.get("/api/v1/agreements", headers=headers).json["total"] == 2
    assert client.get("/api/v1/capacity-reserves", headers=headers).json["items"][0]["units_per_day"] == 2400


def test_admin_registers_an_agreement_with_a_valid_window(client, network):
    payload = {"code": "AG-9", "supplier": "某公司", "item": "1030101", "committed_quantity": 100,
               "activation_lead_hours": 4, "valid_from": "2026-01-01", "valid_to": "2025-01-01"}
    bad = client.post("/api/v1/agreements", headers=network.headers("admin"), json=payload)
    assert bad.status_code == 422 and "valid_to" in bad.json["errors"]
    ok = client.post("/api/v1/agreements", headers=network.headers("admin"),
                     json={**payload, "valid_to": "2027-01-01"})
    assert ok.status_code == 201 and ok.json["item"] == "1030101"


def test_the_docs_pages_load_their_assets_from_this_server(client):
    for page in ("/docs", "/swagger"):
        html = client.get(page).get_data(as_text=True)
        assert "cdn" not in html.lower() and "https://" not in html
        assert "/docs-assets/swagger-ui/swagger-ui-bundle.js" in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        response = client.get(f"/docs-assets/swagger-ui/{asset}")
        assert response.status_code == 200 and len(response.data) > 1000
    assert client.get("/docs-assets/swagger-ui/../../setup.py").status_code == 404

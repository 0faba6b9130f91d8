"""Bad input on the inventory endpoints: a 4xx problem naming the field, nothing written, never 500.

Each case is one of the reproductions that used to answer 500 (or store the input as is).
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from reserve_service.inventory.tables import Item, Movement, StockLot

HUGE = 100000000000000000000  # 10^20, beyond every database integer


def _problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.json)
    assert response.content_type == "application/problem+json"
    if field is not None:
        assert field in response.json["errors"], response.json
    return response.json


@pytest.mark.parametrize("path", [f"/api/v1/lots/{HUGE}", f"/api/v1/lots/{2**31}", "/api/v1/lots/0"])
def test_a_lot_id_beyond_the_integer_range_is_404(client, network, path):
    _problem(client.get(path, headers=network.headers("viewer")), 404)


@pytest.mark.parametrize("path", [f"/api/v1/depots?page={HUGE}", f"/api/v1/lots?page={HUGE}",
                                  f"/api/v1/movements?page={HUGE}", f"/api/v1/items?per_page={HUGE}"])
def test_a_page_beyond_the_integer_range_is_422(client, network, path):
    field = "per_page" if "per_page" in path else "page"
    _problem(client.get(path, headers=network.headers("viewer")), 422, field)


def test_a_far_page_inside_the_range_is_an_empty_page(client, network):
    response = client.get(f"/api/v1/depots?page={2**31 - 1}", headers=network.headers("viewer"))
    assert response.status_code == 200 and response.json["items"] == []


@pytest.mark.parametrize("path, body", [
    ("issues", {"depot": "DEP-A", "item": "1010101", "quantity": 1, "lot_id": HUGE}),
    ("adjustments", {"lot_id": HUGE, "counted_quantity": 1, "reason": "count"}),
    ("write-offs", {"lot_id": HUGE, "quantity": 1, "reason": "lost"}),
    ("rotations", {"lot_id": HUGE, "quantity_out": 1, "new_lot_no": "N", "new_quantity": 1}),
])
def test_a_lot_id_beyond_the_integer_range_in_a_movement_is_422(client, network, db, path, body):
    before = db.scalar(select(func.count(Movement.id)))
    _problem(client.post(f"/api/v1/movements/{path}", headers=network.headers("manager"), json=body),
             422, "lot_id")
    assert db.scalar(select(func.count(Movement.id))) == before


@pytest.mark.parametrize("path, field", [
    ("/api/v1/lots?expiring_within_days=7147639640", "expiring_within_days"),
    ("/api/v1/alerts/expiring-lots?days=7147639640", "days"),
    ("/api/v1/alerts/expiring-agreements?days=-1", "days"),
    ("/api/v1/stock/availability?hours=1e308", "hours"),
])
def test_day_counts_and_hours_are_bounded(client, network, path, field):
    _problem(client.get(path, headers=network.headers("viewer")), 422, field)


def test_a_nul_byte_in_a_lot_number_is_422_and_nothing_is_stored(client, network, db):
    response = client.post("/api/v1/movements/receipts", headers=network.headers("manager"), json={
        "depot": "DEP-A", "item": "1010101", "lot_no": "TENT\u00002026", "quantity": 1})
    body = _problem(response, 422, "lot_no")
    assert "NUL" in body["errors"]["lot_no"][0]
    assert db.scalar(select(func.count(StockLot.id)).where(StockLot.lot_no.like("TENT%"))) == 0


@pytest.mark.parametrize("field, value", [("reason", "flood\u0007"), ("depot", "DEP-A\u0000"),
                                          ("item", "\u001b[31m")])
def test_control_characters_are_refused_in_every_string_field(client, network, field, value):
    body = {"depot": "DEP-A", "item": "1010101", "quantity": 1, field: value}
    _problem(client.post("/api/v1/movements/issues", headers=network.headers("manager"), json=body),
             422, field)


def test_a_nul_byte_in_a_query_or_a_path_is_a_clean_4xx(client, network):
    assert client.get("/api/v1/lots?depot=DEP%00A", headers=network.headers("viewer")).status_code == 422
    for path in ("/api/v1/depots/DEP%00A", "/api/v1/items/10%0001"):
        response = client.get(path, headers=network.headers("viewer"))
        assert response.status_code == 422 and response.content_type == "application/problem+json"
        assert "_path" in response.json["errors"]


ITEM = {"code": "1099901", "name_zh": "测试", "name_en": "test", "unit": "个", "kg_per_unit": 1.0,
        "m3_per_unit": 0.01}


@pytest.mark.parametrize("field, value", [("kg_per_unit", 1e308), ("m3_per_unit", 1e6),
                                          ("norm_quantity", 1e300), ("shelf_life_days", 10**12),
                                          ("kg_per_unit", 0)])
def test_item_numbers_are_bounded_to_physical_ranges(client, network, db, field, value):
    _problem(client.post("/api/v1/items", headers=network.headers("admin"), json={**ITEM, field: value}),
             422, field)
    assert db.scalar(select(Item.id).where(Item.code == ITEM["code"])) is None


def test_views_stay_finite_after_the_largest_item_allowed(client, network):
    big = {**ITEM, "kg_per_unit": 100_000.0, "m3_per_unit": 1000.0, "norm_basis": "per_person",
           "norm_quantity": 10_000.0}
    assert client.post("/api/v1/items", headers=network.headers("admin"), json=big).status_code == 201
    for path in ("/api/v1/alerts/below-norm", "/api/v1/stock?group_by=item", "/api/v1/stock/availability"):
        response = client.get(path, headers=network.headers("viewer"))
        assert response.status_code == 200
        assert "Infinity" not in response.get_data(as_text=True) and "NaN" not in response.get_data(as_text=True)
    body = client.get("/api/v1/stock?group_by=item", headers=network.headers("viewer")).json
    assert all(math.isfinite(row["weight_t"]) for row in body["rows"])


@pytest.mark.parametrize("field, value", [("capacity_m3", 1e308), ("fixed_cost_yuan", 1e300),
                                          ("capacity_m3", -1)])
def test_depot_numbers_are_bounded(client, network, field, value):
    body = {"code": "DEP-N", "name": "N", "tier": "county", "region_adcode": "341302000000",
            "lat": 33.6, "lng": 117.0, field: value}
    _problem(client.post("/api/v1/depots", headers=network.headers("admin"), json=body), 422, field)


def test_region_population_beyond_the_integer_range_is_422(client, network):
    body = {"adcode": "341302002000", "name": "X", "level": "township", "parent_adcode": "341302000000",
            "population": HUGE}
    _problem(client.post("/api/v1/regions", headers=network.headers("admin"), json=body), 422, "population")

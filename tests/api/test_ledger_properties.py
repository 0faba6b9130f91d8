"""Random sequences of movements: balances stay equal to the ledger and never go negative."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from reserve_service.inventory.services import ledger_mismatches
from reserve_service.inventory.tables import StockLot

operation = st.one_of(
    st.tuples(st.just("receipt"), st.sampled_from(["DEP-A", "DEP-T", "DEP-B"]), st.integers(1, 40)),
    st.tuples(st.just("issue"), st.sampled_from(["DEP-A", "DEP-T", "DEP-B"]), st.integers(1, 60)),
    st.tuples(st.just("transfer"), st.sampled_from(["DEP-A", "DEP-T", "DEP-B"]), st.integers(1, 60)),
    st.tuples(st.just("count"), st.sampled_from(["DEP-A", "DEP-T", "DEP-B"]), st.integers(0, 80)),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operation, min_size=1, max_size=12))
def test_random_movements_keep_the_ledger_true(client, network, db, operations):
    headers = network.headers("admin")
    for kind, depot, quantity in operations:
        if kind == "receipt":
            response = client.post("/api/v1/movements/receipts", headers=headers, json={
                "depot": depot, "item": "1010101", "lot_no": f"P-{depot}", "quantity": quantity})
        elif kind == "issue":
            response = client.post("/api/v1/movements/issues", headers=headers,
                                   json={"depot": depot, "item": "1010101", "quantity": quantity})
        elif kind == "transfer":
            target = "DEP-B" if depot != "DEP-B" else "DEP-A"
            response = client.post("/api/v1/movements/transfers", headers=headers, json={
                "from_depot": depot, "to_depot": target, "item": "1010101", "quantity": quantity})
        else:
            lot_id = db.scalar(select(StockLot.id).join(StockLot.depot).where(
                StockLot.depot.has(code=depot)).order_by(StockLot.id).limit(1))
            if lot_id is None:
                continue
            response = client.post("/api/v1/movements/adjustments", headers=headers,
                                   json={"lot_id": lot_id, "counted_quantity": quantity, "reason": "count"})
        assert response.status_code in (201, 409), response.json
    assert ledger_mismatches(db) == []
    assert all(q >= 0 for q in db.scalars(select(StockLot.quantity)))

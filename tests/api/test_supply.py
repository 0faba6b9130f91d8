"""One supply snapshot and one relief norm.

``usable_supply`` on the small network: what is expired, lapsed or held by a depot that is not
operating counts nowhere, and the availability view shows exactly the snapshot. The relief
norm gives one township and one item the same need in every place that computes it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from reserve_service.config import DEFAULT_MODE_LEAD_HOURS, HOUSEHOLD_SIZE
from reserve_service.inventory.domain import ReliefNorm, norm_for_people
from reserve_service.inventory.norms import relief_need
from reserve_service.inventory.supply import lot_usable, usable_supply
from reserve_service.inventory.tables import (
    AgreementReserve,
    CapacityReserve,
    Depot,
    Item,
    StockLot,
)

TODAY = dt.date.today()


@pytest.fixture
def reserves(app, network):
    """Beside the fixture lots: water expired yesterday (LOT-W0), water expiring today (LOT-WT),
    tents at the candidate depot DEP-C (LOT-C1), a valid and a lapsed agreement, a valid and a
    lapsed capacity reserve."""
    with app.extensions["database"].writer_factory() as s:
        water = s.scalar(select(Item).where(Item.code == "1030101"))
        tent = s.scalar(select(Item).where(Item.code == "1010101"))
        dep_a = s.scalar(select(Depot).where(Depot.code == "DEP-A"))
        dep_c = s.scalar(select(Depot).where(Depot.code == "DEP-C"))
        s.add_all([
            StockLot(depot=dep_a, item=water, lot_no="LOT-W0", quantity=70, expires_on=TODAY - dt.timedelta(days=1)),
            StockLot(depot=dep_a, item=water, lot_no="LOT-WT", quantity=30, expires_on=TODAY),
            StockLot(depot=dep_c, item=tent, lot_no="LOT-C1", quantity=9),
            AgreementReserve(code="AG-OK", supplier="水厂", item=water, committed_quantity=400,
                             activation_lead_hours=6, valid_from=TODAY - dt.timedelta(days=10),
                             valid_to=TODAY + dt.timedelta(days=10), lat=33.6, lng=116.9),
            AgreementReserve(code="AG-OLD", supplier="旧厂", item=water, committed_quantity=999,
                             activation_lead_hours=6, valid_from=TODAY - dt.timedelta(days=100),
                             valid_to=TODAY - dt.timedelta(days=1)),
            CapacityReserve(code="CP-OK", producer="帐篷厂", item=tent, units_per_day=48, lead_hours=12),
            CapacityReserve(code="CP-OLD", producer="旧帐篷厂", item=tent, units_per_day=999, lead_hours=1,
                            valid_to=TODAY - dt.timedelta(days=1)),
        ])
        s.commit()


def test_only_what_is_usable_at_the_moment_counts(db, reserves):
    supply = usable_supply(db, TODAY, mode_lead_hours=DEFAULT_MODE_LEAD_HOURS)
    assert [lot.lot_no for lot in supply.lots if lot.item == "1030101"] == ["LOT-WT", "LOT-W1", "LOT-W2"]
    assert {lot.lot_no for lot in supply.lots} == {"LOT-A1", "LOT-WT", "LOT-W1", "LOT-W2"}
    assert [a.code for a in supply.agreements] == ["AG-OK"]
    assert [c.code for c in supply.capacities] == ["CP-OK"]
    assert supply.stock("1030101") == 30 + 1000 + 500
    assert all(lot.lead_hours == DEFAULT_MODE_LEAD_HOURS["government"] for lot in supply.lots)
    later = usable_supply(db, TODAY + dt.timedelta(days=21), mode_lead_hours=DEFAULT_MODE_LEAD_HOURS)
    assert [lot.lot_no for lot in later.lots if lot.item == "1030101"] == ["LOT-W2"]
    only = usable_supply(db, TODAY, mode_lead_hours=DEFAULT_MODE_LEAD_HOURS, modes=["agreement"])
    assert only.lots == () and only.capacities == () and len(only.agreements) == 1


def test_expiry_is_by_calendar_day_in_the_service_zone():
    day = dt.date(2026, 12, 2)
    assert lot_usable(day, dt.datetime(2026, 12, 2, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    assert not lot_usable(day, dt.datetime(2026, 12, 3, 0, 30))  # zone-less: Shanghai wall clock
    assert not lot_usable(day, dt.datetime(2026, 12, 2, 16, 30, tzinfo=dt.UTC))  # 00:30 on the 3rd
    assert lot_usable(None, dt.datetime(2099, 1, 1, tzinfo=dt.UTC))


def test_the_availability_view_shows_the_snapshot(client, network, reserves):
    body = client.get("/api/v1/stock/availability?hours=24", headers=network.headers("viewer")).json
    rows = {row["item"]: row for row in body["items"]}
    assert rows["1030101"]["government"] == 1530 and rows["1030101"]["agreement"] == 400
    assert rows["1010101"]["government"] == 100  # not the candidate depot's 9
    assert rows["1010101"]["capacity"] == 48 * (24 - 12) // 24


@pytest.mark.parametrize(("basis", "quantity", "days", "people", "expected"), [
    ("per_person", 0.33, None, 1000, 330),
    ("per_person", 0.33, None, 1001, 331),
    ("per_household", 1, None, 1000, 365),  # ceil(1000 / 2.74) households
    ("per_household", 0.5, None, 1000, 183),
    ("per_person_day", 3, 3, 100, 900),
    ("per_person_day", 3, None, 100, 300),  # the configured default: one day
    ("per_county", 10, None, 1000, 0),
    ("none", 0, None, 1000, 0),
])
def test_the_relief_norm(basis, quantity, days, people, expected):
    norm = ReliefNorm(basis, quantity, days)
    assert relief_need(norm, people, household_size=HOUSEHOLD_SIZE) == expected
    assert norm_for_people(norm, people, HOUSEHOLD_SIZE) == expected


def test_the_below_norm_alert_uses_the_norm(client, network):
    """DEP-A (county, 6,000 target people): water 3 L × 3 days × 6,000 = 54,000; tents 1,980."""
    alerts = client.get("/api/v1/alerts/below-norm?depot=DEP-A", headers=network.headers("viewer")).json
    rows = alerts if isinstance(alerts, list) else alerts.get("alerts", alerts.get("items", []))
    norms = {a["item"]: a["norm"] for a in rows}
    assert norms["1030101"] == relief_need(ReliefNorm("per_person_day", 3, 3), 6000, household_size=HOUSEHOLD_SIZE)
    assert norms["1010101"] == relief_need(ReliefNorm("per_person", 0.33), 6000, household_size=HOUSEHOLD_SIZE)


def test_the_snapshot_in_seed_columns_has_no_expired_lot(db, reserves):
    """What pre-positioning reads as today's stock: unexpired lots, valid located reserves."""
    tables = usable_supply(db, TODAY, mode_lead_hours=DEFAULT_MODE_LEAD_HOURS).as_seed_tables()
    assert {row["lot_no"] for row in tables["stock_lots.csv"]} == {"LOT-A1", "LOT-WT", "LOT-W1", "LOT-W2"}
    assert [row["code"] for row in tables["agreement_reserves.csv"]] == ["AG-OK"]
    assert tables["capacity_reserves.csv"] == []  # CP-OK has no location


def _prepositioning_instance(db, people):
    """The pre-positioning instance built from the service's tables, one scenario displacing
    ``people`` in the township."""
    from reserve_service.optimize import prepositioning as pp
    from reserve_service.optimize.prepositioning.scenarios import Scenario
    from reserve_service.optimize.prepositioning.service import tables
    from reserve_service.routing.service import road_graph

    graph, _ = road_graph(db, cache_key="test-supply")
    scenario = Scenario(id="S1", hazard="flood", probability=1.0, affected={"341302001000": people})
    return pp.instance_from_tables(tables(db), [scenario], graph, items=["1010101", "1030101"])


def test_prepositioning_needs_follow_the_one_relief_norm(db, roads):
    """1,001 displaced people: 331 tents (0.33 each, rounded up) and 9,009 L of water (3 L × 3
    days), the same as dispatch and the below-norm alert compute for that township."""
    instance = _prepositioning_instance(db, 1001)
    town = instance.region_ids.index("341302001000")
    need = dict(zip(instance.item_ids, instance.scenarios[0].need[town], strict=True))
    assert need["1010101"] == relief_need(ReliefNorm("per_person", 0.33), 1001,
                                          household_size=HOUSEHOLD_SIZE) == 331
    assert need["1030101"] == relief_need(ReliefNorm("per_person_day", 3, 3), 1001,
                                          household_size=HOUSEHOLD_SIZE) == 9009


def test_an_expired_lot_is_never_prepositioned_stock(db, roads, reserves):
    """DEP-A's water: LOT-WT (expires today) 30 + LOT-W1 1,000 + LOT-W2 500, never the 70 of
    LOT-W0 that expired yesterday; the candidate depot's tents are no start stock either."""
    agreement = db.scalar(select(AgreementReserve).where(AgreementReserve.code == "AG-OK"))
    agreement.lat, agreement.lng = 33.64, 116.98
    db.commit()  # the agreement's supplier next to DEP-A, on the tiny road network
    instance = _prepositioning_instance(db, 100)
    stock = {(d, i): instance.current_stock[k, j]
             for k, d in enumerate(instance.depot_ids) for j, i in enumerate(instance.item_ids)}
    assert stock[("DEP-A", "1030101")] == 30 + 1000 + 500
    assert stock[("DEP-A", "1010101")] == 100
    assert stock.get(("DEP-C", "1010101"), 0) == 0
    assert sum(stock.values()) == 100 + 1530

"""The 宿州 seed data loads whole and satisfies the ledger and population invariants."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from reserve_service.inventory.services import ledger_mismatches
from reserve_service.inventory.tables import Depot, Item, Region, StockLot
from reserve_service.seed import load_seed


def test_seed_loads_with_consistent_ledger(app, db):
    factory = app.extensions["database"].writer_factory
    with factory() as session:
        counts = load_seed(session)
        session.commit()
    assert counts["regions"] >= 100 and counts["depots"] >= 100 and 15 <= counts["items"] <= 25
    assert ledger_mismatches(db) == []
    city = db.scalar(select(Region).where(Region.level == "city"))
    counties = db.scalars(select(Region).where(Region.level == "county")).all()
    assert len(counties) == 5
    assert sum(c.population for c in counties) == city.population
    for county in counties:
        towns = db.scalar(select(func.sum(Region.population)).where(Region.parent_id == county.id))
        assert towns == county.population, county.name
    tiers = set(db.scalars(select(Depot.tier)))
    assert tiers == {"city", "county", "township", "community"}
    assert db.scalar(select(Depot.status).where(Depot.code == "SZ-CITY-NEW")) == "planned"
    assert all(len(code) == 7 for code in db.scalars(select(Item.code)))
    # dates are shifted to today: nothing has expired on the day the demo is loaded
    assert db.scalar(select(func.count()).where(StockLot.expires_on < dt.date.today())) == 0


def test_seed_fits_every_depot(app, db):
    factory = app.extensions["database"].writer_factory
    with factory() as session:
        load_seed(session)
        session.commit()
    used = dict(db.execute(
        select(StockLot.depot_id, func.sum(StockLot.quantity * Item.m3_per_unit))
        .join(Item, Item.id == StockLot.item_id).group_by(StockLot.depot_id)).all())
    for depot in db.scalars(select(Depot)):
        assert used.get(depot.id, 0) <= depot.capacity_m3 + 1e-6, depot.code

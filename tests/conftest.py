"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via TEST_DATABASE_URL), the app,
a client, tokens of every role, and a small named reserve network.

With pytest-xdist each worker gets its own database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from reserve_service import create_app, migrate
from reserve_service.auth import create_token
from reserve_service.db import transaction
from reserve_service.inventory.tables import Depot, Item, Movement, Region, StockLot
from reserve_service.metadata import target_metadata

TODAY = dt.date.today()


def _postgres_database(base_url: str, name: str) -> str:
    url = make_url(base_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id) -> str:
    """A freshly migrated database for this test worker."""
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        # one name per checkout and worker, so two checkouts on one server never share a database
        checkout = hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:8]
        url = _postgres_database(base, f"reserve_test_{checkout}_{worker_id}")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def graph_dir(tmp_path_factory) -> str:
    """Where this test worker's processes keep memory-mapped road networks."""
    return str(tmp_path_factory.mktemp("graphs"))


@pytest.fixture
def app(database_url, graph_dir):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "GRAPH_DIR": graph_dir})
    engine = app.extensions["database"].engine
    with engine.begin() as conn:
        for table in reversed(target_metadata.sorted_tables):
            conn.execute(table.delete())
    yield app
    engine.dispose()


def _refuse_constant(constant: str) -> None:
    raise AssertionError(f"{constant} in a JSON response body: NaN and Infinity are not JSON")


class StrictJsonClient(FlaskClient):
    """The test client, reading every JSON body it receives (``application/json``,
    ``problem+json``, ``geo+json``) as strict JSON: a NaN or an Infinity in any response fails
    the test whose request produced it, so the whole API suite walks every body it gets."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        if response.is_json or response.mimetype.endswith("+json"):
            json.loads(response.get_data(as_text=True), parse_constant=_refuse_constant)
        return response


@pytest.fixture
def client(app):
    app.test_client_class = StrictJsonClient
    return app.test_client()


@pytest.fixture
def db(app):
    """A session for checking what the service wrote: autocommit, so every query sees the
    latest committed state and no lock is held between requests."""
    engine = app.extensions["database"].engine.execution_options(isolation_level="AUTOCOMMIT")
    session = Session(bind=engine)
    yield session
    session.rollback()
    session.close()


@dataclass
class Network:
    """Two counties of one city, a county depot in each, a township point, two items."""

    tokens: dict[str, str]

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}


@pytest.fixture
def network(app) -> Network:
    """Small named network used by the API tests.

    Regions: city 341300000000 > county A 341302000000 > township 341302001000;
    county B 341321000000. Depots: DEP-A (county A, 100 m³), DEP-T (township, 10 m³),
    DEP-B (county B, 100 m³), DEP-C (candidate). Items: 1010101 tent (0.2 m³), 1030101
    water (0.001 m³, per_person_day 3 L × 3 days). Lots: tents 100 at DEP-A (LOT-A1),
    water 1000 at DEP-A expiring in 20 days (LOT-W1) and 500 expiring in 200 days (LOT-W2).
    Tokens: one per role; the manager is scoped to county A's subtree.
    """
    factory = app.extensions["database"].writer_factory
    with transaction(factory) as s:
        city = Region(adcode="341300000000", name="宿州市", level="city", population=1_000_000)
        county_a = Region(adcode="341302000000", name="埇桥区", level="county", parent=city,
                          population=600_000, lat=33.64, lng=116.98)
        town = Region(adcode="341302001000", name="埇桥街道", level="township", parent=county_a,
                      population=50_000, lat=33.65, lng=116.97)
        county_b = Region(adcode="341321000000", name="砀山县", level="county", parent=city,
                          population=400_000, lat=34.44, lng=116.37)
        tent = Item(code="1010101", name_zh="救灾帐篷", name_en="tent", unit="顶", kg_per_unit=38,
                    m3_per_unit=0.2, norm_basis="per_person", norm_quantity=0.33)
        water = Item(code="1030101", name_zh="瓶装水", name_en="water", unit="L", kg_per_unit=1,
                     m3_per_unit=0.001, shelf_life_days=365, norm_basis="per_person_day",
                     norm_quantity=3, norm_days=3)
        dep_a = Depot(code="DEP-A", name="A库", tier="county", region=county_a, lat=33.64, lng=116.98,
                      capacity_m3=100)
        dep_t = Depot(code="DEP-T", name="T点", tier="township", region=town, lat=33.65, lng=116.97,
                      capacity_m3=10)
        dep_b = Depot(code="DEP-B", name="B库", tier="county", region=county_b, lat=34.44, lng=116.37,
                      capacity_m3=100)
        dep_c = Depot(code="DEP-C", name="候选", tier="county", region=county_b, lat=34.4, lng=116.4,
                      status="candidate", capacity_m3=100, fixed_cost_yuan=1e6)
        s.add_all([city, county_a, town, county_b, tent, water, dep_a, dep_t, dep_b, dep_c])
        s.flush()
        for lot_no, item, qty, expires in (
            ("LOT-A1", tent, 100, None),
            ("LOT-W1", water, 1000, TODAY + dt.timedelta(days=20)),
            ("LOT-W2", water, 500, TODAY + dt.timedelta(days=200)),
        ):
            lot = StockLot(depot=dep_a, item=item, lot_no=lot_no, quantity=qty,
                           produced_on=TODAY - dt.timedelta(days=30), expires_on=expires)
            s.add(lot)
            s.add(Movement(kind="receipt", lot=lot, depot=dep_a, item=item, quantity=qty,
                           balance_after=qty, actor="fixture", group_id="fixture"))
        tokens = {role: create_token(s, f"test-{role}", role,
                                     county_a.id if role == "manager" else None)
                  for role in ("admin", "planner", "dispatcher", "manager", "viewer")}
    return Network(tokens)


TINY_NODES = "id,lat,lng\na,33.64,116.98\nt,33.65,116.97\nm,34.04,116.67\nb,34.44,116.37\nc,34.40,116.40\n"
TINY_EDGES = ("id,u,v,length_m,road_class,speed_kmh,toll,toll_plaza,name,ref\n"
              "0,a,t,1000,county,50,0,0,X001,X001\n"
              "1,a,m,60000,national,60,0,0,G343,G343\n"
              "2,m,b,60000,national,60,0,0,G343,G343\n"
              "3,a,b,80000,expressway,100,1,1,京台高速,G3\n"
              "4,b,c,6000,county,50,0,0,X002,X002\n")


@pytest.fixture
def roads(app, network) -> Network:
    """The small network plus four road nodes whose answers are worked out by hand.

        a (DEP-A) ── county 1 km ── t (DEP-T, township 341302001000)
        a ── national 60 km ── m ── national 60 km ── b (DEP-B, county 341321000000)
        a ══ expressway 80 km, toll, toll plaza ══ b ── county 6 km ── c (candidate DEP-C)

    relief_truck: expressway 80 km/h, national 60, county 50 → a→b 1.0 h by expressway,
    toll-free; public_truck: same speeds but pays 1.10 yuan/km and queues 10 min.
    """
    from reserve_service.routing.service import store_network

    with app.extensions["database"].writer_factory() as session:
        store_network(session, "tiny", TINY_NODES, TINY_EDGES)
        session.commit()
    return network

"""A live server for contract tests: a fresh SQLite database with a small seed, served over real
HTTP by werkzeug on a free port of 127.0.0.1, in a background thread.

Also runnable by hand to explore: ``python -m tests.contract.live PORT`` prints the URL and tokens
and serves until interrupted.
"""

from __future__ import annotations

import datetime as dt
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import make_server

from reserve_service import create_app, migrate
from reserve_service.auth import create_token
from reserve_service.db import transaction
from reserve_service.inventory.tables import Depot, Item, Movement, Region, StockLot
from reserve_service.routing.service import store_network
from tests.conftest import TINY_EDGES, TINY_NODES

ROLES = ("admin", "planner", "dispatcher", "manager", "viewer")


@dataclass
class LiveServer:
    url: str
    tokens: dict[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed_small(factory) -> dict[str, str]:
    """Two counties and a township, four depots, two items, three lots, the tiny road network
    of ``tests/conftest.py``; returns a token per role (the manager's scope is county A)."""
    today = dt.date.today()
    with transaction(factory) as s:
        city = Region(adcode="341300000000", name="宿州市", level="city", population=1_000_000)
        county_a = Region(adcode="341302000000", name="埇桥区", level="county", parent=city,
                          population=600_000, lat=33.64, lng=116.98)
        town = Region(adcode="341302001000", name="埇桥街道", level="township", parent=county_a,
                      population=50_000, households=18_000, lat=33.65, lng=116.97)
        county_b = Region(adcode="341321000000", name="砀山县", level="county", parent=city,
                          population=400_000, lat=34.44, lng=116.37)
        town_b = Region(adcode="341321001000", name="砀城镇", level="township", parent=county_b,
                        population=30_000, households=11_000, lat=34.43, lng=116.36)
        tent = Item(code="1010101", name_zh="救灾帐篷", name_en="tent", unit="顶", kg_per_unit=38,
                    m3_per_unit=0.2, norm_basis="per_person", norm_quantity=0.33)
        water = Item(code="1030101", name_zh="瓶装水", name_en="water", unit="L", kg_per_unit=1,
                     m3_per_unit=0.001, shelf_life_days=365, norm_basis="per_person_day",
                     norm_quantity=3, norm_days=3)
        dep_a = Depot(code="DEP-A", name="A库", tier="county", region=county_a, lat=33.64,
                      lng=116.98, capacity_m3=100)
        dep_t = Depot(code="DEP-T", name="T点", tier="township", region=town, lat=33.65,
                      lng=116.97, capacity_m3=10)
        dep_b = Depot(code="DEP-B", name="B库", tier="county", region=county_b, lat=34.44,
                      lng=116.37, capacity_m3=100)
        dep_c = Depot(code="DEP-C", name="候选", tier="county", region=county_b, lat=34.4,
                      lng=116.4, status="candidate", capacity_m3=100, fixed_cost_yuan=1e6)
        s.add_all([city, county_a, town, county_b, town_b, tent, water, dep_a, dep_t, dep_b, dep_c])
        s.flush()
        for lot_no, depot, item, qty, expires in (
            ("LOT-A1", dep_a, tent, 100, None),
            ("LOT-W1", dep_a, water, 1000, today + dt.timedelta(days=20)),
            ("LOT-W2", dep_b, water, 500, today + dt.timedelta(days=200)),
        ):
            lot = StockLot(depot=depot, item=item, lot_no=lot_no, quantity=qty,
                           produced_on=today - dt.timedelta(days=30), expires_on=expires)
            s.add(lot)
            s.add(Movement(kind="receipt", lot=lot, depot=depot, item=item, quantity=qty,
                           balance_after=qty, actor="seed", group_id="seed"))
        tokens = {role: create_token(s, f"contract-{role}", role,
                                     county_a.id if role == "manager" else None)
                  for role in ROLES}
        store_network(s, "tiny", TINY_NODES, TINY_EDGES)
    return tokens


@contextmanager
def live_server(folder: Path, port: int | None = None) -> Iterator[LiveServer]:
    """Migrate and seed a database under ``folder``, serve it (on ``port``, default a free one),
    stop the server afterwards."""
    url = f"sqlite:///{folder / 'contract.db'}"
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url, "JOB_WORKERS": 1})
    tokens = seed_small(app.extensions["database"].writer_factory)
    port = port or _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", tokens)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["database"].engine.dispose()


if __name__ == "__main__":
    import sys

    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp), int(sys.argv[1])) as live:
        print(live.url, flush=True)
        for role, token in live.tokens.items():
            print(role, token, flush=True)
        threading.Event().wait()

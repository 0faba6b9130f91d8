"""Concurrent writers against a real gunicorn server: no lost update, never negative, no 5xx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from reserve_service.config import PROJECT_ROOT
from reserve_service.inventory.services import ledger_mismatches
from reserve_service.inventory.tables import StockLot

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(database_url, network):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "4", "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(f"{base}/health", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"server did not start: {process.stderr.read().decode()[-2000:]}")
    yield base
    process.terminate()
    process.wait(timeout=30)  # four workers exiting on a loaded 2-core machine take over 10 s


def test_32_threads_issuing_from_one_lot(live_server, network, db):
    lot = db.scalar(select(StockLot).where(StockLot.lot_no == "LOT-A1"))
    start = lot.quantity  # 100 tents; 32 × 5 = 160 requested
    headers = network.headers("manager")

    def issue(_):
        return requests.post(f"{live_server}/api/v1/movements/issues", headers=headers, timeout=60,
                             json={"depot": "DEP-A", "item": "1010101", "quantity": 5, "lot_id": lot.id})

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = [r.status_code for r in pool.map(issue, range(32))]
    assert all(s in (201, 409) for s in statuses), statuses
    accepted = statuses.count(201)
    final = db.scalar(select(StockLot.quantity).where(StockLot.id == lot.id))
    assert final == start - 5 * accepted
    assert final >= 0 and accepted == start // 5
    assert ledger_mismatches(db) == []


def test_concurrent_retries_with_one_idempotency_key_book_once(live_server, network, db):
    lot_id = db.scalar(select(StockLot.id).where(StockLot.lot_no == "LOT-W2"))
    headers = network.headers("manager", **{"Idempotency-Key": "truck-17-load"})

    def issue(_):
        return requests.post(f"{live_server}/api/v1/movements/issues", headers=headers, timeout=60,
                             json={"depot": "DEP-A", "item": "1030101", "quantity": 7, "lot_id": lot_id})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(issue, range(8)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    assert len({r.json()["group_id"] for r in responses}) == 1
    assert db.scalar(select(StockLot.quantity).where(StockLot.id == lot_id)) == 500 - 7

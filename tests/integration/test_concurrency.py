"""Concurrent writers against a real gunicorn server: no lost update, never negative, no 5xx."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from reserve_service.config import PROJECT_ROOT
from reserve_service.inventory.services import ledger_mismatches
from reserve_service.inventory.tables import StockLot
from tests.conftest import TODAY

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """One gunicorn for the module (starting it costs seconds on a busy machine).

    Its stderr (a JSON access line per request) goes to a file: a pipe nobody reads fills
    after a few hundred requests, and then every worker blocks writing its log line."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    log_path = tmp_path_factory.mktemp("gunicorn") / "stderr.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "4", "--threads", "4",
             "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail(f"server did not start: {log_path.read_text(errors='replace')[-2000:]}")
        yield base
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, time for gunicorn's own graceful stop (30 s) on a busy machine, then SIGKILL
    the whole session, workers included."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture
def live_server(server, network):
    """The module's server, with the small network loaded for this test."""
    return server


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


def _post(base: str, headers: dict[str, str], path: str, body: dict) -> requests.Response:
    return requests.post(f"{base}/api/v1/movements/{path}", headers=headers, json=body, timeout=120)


def _lot_id(db, lot_no: str, depot: str = "DEP-A") -> int:
    from reserve_service.inventory.tables import Depot

    return db.scalar(select(StockLot.id).join(Depot, Depot.id == StockLot.depot_id)
                     .where(StockLot.lot_no == lot_no, Depot.code == depot))


def _set_capacity(base: str, headers: dict[str, str], depot: str, m3: float) -> None:
    etag = requests.get(f"{base}/api/v1/depots/{depot}", headers=headers, timeout=30).headers["ETag"]
    response = requests.patch(f"{base}/api/v1/depots/{depot}", headers={**headers, "If-Match": etag},
                              json={"capacity_m3": m3}, timeout=30)
    assert response.status_code == 200, response.text


def test_receipt_and_issue_on_one_lot_never_deadlock(live_server, network, db):
    """The deadlock of PostgreSQL: a receipt locked the depot, then the lot; an issue held the
    lot, then its ledger line's foreign key waited on the depot. Two clients, many rounds."""
    admin = network.headers("admin")
    lot_id = _lot_id(db, "LOT-W2")
    produced = (TODAY - dt.timedelta(days=30)).isoformat()
    expires = (TODAY + dt.timedelta(days=200)).isoformat()
    receipt = {"depot": "DEP-A", "item": "1030101", "lot_no": "LOT-W2", "quantity": 3,
               "produced_on": produced, "expires_on": expires}
    issue = {"depot": "DEP-A", "item": "1030101", "quantity": 2, "lot_id": lot_id}
    rounds = 40
    barrier = threading.Barrier(2)

    def client(kind: str) -> list[int]:
        statuses = []
        for _ in range(rounds):
            barrier.wait(timeout=60)
            if kind == "receipt":
                statuses.append(_post(live_server, admin, "receipts", receipt).status_code)
            else:
                statuses.append(_post(live_server, admin, "issues", issue).status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=2) as pool:
        received, issued = pool.map(client, ["receipt", "issue"])
    assert received == [201] * rounds and issued == [201] * rounds
    assert db.scalar(select(StockLot.quantity).where(StockLot.id == lot_id)) == 500 + rounds * (3 - 2)
    assert ledger_mismatches(db) == []


def test_eight_issues_take_the_next_lot_instead_of_refusing(live_server, network, db):
    """Lot A holds 10 and expires first, lot B 1,000: eight 10-unit issues at once all succeed."""
    admin = network.headers("admin")
    _set_capacity(live_server, admin, "DEP-A", 1000)
    for lot_no, count in (("LOT-W1", 10), ("LOT-W2", 1000)):
        assert _post(live_server, admin, "adjustments", {
            "lot_id": _lot_id(db, lot_no), "counted_quantity": count, "reason": "count"}).status_code == 201

    def issue(_):
        return _post(live_server, admin, "issues", {"depot": "DEP-A", "item": "1030101", "quantity": 10})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(issue, range(8)))
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses if r.status_code != 201]
    assert db.scalar(select(StockLot.quantity).where(StockLot.lot_no == "LOT-W1")) == 0
    assert db.scalar(select(StockLot.quantity).where(StockLot.lot_no == "LOT-W2")) == 1000 - 70
    assert ledger_mismatches(db) == []


def test_64_writers_mixing_every_movement_kind_on_one_depot(live_server, network, db):
    """Receipts, issues, transfers both ways, counts, rotations and write-offs on one depot and
    a few lots, 64 clients at once for a bounded time. Stock is ample everywhere, so every
    refusal would be false: all must be 201, no 5xx, and every lot equals its ledger."""
    admin = network.headers("admin")
    _set_capacity(live_server, admin, "DEP-A", 10_000)
    produced = (TODAY - dt.timedelta(days=1)).isoformat()
    later = (TODAY + dt.timedelta(days=400)).isoformat()
    assert _post(live_server, admin, "adjustments", {
        "lot_id": _lot_id(db, "LOT-W2"), "counted_quantity": 50_000, "reason": "count"}).status_code == 201
    assert _post(live_server, admin, "receipts", {
        "depot": "DEP-T", "item": "1030101", "lot_no": "T-1", "quantity": 2000}).status_code == 201
    assert _post(live_server, admin, "receipts", {
        "depot": "DEP-A", "item": "1030101", "lot_no": "C-1", "quantity": 100}).status_code == 201
    counted_lot, rotated_lot, written_lot = _lot_id(db, "C-1"), _lot_id(db, "LOT-W1"), _lot_id(db, "LOT-W2")
    kinds = [
        ("receipts", lambda i: {"depot": "DEP-A", "item": "1030101", "lot_no": f"R-{i % 3}", "quantity": 5}),
        ("issues", lambda i: {"depot": "DEP-A", "item": "1030101", "quantity": 3}),
        ("transfers", lambda i: {"from_depot": "DEP-A", "to_depot": "DEP-T", "item": "1030101", "quantity": 2}),
        ("transfers", lambda i: {"from_depot": "DEP-T", "to_depot": "DEP-A", "item": "1030101", "quantity": 2}),
        ("adjustments", lambda i: {"lot_id": counted_lot, "counted_quantity": 20 + i, "reason": "count"}),
        ("rotations", lambda i: {"lot_id": rotated_lot, "quantity_out": 1, "new_lot_no": f"ROT-{i % 2}",
                                 "new_quantity": 1, "new_produced_on": produced, "new_expires_on": later}),
        ("write-offs", lambda i: {"lot_id": written_lot, "quantity": 1, "reason": "damaged"}),
    ]
    writers, per_writer, deadline = 64, 5, time.monotonic() + 40

    def writer(index: int) -> list[tuple[str, int, str]]:
        path, body = kinds[index % len(kinds)]
        out = []
        for n in range(per_writer):
            if time.monotonic() > deadline:
                break
            response = _post(live_server, admin, path, body(index + n))
            out.append((path, response.status_code, response.text[:300]))
        return out

    with ThreadPoolExecutor(max_workers=writers) as pool:
        results = [r for rs in pool.map(writer, range(writers)) for r in rs]
    refused = [r for r in results if r[1] != 201]
    assert refused == [], refused[:5]
    assert len(results) >= writers  # every writer got at least one request through in time
    assert db.scalar(select(func.min(StockLot.quantity))) >= 0
    assert ledger_mismatches(db) == []

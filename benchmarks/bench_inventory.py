"""Ledger throughput and latency against a real gunicorn server, on SQLite and PostgreSQL.

For each database and each number of concurrent clients, every client books alternating
receipts and issues (so stock stays positive) for a fixed wall time. The peer figure is the
same server answering GET /health with the same clients: the HTTP + WSGI floor, so the ratio
shows what the ledger itself costs.

    python benchmarks/bench_inventory.py [--seconds 10] [--clients 1 8 32] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reserve_service import create_app, migrate  # noqa: E402
from reserve_service.auth import create_token  # noqa: E402
from reserve_service.seed import load_seed  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def prepare(url: str) -> str:
    """Migrate, seed and return an admin token."""
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    with app.extensions["database"].writer_factory() as session:
        load_seed(session)
        token = create_token(session, "bench", "admin")
        session.commit()
    app.extensions["database"].engine.dispose()
    return token


def fresh_postgres(base: str) -> str | None:
    url = make_url(base)
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "reserve_bench" WITH (FORCE)'))
            conn.execute(text('CREATE DATABASE "reserve_bench"'))
        admin.dispose()
    except Exception as exc:  # no server: skip that row
        print(f"# PostgreSQL unavailable ({type(exc).__name__}); skipping", file=sys.stderr)
        return None
    return url.set(database="reserve_bench").render_as_string(hide_password=False)


def serve(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", "8",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(f"{base}/health", timeout=2)
            return process, base
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def load(base: str, token: str, clients: int, seconds: float, ledger: bool) -> tuple[int, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        depot = ["SZ-341302", "SZ-341321", "SZ-341322", "SZ-341323", "SZ-341324"][index % 5]
        mine, n = [], 0
        while time.perf_counter() < stop:
            started = time.perf_counter()
            if not ledger:
                response = session.get(f"{base}/health")
            elif n % 2 == 0:
                response = session.post(f"{base}/api/v1/movements/receipts", json={
                    "depot": depot, "item": "1030101", "lot_no": f"BENCH-{index}", "quantity": 10})
            else:
                response = session.post(f"{base}/api/v1/movements/issues", json={
                    "depot": depot, "item": "1030101", "quantity": 10})
            if response.status_code >= 500:
                raise RuntimeError(response.text)
            mine.append(time.perf_counter() - started)
            n += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    args = parser.parse_args()

    databases = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.db")]
    pg = fresh_postgres(args.pg)
    if pg:
        databases.append(("postgresql", pg))
    print("| database | clients | movements/s | p50 ms | p95 ms | peer GET /health req/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, url in databases:
        token = prepare(url)
        process, base = serve(url, args.workers)
        try:
            for clients in args.clients:
                count, latencies = load(base, token, clients, args.seconds, ledger=True)
                peer, _ = load(base, token, clients, args.seconds / 2, ledger=False)
                rate, peer_rate = count / args.seconds, peer / (args.seconds / 2)
                q = statistics.quantiles(latencies, n=20)
                print(f"| {name} | {clients} | {rate:.0f} | {statistics.median(latencies) * 1000:.1f} "
                      f"| {q[18] * 1000:.1f} | {peer_rate:.0f} | {rate / peer_rate:.2f} |", flush=True)
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()

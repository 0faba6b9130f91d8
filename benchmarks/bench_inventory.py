"""Ledger throughput and latency against a real gunicorn server, on SQLite and PostgreSQL,
beside pgbench's TPC-B on the same PostgreSQL server in the same run; and a 100,000-row
stock-count import.

For each database and each number of concurrent clients, every client books alternating
receipts and issues (so stock stays positive) for a fixed wall time. The peer is pgbench
(`pgbench -i` into its own database, TPC-B, the same client counts and time), so the ratio is
movements/s ÷ TPC-B tps; GET /health with the same clients is shown too (the HTTP floor).
The import: 100,000 rows (new lots spread over the seed depots) validated (dry run) and
imported over HTTP, while one client keeps booking receipts; its slowest receipt shows how
long the import held other writers up.

    python benchmarks/bench_inventory.py [--seconds 10] [--clients 8 32] [--pg URL] [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
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


def fresh_postgres(base: str, name: str = "reserve_bench") -> str | None:
    url = make_url(base)
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # no server: skip that row
        print(f"# PostgreSQL unavailable ({type(exc).__name__}); skipping", file=sys.stderr)
        return None
    return url.set(database=name).render_as_string(hide_password=False)


def pgbench_tps(base: str, clients: int, seconds: float) -> float | None:
    """TPC-B tps of pgbench on the same server, in its own freshly initialised database."""
    if shutil.which("pgbench") is None or fresh_postgres(base, "reserve_pgbench") is None:
        return None
    url = make_url(base)
    conn = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    subprocess.run(["pgbench", "-i", "-q", *conn, "reserve_pgbench"], env=env, check=True,
                   capture_output=True)
    out = subprocess.run(["pgbench", *conn, "-c", str(clients), "-j", str(min(clients, 4)), "-T",
                          str(max(int(seconds), 1)), "-n", "reserve_pgbench"], env=env, check=True,
                         capture_output=True, text=True).stdout
    found = re.search(r"tps = ([0-9.]+)", out)
    return float(found.group(1)) if found else None


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


def import_timing(base: str, token: str, rows: int) -> tuple[float, float, float]:
    """Seconds for a dry run and for the import of ``rows`` new lots, and the slowest receipt
    another client booked meanwhile."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    depots = [r["code"] for r in requests.get(f"{base}/api/v1/depots?status=operating&per_page=1000",
                                              headers=headers, timeout=60).json()["items"]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["depot", "item", "lot_no", "mode", "counted_quantity"])
    for n in range(rows):
        writer.writerow([depots[n % len(depots)], "1030101", f"COUNT-{n}", "government", 1 + n % 7])
    body = out.getvalue().encode()
    started = time.perf_counter()
    dry = requests.post(f"{base}/api/v1/stock-counts/import?dry_run=true&force=true", data=body,
                        headers=headers, timeout=600)
    dry_s = time.perf_counter() - started
    if dry.status_code != 200:
        raise RuntimeError(dry.text[:500])
    slowest = [0.0]
    stop = threading.Event()

    def receipts() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        while not stop.is_set():
            t0 = time.perf_counter()
            session.post(f"{base}/api/v1/movements/receipts", timeout=120, json={
                "depot": depots[0], "item": "1030101", "lot_no": "DURING-IMPORT", "quantity": 1})
            slowest[0] = max(slowest[0], time.perf_counter() - t0)
            time.sleep(0.05)

    other = threading.Thread(target=receipts)
    other.start()
    started = time.perf_counter()
    done = requests.post(f"{base}/api/v1/stock-counts/import?force=true", data=body, headers=headers,
                         timeout=600)
    import_s = time.perf_counter() - started
    stop.set()
    other.join()
    if done.status_code != 201:
        raise RuntimeError(done.text[:500])
    return dry_s, import_s, slowest[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    args = parser.parse_args()

    print(f"# load before the run: {os.getloadavg()[0]:.1f} (1-min average, {os.cpu_count()} cores)")
    databases = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.db")]
    pg = fresh_postgres(args.pg)
    if pg:
        databases.append(("postgresql", pg))
    imports = []
    print("| database | clients | movements/s | p50 ms | p95 ms | pgbench TPC-B tps | ratio | "
          "GET /health req/s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, url in databases:
        token = prepare(url)
        process, base = serve(url, args.workers)
        try:
            for clients in args.clients:
                count, latencies = load(base, token, clients, args.seconds, ledger=True)
                peer, _ = load(base, token, clients, args.seconds / 2, ledger=False)
                tps = pgbench_tps(args.pg, clients, args.seconds) if pg else None
                rate, peer_rate = count / args.seconds, peer / (args.seconds / 2)
                q = statistics.quantiles(latencies, n=20)
                ratio = f"{rate / tps:.2f}" if tps else "n/a"
                print(f"| {name} | {clients} | {rate:.0f} | {statistics.median(latencies) * 1000:.1f} "
                      f"| {q[18] * 1000:.1f} | {tps or 0:.0f} | {ratio} | {peer_rate:.0f} |", flush=True)
            if args.rows:
                imports.append((name, *import_timing(base, token, args.rows)))
        finally:
            process.terminate()
            process.wait()
    print("\n| database | rows | validate (dry run) s | import s | slowest receipt during import s |")
    print("|---|---|---|---|---|")
    for name, dry_s, import_s, slowest in imports:
        print(f"| {name} | {args.rows} | {dry_s:.1f} | {import_s:.1f} | {slowest:.2f} |")
    print(f"# load after the run: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

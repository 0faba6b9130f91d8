"""Jobs and shared graphs, measured against their peers in the same run.

``--part graph``: cold start (tables → RoadGraph → first matrix answer) and memory of each of
N processes holding the network, for the 宿州 seed network and a generated grid: every process
parsing the CSV text (the old way, the peer) against every process mapping the stored
``.npy`` columns. RSS counts shared pages in full in every process; PSS splits them.

``--part queue``: queue latency (created → started) and throughput of real siting runs on the
seed data: the in-process runner (one web process) as the peer, RQ with 1 and with 2 workers.

``--part load``: 32 clients booking stock movements against gunicorn for a fixed time, alone
(the peer) and while 20 siting jobs run on 2 RQ workers; no 5xx allowed; p50/p95 reported.

    python benchmarks/bench_jobs.py [--part graph queue load] [--grid 500] [--processes 3]
        [--jobs 10] [--seconds 20] [--database-url URL] [--redis-url URL]

Redis at 127.0.0.1:6379 (own queue name); ports 8105 (gunicorn). Timings on a shared 2-core
machine are inflated by whatever else runs; compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reserve_service import create_app, migrate  # noqa: E402
from reserve_service.auth import create_token  # noqa: E402
from reserve_service.jobs import Job  # noqa: E402
from reserve_service.routing import loaders, store  # noqa: E402
from reserve_service.routing.graph import RoadGraph  # noqa: E402
from reserve_service.routing.service import store_network  # noqa: E402
from reserve_service.seed import is_empty, load_seed  # noqa: E402

SEED_ROADS = ROOT / "seed_data" / "roads"
SITING = {"model": "p_median", "p": 6, "keep_open_tiers": ["county"], "candidate_tiers": ["city"]}
PORT = 8105

# -- part graph --------------------------------------------------------------------------------

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from reserve_service.routing import loaders, store
from reserve_service.routing.graph import RoadGraph
mode, source = sys.argv[2], sys.argv[3]
t1 = time.perf_counter()
arcs = None
if mode == "csv":
    tables = loaders.read_csv(source + "/nodes.csv", source + "/edges.csv")
else:
    tables, arcs = store.load(source), store.load_arcs(source)
t2 = time.perf_counter()
graph = RoadGraph(tables, arcs=arcs)
t3 = time.perf_counter()
graph.travel_time_matrix([tables.node_ids[0]], [tables.node_ids[-1]])
t4 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "tables": t2 - t1, "graph": t3 - t2, "first_query": t4 - t3}), flush=True)
sys.stdin.read()
"""


def grid_network(side: int, folder: Path) -> Path:
    """A side × side grid of county roads with a national road every 10th row and column."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "nodes.csv", "w") as out:
        out.write("id,lat,lng\n")
        for r in range(side):
            out.writelines(f"{r * side + c},{33.0 + r * 0.004:.5f},{116.0 + c * 0.004:.5f}\n" for c in range(side))
    with open(folder / "edges.csv", "w") as out:
        out.write("id,u,v,length_m,road_class,speed_kmh\n")
        edge = 0
        for r in range(side):
            for c in range(side):
                n = r * side + c
                for m, major in ((n + 1, r % 10 == 0), (n + side, c % 10 == 0)):
                    if (m == n + 1 and c + 1 == side) or m >= side * side:
                        continue
                    cls, speed = ("national", 60) if major else ("county", 40)
                    out.write(f"{edge},{n},{m},{440 if m == n + side else 370},{cls},{speed}\n")
                    edge += 1
    return folder


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and anonymous memory of a process, MB (from /proc)."""
    figures: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Rss", "Pss", "Anonymous"):
            figures[key] = int(value.split()[0]) / 1024
    return figures


def graph_processes(mode: str, source: Path, processes: int) -> list[dict[str, float]]:
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), mode, str(source)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                for _ in range(processes)]
    rows = []
    for child in children:
        rows.append(json.loads(child.stdout.readline()))
    for child, row in zip(children, rows, strict=True):
        row.update(memory(child.pid))
    for child in children:
        child.stdin.close()
        child.wait()
    return rows


def part_graph(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-graph-"))
    networks = [("宿州 seed", SEED_ROADS)]
    if args.grid:
        started = time.perf_counter()
        networks.append((f"grid {args.grid}×{args.grid}", grid_network(args.grid, work / "grid")))
        print(f"# generated the grid in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(f"\n### Graph cold start and memory, {args.processes} processes at once (mean per process)\n")
    print("| network | nodes | edges | storage | tables s | RoadGraph s | first matrix s | cold start s "
          "| RSS MB | PSS MB | anon MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, source in networks:
        tables = loaders.read_csv(source / "nodes.csv", source / "edges.csv")
        arcs = RoadGraph(tables).arc_arrays()
        started = time.perf_counter()
        folder = store.save(work / f"store-{uuid.uuid4().hex[:6]}", tables, arcs)
        saved = time.perf_counter() - started
        counts = (len(tables.node_ids), len(tables.u))
        del tables, arcs
        for storage, mode, where in (("CSV text per process", "csv", source),
                                     ("shared .npy, mmap", "mmap", folder)):
            rows = graph_processes(mode, where, args.processes)

            def mean(key: str, rows: list[dict[str, float]] = rows) -> float:
                return statistics.fmean(r[key] for r in rows)

            cold = mean("tables") + mean("graph") + mean("first_query")
            print(f"| {label} | {counts[0]:,} | {counts[1]:,} | {storage} | {mean('tables'):.2f} | {mean('graph'):.2f} "
                  f"| {mean('first_query'):.2f} | {cold:.2f} | {mean('Rss'):.0f} | {mean('Pss'):.0f} "
                  f"| {mean('Anonymous'):.0f} |", flush=True)
        print(f"| {label} | | | (writing the .npy store once: {saved:.2f} s) | | | | | | | |")


# -- parts queue and load ----------------------------------------------------------------------

def prepare_database(url: str | None, work: Path) -> str:
    """A migrated database with the seed data and the seed road network."""
    url = url or f"sqlite:///{work / 'bench.db'}"
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url, "GRAPH_DIR": str(work / "graphs")})
    with app.extensions["database"].writer_factory() as session:
        if is_empty(session):
            load_seed(session)
            store_network(session, "seed", (SEED_ROADS / "nodes.csv").read_text(),
                          (SEED_ROADS / "edges.csv").read_text())
            session.commit()
    app.extensions["database"].engine.dispose()
    return url


def service_env(url: str, work: Path, redis_url: str | None, queue: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "GRAPH_DIR": str(work / "graphs"), "RQ_QUEUE": queue,
           "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def start_workers(count: int, env: dict[str, str], queue: str) -> list[subprocess.Popen]:
    from redis import Redis
    from rq import Queue, Worker

    names = [f"{queue}-w{i}" for i in range(count)]
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--name", name],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True) for name in names]
    connection = Redis.from_url(env["REDIS_URL"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if set(names) <= {w.name for w in Worker.all(queue=Queue(queue, connection=connection))}:
            return workers
        time.sleep(0.2)
    raise RuntimeError("workers did not register")


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_jobs(app, ids: list[str], timeout: float = 1800) -> list[Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.extensions["database"].session_factory() as session:
            jobs = [session.get(Job, i) for i in ids]
        if all(j.status in ("succeeded", "failed", "cancelled") for j in jobs):
            return jobs
        time.sleep(0.2)
    raise RuntimeError("jobs did not finish")


def seconds_between(a, b) -> float:
    from reserve_service.jobs.records import as_utc

    return (as_utc(b) - as_utc(a)).total_seconds()


def run_jobs(app, count: int) -> tuple[list[Job], float]:
    runner = app.extensions["jobs"]
    started = time.perf_counter()
    ids = []
    for _ in range(count):
        with runner.env.sessions() as session:
            ids.append(runner.submit(session, "siting", dict(SITING), "bench").id)
    jobs = wait_jobs(app, ids)
    return jobs, time.perf_counter() - started


def part_queue(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    url = prepare_database(args.database_url, work)
    print(f"\n### Queue latency and throughput, {args.jobs} siting runs (p-median p=6 on the seed data)\n")
    print("| runner | workers | succeeded | queue latency p50 s | p95 s | run s (mean) | jobs/min |")
    print("|---|---|---|---|---|---|---|")
    configs = [("in-process (peer)", 0), ("RQ", 1), ("RQ", 2)]
    for label, count in configs:
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        env = service_env(url, work, args.redis_url if count else None, queue)
        config = {"DATABASE_URL": url, "GRAPH_DIR": env["GRAPH_DIR"], "RQ_QUEUE": queue, "LOG_LEVEL": "WARNING",
                  "REDIS_URL": args.redis_url if count else None, "JOB_WORKERS": 1}
        workers = start_workers(count, env, queue) if count else []
        app = create_app(config)
        try:
            jobs, wall = run_jobs(app, args.jobs)
        finally:
            stop(workers)
        latency = sorted(seconds_between(j.created_at, j.started_at) for j in jobs if j.started_at)
        runs = [j.duration_s for j in jobs if j.duration_s is not None]
        ok = sum(j.status == "succeeded" for j in jobs)
        for message in {j.message for j in jobs if j.status != "succeeded"}:
            print(f"# {label} {count}: {message}", file=sys.stderr)
        p95 = latency[max(0, int(round(0.95 * len(latency))) - 1)]
        print(f"| {label} | {count or 'threads: 1'} | {ok}/{len(jobs)} | {statistics.median(latency):.2f} "
              f"| {p95:.2f} | {statistics.fmean(runs):.2f} | {len(jobs) / wall * 60:.1f} |", flush=True)
        if hasattr(app.extensions["jobs"], "shutdown"):
            app.extensions["jobs"].shutdown()
        app.extensions["database"].engine.dispose()


def movements(base: str, token: str, clients: int, seconds: float) -> tuple[list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        depot = ["SZ-341302", "SZ-341321", "SZ-341322", "SZ-341323", "SZ-341324"][index % 5]
        mine, codes, n = [], {}, 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            if n % 2 == 0:
                response = session.post(f"{base}/api/v1/movements/receipts", timeout=120, json={
                    "depot": depot, "item": "1030101", "lot_no": f"BENCH-{index}", "quantity": 10})
            else:
                response = session.post(f"{base}/api/v1/movements/issues", timeout=120, json={
                    "depot": depot, "item": "1030101", "quantity": 10})
            mine.append(time.perf_counter() - started)
            codes[response.status_code] = codes.get(response.status_code, 0) + 1
            n += 1
        with lock:
            latencies.extend(mine)
            for code, k in codes.items():
                statuses[code] = statuses.get(code, 0) + k

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses


def part_load(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    url = prepare_database(args.database_url, work)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = service_env(url, work, args.redis_url, queue)
    app = create_app({"DATABASE_URL": url, "GRAPH_DIR": env["GRAPH_DIR"], "REDIS_URL": args.redis_url,
                      "RQ_QUEUE": queue, "LOG_LEVEL": "WARNING"})
    with app.extensions["database"].writer_factory() as session:
        token = create_token(session, "bench-admin", "admin")
        session.commit()
    workers = start_workers(2, env, queue)
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "8", "--bind",
                            f"127.0.0.1:{PORT}", "wsgi:app"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(600):
            try:
                requests.get(f"{base}/ready", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                time.sleep(0.2)
        print(f"\n### {args.clients} clients booking movements for {args.seconds:g} s, gunicorn 2×8, "
              f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}\n")
        print("| while | requests | 5xx | other codes | movements/s | p50 ms | p95 ms | jobs done |")
        print("|---|---|---|---|---|---|---|---|")
        for label, jobs in (("no jobs (peer)", 0), (f"{args.load_jobs} siting jobs on 2 RQ workers", args.load_jobs)):
            ids = []
            for _ in range(jobs):
                posted = requests.post(f"{base}/api/v1/siting-runs", json=SITING, timeout=60,
                                       headers={"Authorization": f"Bearer {token}"})
                posted.raise_for_status()
                ids.append(posted.json()["id"])
            latencies, statuses = movements(base, token, args.clients, args.seconds)
            with app.extensions["database"].session_factory() as session:
                done = sum(session.get(Job, i).status == "succeeded" for i in ids)
            server_errors = sum(k for code, k in statuses.items() if code >= 500)
            others = {c: k for c, k in statuses.items() if c not in (201,) and c < 500}
            q = statistics.quantiles(latencies, n=20)
            print(f"| {label} | {len(latencies)} | {server_errors} | {others or '-'} "
                  f"| {len(latencies) / args.seconds:.0f} | {statistics.median(latencies) * 1000:.0f} "
                  f"| {q[18] * 1000:.0f} | {f'{done}/{jobs}' if jobs else '-'} |", flush=True)
            if ids:
                wait_jobs(app, ids)
    finally:
        stop([web, *workers])
        app.extensions["database"].engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", nargs="+", choices=("graph", "queue", "load"), default=["graph", "queue", "load"])
    parser.add_argument("--grid", type=int, default=500, help="side of the generated grid (0: none)")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--load-jobs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    for part in args.part:
        {"graph": part_graph, "queue": part_queue, "load": part_load}[part](args)


if __name__ == "__main__":
    main()

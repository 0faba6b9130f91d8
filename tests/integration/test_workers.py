"""Jobs on real RQ workers over the machine's Redis, started and stopped by their PIDs.

A job runs on a worker; SIGKILL of a worker (and its work horse) mid-job → the job completes
exactly once on the other worker; a dead horse with no attempts left → failed with the reason;
cancel mid-solve → cancelled within 5 s and the solver's child process gone; a time limit →
failed with that reason; a web restart mid-job → the job completes; a road closure posted to
one gunicorn changes the next matrix of another gunicorn and of the workers.

Skipped when Redis does not answer on 127.0.0.1:6379. Each run uses its own queue name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from reserve_service import create_app
from reserve_service.config import PROJECT_ROOT
from reserve_service.jobs import Job

redis = pytest.importorskip("redis")
REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("rq-workers")]


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


if not _redis_answers():
    pytest.skip("Redis is not reachable on 127.0.0.1:6379", allow_module_level=True)

#: timings of the workers under test: beat every 0.5 s, lost after 8 s silent (a loaded 2-core
#: machine can starve a process for seconds), 1 s to stop
WORKER_ENV = {"JOB_HEARTBEAT_SECONDS": "0.5", "JOB_LOST_AFTER_SECONDS": "8", "JOB_STOP_GRACE_SECONDS": "1",
              "JOB_HANDLER_MODULES": "tests.integration.job_kinds"}


class Workers:
    """RQ worker processes of one queue, by name."""

    def __init__(self, database_url: str, queue: str, graph_dir: str) -> None:
        self.env = {**os.environ, **WORKER_ENV, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
                    "RQ_QUEUE": queue, "GRAPH_DIR": graph_dir}
        self.queue = queue
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--name", name], cwd=PROJECT_ROOT,
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        from rq import Queue, Worker

        connection = redis.Redis.from_url(REDIS_URL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            names = {w.name for w in Worker.all(queue=Queue(self.queue, connection=connection))}
            if set(self.processes) <= names:
                return
            time.sleep(0.2)
        pytest.fail(f"workers {sorted(self.processes)} did not register (have {sorted(names)})")

    def kill(self, name: str, horse_pid: int | None = None) -> None:
        """SIGKILL the worker and its work horse, as when their machine is lost."""
        process = self.processes.pop(name)
        os.kill(process.pid, signal.SIGKILL)
        if horse_pid:
            try:
                os.killpg(horse_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:  # idle in a 5 s blocking pop; nothing to lose
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()


@pytest.fixture(scope="module")
def queue_name() -> str:
    name = f"reserve-test-{uuid.uuid4().hex[:8]}"
    yield name
    from rq import Queue

    Queue(name, connection=redis.Redis.from_url(REDIS_URL)).delete(delete_jobs=True)


@pytest.fixture(scope="module")
def workers(database_url, queue_name, graph_dir):
    pool = Workers(database_url, queue_name, graph_dir)
    for name in ("w1", "w2"):
        pool.start(f"{queue_name}-{name}")
    pool.wait_ready()
    yield pool
    pool.stop_all()


@pytest.fixture
def rq_app(app, database_url, queue_name, workers):
    """The web side: submits to the test queue (the tables were emptied by ``app``)."""
    rq_app = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
                         "GRAPH_DIR": app.config["GRAPH_DIR"],
                         "RQ_QUEUE": queue_name, "JOB_HANDLER_MODULES": WORKER_ENV["JOB_HANDLER_MODULES"],
                         "JOB_TIME_LIMITS": {"test-stuck": 3}})
    yield rq_app
    rq_app.extensions["database"].engine.dispose()


def submit(rq_app, kind, params):
    runner = rq_app.extensions["jobs"]
    with runner.env.sessions() as session:
        return runner.submit(session, kind, params, "test-planner").id


def job_row(rq_app, job_id) -> Job:
    with rq_app.extensions["database"].session_factory() as session:
        return session.get(Job, job_id)


def wait_for(rq_app, job_id, test=lambda job: job.status in ("succeeded", "failed", "cancelled"),
             timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = job_row(rq_app, job_id)
        if test(job):
            return job
        time.sleep(0.1)
    pytest.fail(f"job {job_id} stayed {job.status} ({job.message})")


def horse_of(job: Job) -> tuple[str, int]:
    """(worker name, work horse pid) of a running RQ job: its ``worker`` is rq:<name>:<pid>."""
    _, name, pid = job.worker.rsplit(":", 2)
    return name, int(pid)


def traces(folder: Path, job_id: str, event: str) -> list[str]:
    return sorted(p.name for p in folder.glob(f"{job_id}.*.{event}"))


def test_a_job_runs_on_a_worker_with_progress(rq_app, tmp_path):
    job_id = submit(rq_app, "test-steps", {"steps": 6, "step_s": 0.2, "trace": str(tmp_path)})
    running = wait_for(rq_app, job_id, lambda j: j.status == "running" and j.progress > 0)
    assert running.figures["stage"] == "search" and running.worker.startswith("rq:")
    done = wait_for(rq_app, job_id)
    assert (done.status, done.attempt, done.progress) == ("succeeded", 1, 1.0)
    assert done.result["pid"] != os.getpid() and done.result["iterations"] == 6


def test_sigkill_of_the_worker_mid_job_completes_once_on_the_other(rq_app, workers, tmp_path):
    job_id = submit(rq_app, "test-steps", {"steps": 30, "step_s": 0.1, "trace": str(tmp_path)})
    running = wait_for(rq_app, job_id, lambda j: j.status == "running" and j.progress >= 0.1)
    name, horse = horse_of(running)
    killed_at = time.monotonic()
    workers.kill(name, horse)
    done = wait_for(rq_app, job_id)
    recovered = time.monotonic() - killed_at
    try:
        assert done.status == "succeeded" and done.attempt == 2, done.message
        assert horse_of(done)[0] != name
        assert traces(tmp_path, job_id, "start") == [f"{job_id}.1.start", f"{job_id}.2.start"]
        assert traces(tmp_path, job_id, "done") == [f"{job_id}.2.done"]
        # lost after 8 s silent, reaped within 5 s, then 3 s of work
        assert recovered < 8 + 5 + 3 + 10
    finally:
        workers.start(name)
        workers.wait_ready()


def test_a_dead_horse_without_attempts_left_fails_with_the_reason(rq_app, database_url, queue_name, tmp_path):
    once = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
                       "GRAPH_DIR": rq_app.config["GRAPH_DIR"], "RQ_QUEUE": queue_name, "JOB_MAX_ATTEMPTS": 1,
                       "JOB_HANDLER_MODULES": WORKER_ENV["JOB_HANDLER_MODULES"]})
    job_id = submit(once, "test-steps", {"steps": 50, "step_s": 0.1})
    running = wait_for(rq_app, job_id, lambda j: j.status == "running" and j.progress > 0)
    os.killpg(horse_of(running)[1], signal.SIGKILL)  # e.g. the kernel's out-of-memory killer
    done = wait_for(rq_app, job_id, timeout=15)
    assert done.status == "failed" and "terminated unexpectedly" in done.message and done.attempt == 1
    once.extensions["database"].engine.dispose()


def test_cancel_mid_solve_stops_within_5_s_and_leaves_no_solver_process(rq_app, network, tmp_path):
    job_id = submit(rq_app, "test-stuck", {"seconds": 120, "trace": str(tmp_path)})
    wait_for(rq_app, job_id, lambda j: j.status == "running")
    deadline = time.monotonic() + 30
    while not traces(tmp_path, job_id, "child") and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int((tmp_path / traces(tmp_path, job_id, "child")[0]).read_text())
    client = rq_app.test_client()
    asked = time.monotonic()
    response = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=network.headers("admin"))
    assert response.status_code == 202
    done = wait_for(rq_app, job_id, timeout=5)
    assert done.status == "cancelled" and time.monotonic() - asked < 5
    for _ in range(50):  # the horse's process group, the solver child with it, is killed
        if not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"solver child {child} still running")


def test_a_solve_over_its_time_limit_fails_with_that_reason(rq_app, tmp_path):
    job_id = submit(rq_app, "test-stuck", {"seconds": 120, "trace": str(tmp_path)})
    started = wait_for(rq_app, job_id, lambda j: j.status == "running")
    assert started.time_limit_s == 3
    done = wait_for(rq_app, job_id, timeout=20)
    assert done.status == "failed" and done.message == "time limit of 3 s reached"
    assert done.duration_s < 3 + 1 + 3  # limit, grace, one heartbeat and slack


# -- web processes -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """One gunicorn instance of the service on ``port``, on the test database and queue."""

    def __init__(self, port: int, database_url: str, queue: str, graph_dir: str) -> None:
        self.port, self.base = port, f"http://127.0.0.1:{port}"
        self.env = {**os.environ, **WORKER_ENV, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
                    "RQ_QUEUE": queue, "GRAPH_DIR": graph_dir}
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--bind",
             f"127.0.0.1:{self.port}", "wsgi:app"], cwd=PROJECT_ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:  # e.g. the port was taken: never test another server
                break
            try:
                if requests.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        pytest.fail(f"gunicorn on {self.port} did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def webs(database_url, queue_name, graph_dir, workers):
    """Two gunicorn instances on free ports (so checkouts testing at once never meet), started together."""
    webs = [Gunicorn(free_port(), database_url, queue_name, graph_dir) for _ in range(2)]
    try:
        for web in webs:
            web.wait_ready()
        yield webs
    finally:
        for web in webs:
            web.stop()


def test_a_web_restart_mid_job_leaves_the_job_running_to_completion(rq_app, roads, webs):
    web = webs[0]
    posted = requests.post(f"{web.base}/api/v1/siting-runs", headers=roads.headers("planner"), timeout=30,
                           json={"model": "p_median", "p": 1, "candidate_statuses": ["candidate"]})
    assert posted.status_code == 202, posted.text
    siting = posted.json()["id"]
    long = submit(rq_app, "test-steps", {"steps": 30, "step_s": 0.1})
    wait_for(rq_app, long, lambda j: j.status == "running")
    web.stop(signal.SIGKILL)
    assert job_row(rq_app, long).status == "running"
    web.start()
    web.wait_ready()
    for job_id in (siting, long):
        wait_for(rq_app, job_id)
        body = requests.get(f"{web.base}/api/v1/jobs/{job_id}", headers=roads.headers("viewer"), timeout=10).json()
        assert body["status"] == "succeeded", body["message"]
    assert body["attempt"] == 1


def test_a_closure_posted_to_one_web_process_reaches_the_other_and_the_workers(rq_app, roads, webs):
    """a ══ expressway 1.0 h ══ b; closed, the way round by G343 takes 2.0 h."""

    def matrix(web):
        body = requests.post(f"{web.base}/api/v1/routing/matrix", headers=roads.headers("viewer"), timeout=30,
                             json={"sources": [{"node": "a"}], "targets": [{"node": "b"}]}).json()
        return round(body["hours"][0][0], 3)

    def on_workers():
        ids = [submit(rq_app, "test-route", {"from": "a", "to": "b"}) for _ in range(2)]
        return {round(wait_for(rq_app, i).result["hours"], 3) for i in ids}

    assert [matrix(w) for w in webs] == [1.0, 1.0] and on_workers() == {1.0}
    posted = requests.post(f"{webs[0].base}/api/v1/routing/events", headers=roads.headers("dispatcher"),
                           timeout=30, json={"kind": "closure", "cause": "flood", "edge_ids": [3]})
    assert posted.status_code == 201, posted.text
    assert matrix(webs[1]) == 2.0 and matrix(webs[0]) == 2.0 and on_workers() == {2.0}
    removed = requests.delete(f"{webs[1].base}/api/v1/routing/events/{posted.json()['id']}",
                              headers=roads.headers("dispatcher"), timeout=30)
    assert removed.status_code == 200
    assert matrix(webs[0]) == 1.0 and on_workers() == {1.0}

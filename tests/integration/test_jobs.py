"""The in-process job runner and the job API: progress, success, failure, cancel through the
monitor, time limits, jobs left behind by a stopped process, and who may cancel."""

from __future__ import annotations

import threading
import time

import pytest

from reserve_service.auth import create_token
from reserve_service.db import transaction
from reserve_service.jobs import Job
from reserve_service.jobs.inprocess import InProcessRunner
from reserve_service.jobs.registry import JobRegistry, JobSettings
from reserve_service.jobs.runner import JobEnvironment, UnknownJobKind

release = threading.Event()


def _wait(params, context):
    context.progress(0.5, "waiting")
    release.wait(timeout=30)
    context.check_cancelled()
    return {"echo": params["value"]}


def _solve(params, context):
    """A solve loop the way engines use the monitor: report often, stop when told."""
    iterations = 0
    while not context.monitor.should_stop() and iterations < params.get("max_iterations", 10**9):
        iterations += 1
        context.monitor.report("search", None, iterations=iterations, best=1000.0 / iterations,
                               gap=float("inf"))
        time.sleep(0.001)
    context.check_cancelled()
    return {"iterations": iterations}


def _fail(params, context):
    raise RuntimeError("solver crashed")


def _odd_result(params, context):
    import numpy as np

    if params.get("unstorable"):
        return {"sites": {1, 2}}
    return {"hours": [1.5, float("inf")], "gap": float("nan"), "open": np.array([3, 5]), "n": np.int64(2)}


KINDS = {"test-wait": _wait, "test-solve": _solve, "test-fail": _fail, "test-odd": _odd_result}


def wait_for(factory, job_id, statuses=("succeeded", "failed", "cancelled"), timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        with factory() as session:
            job = session.get(Job, job_id)
            if job.status in statuses:
                return job
        if time.monotonic() > deadline:
            pytest.fail(f"job stayed {job.status}")
        time.sleep(0.05)


def make_env(app, **settings) -> JobEnvironment:
    database = app.extensions["database"]
    registry = JobRegistry()
    registry.register_all(KINDS)
    return JobEnvironment(database.writer_factory, database.session_factory, registry,
                          JobSettings(**{"heartbeat_s": 0.2, **settings}), database.engine)


@pytest.fixture
def runner(app):
    runner = InProcessRunner(make_env(app), workers=1)
    yield runner, runner.env.sessions
    release.set()
    runner.shutdown()


def test_success_records_result_progress_and_timings(runner):
    runner, factory = runner
    release.clear()
    with factory() as session:
        job = runner.submit(session, "test-wait", {"value": 7})
    assert wait_for(factory, job.id, ("running",)).attempt == 1
    release.set()
    done = wait_for(factory, job.id)
    assert (done.status, done.result, done.progress) == ("succeeded", {"echo": 7}, 1.0)
    assert done.started_at is not None and done.finished_at is not None and done.duration_s >= 0


def test_cancel_stops_a_solve_through_its_monitor(runner):
    runner, factory = runner
    with factory() as session:
        job = runner.submit(session, "test-solve", {})
    wait_for(factory, job.id, ("running",))
    time.sleep(0.5)
    with factory() as session:
        row = session.get(Job, job.id)
        assert row.figures["stage"] == "search" and row.figures["iterations"] > 0
        assert row.figures["gap"] is None  # no Infinity in JSON
        row.cancel_requested = True
        session.commit()
    asked = time.monotonic()
    done = wait_for(factory, job.id)
    assert done.status == "cancelled" and time.monotonic() - asked < 5


def test_time_limit_ends_the_job_failed_with_the_reason(app):
    runner = InProcessRunner(make_env(app, time_limits={"test-solve": 0.5}), workers=1)
    factory = runner.env.sessions
    with factory() as session:
        job = runner.submit(session, "test-solve", {})
    done = wait_for(factory, job.id)
    runner.shutdown()
    assert done.status == "failed" and done.message == "time limit of 0.5 s reached"
    assert done.time_limit_s == 0.5


def test_failure_keeps_the_job_with_its_error(runner):
    runner, factory = runner
    with factory() as session:
        job = runner.submit(session, "test-fail", {})
    done = wait_for(factory, job.id)
    assert done.status == "failed" and "solver crashed" in done.message and "RuntimeError" in done.error


def test_results_are_stored_as_strict_json_or_the_job_fails_saying_why(runner):
    runner, factory = runner
    with factory() as session:
        odd = runner.submit(session, "test-odd", {}).id
        unstorable = runner.submit(session, "test-odd", {"unstorable": True}).id
    done = wait_for(factory, odd)
    assert done.status == "succeeded"
    assert done.result == {"hours": [1.5, None], "gap": None, "open": [3, 5], "n": 2}
    failed = wait_for(factory, unstorable)
    assert failed.status == "failed" and failed.message.startswith("the result could not be stored")


def test_unknown_kind_is_refused(runner):
    runner, factory = runner
    with factory() as session, pytest.raises(UnknownJobKind):
        runner.submit(session, "no-such-kind", {})


def test_jobs_of_a_stopped_process_are_marked_interrupted_at_start_up(app):
    """A web process that died left one job running and one queued; a new process fails both
    with the reason, and leaves a job of a live process alone."""
    import subprocess

    from reserve_service.jobs.records import HOST, thread_worker_name

    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = f"thread:{HOST}:{gone.pid}"
    factory = app.extensions["database"].writer_factory
    with transaction(factory) as session:
        for job_id, status, worker in (("left-running", "running", dead), ("left-queued", "queued", dead),
                                       ("alive", "running", thread_worker_name())):
            session.add(Job(id=job_id, kind="test-wait", params={}, status=status, attempt=1, worker=worker))
    InProcessRunner(make_env(app), workers=1).shutdown()
    with factory() as session:
        states = {j.id: (j.status, j.message) for j in session.query(Job)}
    assert states["left-running"][0] == states["left-queued"][0] == "failed"
    assert "interrupted" in states["left-running"][1] and dead in states["left-queued"][1]
    assert states["alive"][0] == "running"


def test_only_the_owner_or_an_admin_cancels_a_job(app, client, network):
    """A dispatcher or another planner gets 403 on a planner's job; the owner and an admin may."""
    release.clear()
    app.extensions["jobs"].env.registry.register_all(KINDS)
    with transaction(app.extensions["database"].writer_factory) as session:
        other = create_token(session, "another-planner", "planner")
    jobs = []
    with app.test_request_context(method="POST", headers=network.headers("planner")):
        from flask import g

        from reserve_service.auth import authenticate
        from reserve_service.extensions import session
        from reserve_service.jobs.api import submit

        g.principal = authenticate(session(), f"Bearer {network.tokens['planner']}")
        jobs = [submit("test-wait", {"value": i})[0]["id"] for i in range(2)]
    for headers in (network.headers("dispatcher"), {"Authorization": f"Bearer {other}"}):
        refused = client.post(f"/api/v1/jobs/{jobs[0]}/cancel", headers=headers)
        assert refused.status_code == 403 and refused.json["errors"] == {"job_id": ["not yours"]}
    viewer = client.post(f"/api/v1/jobs/{jobs[0]}/cancel", headers=network.headers("viewer"))
    assert viewer.status_code == 403
    own = client.post(f"/api/v1/jobs/{jobs[0]}/cancel", headers=network.headers("planner"))
    admin = client.post(f"/api/v1/jobs/{jobs[1]}/cancel", headers=network.headers("admin"))
    assert own.status_code == admin.status_code == 202
    release.set()
    factory = app.extensions["database"].writer_factory
    assert {wait_for(factory, job_id).status for job_id in jobs} == {"cancelled"}
    again = client.post(f"/api/v1/jobs/{jobs[0]}/cancel", headers=network.headers("planner"))
    assert again.status_code == 409
    listed = client.get("/api/v1/jobs?status=cancelled", headers=network.headers("viewer")).json["jobs"]
    assert {j["id"] for j in listed} == set(jobs)
    assert client.get("/api/v1/jobs?status=nope", headers=network.headers("viewer")).status_code == 422
    assert client.get(f"/api/v1/jobs/{'x' * 100}", headers=network.headers("viewer")).status_code == 404

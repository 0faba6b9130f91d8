"""The in-process job runner: progress, success, failure and cancellation end in the table."""

from __future__ import annotations

import threading
import time

import pytest

from reserve_service.jobs import HANDLERS, InProcessRunner, Job, job_kind

release = threading.Event()


@job_kind("test-wait")
def _wait(params, context):
    context.progress(0.5, "waiting")
    release.wait(timeout=30)
    context.check_cancelled()
    return {"echo": params["value"]}


@job_kind("test-fail")
def _fail(params, context):
    raise RuntimeError("solver crashed")


def wait_for(factory, job_id, statuses=("succeeded", "failed", "cancelled")):
    for _ in range(300):
        with factory() as session:
            job = session.get(Job, job_id)
            if job.status in statuses:
                return job
        time.sleep(0.05)
    pytest.fail(f"job stayed {job.status}")


@pytest.fixture
def runner(app):
    factory = app.extensions["database"].writer_factory
    runner = InProcessRunner(factory, workers=1)
    yield runner, factory
    release.set()
    runner.shutdown()


def test_success_records_result_and_progress(runner):
    runner, factory = runner
    release.clear()
    with factory() as session:
        job = runner.submit(session, "test-wait", {"value": 7})
    wait_for(factory, job.id, ("running",))
    release.set()
    done = wait_for(factory, job.id)
    assert (done.status, done.result, done.progress) == ("succeeded", {"echo": 7}, 1.0)
    assert done.started_at is not None and done.finished_at is not None


def test_cancel_while_running(runner):
    runner, factory = runner
    release.clear()
    with factory() as session:
        job = runner.submit(session, "test-wait", {"value": 1})
    wait_for(factory, job.id, ("running",))
    with factory() as session:
        session.get(Job, job.id).cancel_requested = True
        session.commit()
    release.set()
    assert wait_for(factory, job.id).status == "cancelled"


def test_failure_keeps_the_job_with_its_error(runner):
    runner, factory = runner
    with factory() as session:
        job = runner.submit(session, "test-fail", {})
    done = wait_for(factory, job.id)
    assert done.status == "failed" and "solver crashed" in done.message and "RuntimeError" in done.error


def test_unknown_kind_is_refused(runner):
    runner, factory = runner
    with factory() as session, pytest.raises(KeyError):
        runner.submit(session, "no-such-kind", {})
    assert "test-wait" in HANDLERS

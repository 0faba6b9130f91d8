"""Jobs on RQ 2.x workers over Redis (when ``REDIS_URL`` is set).

The web process stores the job row and enqueues one RQ job per attempt (id ``<job id>_<n>``);
any number of ``flask --app wsgi worker`` processes, on any machine reaching the database and
Redis, run them. Each attempt runs in an RQ work horse (a forked process in its own process
group), so:

* **cancel** sets the flag and sends RQ's stop-job command: the worker kills the horse's
  process group (solver subprocesses included) at once; the row ends ``cancelled``.
* **time limit**: the monitor tells the solve to stop at the kind's limit; a solve still
  running ``stop_grace_s`` later is killed by its own heartbeat and the row ends ``failed``
  with the reason. RQ's ``job_timeout`` backs this up.
* **a dead horse** (killed, out of memory): its worker records it at once and enqueues the
  next attempt, until ``max_attempts``; then ``failed`` with the reason.
* **a dead worker** (machine lost, SIGKILL of worker and horse): its attempt stops beating;
  every idle worker looks for running jobs silent for ``lost_after_s`` each
  ``reap_interval_s`` and retries or fails them the same way. So a lost job is retried or
  failed within ``lost_after_s + reap_interval_s`` (20 s by default) while any worker is idle.

The row stays the record; writes are guarded by the attempt number, so at most one attempt's
outcome is ever recorded.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job as RqJob
from rq.timeouts import JobTimeoutException

from reserve_service.errors import DomainError
from reserve_service.jobs import records
from reserve_service.jobs.context import JobContext, JobTimeLimit
from reserve_service.jobs.runner import JobEnvironment, execute, new_job
from reserve_service.jobs.table import Job

log = logging.getLogger("reserve_service.jobs")
PREFIX = "rq:"
#: the function each RQ job calls, by import path (workers import it, web processes need not)
PERFORM = "reserve_service.jobs.rq_runner.perform"


def rq_job_id(job_id: str, attempt: int) -> str:
    return f"{job_id}_{attempt}"


def parse_rq_job_id(rq_id: str) -> tuple[str, int]:
    job_id, _, attempt = rq_id.rpartition("_")
    return job_id, int(attempt)


class QueueUnavailable(DomainError):
    """Redis did not take the job (the row is kept, failed with the reason)."""

    status, title, type_slug = 503, "Job queue unavailable", "queue-unavailable"


class RqRunner:
    """Stores jobs in the table and queues their attempts on one RQ queue."""

    name = "rq"

    def __init__(self, env: JobEnvironment, redis_url: str, queue_name: str = "reserve-jobs") -> None:
        self.env = env
        self.redis = Redis.from_url(redis_url, socket_connect_timeout=3, health_check_interval=30)
        self.queue = Queue(queue_name, connection=self.redis)

    def submit(self, session: Any, kind: str, params: dict[str, Any], created_by: str = "") -> Job:
        """Store a queued job in the caller's session, commit, then enqueue its first attempt."""
        job = new_job(self.env, session, kind, params, created_by)
        session.commit()
        try:
            self.enqueue(job.id, 1, job.time_limit_s)
        except Exception as exc:
            reason = f"the job queue is unavailable: {exc}"
            records.fail_queued(self.env.sessions, job.id, reason)
            session.refresh(job)
            raise QueueUnavailable(reason, {"queue": ["unavailable"]}, job_id=job.id) from exc
        return job

    def enqueue(self, job_id: str, attempt: int, time_limit_s: float | None) -> None:
        timeout = int(time_limit_s + 2 * self.env.settings.stop_grace_s) if time_limit_s else -1
        self.queue.enqueue(PERFORM, job_id, attempt, job_id=rq_job_id(job_id, attempt),
                           job_timeout=timeout, result_ttl=3600, failure_ttl=24 * 3600,
                           description=f"reserve job {job_id} attempt {attempt}")

    def cancel(self, job: Job) -> None:
        """Kill the running attempt's work horse now (the flag is already set)."""
        rq_id = rq_job_id(job.id, job.attempt)
        try:
            send_stop_job_command(self.redis, rq_id)
        except (InvalidJobOperation, NoSuchJobError):  # not started yet, or already over
            try:
                RqJob.fetch(rq_id, connection=self.redis).cancel()
            except (InvalidJobOperation, NoSuchJobError):
                pass

    def queue_depth(self) -> int:
        return len(self.queue)

    def ping(self) -> bool:
        return bool(self.redis.ping())


# -- the worker side ---------------------------------------------------------------------------

_env: JobEnvironment | None = None
_runner: RqRunner | None = None


def bind(runner: RqRunner) -> None:
    """Make this process a worker of ``runner``'s queue (``flask worker`` calls it)."""
    global _env, _runner
    _env, _runner = runner.env, runner


def _bound() -> tuple[JobEnvironment, RqRunner]:
    if _env is None or _runner is None:  # a plain `rq worker`: build the app from the environment
        from reserve_service import create_app

        bind(create_app().extensions["jobs"])
    assert _env is not None and _runner is not None
    return _env, _runner


def _kill_own_group(context: JobContext) -> None:
    """Heartbeat overrun: the solve ignored its stop. Record why, then end this horse and
    every solver process it started."""
    env, _ = _bound()
    limit = context.monitor.time_limit_s
    if context.monitor.out_of_time() and limit:
        records.fail(env.sessions, context.job_id, context.attempt, JobTimeLimit(limit), context.started_at)
    else:
        records.finish(env.sessions, context.job_id, context.attempt, "cancelled", "cancelled",
                       context.started_at)
    log.warning("job %s did not stop within %.0f s; killing its process group", context.job_id,
                env.settings.stop_grace_s, extra={"job_id": context.job_id})
    os.killpg(os.getpgrp(), signal.SIGKILL)


def perform(job_id: str, attempt: int) -> str:
    """The RQ job: one attempt of a reserve job, in a work horse."""
    env, _ = _bound()
    if env.engine is not None:
        env.engine.dispose(close=False)  # connections inherited from the worker stay the worker's
    worker = f"{PREFIX}{os.environ.get('RQ_WORKER_ID', 'worker')}:{os.getpid()}"
    return execute(env, job_id, attempt, worker, on_overrun=_kill_own_group,
                   time_limit_errors=(JobTimeoutException,))


def handle_lost_attempt(rq_id: str, reason: str) -> None:
    """Record a dead horse's attempt and queue the next one if it has attempts left."""
    env, runner = _bound()
    try:
        job_id, attempt = parse_rq_job_id(rq_id)
    except ValueError:
        return
    with env.sessions() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        started, limit = records.as_utc(job.started_at), job.time_limit_s
    timed_out = bool(limit and started and (records.now() - started).total_seconds() >= limit)
    if timed_out:
        reason = str(JobTimeLimit(limit or 0.0))
    state = records.lost(env.sessions, job_id, attempt, reason, retryable=not timed_out)
    log.warning("job %s attempt %s lost (%s) -> %s", job_id, attempt, reason, state,
                extra={"job_id": job_id})
    if state == "queued":
        runner.enqueue(job_id, attempt + 1, limit)


def reap(env: JobEnvironment, runner: RqRunner) -> int:
    """Retry or fail the running jobs whose worker went silent; returns how many."""
    count = 0
    for job_id, attempt, worker in records.stale(env.sessions, env.settings.lost_after_s, PREFIX):
        handle_lost_attempt(rq_job_id(job_id, attempt),
                            f"worker lost: {worker} silent for more than {env.settings.lost_after_s:g} s")
        count += 1
    return count


def warm_up(env: JobEnvironment) -> None:
    """Build the road graph and load the compiled search kernel in the worker process, so each
    work horse forked from it starts with both (copy-on-write) instead of rebuilding them."""
    from reserve_service.routing.service import road_graph

    try:
        with env.readers() as session:
            graph, _ = road_graph(session)
            first = graph.node_ids[:1]
            graph.travel_time_matrix(first, first)
    except Exception as exc:  # no network loaded yet: the horses build it when one is
        log.info("road graph not warmed: %s", exc)


class ReserveWorker(Worker):
    """An RQ worker that keeps the jobs table true when a horse or another worker dies, and
    keeps the road graph its horses inherit up to date."""

    reap_interval_s = 5

    def handle_job_failure(self, job: RqJob, queue: Queue, started_job_registry: Any = None,
                           exc_string: str = "") -> None:
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry,
                                   exc_string=exc_string)
        if getattr(self, "_is_horse", False):
            return  # inside the horse the attempt recorded its own outcome
        first_line = (exc_string or "work horse ended").strip().splitlines()[0]
        handle_lost_attempt(job.id, first_line[:300])

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        env, runner = _bound()
        try:
            reap(env, runner)
        except Exception:
            log.exception("reaping lost jobs failed; next round in %s s", self.maintenance_interval)
        warm_up(env)


def run_worker(runner: RqRunner, name: str | None = None, burst: bool = False) -> None:
    """Work the runner's queue in this process until stopped (SIGTERM: finish the job first)."""
    bind(runner)
    worker = ReserveWorker([runner.queue], connection=runner.redis, name=name,
                           worker_ttl=20, maintenance_interval=ReserveWorker.reap_interval_s,
                           job_monitoring_interval=5)
    worker.work(burst=burst, logging_level="INFO", with_scheduler=False)

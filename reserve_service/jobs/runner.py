"""What both runners share: storing a new job and running one attempt of it.

``execute`` is the whole life of an attempt on whichever process runs it: claim the queued row,
run the handler under a heartbeat, record the outcome. The in-process runner calls it on a
thread; an RQ work horse calls it in its own process.
"""

from __future__ import annotations

import contextvars
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from reserve_service.jobs import records
from reserve_service.jobs.context import (
    Heartbeat,
    JobCancelled,
    JobContext,
    JobMonitor,
    JobTimeLimit,
)
from reserve_service.jobs.registry import JobRegistry, JobSettings
from reserve_service.jobs.table import Job
from reserve_service.optimize.monitor import watching

log = logging.getLogger("reserve_service.jobs")
#: the job the current thread runs, for the logs
current_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_job_id", default=None)


class UnknownJobKind(KeyError):
    """No handler is registered for the kind."""


@dataclass
class JobEnvironment:
    """The database, the handlers and the settings an attempt runs with."""

    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    registry: JobRegistry
    settings: JobSettings
    engine: Engine | None = None


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON: NaN and infinities become None, NumPy values plain ones."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def new_job(env: JobEnvironment, session: Session, kind: str, params: dict[str, Any],
            created_by: str = "", worker: str | None = None) -> Job:
    """A queued job row (attempt 1) added to ``session``; the caller commits."""
    if kind not in env.registry:
        raise UnknownJobKind(kind)
    job = Job(id=str(uuid.uuid4()), kind=kind, params=params, created_by=created_by, status="queued",
              progress=0.0, message="queued", cancel_requested=False, attempt=1,
              max_attempts=env.settings.max_attempts, time_limit_s=env.settings.time_limit(kind),
              worker=worker)
    session.add(job)
    return job


def outcome(result: Any) -> str:
    """The finished job's message: "done", or the result's own status when it is not a plan
    (``infeasible: <reason>``), so a job that ran but found no plan says so."""
    status = result.get("status") if isinstance(result, dict) else None
    if status in (None, "optimal", "feasible"):
        return "done"
    reason = result.get("reason") or result.get("message") or ""
    return f"{status}: {reason}" if reason else str(status)


def execute(env: JobEnvironment, job_id: str, attempt: int, worker: str, *,
            on_overrun: Callable[[JobContext], None] | None = None,
            time_limit_errors: tuple[type[BaseException], ...] = ()) -> str:
    """Run one attempt and record its outcome; returns the status it ended with ("skipped"
    when the attempt was not this process's to run).

    ``on_overrun`` is called from the heartbeat once a solve told to stop has not returned
    within the grace period (an RQ horse kills itself there); ``time_limit_errors`` are
    exceptions a runner raises into the handler at its hard limit.
    """
    token = current_job_id.set(job_id)
    try:
        return _execute(env, job_id, attempt, worker, on_overrun, time_limit_errors)
    finally:
        current_job_id.reset(token)


def _execute(env: JobEnvironment, job_id: str, attempt: int, worker: str,
             on_overrun: Callable[[JobContext], None] | None,
             time_limit_errors: tuple[type[BaseException], ...]) -> str:
    claimed = records.claim(env.sessions, job_id, attempt, worker)
    if claimed is None:
        log.info("job %s attempt %s not runnable here (already taken, finished or superseded)",
                 job_id, attempt, extra={"job_id": job_id})
        return "skipped"
    started = claimed.started_at
    if claimed.cancel_requested:
        records.finish(env.sessions, job_id, attempt, "cancelled", "cancelled before start", started)
        return "cancelled"
    monitor = JobMonitor(claimed.time_limit_s)
    context = JobContext(job_id, env.sessions, env.readers, attempt=attempt, monitor=monitor,
                         started_at=started)
    handler = env.registry[claimed.kind]
    log.info("job %s (%s) attempt %s started on %s", job_id, claimed.kind, attempt, worker,
             extra={"job_id": job_id, "job_kind": claimed.kind})
    clock = time.perf_counter()
    grace = env.settings.stop_grace_s
    status = "failed"
    try:
        with Heartbeat(context, env.settings.heartbeat_s, on_overrun=on_overrun, grace_s=grace):
            with watching(monitor):
                result = handler(claimed.params, context)
    except JobCancelled:
        status = "cancelled"
        records.finish(env.sessions, job_id, attempt, "cancelled", "cancelled", started)
    except JobTimeLimit as exc:
        records.fail(env.sessions, job_id, attempt, exc, started)
    except time_limit_errors:
        records.fail(env.sessions, job_id, attempt, JobTimeLimit(claimed.time_limit_s or 0.0), started)
    except Exception as exc:  # a failed job reports, it never takes the worker down
        log.exception("job %s failed", job_id, extra={"job_id": job_id, "job_kind": claimed.kind})
        records.fail(env.sessions, job_id, attempt, exc, started)
    else:
        status = "succeeded"
        try:
            if not records.finish(env.sessions, job_id, attempt, "succeeded", outcome(result), started,
                                  progress=1.0, result=json_safe(result)):
                status = "superseded"
        except Exception as exc:  # the result could not be stored: say so, never stay running
            log.exception("job %s: storing the result failed", job_id, extra={"job_id": job_id})
            status = "failed"
            records.fail(env.sessions, job_id, attempt,
                         RuntimeError(f"the result could not be stored: {exc}"), started)
    log.info("job %s (%s) attempt %s %s in %.2f s", job_id, claimed.kind, attempt, status,
             time.perf_counter() - clock,
             extra={"job_id": job_id, "job_kind": claimed.kind, "job_status": status})
    return status

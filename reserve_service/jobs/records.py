"""Every change of a job's row, as guarded single-statement updates.

A transition names the attempt it belongs to and the status it expects, so it happens once:
two deliveries of one attempt cannot both start it, and an attempt presumed lost cannot finish
over its retry. Functions take a session factory, not Flask, so workers and tests use them alike.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import traceback
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from reserve_service.jobs.table import Job

HOST = socket.gethostname()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; they were written in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def thread_worker_name() -> str:
    """The ``worker`` of jobs run by this process's in-process runner."""
    return f"thread:{HOST}:{os.getpid()}"


def _update(sessions: sessionmaker[Session], job_id: str, where: tuple, **values: Any) -> bool:
    with sessions() as session:
        done = cast(CursorResult[Any], session.execute(
            update(Job).where(Job.id == job_id, *where).values(**values))).rowcount
        session.commit()
    return bool(done)


@dataclass(frozen=True)
class Claimed:
    """What an attempt needs from its row once it holds it."""

    kind: str
    params: dict[str, Any]
    time_limit_s: float | None
    cancel_requested: bool
    started_at: dt.datetime


def claim(sessions: sessionmaker[Session], job_id: str, attempt: int, worker: str) -> Claimed | None:
    """Move a queued attempt to running on ``worker``; None if it is not this attempt's to run
    (finished, cancelled before start, running elsewhere, or superseded by a retry)."""
    started = now()
    if not _update(sessions, job_id, (Job.attempt == attempt, Job.status == "queued"),
                   status="running", started_at=started, heartbeat_at=started, worker=worker,
                   message=f"running (attempt {attempt})"):
        return None
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return Claimed(job.kind, dict(job.params), job.time_limit_s, job.cancel_requested, started)


def finish(sessions: sessionmaker[Session], job_id: str, attempt: int, status: str, message: str,
           started_at: dt.datetime | None = None, **values: Any) -> bool:
    """End a running attempt as ``status``; False if the attempt no longer owns the job."""
    finished = now()
    duration = (finished - started_at).total_seconds() if started_at else None
    return _update(sessions, job_id, (Job.attempt == attempt, Job.status == "running"),
                   status=status, message=message[:500], finished_at=finished, duration_s=duration,
                   **values)


def fail(sessions: sessionmaker[Session], job_id: str, attempt: int, exc: BaseException,
         started_at: dt.datetime | None = None) -> bool:
    return finish(sessions, job_id, attempt, "failed", str(exc) or type(exc).__name__, started_at,
                  error="".join(traceback.format_exception(exc))[-20000:])


def beat(sessions: sessionmaker[Session], job_id: str, attempt: int, **values: Any) -> bool | None:
    """Record that the attempt is alive (with any pending progress); return the cancel flag,
    or None when the attempt no longer owns the job."""
    with sessions() as session:
        done = cast(CursorResult[Any], session.execute(
            update(Job).where(Job.id == job_id, Job.attempt == attempt, Job.status == "running")
            .values(heartbeat_at=now(), **values))).rowcount
        session.commit()
        if not done:
            return None
        return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def cancel_requested(sessions: sessionmaker[Session], job_id: str) -> bool:
    with sessions() as session:
        return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def cancel_queued(sessions: sessionmaker[Session], job_id: str) -> bool:
    """A job cancelled before any attempt started ends at once."""
    return _update(sessions, job_id, (Job.status == "queued",), status="cancelled",
                   finished_at=now(), message="cancelled before start")


def fail_queued(sessions: sessionmaker[Session], job_id: str, reason: str) -> bool:
    """A queued job that will never start (its runner is gone) ends as failed with the reason."""
    return _update(sessions, job_id, (Job.status == "queued",), status="failed", finished_at=now(),
                   message=reason[:500], error=reason)


def lost(sessions: sessionmaker[Session], job_id: str, attempt: int, reason: str,
         retryable: bool = True) -> str | None:
    """The process running ``attempt`` is gone. End it as cancelled (if asked), as failed with
    ``reason`` once its attempts are spent or its time limit is the cause, or queue a retry.

    Returns the new status ("queued" means: enqueue attempt + 1), or None if the attempt had
    already finished.
    """
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.attempt != attempt or job.status != "running":
            return None
        cancelled, retry = job.cancel_requested, job.attempt < job.max_attempts
        started = as_utc(job.started_at)
    if cancelled:
        return "cancelled" if finish(sessions, job_id, attempt, "cancelled", "cancelled", started) else None
    if retry and retryable:
        moved = _update(sessions, job_id, (Job.attempt == attempt, Job.status == "running"),
                        status="queued", attempt=attempt + 1, worker=None, heartbeat_at=None,
                        message=f"retrying after attempt {attempt}: {reason}"[:500])
        return "queued" if moved else None
    message = reason if attempt == 1 or not retryable else f"{reason}; gave up after {attempt} attempts"
    return "failed" if finish(sessions, job_id, attempt, "failed", message, started, error=reason) else None


def stale(sessions: sessionmaker[Session], older_than_s: float, worker_prefix: str) -> list[tuple[str, int, str | None]]:
    """(id, attempt, worker) of running jobs of ``worker_prefix`` whose heartbeat is older than
    ``older_than_s`` seconds."""
    cutoff = now() - dt.timedelta(seconds=older_than_s)
    with sessions() as session:
        rows = session.execute(
            select(Job.id, Job.attempt, Job.worker).where(
                Job.status == "running", Job.worker.startswith(worker_prefix),
                or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff))).all()
    return [(job_id, attempt, worker) for job_id, attempt, worker in rows]


def running_on(sessions: sessionmaker[Session], worker_prefix: str) -> list[tuple[str, int, str | None]]:
    """(id, attempt, worker) of every job running on a worker whose name starts with the prefix."""
    with sessions() as session:
        rows = session.execute(select(Job.id, Job.attempt, Job.worker).where(
            Job.status == "running", Job.worker.startswith(worker_prefix))).all()
    return [(job_id, attempt, worker) for job_id, attempt, worker in rows]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

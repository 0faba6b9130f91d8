"""Long optimisation runs as jobs: a table, a runner, and a context the handler reports through.

The default runner is a thread pool inside the web process (``JOB_WORKERS`` threads). The
interface (``submit``, a handler taking ``(params, context)``, state only in the ``jobs``
table) is what a Redis-backed queue (RQ or Celery) would implement with worker processes: the
handler and the table stay the same.
"""

from __future__ import annotations

import datetime as dt
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import JSON, DateTime, Float, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from reserve_service.db import Base

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(500), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class JobCancelled(Exception):
    """Raised inside a handler (by ``JobContext.check_cancelled``) to stop a cancelled job."""


class JobContext:
    """What a running handler may do: report progress, look for cancellation, use the database.

    ``reader()`` sessions never hold a write lock (read inputs with them while solving);
    ``writer()`` sessions are for storing results, briefly.
    """

    def __init__(self, job_id: str, sessions: sessionmaker[Session],
                 readers: sessionmaker[Session] | None = None) -> None:
        self.job_id = job_id
        self.sessions = sessions
        self.readers = readers or sessions

    def reader(self) -> Session:
        return self.readers()

    def writer(self) -> Session:
        return self.sessions()

    def progress(self, fraction: float, message: str = "") -> None:
        with self.sessions() as session:
            session.execute(update(Job).where(Job.id == self.job_id)
                            .values(progress=max(0.0, min(1.0, fraction)), message=message[:500]))
            session.commit()

    def cancel_requested(self) -> bool:
        with self.sessions() as session:
            return bool(session.scalar(select(Job.cancel_requested).where(Job.id == self.job_id)))

    def check_cancelled(self) -> None:
        if self.cancel_requested():
            raise JobCancelled()


Handler = Callable[[dict[str, Any], JobContext], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def job_kind(kind: str) -> Callable[[Handler], Handler]:
    """Register a handler for a job kind."""

    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class InProcessRunner:
    """Runs jobs on a thread pool in this process."""

    def __init__(self, sessions: sessionmaker[Session], workers: int = 1,
                 readers: sessionmaker[Session] | None = None) -> None:
        self.sessions = sessions
        self.readers = readers or sessions
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="job")

    def submit(self, session: Session, kind: str, params: dict[str, Any], created_by: str = "") -> Job:
        """Store a queued job in the caller's session, then start it once that commits."""
        if kind not in HANDLERS:
            raise KeyError(kind)
        job = Job(id=str(uuid.uuid4()), kind=kind, params=params, created_by=created_by,
                  status="queued", progress=0.0, message="queued", cancel_requested=False)
        session.add(job)
        session.commit()
        self.pool.submit(self._run, job.id)
        return job

    def _set(self, job_id: str, **values: Any) -> None:
        with self.sessions() as session:
            session.execute(update(Job).where(Job.id == job_id).values(**values))
            session.commit()

    def _run(self, job_id: str) -> None:
        with self.sessions() as session:
            job = session.get(Job, job_id)
            if job is None:
                return
            if job.cancel_requested:
                self._set(job_id, status="cancelled", finished_at=_now(), message="cancelled before start")
                return
            kind, params = job.kind, dict(job.params)
        self._set(job_id, status="running", started_at=_now(), message="running")
        context = JobContext(job_id, self.sessions, self.readers)
        try:
            result = HANDLERS[kind](params, context)
        except JobCancelled:
            self._set(job_id, status="cancelled", finished_at=_now(), message="cancelled")
        except Exception as exc:  # a failed job reports, it never takes the worker down
            self._set(job_id, status="failed", finished_at=_now(), message=str(exc)[:500],
                      error="".join(traceback.format_exception(exc))[-20000:])
        else:
            self._set(job_id, status="succeeded", finished_at=_now(), progress=1.0,
                      message="done", result=result)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

"""The ``jobs`` table: the one record of a job's status, progress, result and timings.

Both runners (in-process threads, RQ workers) write here and only here, so the API reads the
same row whichever process ran the job. Execution is at least once: every write of a running
attempt is guarded by its ``attempt`` number, so a stale attempt (a worker that was presumed
lost) can never overwrite the outcome of a later one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from reserve_service.db import Base

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(500), default="")
    #: the solve's latest figures from its monitor (stage, bound, gap, best, iterations, ...)
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    #: 1 for the first run; a retry after a lost worker increments it
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    #: hard wall-clock limit of one attempt, seconds
    time_limit_s: Mapped[float | None] = mapped_column(Float)
    #: which process runs it ("rq:<worker name>" or "thread:<host>:<pid>") and when it last said so
    worker: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: wall-clock seconds of the attempt that finished it (for the job-duration metrics)
    duration_s: Mapped[float | None] = mapped_column(Float)

"""The embedded runner: jobs on a thread pool inside the web process (no ``REDIS_URL``).

A thread cannot be killed, so here cancel and the time limit stop a solve through its monitor
(``should_stop``) and the handler's ``check_cancelled`` between stages. Jobs this runner left
``queued`` or ``running`` in a process that is gone (restart, crash) are marked failed as
interrupted: when a runner starts, and every ``lost_after_s`` while it has work.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from reserve_service.jobs import records
from reserve_service.jobs.runner import JobEnvironment, execute, new_job
from reserve_service.jobs.table import Job

PREFIX = "thread:"


class InProcessRunner:
    """Runs jobs on a thread pool in this process."""

    name = "in-process"

    def __init__(self, env: JobEnvironment, workers: int = 1) -> None:
        self.env = env
        self.worker = records.thread_worker_name()
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="job")
        self._sweeper: threading.Thread | None = None
        self._closed = threading.Event()
        try:
            self.mark_interrupted()
        except SQLAlchemyError:  # a database not migrated yet (``flask db-upgrade`` builds an app too)
            pass

    def submit(self, session: Any, kind: str, params: dict[str, Any], created_by: str = "") -> Job:
        """Store a queued job in the caller's session, then start it once that commits."""
        job = new_job(self.env, session, kind, params, created_by, worker=self.worker)
        session.commit()
        self.pool.submit(execute, self.env, job.id, 1, self.worker)
        self._start_sweeper()
        return job

    def cancel(self, job: Job) -> None:
        """The flag is set; the running solve sees it within a heartbeat."""

    def mark_interrupted(self) -> int:
        """Fail the jobs of in-process runners whose process is gone; returns how many."""
        sessions = self.env.sessions
        with sessions() as session:
            rows = session.execute(select(Job.id, Job.attempt, Job.status, Job.worker, Job.heartbeat_at)
                                   .where(Job.status.in_(("queued", "running")),
                                          Job.worker.startswith(PREFIX))).all()
        cutoff = records.now().timestamp() - self.env.settings.lost_after_s
        count = 0
        for job_id, attempt, status, worker, heartbeat in rows:
            # the query selects workers with the prefix: never NULL
            _, host, pid = (cast(str, worker).split(":") + ["", ""])[:3]
            here = host == records.HOST
            if here and pid.isdigit() and records.pid_alive(int(pid)):
                continue
            beat = records.as_utc(heartbeat)
            if not here and (status == "queued" or (beat and beat.timestamp() > cutoff)):
                continue  # another machine's runner, still alive as far as we can tell
            reason = f"interrupted: the process that ran it ({worker}) stopped"
            if status == "queued":
                count += records.fail_queued(sessions, job_id, reason)
            else:
                count += bool(records.lost(sessions, job_id, attempt, reason, retryable=False))
        return count

    def _start_sweeper(self) -> None:
        if self._sweeper is None:
            self._sweeper = threading.Thread(target=self._sweep, name="job-sweeper", daemon=True)
            self._sweeper.start()

    def _sweep(self) -> None:
        while not self._closed.wait(self.env.settings.lost_after_s):
            try:
                self.mark_interrupted()
            except Exception:  # a busy database delays the sweep, never stops it
                continue

    def shutdown(self) -> None:
        self._closed.set()
        self.pool.shutdown(wait=True, cancel_futures=True)


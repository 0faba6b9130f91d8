"""What a running handler sees: its context (database, progress, cancellation) and the
job-side :class:`~reserve_service.optimize.monitor.SolveMonitor` it passes to engines.

One heartbeat thread per running attempt writes the row at most once a second: the time it
was alive, the latest progress and figures, and reads back the cancel flag. So an engine may
call ``monitor.report`` and ``monitor.should_stop`` from a solver callback as often as it
likes: both only touch memory.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from reserve_service.jobs import records


class JobCancelled(Exception):
    """Raised inside a handler (by ``JobContext.check_cancelled``) to stop a cancelled job."""


class JobTimeLimit(Exception):
    """Raised inside a handler (by ``JobContext.check_cancelled``) once its time limit passed."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(f"time limit of {limit_s:g} s reached")
        self.limit_s = limit_s


def _finite(value: Any) -> Any:
    """Figures go into JSON: non-finite floats become None, numpy scalars plain numbers."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class JobMonitor:
    """The job's ``SolveMonitor``: reports kept in memory for the heartbeat to write, stop
    answered from the cancel flag the heartbeat read and from the attempt's deadline."""

    def __init__(self, time_limit_s: float | None = None) -> None:
        self.time_limit_s = time_limit_s
        self.deadline = time.monotonic() + time_limit_s if time_limit_s else math.inf
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}
        self.figures: dict[str, Any] = {}

    # -- SolveMonitor ----------------------------------------------------------------------

    def report(self, stage: str, fraction: float | None = None, **figures: Any) -> None:
        values: dict[str, Any] = {"message": f"{stage}"[:500]}
        if fraction is not None and math.isfinite(fraction):
            values["progress"] = max(0.0, min(1.0, float(fraction)))
        with self._lock:
            self.figures = {"stage": stage, **{k: _finite(v) for k, v in figures.items()}}
            values["figures"] = dict(self.figures)
            self._pending.update(values)

    def should_stop(self) -> bool:
        return self.cancelled.is_set() or self.out_of_time()

    # -- for the runner ---------------------------------------------------------------------

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def take_pending(self) -> dict[str, Any]:
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending

    def put_back(self, pending: dict[str, Any]) -> None:
        """Unwritten reports go back under any newer ones."""
        with self._lock:
            self._pending = {**pending, **self._pending}


class JobContext:
    """What a running handler may do: report progress, look for cancellation, use the database.

    ``reader()`` sessions never hold a write lock (read inputs with them while solving);
    ``writer()`` sessions are for storing results, briefly. ``monitor`` goes to the engines.
    Writes a handler makes should be keyed by ``job_id``: an attempt may run again after its
    worker was lost.
    """

    def __init__(self, job_id: str, sessions: sessionmaker[Session],
                 readers: sessionmaker[Session] | None = None, *, attempt: int = 1,
                 monitor: JobMonitor | None = None, started_at: dt.datetime | None = None) -> None:
        self.job_id = job_id
        self.started_at = started_at
        self.attempt = attempt
        self.sessions = sessions
        self.readers = readers or sessions
        self.monitor = monitor or JobMonitor()

    def reader(self) -> Session:
        return self.readers()

    def writer(self) -> Session:
        return self.sessions()

    def progress(self, fraction: float, message: str = "") -> None:
        """A stage boundary: report it through the monitor (written within a second)."""
        self.monitor.report(message, fraction)

    def cancel_requested(self) -> bool:
        if not self.monitor.cancelled.is_set() and records.cancel_requested(self.sessions, self.job_id):
            self.monitor.cancelled.set()
        return self.monitor.cancelled.is_set()

    def check_cancelled(self) -> None:
        """Between stages: stop here if the job was cancelled or its time limit passed."""
        if self.cancel_requested():
            raise JobCancelled()
        if self.monitor.out_of_time():
            raise JobTimeLimit(self.monitor.time_limit_s or 0.0)


class Heartbeat:
    """While an attempt runs: every ``interval`` seconds write its heartbeat and pending
    progress, and pick up a cancel request (a context manager around the handler).

    An attempt that no longer owns its row (presumed lost and retried elsewhere) is told to
    stop. Once the solve was told to stop and has not returned ``grace_s`` later,
    ``on_overrun`` is called (once).
    """

    def __init__(self, context: JobContext, interval: float = 1.0, *,
                 on_overrun: Callable[[JobContext], None] | None = None, grace_s: float = 5.0) -> None:
        self.context = context
        self.interval = interval
        self.on_overrun = on_overrun
        self.grace_s = grace_s
        self._stop_seen: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{context.job_id[:8]}",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        self.flush()

    def flush(self) -> None:
        context = self.context
        pending = context.monitor.take_pending()
        try:
            owned = records.beat(context.sessions, context.job_id, context.attempt, **pending)
        except Exception:  # the database may be busy for a moment; the next beat retries
            context.monitor.put_back(pending)
            return
        if owned is None or owned:  # superseded by a retry, or cancel requested
            context.monitor.cancelled.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
            if self.on_overrun is None or not self.context.monitor.should_stop():
                continue
            now = time.monotonic()
            self._stop_seen = self._stop_seen or now
            if now - self._stop_seen >= self.grace_s:
                self.on_overrun(self.context)
                self.on_overrun = None

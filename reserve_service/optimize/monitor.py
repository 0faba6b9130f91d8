"""How a long solve reports progress and learns that it should stop, without knowing who asks.

Engines take an optional ``monitor``; a job passes one that writes progress to the job record
(throttled) and answers ``should_stop`` from the cancel flag and the job's time limit. Both
calls must stay cheap, so an engine may call them from inside a solver callback or a search loop.

A job also makes its monitor the *active* one while its handler runs (:func:`watching`), so
code that was given no monitor, such as the solver backends, finds it with
:func:`current_monitor`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class SolveMonitor(Protocol):
    def report(self, stage: str, fraction: float | None = None, **figures: Any) -> None:
        """Say where the solve is: a stage name, the share done if known, and figures such as
        ``bound``, ``gap``, ``best``, ``served_share``, ``iterations``."""

    def should_stop(self) -> bool:
        """True once the solve should end as soon as it can, returning the best it has."""


class NullMonitor:
    """The monitor of a solve nobody watches: reports go nowhere, it never asks to stop."""

    def report(self, stage: str, fraction: float | None = None, **figures: Any) -> None:
        return None

    def should_stop(self) -> bool:
        return False


_active: contextvars.ContextVar[SolveMonitor | None] = contextvars.ContextVar("solve_monitor", default=None)


@contextmanager
def watching(monitor: SolveMonitor) -> Iterator[SolveMonitor]:
    """Make ``monitor`` the active one in this thread for the duration of the block."""
    token = _active.set(monitor)
    try:
        yield monitor
    finally:
        _active.reset(token)


def current_monitor() -> SolveMonitor:
    """The active monitor (see :func:`watching`), or one that does nothing."""
    active = _active.get()
    return active if active is not None else NullMonitor()


def monitor_or_null(monitor: SolveMonitor | None) -> SolveMonitor:
    """The given monitor, else the active one, else one that does nothing."""
    return monitor if monitor is not None else current_monitor()

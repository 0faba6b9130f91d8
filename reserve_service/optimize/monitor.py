"""How a long solve reports progress and learns that it should stop, without knowing who asks.

Engines take an optional ``monitor``; a job passes one that writes progress to the job record
(throttled) and answers ``should_stop`` from the cancel flag and the job's time limit. Both
calls must stay cheap, so an engine may call them from inside a solver callback or a search loop.
"""

from __future__ import annotations

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


def monitor_or_null(monitor: SolveMonitor | None) -> SolveMonitor:
    """The given monitor, or one that does nothing."""
    return monitor if monitor is not None else NullMonitor()

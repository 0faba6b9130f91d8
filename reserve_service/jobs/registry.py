"""Job kinds: the handler of each kind and the settings every runner applies to it.

The app factory fills one :class:`JobRegistry` explicitly from the ``JOB_HANDLERS`` mapping each
optimisation package exposes, so a web process and an RQ worker know exactly the same kinds,
and importing a module never registers anything by itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reserve_service.jobs.context import JobContext

Handler = Callable[[dict[str, Any], JobContext], dict[str, Any]]


@dataclass(frozen=True)
class JobSettings:
    """Limits and timings of jobs (config ``JOB_*``; see ``config.py``).

    ``time_limits`` is the hard wall-clock limit of one attempt per kind (seconds), with
    ``default_time_limit`` for other kinds; an attempt runs at most ``max_attempts`` times when
    its worker is lost; a running attempt beats every ``heartbeat_s`` and counts as lost once
    silent for ``lost_after_s``; ``stop_grace_s`` is how long a solve told to stop may take to
    return its best answer before its process is killed (RQ workers).
    """

    time_limits: Mapping[str, float] = field(default_factory=dict)
    default_time_limit: float = 3600.0
    max_attempts: int = 2
    heartbeat_s: float = 1.0
    lost_after_s: float = 15.0
    stop_grace_s: float = 5.0

    def time_limit(self, kind: str) -> float:
        return float(self.time_limits.get(kind, self.default_time_limit))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> JobSettings:
        return cls(time_limits=dict(config.get("JOB_TIME_LIMITS", {})),
                   default_time_limit=float(config.get("JOB_TIME_LIMIT", 3600)),
                   max_attempts=max(1, int(config.get("JOB_MAX_ATTEMPTS", 2))),
                   heartbeat_s=float(config.get("JOB_HEARTBEAT_SECONDS", 1.0)),
                   lost_after_s=float(config.get("JOB_LOST_AFTER_SECONDS", 15.0)),
                   stop_grace_s=float(config.get("JOB_STOP_GRACE_SECONDS", 5.0)))


class JobRegistry:
    """Handlers by job kind."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        known = self._handlers.get(kind)
        if known is not None and known is not handler:
            raise ValueError(f"job kind {kind!r} already has a handler ({known.__qualname__})")
        self._handlers[kind] = handler

    def register_all(self, handlers: Mapping[str, Handler]) -> None:
        for kind, handler in handlers.items():
            self.register(kind, handler)

    def register_modules(self, names: Iterable[str]) -> None:
        """Register the ``JOB_HANDLERS`` of each named module (config ``JOB_HANDLER_MODULES``)."""
        for name in names:
            self.register_all(importlib.import_module(name).JOB_HANDLERS)

    def __contains__(self, kind: object) -> bool:
        return kind in self._handlers

    def __getitem__(self, kind: str) -> Handler:
        return self._handlers[kind]

    @property
    def kinds(self) -> list[str]:
        return sorted(self._handlers)

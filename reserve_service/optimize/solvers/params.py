"""Solver parameters: which backend, time limit, threads, gap, seed, backend options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

VarKind = Literal["continuous", "integer", "binary"]
Sense = Literal["<=", ">=", "=="]
Status = Literal["optimal", "feasible", "infeasible", "time_limit"]

SOLVER_NAMES: tuple[str, ...] = ("auto", "highs", "cbc", "ortools", "ortools-cbc", "cpsat")
_AUTO_SOLVER = "highs"


class SolverError(RuntimeError):
    """The backend failed (unbounded model, solver error, unavailable solver)."""


@dataclass(frozen=True)
class SolverParams:
    """How to solve a model; defaults suit proving optimality on small and medium models.

    Parameters
    ----------
    solver
        One of ``SOLVER_NAMES``; ``"auto"`` picks HiGHS.
    time_limit
        Wall-clock seconds for the solver; ``None`` means no limit.
    threads
        Solver threads; ``None`` leaves the solver default.
    gap
        Relative MIP gap at which the solver may stop and report ``"optimal"``.  The default is
        tiny so that "optimal" means proven optimal, not "within 0.01 %" (HiGHS' own default).
    seed
        Random seed passed to the solver where it accepts one.
    verbose
        Print the solver log.
    monitor
        A :class:`~reserve_service.optimize.monitor.SolveMonitor` told the bound, incumbent and
        gap as the solver runs and asked whether to stop early (see :mod:`.progress`); without
        one, the running job's monitor if any.
    options
        Backend-specific options by name, passed through unchanged: HiGHS option names
        (``{"presolve": "off"}``), CBC command-line options (``{"cuts": "off"}``), SCIP
        parameters for ``"ortools"`` (``{"limits/nodes": 1000}``) or CP-SAT parameter fields.
    """

    solver: str = "auto"
    time_limit: float | None = None
    threads: int | None = None
    gap: float = 1e-9
    seed: int | None = 0
    verbose: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    monitor: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.solver not in SOLVER_NAMES:
            raise ValueError(f"solver must be one of {SOLVER_NAMES}, got {self.solver!r}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {self.time_limit}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if not 0 <= self.gap < 1:
            raise ValueError(f"gap must be in [0, 1), got {self.gap}")

    @property
    def backend(self) -> str:
        """The concrete backend name (``"auto"`` resolved)."""
        return _AUTO_SOLVER if self.solver == "auto" else self.solver


def resolve_params(
    params: SolverParams | None, solver: str = "auto", time_limit: float | None = None
) -> SolverParams:
    """Merge keyword shortcuts into a parameter object; explicit keywords win over ``params``."""
    base = params if params is not None else SolverParams()
    changes: dict[str, Any] = {}
    if solver != "auto":
        changes["solver"] = solver
    if time_limit is not None:
        changes["time_limit"] = time_limit
    if not changes:
        return base
    return SolverParams(**{**base.__dict__, **changes})

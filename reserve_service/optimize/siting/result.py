"""What a siting model returns, and the error for impossible input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class SitingInputError(ValueError):
    """Input that makes a siting problem impossible or meaningless, found before solving.

    Attributes
    ----------
    field
        The offending argument (``"cost"``, ``"demand"``, ``"p"``, ``"radius"``, ...), so an API
        layer can report ``errors{field: [message]}``.
    details
        The numbers behind the message (e.g. ``{"p": 12, "n_sites": 10}``).
    """

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.details = details


@dataclass
class SitingResult:
    """Outcome of a siting model.

    Attributes
    ----------
    status
        ``"optimal"`` (proven), ``"feasible"``, ``"infeasible"`` or ``"time_limit"``.
    objective
        Objective of the returned solution, recomputed from :attr:`open` / :attr:`assign`
        (``None`` when there is no solution).
    bound
        Best proven bound on the optimum (lower for minimisation, upper for maximisation).
    gap
        ``|objective - bound| / |objective|``.
    open
        Sorted indices of open sites.
    assign
        Per demand row, the serving site (``-1``: none reachable / not served); for split
        capacitated solutions an ``(n_demand, n_sites)`` matrix of demand quantities.
    solve_seconds
        Wall-clock seconds of the whole call (checks, heuristic, build, solve, extract).
    solver
        Backend that solved the model (e.g. ``"pulp-highs"``, ``"ortools-scip"``).
    coverage
        Covering models: covered demand, fraction and uncovered rows; for every model, the demand
        within the given radius when it applies.
    details
        Model size, heuristic value, solver seconds, cost breakdown — whatever helps explain.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    open: list[int]
    assign: list[int] | np.ndarray
    solve_seconds: float
    solver: str
    coverage: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        obj = "-" if self.objective is None else f"{self.objective:.6g}"
        bound = "-" if self.bound is None else f"{self.bound:.6g}"
        gap = "-" if self.gap is None else f"{100 * self.gap:.3g}%"
        return (
            f"{self.status}: objective {obj}, bound {bound}, gap {gap}, "
            f"{len(self.open)} open {self.open[:12]}{'...' if len(self.open) > 12 else ''}, "
            f"{self.solve_seconds:.2f}s via {self.solver}"
        )

def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    return abs(objective - bound) / max(abs(objective), 1e-10)

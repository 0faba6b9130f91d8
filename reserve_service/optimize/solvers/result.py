"""What a backend returns: status, objective, bound, gap, values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .params import SolverError, Status

if TYPE_CHECKING:
    from .model import LinearModel, LinExpr, Var


@dataclass
class SolveResult:
    """What a backend returns.

    ``values`` holds one value per model variable (``None`` when no solution is available);
    ``bound`` is the solver's best proven bound on the objective (``None`` when unknown).
    """

    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    solver: str
    values: np.ndarray | None = None
    message: str = ""

    @property
    def has_solution(self) -> bool:
        return self.values is not None

    def value(self, item: Var | LinExpr) -> float:
        """Value of a variable or expression in the solution."""
        from .model import Var

        if self.values is None:
            raise SolverError(f"no solution available (status {self.status})")
        if isinstance(item, Var):
            return float(self.values[item.index])
        return item.constant + sum(c * float(self.values[i]) for i, c in item.terms.items())


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|objective - bound| / max(|objective|, 1e-10)``, or ``None`` if either is unknown."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    return abs(objective - bound) / max(abs(objective), 1e-10)


def finite_or_none(x: float) -> float | None:
    """``x``, or ``None`` when it is infinite or NaN."""
    return x if math.isfinite(x) else None


def finish(
    model: LinearModel,
    status: Status,
    objective: float | None,
    bound: float | None,
    seconds: float,
    solver: str,
    values: np.ndarray | None,
    message: str = "",
) -> SolveResult:
    """The result of a backend's solve; an optimal LP (or a MIP with no bound) bounds itself."""
    if values is None:
        objective = None
    if status == "optimal" and bound is None:
        bound = objective
    if not model.is_mip and status == "optimal":
        bound = objective
    return SolveResult(
        status=status,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        solve_seconds=seconds,
        solver=solver,
        values=values,
        message=message,
    )


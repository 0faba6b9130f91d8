"""The backend table: ``SolverParams.backend`` → the function that solves a model with it."""

from __future__ import annotations

from .model import LinearModel
from .params import SolverError, SolverParams
from .result import SolveResult


def solve_model(model: LinearModel, params: SolverParams) -> SolveResult:
    """Emit ``model`` to the backend chosen in ``params`` and solve it."""
    backend = params.backend
    if backend == "highs":
        from .highs import solve_highs

        return solve_highs(model, params)
    if backend == "cbc":
        from .cbc import solve_cbc

        return solve_cbc(model, params)
    if backend in ("ortools", "ortools-cbc"):
        from .ortools import solve_pywraplp

        return solve_pywraplp(model, params, "SCIP" if backend == "ortools" else "CBC")
    if backend == "cpsat":
        from .cpsat import solve_cpsat

        return solve_cpsat(model, params)
    raise SolverError(f"unknown solver {backend!r}")  # pragma: no cover

"""Solvers: write a linear model once, solve it with PuLP (CBC, HiGHS) or OR-Tools.

A model is a :class:`LinearModel` — variables, linear constraints, one linear objective and
optional warm-start hints — kept as plain arrays.  :meth:`LinearModel.solve` emits it to the
backend named in :class:`SolverParams` and returns a :class:`SolveResult` with a status in
``{"optimal", "feasible", "infeasible", "time_limit"}``, the objective, the best bound, the gap
and the variable values.  Choosing a solver is a parameter, never a fork of the model.

Backends (``SolverParams.solver``)

======================  =====================================================================
``"auto"``              ``"highs"``
``"highs"``             PuLP → HiGHS (highspy); warm-start hints supported
``"cbc"``               PuLP → CBC (``PULP_CBC_CMD``); hints via ``warmStart``; bound read from log
``"ortools"``           OR-Tools ``pywraplp`` with SCIP; hints supported
``"ortools-cbc"``       OR-Tools ``pywraplp`` with CBC
``"cpsat"``             OR-Tools CP-SAT; only for models whose variables are all integral and
                        whose constraint coefficients are integers
======================  =====================================================================

Modules: :mod:`.params` (``SolverParams``), :mod:`.model` (``LinearModel``, ``Var``,
``LinExpr``), :mod:`.result` (``SolveResult``), one module per backend (:mod:`.highs`,
:mod:`.cbc`, :mod:`.ortools`, :mod:`.cpsat`) and :mod:`.backends`, the table between them.

Example
-------
>>> m = LinearModel("knapsack")
>>> x = m.add_vars(3, kind="binary", prefix="x")
>>> _ = m.add_constraint(LinExpr.weighted(x, [2, 3, 4]) <= 5)
>>> m.maximize(LinExpr.weighted(x, [3, 4, 5]))
>>> m.solve(SolverParams(solver="highs")).objective
7.0
"""

from .model import LinearConstraint, LinearModel, LinExpr, Var
from .params import (
    SOLVER_NAMES,
    Sense,
    SolverError,
    SolverParams,
    Status,
    VarKind,
    resolve_params,
)
from .result import SolveResult, relative_gap

__all__ = [
    "SOLVER_NAMES",
    "LinExpr",
    "LinearConstraint",
    "LinearModel",
    "Sense",
    "SolveResult",
    "SolverError",
    "SolverParams",
    "Status",
    "Var",
    "VarKind",
    "relative_gap",
    "resolve_params",
]

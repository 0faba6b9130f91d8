"""Backend ``"highs"``: PuLP → HiGHS (highspy) with warm-start hints; and HiGHS itself.

Everything that talks to highspy lives here: the PuLP backend, :func:`highs_from_model` (a
:class:`LinearModel` passed to highspy directly, for algorithms that re-solve one model many
times such as the L-shaped master) and :func:`highs_status`, the one mapping from HiGHS'
model statuses to ours.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from . import progress
from .model import LinearModel
from .params import SolverError, SolverParams, Status
from .pulp_model import to_pulp
from .result import SolveResult, finish, objective_value


def new_highs(verbose: bool = False) -> Any:
    """A quiet highspy instance (threads are left to HiGHS: its scheduler is process-wide)."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    return h


def is_infeasible(hstatus: Any) -> bool:
    """Whether a HiGHS model status proves the model infeasible."""
    import highspy

    ms = highspy.HighsModelStatus
    return hstatus in (ms.kInfeasible, ms.kUnboundedOrInfeasible)


def highs_status(h: Any, has_solution: bool, name: str) -> Status:
    """Our status for the model status of the highspy instance ``h`` after ``run()``.

    Raises :class:`SolverError` when HiGHS reports the model unbounded, or ends without a
    solution for another reason than infeasibility or the time limit.
    """
    import highspy

    hstatus = h.getModelStatus()
    ms = highspy.HighsModelStatus
    if hstatus == ms.kOptimal:
        return "optimal"
    if is_infeasible(hstatus):
        return "infeasible"
    if hstatus == ms.kUnbounded:
        raise SolverError(f"{name}: HiGHS reports the model unbounded")
    if hstatus in (ms.kTimeLimit, ms.kInterrupt):  # out of time, or stopped by its monitor
        return "time_limit"
    if has_solution:
        return "feasible"
    raise SolverError(f"{name}: HiGHS ended with {h.modelStatusToString(hstatus)}")


def highs_from_model(model: LinearModel, params: SolverParams) -> Any:
    """Pass a LinearModel to a new highspy instance (rows in row-wise sparse form)."""
    import highspy

    h = new_highs(params.verbose)
    inf = highspy.kHighsInf
    n = model.num_vars
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = model.num_constraints
    lp.col_cost_ = model.objective_vector()
    lp.offset_ = model.objective.constant
    lp.col_lower_ = np.array([v if math.isfinite(v) else -inf for v in model.var_lb])
    lp.col_upper_ = np.array([v if math.isfinite(v) else inf for v in model.var_ub])
    lower, upper, starts, index, value = [], [], [0], [], []
    for con in model.constraints:
        lower.append(con.rhs if con.sense in (">=", "==") else -inf)
        upper.append(con.rhs if con.sense in ("<=", "==") else inf)
        index.extend(con.indices.tolist())
        value.extend(con.coefs.tolist())
        starts.append(len(index))
    lp.row_lower_ = np.array(lower, dtype=float)
    lp.row_upper_ = np.array(upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value, dtype=float)
    if model.is_mip:
        lp.integrality_ = [
            highspy.HighsVarType.kContinuous if k == "continuous" else highspy.HighsVarType.kInteger
            for k in model.var_kind
        ]
    h.passModel(lp)
    monitor = progress.active(params.monitor)
    if monitor is not None:
        progress.watch_highs(h, monitor, model.name, lambda value: value)
    return h


def solve_highs(model: LinearModel, params: SolverParams) -> SolveResult:
    """Solve with PuLP's HiGHS interface, passing the hints to highspy as a start."""
    import highspy
    import pulp

    started = time.perf_counter()
    prob, lp_vars = to_pulp(model)
    hints = model.hints
    monitor = progress.active(params.monitor)
    # PuLP hands HiGHS the objective without its constant, negated when maximising
    sign = -1.0 if model.objective_sense == "maximize" else 1.0

    class _HiGHSWithHints(pulp.HiGHS):
        """PuLP's HiGHS plus a warm start passed to highspy after the model is built."""

        def buildSolverModel(self, lp: Any) -> None:  # noqa: N802 (PuLP's name)
            super().buildSolverModel(lp)
            if hints:
                start = np.zeros(lp.solverModel.getNumCol())
                for idx, value in hints.items():
                    col = getattr(lp_vars[idx], "index", None)
                    if col is not None:
                        start[col] = value
                solution = highspy.HighsSolution()
                solution.col_value = start.tolist()
                solution.value_valid = True
                lp.solverModel.setSolution(solution)
            if monitor is not None:
                progress.watch_highs(lp.solverModel, monitor, model.name,
                                     lambda value: sign * value + model.objective.constant)

    options: dict[str, Any] = {}
    if params.seed is not None:
        options["random_seed"] = int(params.seed)
    options.update(params.options)
    solver = _HiGHSWithHints(
        msg=params.verbose,
        timeLimit=params.time_limit,
        gapRel=params.gap if model.is_mip else None,
        threads=params.threads,
        **options,
    )
    prob.solve(solver)
    seconds = time.perf_counter() - started

    h = prob.solverModel
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = None
    if has_solution:
        col_values = np.asarray(h.getSolution().col_value)
        values = np.array([_pulp_value(v, col_values, model) for v in lp_vars])
    objective = objective_value(model, values)
    bound = None
    if model.is_mip and math.isfinite(info.mip_dual_bound):
        bound = sign * info.mip_dual_bound + model.objective.constant
    status = highs_status(h, values is not None, model.name)
    return finish(model, status, objective, bound, seconds, "pulp-highs", values)


def _pulp_value(var: Any, col_values: np.ndarray, model: LinearModel) -> float:
    """Value of a PuLP variable from HiGHS' column values; unused variables sit at a bound."""
    col = getattr(var, "index", None)
    if col is not None:
        return float(col_values[col])
    k = int(var.name[1:])
    return min(max(0.0, model.var_lb[k]), model.var_ub[k])

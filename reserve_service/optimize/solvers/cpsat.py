"""Backend ``"cpsat"``: OR-Tools CP-SAT, for models whose variables are all integral and whose
constraint coefficients are integers."""

from __future__ import annotations

import math
import time

import numpy as np

from . import progress
from .model import LinearModel
from .params import SolverError, SolverParams, Status
from .result import SolveResult, finish


def solve_cpsat(model: LinearModel, params: SolverParams) -> SolveResult:
    """Solve with CP-SAT (integral variables and integer coefficients only)."""
    from ortools.sat.python import cp_model

    if not model.is_integral():
        raise SolverError(
            f"{model.name}: CP-SAT needs integral variables and integer constraint "
            "coefficients; use 'highs', 'cbc' or 'ortools'"
        )
    started = time.perf_counter()
    cp = cp_model.CpModel()
    big = 2**40
    variables = [
        cp.new_int_var(
            int(max(lb, -big)) if math.isfinite(lb) else -big,
            int(min(ub, big)) if math.isfinite(ub) else big,
            f"v{k}",
        )
        for k, (lb, ub) in enumerate(zip(model.var_lb, model.var_ub, strict=True))
    ]
    for con in model.constraints:
        expr = sum(
            int(c) * variables[i]
            for i, c in zip(con.indices.tolist(), con.coefs.tolist(), strict=True)
        )
        rhs = int(con.rhs)
        if con.sense == "<=":
            cp.add(expr <= rhs)
        elif con.sense == ">=":
            cp.add(expr >= rhs)
        else:
            cp.add(expr == rhs)
    idxs = list(model.objective.terms)
    obj = cp_model.LinearExpr.weighted_sum(
        [variables[i] for i in idxs], [model.objective.terms[i] for i in idxs]
    )
    if model.objective_sense == "maximize":
        cp.maximize(obj)
    else:
        cp.minimize(obj)
    for idx, value in model.hints.items():
        cp.add_hint(variables[idx], int(round(value)))

    solver = cp_model.CpSolver()
    if params.time_limit is not None:
        solver.parameters.max_time_in_seconds = params.time_limit
    solver.parameters.num_workers = params.threads or 1
    solver.parameters.relative_gap_limit = params.gap
    if params.seed is not None:
        solver.parameters.random_seed = params.seed
    solver.parameters.log_search_progress = params.verbose
    for key, value in params.options.items():
        setattr(solver.parameters, key, value)
    monitor = progress.active(params.monitor)
    report = progress.cpsat_callback(monitor, model.name, model.objective.constant) if monitor else None
    with progress.stop_watcher(monitor, solver.stop_search) as stopped:
        code = solver.solve(cp, report)
    seconds = time.perf_counter() - started

    has_solution = code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    values = np.array([solver.value(v) for v in variables], dtype=float) if has_solution else None
    constant = model.objective.constant
    obj_value = solver.objective_value + constant if has_solution else None
    bound = solver.best_objective_bound + constant if has_solution else None
    if code == cp_model.OPTIMAL:
        status: Status = "optimal"
    elif code == cp_model.INFEASIBLE:
        status = "infeasible"
    elif code in (cp_model.FEASIBLE, cp_model.UNKNOWN) and (params.time_limit is not None or stopped.is_set()):
        status = "time_limit"
    elif code == cp_model.FEASIBLE:
        status = "feasible"
    else:
        raise SolverError(f"{model.name}: CP-SAT ended with {solver.status_name(code)}")
    return finish(model, status, obj_value, bound, seconds, "ortools-cpsat", values)

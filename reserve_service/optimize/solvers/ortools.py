"""Backends ``"ortools"`` (SCIP) and ``"ortools-cbc"``: OR-Tools ``pywraplp``; hints supported."""

from __future__ import annotations

import math
import time

import numpy as np

from . import progress
from .model import LinearModel
from .params import SolverError, SolverParams, Status
from .result import SolveResult, finish, finite_or_none


def solve_pywraplp(model: LinearModel, params: SolverParams, backend: str) -> SolveResult:
    """Solve with OR-Tools' ``pywraplp`` and its ``backend`` (``"SCIP"`` or ``"CBC"``)."""
    from ortools.linear_solver import pywraplp

    started = time.perf_counter()
    solver = pywraplp.Solver.CreateSolver(backend)
    if solver is None:
        raise SolverError(f"OR-Tools solver {backend} is not available")
    inf = solver.infinity()
    variables = []
    for k, (lb, ub, kind) in enumerate(
        zip(model.var_lb, model.var_ub, model.var_kind, strict=True)
    ):
        lo = lb if math.isfinite(lb) else -inf
        hi = ub if math.isfinite(ub) else inf
        if kind == "continuous":
            variables.append(solver.NumVar(lo, hi, f"v{k}"))
        else:
            variables.append(solver.IntVar(lo, hi, f"v{k}"))
    for con in model.constraints:
        lo, hi = {
            "<=": (-inf, con.rhs),
            ">=": (con.rhs, inf),
            "==": (con.rhs, con.rhs),
        }[con.sense]
        row = solver.Constraint(lo, hi)
        for idx, coef in zip(con.indices.tolist(), con.coefs.tolist(), strict=True):
            row.SetCoefficient(variables[idx], coef)
    objective = solver.Objective()
    for idx, coef in model.objective.terms.items():
        objective.SetCoefficient(variables[idx], coef)
    objective.SetOffset(model.objective.constant)
    if model.objective_sense == "maximize":
        objective.SetMaximization()
    else:
        objective.SetMinimization()

    if params.time_limit is not None:
        solver.SetTimeLimit(int(math.ceil(params.time_limit * 1000)))
    if params.threads is not None:
        solver.SetNumThreads(params.threads)
    if params.verbose:
        solver.EnableOutput()
    specific = dict(params.options)
    if backend == "SCIP" and params.seed is not None:
        specific.setdefault("randomization/randomseedshift", params.seed)
    if specific:
        solver.SetSolverSpecificParametersAsString(
            "\n".join(f"{key} = {value}" for key, value in specific.items())
        )
    if model.hints:
        idxs = list(model.hints)
        solver.SetHint([variables[i] for i in idxs], [model.hints[i] for i in idxs])
    mp = pywraplp.MPSolverParameters()
    if model.is_mip:
        mp.SetDoubleParam(mp.RELATIVE_MIP_GAP, params.gap)
    with progress.stop_watcher(progress.active(params.monitor), solver.InterruptSolve) as stopped:
        code = solver.Solve(mp)
    seconds = time.perf_counter() - started
    name = f"ortools-{backend.lower()}"

    has_solution = code in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)
    values = np.array([v.solution_value() for v in variables]) if has_solution else None
    obj_value = objective.Value() if has_solution else None
    bound = finite_or_none(objective.BestBound()) if model.is_mip else None
    out_of_time = params.time_limit is not None and solver.wall_time() >= 0.98e3 * params.time_limit
    out_of_time = out_of_time or stopped.is_set()  # stopped by its monitor: like a time limit
    if code == pywraplp.Solver.OPTIMAL:
        status: Status = "optimal"
    elif code == pywraplp.Solver.INFEASIBLE:
        status = "infeasible"
    elif code == pywraplp.Solver.UNBOUNDED:
        raise SolverError(f"{model.name}: {backend} reports the model unbounded")
    elif code == pywraplp.Solver.FEASIBLE:
        status = "time_limit" if out_of_time else "feasible"
    elif code == pywraplp.Solver.NOT_SOLVED and out_of_time:
        status = "time_limit"
    else:
        raise SolverError(f"{model.name}: {backend} ended with result code {code}")
    return finish(model, status, obj_value, bound, seconds, name, values)

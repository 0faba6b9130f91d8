"""Backend ``"cbc"``: PuLP → CBC (``PULP_CBC_CMD``); hints via ``warmStart``."""

from __future__ import annotations

import os
import re
import tempfile
import time
import warnings

import numpy as np

from . import progress
from .model import LinearModel
from .params import SolverError, SolverParams, Status
from .pulp_model import to_pulp
from .result import SolveResult, finish, objective_value


def solve_cbc(model: LinearModel, params: SolverParams) -> SolveResult:
    """Solve with PuLP's bundled CBC; the best bound is read from CBC's log."""
    import pulp

    started = time.perf_counter()
    prob, lp_vars = to_pulp(model)
    for idx, value in model.hints.items():
        lp_vars[idx].setInitialValue(value)
    options = [] if params.seed is None else [f"randomCbcSeed {params.seed + 1}"]
    options += [f"{key} {value}" for key, value in params.options.items()]
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        with warnings.catch_warnings():
            # PuLP 3.3 flags its bundled CBC as deprecated in favour of a separately installed
            # COIN_CMD; the bundled binary is what is installed here.
            warnings.simplefilter("ignore", DeprecationWarning)
            cmd = pulp.PULP_CBC_CMD(
                msg=params.verbose,
                timeLimit=params.time_limit,
                gapRel=params.gap if model.is_mip else None,
                threads=params.threads,
                warmStart=bool(model.hints),
                logPath=log_path,
                options=options,
            )
        sign = -1.0 if model.objective_sense == "maximize" else 1.0
        monitor = progress.active(params.monitor)
        report = progress.cbc_reporter(log_path, monitor, model.name, sign, model.objective.constant) \
            if monitor is not None else None
        with progress.stop_watcher(monitor, lambda: progress.interrupt_cbc(log_path), report) as stopped:
            prob.solve(cmd)
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            log = fh.read()
    seconds = time.perf_counter() - started

    stopped_on_time = bool(re.search(r"Stopped on time|time limit", log, re.IGNORECASE))
    stopped_on_time = stopped_on_time or stopped.is_set()  # stopped by its monitor: like a time limit
    values = None
    if prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        values = np.array(
            [
                v.varValue if v.varValue is not None else min(max(0.0, lb), ub)
                for v, lb, ub in zip(lp_vars, model.var_lb, model.var_ub, strict=True)
            ]
        )
    objective = objective_value(model, values)
    bound = _cbc_bound(log, model, objective)
    if prob.status == pulp.LpStatusInfeasible:
        status: Status = "infeasible"
    elif prob.status == pulp.LpStatusUnbounded:
        raise SolverError(f"{model.name}: CBC reports the model unbounded")
    elif prob.sol_status == pulp.LpSolutionOptimal and not stopped_on_time:
        status = "optimal"
    elif stopped_on_time:
        status = "time_limit"
    elif values is not None:
        status = "feasible"
    else:
        raise SolverError(
            f"{model.name}: CBC ended without a solution ({pulp.LpStatus[prob.status]})"
        )
    return finish(model, status, objective, bound, seconds, "pulp-cbc", values)


def _cbc_bound(log: str, model: LinearModel, objective: float | None) -> float | None:
    """Best bound from CBC's log ("Lower bound:"); CBC prints it without the objective constant.

    When maximising, the printed sign depends on how the model reached CBC, so the candidate
    consistent with the incumbent (bound >= objective) is taken.
    """
    match = re.search(r"Lower bound:\s*([-+0-9.eE]+)", log)
    if match is None:
        return None
    printed = float(match.group(1))
    constant = model.objective.constant
    if model.objective_sense == "minimize":
        return printed + constant
    candidates = [c + constant for c in (printed, -printed)]
    if objective is not None:
        candidates = [c for c in candidates if c >= objective - 1e-6 * max(1.0, abs(objective))]
    return min(candidates) if candidates else None

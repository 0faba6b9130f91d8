"""The multi-cut L-shaped method (Benders) with HiGHS."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from reserve_service.optimize.solvers import LinearModel, LinExpr, SolverParams
from reserve_service.optimize.solvers.highs import highs_from_model, is_infeasible, new_highs

from .explain import _explain_certificates
from .extract import _extract, _second_stage_summary, _value
from .first_stage import _add_first_stage, _Options
from .instance import PrepositioningInstance, PrepositioningResult
from .second_stage import _scenario_lp, _ScenarioLP


def _highs_from_scenario(lp: _ScenarioLP, X: np.ndarray) -> Any:
    import highspy

    h = new_highs()
    h.setOptionValue("presolve", "off")  # warm-started dual simplex on rhs changes
    inf = highspy.kHighsInf
    n = len(lp.cost)
    model = highspy.HighsLp()
    model.num_col_ = n
    model.num_row_ = lp.A.shape[0]
    model.col_cost_ = lp.cost
    model.col_lower_ = np.zeros(n)
    model.col_upper_ = np.full(n, inf)
    rhs = lp.rhs(X)
    model.row_lower_ = np.where(lp.is_eq, rhs, -inf)
    model.row_upper_ = rhs
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = lp.A.indptr.astype(np.int32)
    model.a_matrix_.index_ = lp.A.indices.astype(np.int32)
    model.a_matrix_.value_ = lp.A.data.astype(float)
    h.passModel(model)
    return h


def _solve_sub(
    h: Any, lp: _ScenarioLP, X: np.ndarray
) -> tuple[bool, float, np.ndarray, np.ndarray]:
    """Solve one scenario LP at X.

    Returns ``(True, value, subgradient wrt X, column values)`` when it has a solution, or
    ``(False, r·h, Tᵀr, r)`` with a dual ray ``r`` (Farkas certificate) when it is infeasible.
    """
    import highspy

    if len(lp.cost) == 0:  # nothing needed in this scenario
        return True, 0.0, np.zeros(lp.T.shape[1]), np.zeros(0)
    rhs = lp.rhs(X)
    m = len(rhs)
    lower = np.where(lp.is_eq, rhs, -highspy.kHighsInf)
    h.changeRowsBounds(m, np.arange(m, dtype=np.int32), lower, rhs)
    h.run()
    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    if is_infeasible(status):
        _, has_ray, ray = h.getDualRay()
        if not has_ray:
            h.clearSolver()
            h.run()
            _, has_ray, ray = h.getDualRay()
        if not has_ray:
            raise RuntimeError("scenario LP is infeasible but HiGHS gave no dual ray")
        ray = np.asarray(ray, dtype=float)
        ray[np.abs(ray) < 1e-12] = 0.0
        return False, float(ray @ lp.h), np.asarray(lp.T.T @ ray).ravel(), ray
    if status != ms.kOptimal:
        h.clearSolver()
        h.run()
        status = h.getModelStatus()
        if status != ms.kOptimal:
            raise RuntimeError(f"scenario LP ended with {h.modelStatusToString(status)}")
    sol = h.getSolution()
    duals = np.asarray(sol.row_dual)
    value = float(h.getInfo().objective_function_value)
    grad = lp.T.T @ duals
    return True, value, np.asarray(grad).ravel(), np.asarray(sol.col_value)


def _run_master(hm: Any) -> Any:
    """Run the master; on a numerical failure retry from scratch, then with interior point."""
    import highspy

    ms = highspy.HighsModelStatus
    hm.run()
    status = hm.getModelStatus()
    if status in (ms.kOptimal, ms.kInfeasible, ms.kTimeLimit):
        return status
    hm.clearSolver()
    hm.run()
    status = hm.getModelStatus()
    if status in (ms.kOptimal, ms.kInfeasible, ms.kTimeLimit):
        return status
    hm.clearSolver()
    hm.setOptionValue("solver", "ipm")
    hm.run()
    hm.setOptionValue("solver", "choose")
    return hm.getModelStatus()


def _solve_benders(
    inst: PrepositioningInstance,
    budget: float | None,
    service_level: float | None,
    scenario_share: float | None,
    params: SolverParams,
    integer_stock: bool,
    fixed_stock: np.ndarray | None,
    max_iterations: int,
    explain: bool,
) -> PrepositioningResult:
    import highspy

    started = time.perf_counter()
    deadline = None if params.time_limit is None else started + params.time_limit
    tol = max(params.gap, 1e-6)
    opt = _Options(
        budget,
        service_level,
        scenario_share,
        integer_stock,
        None if fixed_stock is None else np.asarray(fixed_stock, dtype=float),
        None,
    )
    master = LinearModel("prepositioning_master")
    first = _add_first_stage(master, inst, opt)
    theta = [master.add_var(f"theta[{s}]") for s in range(len(inst.scenarios))]
    master.minimize(first.cost + LinExpr.total(theta))
    link_idx = np.fromiter((v.index for v in first.link_vars()), dtype=np.int64)
    theta_idx = np.array([t.index for t in theta], dtype=np.int64)
    first_cost = first.cost
    hm = highs_from_model(master, params)
    hm.setOptionValue("mip_rel_gap", 1e-9)
    lps = [_scenario_lp(inst, s, opt) for s in range(len(inst.scenarios))]

    nd, ni, _, ns = inst.shape
    # iteration 0 evaluates today's stock (or the fixed stock) to seed the cuts
    X = np.zeros(len(link_idx))
    X[: nd * ni] = (
        opt.fixed_stock
        if opt.fixed_stock is not None
        else np.asarray(inst.current_stock, dtype=float)
    ).ravel()
    if scenario_share is not None:
        X[nd * ni :] = 1.0
    subs = [_highs_from_scenario(lp, X) for lp in lps]
    best_ub, best_values, best_stages = math.inf, None, None
    lower = -math.inf
    status = "time_limit"
    iterations = 0
    theta_hat = np.full(ns, -math.inf)
    master_values: np.ndarray | None = None
    # phase 1 relaxes the master's binaries (cheap LP masters); its cuts stay valid in phase 2
    integer_cols = np.array(
        [k for k, kind in enumerate(master.var_kind) if kind != "continuous"], dtype=np.int32
    )
    relaxed = len(integer_cols) > 0
    if relaxed:
        hm.changeColsIntegrality(
            len(integer_cols),
            integer_cols,
            np.array([highspy.HighsVarType.kContinuous] * len(integer_cols)),
        )
    relaxed_ub = math.inf
    certificates: dict[int, np.ndarray] = {}
    for iterations in range(max_iterations + 1):
        q_total = 0.0
        stages = []
        rows_start: list[int] = [0]
        rows_index: list[int] = []
        rows_value: list[float] = []
        rows_lower: list[float] = []
        all_feasible = True
        for s, (lp, h) in enumerate(zip(lps, subs, strict=True)):
            ok, value, grad, y = _solve_sub(h, lp, X)
            nz = np.flatnonzero(np.abs(grad) > 1e-12)
            if not ok:
                # feasibility cut from the ray r: plans meeting the level have r·(h + T X) on
                # the other side of 0 than X̂ (which violates it)
                all_feasible = False
                certificates[s] = y
                sign = 1.0 if value + float(grad @ X) > 0 else -1.0
                if len(nz) == 0:
                    status = "infeasible"  # no plan at all can make this scenario feasible
                rows_index.extend(link_idx[nz].tolist())
                rows_value.extend((-sign * grad[nz]).tolist())
                rows_lower.append(sign * value)
                rows_start.append(len(rows_index))
                continue
            q_total += value
            stages.append(_second_stage_summary(lp, y))
            if value > theta_hat[s] + 1e-9 * max(1.0, abs(value)):
                # optimality cut θ_s − g·X >= Q_s − g·X̂
                rows_index.extend([int(theta_idx[s]), *link_idx[nz].tolist()])
                rows_value.extend([1.0, *(-grad[nz]).tolist()])
                rows_lower.append(value - float(grad @ X))
                rows_start.append(len(rows_index))
        if status == "infeasible":
            break
        if master_values is not None and all_feasible:
            ub = _value(first_cost, master_values) + q_total
            if relaxed:
                relaxed_ub = min(relaxed_ub, ub)
            elif ub < best_ub:
                best_ub, best_values, best_stages = ub, master_values, stages
        if (
            relaxed
            and relaxed_ub < math.inf
            and relaxed_ub - lower <= tol * max(1.0, abs(relaxed_ub))
        ):
            relaxed = False  # the relaxation has converged: restore the binaries
            hm.changeColsIntegrality(
                len(integer_cols),
                integer_cols,
                np.array([highspy.HighsVarType.kInteger] * len(integer_cols)),
            )
        elif not relaxed and best_ub < math.inf and best_ub - lower <= tol * max(1.0, abs(best_ub)):
            status = "optimal"
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        if len(rows_lower):
            k = len(rows_lower)
            hm.addRows(
                k,
                np.array(rows_lower),
                np.full(k, highspy.kHighsInf),
                len(rows_index),
                np.array(rows_start[:-1], dtype=np.int32),
                np.array(rows_index, dtype=np.int32),
                np.array(rows_value),
            )
        if deadline is not None:
            hm.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()))
        mstatus = _run_master(hm)
        if is_infeasible(mstatus):
            status = "infeasible"
            break
        info = hm.getInfo()
        if info.primal_solution_status != 2:
            break
        master_values = np.asarray(hm.getSolution().col_value)
        is_mip_run = len(integer_cols) > 0 and not relaxed
        if is_mip_run and math.isfinite(info.mip_dual_bound):
            lower = max(lower, info.mip_dual_bound)
        elif not is_mip_run and mstatus == highspy.HighsModelStatus.kOptimal:
            lower = max(lower, info.objective_function_value)
        X = master_values[link_idx]
        theta_hat = master_values[theta_idx]
        if iterations == max_iterations:
            status = "feasible"
    seconds = time.perf_counter() - started
    if status == "infeasible" and service_level is not None and explain:
        _explain_certificates(inst, lps, certificates, service_level, scenario_share)
    if best_values is None or best_stages is None:
        return PrepositioningResult(
            "infeasible" if status == "infeasible" else status,
            None,
            None if lower == -math.inf else lower,
            None,
            seconds,
            "benders-highs",
            "benders",
            iterations=iterations,
        )
    out = _extract(inst, first, best_values, best_stages, service_level)
    objective = best_ub
    out.status = status
    out.objective = objective
    out.bound = min(lower, objective) if status == "optimal" else lower
    out.gap = abs(objective - out.bound) / max(abs(objective), 1e-10)
    out.solve_seconds, out.solver, out.method = seconds, "benders-highs", "benders"
    out.iterations = iterations
    out.message = f"{iterations} iterations, {hm.getNumRow() - master.num_constraints} cuts"
    return out


# --------------------------------------------------------------------------------------------

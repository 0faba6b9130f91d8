"""Solve a pre-positioning instance by either method."""

from __future__ import annotations

import numpy as np

from reserve_service.optimize.solvers import SolverParams

from .explain import _explain_infeasible, _precheck_service_level
from .extensive import _solve_extensive
from .instance import Method, PrepositioningInputError, PrepositioningInstance, PrepositioningResult
from .lshaped import _solve_benders
from .validation import _check_fixed_stock, _check_options, validate_instance


def solve_prepositioning(
    inst: PrepositioningInstance,
    *,
    budget: float | None = None,
    service_level: float | None = None,
    scenario_share: float | None = None,
    method: Method = "extensive",
    params: SolverParams | None = None,
    integer_stock: bool = False,
    fixed_stock: np.ndarray | None = None,
    max_iterations: int = 500,
    explain: bool = True,
) -> PrepositioningResult:
    """Build, solve and read out the pre-positioning plan.

    Parameters
    ----------
    inst
        The instance.
    budget
        Cap on the net first-stage spend (yuan); ``None`` = no cap.
    service_level
        β: at least this share of each item's need met within the deadline in every scenario,
        or, with ``scenario_share`` α, in scenarios of total probability ≥ α.
    method
        ``"extensive"`` (any backend in ``params``) or ``"benders"`` (multi-cut L-shaped, HiGHS).
    params
        Solver parameters. For Benders ``time_limit`` applies and ``gap`` sets the stopping
        tolerance, at least 1e-6: "optimal" means (upper − lower bound) ≤ tolerance × |upper|.
    integer_stock
        Whole units in the first stage (second stage stays continuous).
    fixed_stock
        (D, I) targets to hold fixed (used for VSS); the cheapest actions to reach them are chosen.

    Raises
    ------
    PrepositioningInputError
        Malformed input (``field`` names it).
    ServiceLevelInfeasibleError
        The service level cannot be met; ``details`` says where.
    """
    params = params if params is not None else SolverParams()
    validate_instance(inst)
    _check_options(budget, service_level, scenario_share)
    _check_fixed_stock(inst, fixed_stock)
    if service_level is not None:
        _precheck_service_level(inst, service_level, scenario_share)
    if method == "extensive":
        result = _solve_extensive(
            inst, budget, service_level, scenario_share, params, integer_stock, fixed_stock
        )
    elif method == "benders":
        result = _solve_benders(
            inst,
            budget,
            service_level,
            scenario_share,
            params,
            integer_stock,
            fixed_stock,
            max_iterations,
            explain,
        )
    else:
        raise PrepositioningInputError(
            f"method must be 'extensive' or 'benders', got {method!r}", "method"
        )
    if method == "extensive" and result.status == "infeasible" and service_level is not None:
        if explain:
            _explain_infeasible(
                inst, budget, service_level, scenario_share, integer_stock, fixed_stock
            )
    return result

"""Value of information (VSS, EVPI) and the budget sweep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .instance import (
    PrepositioningInstance,
    PrepositioningResult,
    ScenarioData,
    ServiceLevelInfeasibleError,
)
from .solve import solve_prepositioning


def mean_value_instance(inst: PrepositioningInstance) -> PrepositioningInstance:
    """The expected-value problem: one scenario with the mean need and mean stock loss; a pair's
    travel time is its mean over the scenarios where it is reachable, and it counts as
    unreachable when that happens with probability >= 0.5."""
    probs = np.array([sc.probability for sc in inst.scenarios])

    def mean_hours(arrays: list[np.ndarray]) -> np.ndarray:
        stack = np.stack(arrays)
        finite = np.isfinite(stack)
        weight = np.tensordot(probs, finite.astype(float), axes=1)
        total = np.tensordot(probs, np.where(finite, stack, 0.0), axes=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / weight
        return np.where(weight > 0.5, mean, np.inf)

    sc = ScenarioData(
        id="mean",
        probability=1.0,
        need=np.tensordot(probs, np.stack([s.need for s in inst.scenarios]), axes=1),
        depot_hours=mean_hours([s.depot_hours for s in inst.scenarios]),
        external_hours=mean_hours([s.external_hours for s in inst.scenarios])
        if inst.external
        else np.zeros((0, len(inst.region_ids))),
        depot_loss=np.tensordot(probs, np.stack([s.depot_loss for s in inst.scenarios]), axes=1),
        hazard="mean",
    )
    return inst.with_scenarios([sc])


@dataclass
class StochasticValue:
    """``rp`` recourse problem optimum; ``ev`` mean-value optimum; ``eev`` the mean-value plan
    evaluated in the stochastic problem; ``vss = eev − rp``; ``ws`` wait-and-see value;
    ``evpi = rp − ws``.

    ``status`` is ``"optimal"`` when the figures are computed, ``"infeasible"`` when a problem
    they need has no plan (``reason`` says which and why; the figures stay ``None``) and
    ``"not_defined"`` when the quantity has no classic meaning for these options (``reason``
    says why).  Values are never infinite.
    """

    rp: float | None
    ev: float | None = None
    eev: float | None = None
    vss: float | None = None
    ws: float | None = None
    evpi: float | None = None
    ws_by_scenario: dict[str, float] = field(default_factory=dict)
    status: str = "optimal"
    reason: str = ""


def _solve_or_reason(
    inst: PrepositioningInstance, **options: Any
) -> tuple[PrepositioningResult | None, str]:
    """Solve; a plan, or ``None`` and why there is none (infeasible service level, no solution)."""
    try:
        result = solve_prepositioning(inst, **options)
    except ServiceLevelInfeasibleError as error:
        return None, error.message
    if result.objective is None:
        return None, f"no plan found (status {result.status})"
    return result, ""


def _one_scenario(options: dict[str, Any]) -> dict[str, Any]:
    """Options for a one-scenario problem (mean value, wait and see): the extensive form, which
    is the whole problem there (a decomposition has nothing to decompose)."""
    return {**options, "method": "extensive"}


def _recourse(
    inst: PrepositioningInstance, rp: PrepositioningResult | None, options: dict[str, Any]
) -> tuple[PrepositioningResult | None, StochasticValue]:
    """The stochastic plan (solved if not given), and the answer to give when it has none."""
    why = "no plan"
    if rp is None:
        rp, why = _solve_or_reason(inst, **options)
    if rp is not None and rp.objective is None:
        why = f"no plan (status {rp.status})"
    return rp, StochasticValue(None, status="not_defined", reason=f"the stochastic problem: {why}")


def value_of_stochastic_solution(
    inst: PrepositioningInstance, *, rp: PrepositioningResult | None = None, **options: Any
) -> StochasticValue:
    """VSS: solve the mean-value problem, fix its stock targets, evaluate them under all
    scenarios (EEV) and compare with the stochastic optimum (RP). Options as
    :func:`solve_prepositioning`.

    ``status`` is ``"not_defined"`` when the stochastic or the mean-value problem has no plan
    (nothing to compare), ``"infeasible"`` when the mean-value plan cannot meet the options
    (e.g. the service level) in the stochastic problem: then ``eev`` and ``vss`` are ``None``
    and ``reason`` explains.
    """
    rp, undefined = _recourse(inst, rp, options)
    if rp is None or rp.objective is None:
        return undefined
    ev, why = _solve_or_reason(mean_value_instance(inst), **_one_scenario(options))
    if ev is None or ev.stock is None:
        return StochasticValue(
            rp.objective, status="not_defined", reason=f"the mean-value problem has no plan: {why}"
        )
    eev_res, why = _solve_or_reason(inst, **{**options, "fixed_stock": ev.stock, "explain": False})
    if eev_res is None or eev_res.objective is None:
        return StochasticValue(
            rp.objective,
            ev=ev.objective,
            status="infeasible",
            reason=f"the mean-value plan cannot be carried out in the scenarios: {why}",
        )
    eev = eev_res.objective
    return StochasticValue(rp=rp.objective, ev=ev.objective, eev=eev, vss=eev - rp.objective)


def expected_value_of_perfect_information(
    inst: PrepositioningInstance, *, rp: PrepositioningResult | None = None, **options: Any
) -> StochasticValue:
    """EVPI = RP − WS with WS = Σ_s p_s · (optimum when scenario s is known in advance).

    ``status`` is ``"not_defined"`` with a scenario share α (each wait-and-see problem would
    have to meet β in its own, certain scenario, so RP − WS is not the classic quantity and can
    be negative) or when the stochastic problem has no plan; ``"infeasible"`` when some
    scenario alone has no plan (``reason`` names it).
    """
    if options.get("scenario_share") is not None:
        return StochasticValue(
            None if rp is None else rp.objective,
            status="not_defined",
            reason="with a scenario share the wait-and-see problems must meet the service level "
            "in their own scenario, so RP − WS is not the expected value of perfect information",
        )
    rp, undefined = _recourse(inst, rp, options)
    if rp is None or rp.objective is None:
        return undefined
    by: dict[str, float] = {}
    ws = 0.0
    for sc in inst.scenarios:
        single = inst.with_scenarios([replace(sc, probability=1.0)])
        res, why = _solve_or_reason(single, **_one_scenario(options))
        if res is None or res.objective is None:
            return StochasticValue(
                rp.objective,
                ws_by_scenario=by,
                status="infeasible",
                reason=f"scenario {sc.id} alone has no plan: {why}",
            )
        by[sc.id] = res.objective
        ws += sc.probability * res.objective
    return StochasticValue(rp=rp.objective, ws=ws, evpi=rp.objective - ws, ws_by_scenario=by)


@dataclass(frozen=True)
class BudgetPoint:
    """One point of the cost-vs-coverage curve; ``reason`` says why a point has no plan."""

    budget: float
    status: str
    objective: float | None
    first_stage_cost: float | None
    expected_coverage: float | None
    worst_coverage: float | None
    expected_unmet_penalty: float | None
    reason: str = ""


def budget_sweep(
    inst: PrepositioningInstance, budgets: Sequence[float], **options: Any
) -> list[BudgetPoint]:
    """Solve for each budget (ascending) with the same ``options`` as the main run and return
    the cost-vs-coverage curve; a budget that cannot meet the service level is a point with
    status ``"infeasible"`` and the reason, not an error."""
    options = {k: v for k, v in options.items() if k != "budget"}
    points = []
    for b in sorted(float(x) for x in budgets):
        try:
            res = solve_prepositioning(inst, budget=b, **options)
        except ServiceLevelInfeasibleError as error:
            points.append(BudgetPoint(b, "infeasible", None, None, None, None, None, error.message))
            continue
        first = None
        if res.objective is not None:
            first = sum(res.cost.get(k, 0.0) for k in ("buy", "move", "hold", "open", "release"))
        points.append(
            BudgetPoint(
                budget=b,
                status=res.status,
                objective=res.objective,
                first_stage_cost=first,
                expected_coverage=res.expected_coverage,
                worst_coverage=res.worst_coverage,
                expected_unmet_penalty=res.cost.get("expected_penalty"),
                reason="" if res.objective is not None else f"no plan (status {res.status})",
            )
        )
    return points

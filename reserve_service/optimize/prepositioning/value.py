"""Value of information (VSS, EVPI) and the budget sweep."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .instance import (
    PrepositioningInputError,
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
    ``evpi = rp − ws``."""

    rp: float
    ev: float | None = None
    eev: float | None = None
    vss: float | None = None
    ws: float | None = None
    evpi: float | None = None
    ws_by_scenario: dict[str, float] = field(default_factory=dict)


def value_of_stochastic_solution(
    inst: PrepositioningInstance, *, rp: PrepositioningResult | None = None, **options: Any
) -> StochasticValue:
    """VSS: solve the mean-value problem, fix its stock targets, evaluate them under all
    scenarios (EEV) and compare with the stochastic optimum (RP). Options as
    :func:`solve_prepositioning`; ``inf`` when the mean-value plan is infeasible there."""
    rp = rp or solve_prepositioning(inst, **options)
    ev = solve_prepositioning(mean_value_instance(inst), **options)
    if rp.objective is None or ev.objective is None or ev.stock is None:
        raise PrepositioningInputError("no solution to compare (infeasible?)", "scenarios")
    try:
        eev_res = solve_prepositioning(inst, **{**options, "fixed_stock": ev.stock}, explain=False)
        eev = eev_res.objective if eev_res.objective is not None else math.inf
    except ServiceLevelInfeasibleError:
        eev = math.inf
    return StochasticValue(rp=rp.objective, ev=ev.objective, eev=eev, vss=eev - rp.objective)


def expected_value_of_perfect_information(
    inst: PrepositioningInstance, *, rp: PrepositioningResult | None = None, **options: Any
) -> StochasticValue:
    """EVPI = RP − WS with WS = Σ_s p_s · (optimum when scenario s is known in advance)."""
    rp = rp or solve_prepositioning(inst, **options)
    if rp.objective is None:
        raise PrepositioningInputError("the stochastic problem has no solution", "scenarios")
    by: dict[str, float] = {}
    ws = 0.0
    for sc in inst.scenarios:
        single = inst.with_scenarios([replace(sc, probability=1.0)])
        res = solve_prepositioning(single, **options)
        if res.objective is None:
            raise PrepositioningInputError(f"scenario {sc.id} alone has no solution", "scenarios")
        by[sc.id] = res.objective
        ws += sc.probability * res.objective
    return StochasticValue(rp=rp.objective, ws=ws, evpi=rp.objective - ws, ws_by_scenario=by)


@dataclass(frozen=True)
class BudgetPoint:
    """One point of the cost-vs-coverage curve."""

    budget: float
    status: str
    objective: float | None
    first_stage_cost: float | None
    expected_coverage: float | None
    worst_coverage: float | None
    expected_unmet_penalty: float | None


def budget_sweep(
    inst: PrepositioningInstance, budgets: Sequence[float], **options: Any
) -> list[BudgetPoint]:
    """Solve for each budget (ascending) and return the cost-vs-coverage curve."""
    points = []
    for b in sorted(float(x) for x in budgets):
        res = solve_prepositioning(inst, budget=b, **options)
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
            )
        )
    return points

"""Read a solved plan out: targets, actions, scenario coverage and costs; the JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reserve_service.optimize.solvers import LinExpr

from .first_stage import _FirstStage
from .instance import Action, PrepositioningInstance, PrepositioningResult
from .second_stage import _ScenarioLP


@dataclass
class _Stage2:
    unmet: np.ndarray  # (n_u,) values of u
    lp: _ScenarioLP
    parts: dict[str, float]  # probability-weighted cost parts
    slack: float


def _second_stage_summary(lp: _ScenarioLP, y: np.ndarray) -> _Stage2:
    parts = {k: float(lp.cost[c] @ y[c]) for k, c in lp.part_cols.items() if k != "slack"}
    slack = float(y[lp.sigma_cols].sum()) if len(lp.sigma_cols) else 0.0
    return _Stage2(y[lp.u_cols].copy(), lp, parts, slack)


def _coverage(stage: _Stage2) -> float:
    """Mean over items with need of the share met within the deadline."""
    lp = stage.lp
    items = np.flatnonzero(lp.need_item > 0)
    if len(items) == 0:
        return 1.0
    unmet = np.zeros(len(lp.need_item))
    np.add.at(unmet, lp.u_ri[:, 1], np.maximum(stage.unmet, 0.0))
    shares = 1.0 - unmet[items] / lp.need_item[items]
    return float(np.clip(shares, 0.0, 1.0).mean())


def _extract(
    inst: PrepositioningInstance,
    first: _FirstStage,
    values: np.ndarray,
    stages: list[_Stage2],
    service_level: float | None,
) -> PrepositioningResult:
    nd, ni, _, _ = inst.shape
    stock = np.array([[values[first.x[j][i].index] for i in range(ni)] for j in range(nd)])
    stock[np.abs(stock) < 1e-9] = 0.0
    targets = {
        inst.depot_ids[j]: {inst.item_ids[i]: float(stock[j, i]) for i in range(ni)}
        for j in range(nd)
        if stock[j].any() or np.asarray(inst.current_stock)[j].any()
    }
    vol = np.asarray(inst.item_m3, dtype=float)
    actions: list[Action] = []
    for (j, i), var in first.buy.items():
        q = float(values[var.index])
        if q > 1e-6:
            actions.append(
                Action(
                    "buy",
                    inst.item_ids[i],
                    q,
                    q * float(inst.buy_cost[i]),
                    to_depot=inst.depot_ids[j],
                )
            )
    for (j, k, i), var in first.move.items():
        q = float(values[var.index])
        if q > 1e-6:
            cost = q * vol[i] * float(inst.move_cost_m3[j, k])  # type: ignore[index]
            actions.append(
                Action(
                    "move",
                    inst.item_ids[i],
                    q,
                    cost,
                    from_depot=inst.depot_ids[j],
                    to_depot=inst.depot_ids[k],
                )
            )
    for (j, i), var in first.release.items():
        q = float(values[var.index])
        if q > 1e-6:
            actions.append(
                Action(
                    "release",
                    inst.item_ids[i],
                    q,
                    -q * float(inst.release_value[i]),
                    from_depot=inst.depot_ids[j],
                )
            )
    opened = {}
    for (j, c), var in first.open.items():
        if values[var.index] > 0.5:
            opened[inst.depot_ids[j]] = inst.candidate_sizes[inst.depot_ids[j]][c]
    cost = {k: _value(expr, values) for k, expr in first.parts.items()}
    cost["release"] = cost.pop("release")
    for part in ("transport", "external", "penalty"):
        cost[f"expected_{part}"] = float(sum(st.parts.get(part, 0.0) for st in stages))
    cov = {inst.scenarios[s].id: _coverage(st) for s, st in enumerate(stages)}
    probs = np.array([sc.probability for sc in inst.scenarios])
    shares = np.array(list(cov.values()))
    worst = int(np.argmin(shares))
    meeting: list[str] = []
    if service_level is not None:
        for s, st in enumerate(stages):
            lp = st.lp
            unmet = np.zeros(ni)
            np.add.at(unmet, lp.u_ri[:, 1], st.unmet)
            if np.all(unmet <= (1 - service_level) * lp.need_item + 1e-6):
                meeting.append(inst.scenarios[s].id)
    return PrepositioningResult(
        status="",
        objective=None,
        bound=None,
        gap=None,
        solve_seconds=0.0,
        solver="",
        method="",
        targets=targets,
        stock=stock,
        actions=actions,
        opened=opened,
        expected_coverage=float(probs @ shares),
        worst_coverage=float(shares[worst]),
        worst_scenario=inst.scenarios[worst].id,
        scenario_coverage=cov,
        scenarios_meeting_level=meeting,
        cost=cost,
    )


def _value(expr: LinExpr, values: np.ndarray) -> float:
    return expr.constant + sum(c * float(values[k]) for k, c in expr.terms.items())

def result_to_dict(result: PrepositioningResult) -> dict[str, Any]:
    """A JSON-friendly dict of a result (stock array left out; targets carry it)."""
    return {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "solve_seconds": result.solve_seconds,
        "solver": result.solver,
        "method": result.method,
        "iterations": result.iterations,
        "targets": result.targets,
        "actions": [a.__dict__ for a in result.actions],
        "opened": {k: v.__dict__ for k, v in result.opened.items()},
        "expected_coverage": result.expected_coverage,
        "worst_coverage": result.worst_coverage,
        "worst_scenario": result.worst_scenario,
        "scenario_coverage": result.scenario_coverage,
        "scenarios_meeting_level": result.scenarios_meeting_level,
        "cost": result.cost,
        "message": result.message,
    }

"""Pre-positioning never loses a result: each figure carries its own status.

One depot ``a`` holds 10 tents and has room for no more; one township needs 100 tents in the
``big`` scenario and 5 in the ``small`` one (probability 0.5 each), 1 h away.  With β = 0.999
only ``small`` can meet the level, so a scenario share α = 0.5 is met by the plan that keeps
today's stock, and every problem that must meet β in ``big`` has no plan.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from reserve_service.optimize.prepositioning import (
    PrepositioningInstance,
    ScenarioData,
    budget_sweep,
    expected_value_of_perfect_information,
    result_to_dict,
    solve_prepositioning,
    value_of_stochastic_solution,
)


def one_depot(
    big: float = 100.0, probabilities: tuple[float, float] = (0.5, 0.5), penalty: float = 20.0
) -> PrepositioningInstance:
    scenarios = [
        ScenarioData(name, p, np.array([[need]]), np.array([[1.0]]), np.zeros((0, 1)), np.zeros(1))
        for name, p, need in (("big", probabilities[0], big), ("small", probabilities[1], 5.0))
    ]
    return PrepositioningInstance(
        depot_ids=["a"],
        item_ids=["tent"],
        region_ids=["r"],
        current_stock=np.array([[10.0]]),
        capacity_m3=np.array([10.0]),
        item_m3=np.array([1.0]),
        buy_cost=np.array([6.0]),
        hold_cost=np.array([1.0]),
        release_value=np.array([2.0]),
        penalty=np.array([penalty]),
        scenarios=scenarios,
        move_cost_m3=np.zeros((1, 1)),
        transport_cost_m3h=0.5,
        depot_lead_hours=np.array([0.5]),
    )


SHARE = {"service_level": 0.999, "scenario_share": 0.5}


def test_the_main_plan_meets_the_level_in_half_the_probability() -> None:
    result = solve_prepositioning(one_depot(), budget=0.0, **SHARE)
    assert result.status == "optimal"
    assert result.scenarios_meeting_level == ["small"]


def test_the_sweep_uses_the_scenario_share_of_the_main_run() -> None:
    """β 0.999, α 0.5, budget 0 is optimal alone; so is the same point of the sweep."""
    (point,) = budget_sweep(one_depot(), [0.0], **SHARE)
    assert point.status == "optimal" and point.reason == ""
    assert point.objective == pytest.approx(
        solve_prepositioning(one_depot(), budget=0.0, **SHARE).objective
    )


def test_a_sweep_point_that_cannot_meet_the_level_is_infeasible_with_its_reason() -> None:
    points = budget_sweep(one_depot(), [0.0, 1000.0], service_level=0.999)
    assert [p.status for p in points] == ["infeasible", "infeasible"]
    assert all("big" in p.reason for p in points)
    assert all(p.objective is None for p in points)


def test_evpi_under_a_scenario_share_is_not_defined() -> None:
    value = expected_value_of_perfect_information(one_depot(), budget=0.0, **SHARE)
    assert value.status == "not_defined"
    assert "scenario share" in value.reason
    assert value.evpi is None


def test_vss_when_the_mean_scenario_cannot_meet_the_level_is_not_defined() -> None:
    """The mean scenario needs 52.5 tents within 10 h of a depot holding 10."""
    value = value_of_stochastic_solution(one_depot(), budget=0.0, **SHARE)
    assert value.status == "not_defined"
    assert "mean-value problem" in value.reason
    assert value.vss is None and value.eev is None


def test_vss_when_the_mean_plan_fails_in_the_scenarios_is_infeasible_not_infinite() -> None:
    """β 0.5 and a penalty (2) below holding plus release value (3): the mean-value plan keeps
    just β × 10.5 = 5.25 tents, short of the 8 that ``big`` (16) needs at β; the stochastic
    plan keeps 8.  EEV has no plan: ``infeasible``, with no infinite figure."""
    inst = one_depot(big=16.0, penalty=2.0)
    rp = solve_prepositioning(inst, budget=0.0, service_level=0.5)
    assert rp.status == "optimal" and rp.stock[0, 0] == pytest.approx(8.0)
    value = value_of_stochastic_solution(inst, rp=rp, budget=0.0, service_level=0.5)
    assert value.status == "infeasible"
    assert "mean-value plan" in value.reason
    assert value.ev is not None and value.eev is None and value.vss is None
    json.dumps(value.__dict__, allow_nan=False)  # never Infinity


def test_evpi_when_a_scenario_alone_cannot_meet_the_level_is_infeasible() -> None:
    inst = one_depot()
    value = expected_value_of_perfect_information(
        inst, rp=solve_prepositioning(inst, budget=0.0), budget=0.0, service_level=0.999
    )
    assert value.status == "infeasible"
    assert "big" in value.reason


def test_evpi_without_options_is_the_classic_quantity() -> None:
    value = expected_value_of_perfect_information(one_depot(big=8.0), budget=0.0)
    assert value.status == "optimal"
    assert value.evpi is not None and value.evpi >= -1e-6


def test_a_zero_probability_scenario_is_never_the_worst() -> None:
    """``big`` cannot happen: the worst coverage is that of ``small``, fully covered."""
    result = solve_prepositioning(one_depot(probabilities=(0.0, 1.0)), budget=0.0)
    assert result.worst_scenario == "small"
    assert result.worst_coverage == pytest.approx(1.0)
    assert result.scenario_coverage["big"] < 1.0  # still listed


def test_results_are_json_without_nan_or_infinity() -> None:
    result = solve_prepositioning(one_depot(), budget=0.0)
    json.dumps(result_to_dict(result), allow_nan=False)

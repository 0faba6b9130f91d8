"""Impossible or malformed siting input raises SitingInputError before any solver runs."""

from __future__ import annotations

import numpy as np
import pytest

from reserve_service.optimize import siting
from reserve_service.optimize.siting import SitingInputError
from reserve_service.optimize.solvers import SolverParams


@pytest.fixture
def cost() -> np.ndarray:
    """4 demand rows x 3 sites, all reachable."""
    return np.array([[1.0, 5.0, 9.0], [4.0, 2.0, 8.0], [7.0, 3.0, 1.0], [6.0, 6.0, 2.0]])


@pytest.fixture
def demand() -> np.ndarray:
    return np.array([1.0, 2.0, 3.0, 4.0])


def _raises(field: str, func, *args, **kwargs) -> SitingInputError:
    with pytest.raises(SitingInputError) as info:
        func(*args, **kwargs)
    assert info.value.field == field, str(info.value)
    assert isinstance(info.value, ValueError)
    return info.value


def test_p_larger_than_sites(cost, demand) -> None:
    err = _raises("p", siting.p_median, cost, demand, 4)
    assert err.details == {"p": 4, "n_sites": 3}
    assert "4" in str(err) and "3" in str(err)


def test_p_larger_than_sites_left_after_forbidding(cost, demand) -> None:
    err = _raises("p", siting.p_center, cost, demand, 3, forbidden=[1])
    assert err.details["n_allowed"] == 2


@pytest.mark.parametrize("p", [0, -1, 1.5, True])
def test_p_must_be_positive_integer(cost, demand, p) -> None:
    _raises("p", siting.p_median, cost, demand, p)


def test_empty_candidates() -> None:
    _raises("cost", siting.p_median, np.zeros((3, 0)), np.ones(3), 1)


def test_all_candidates_forbidden(cost, demand) -> None:
    _raises("forbidden", siting.max_cover, cost, demand, 1, 5.0, forbidden=[0, 1, 2])


def test_negative_cost(cost, demand) -> None:
    cost[2, 1] = -0.5
    err = _raises("cost", siting.p_median, cost, demand, 1)
    assert err.details["first"] == (2, 1)


def test_negative_infinite_cost_is_negative(cost, demand) -> None:
    cost[0, 0] = -np.inf
    _raises("cost", siting.p_median, cost, demand, 1)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_bad_demand(cost, demand, bad) -> None:
    demand[1] = bad
    _raises("demand", siting.p_median, cost, demand, 1)


def test_demand_length_must_match_rows(cost) -> None:
    _raises("demand", siting.p_median, cost, np.ones(5), 1)


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2)])
def test_cost_must_be_a_matrix(shape) -> None:
    _raises("cost", siting.p_median, np.ones(shape), np.ones(shape[0]), 1)


@pytest.mark.parametrize("radius", [0.0, -2.0, np.nan, np.inf, "far"])
def test_radius_must_be_positive(cost, demand, radius) -> None:
    _raises("radius", siting.max_cover, cost, demand, 1, radius)
    _raises("radius", siting.set_cover, cost, radius)


def test_must_open_and_forbidden_overlap(cost, demand) -> None:
    err = _raises("must_open", siting.p_median, cost, demand, 2, must_open=[0, 1], forbidden=[1])
    assert err.details["sites"] == [1]


def test_more_must_open_than_p(cost, demand) -> None:
    err = _raises("must_open", siting.p_median, cost, demand, 1, must_open=[0, 2])
    assert err.details == {"n_must_open": 2, "p": 1}


def test_site_index_out_of_range(cost, demand) -> None:
    _raises("must_open", siting.p_median, cost, demand, 1, must_open=[3])
    _raises("forbidden", siting.p_median, cost, demand, 1, forbidden=[-1])


def test_row_nobody_can_reach(cost, demand) -> None:
    cost[1, :] = [np.nan, np.inf, np.nan]
    err = _raises("cost", siting.p_median, cost, demand, 2)
    assert err.details["rows"] == [1]
    # a zero-demand unreachable row is fine
    demand[1] = 0.0
    assert siting.p_median(cost, demand, 2).status == "optimal"


def test_row_reachable_only_from_forbidden_site(cost, demand) -> None:
    cost[3, :2] = np.nan
    err = _raises("cost", siting.p_center, cost, demand, 1, forbidden=[2])
    assert err.details["rows"] == [3]


def test_set_cover_explains_uncovered_rows(cost) -> None:
    err = _raises("radius", siting.set_cover, cost, 1.5, forbidden=[2])
    assert err.details["rows"] == [1, 2, 3]
    assert "3" in err.message


def test_site_cost_shape(cost) -> None:
    _raises("site_cost", siting.set_cover, cost, 9.0, site_cost=[1.0, 2.0])


class TestCapacitated:
    capacity = np.array([5.0, 5.0, 5.0])
    fixed = np.array([10.0, 20.0, 30.0])

    def test_total_capacity_below_demand(self, cost, demand) -> None:
        err = _raises(
            "capacity",
            siting.capacitated,
            cost,
            demand,
            self.capacity,
            self.fixed,
            forbidden=[0, 1],
        )
        assert err.details == {"total_capacity": 5.0, "total_demand": 10.0}

    def test_single_source_row_too_big(self, cost, demand) -> None:
        demand[3] = 7.5  # total 13.5 fits sites 0 and 1 (7 + 7), row 3 fits neither alone
        err = _raises(
            "demand",
            siting.capacitated,
            cost,
            demand,
            np.array([7.0, 7.0, 9.0]),
            self.fixed,
            single_source=True,
            forbidden=[2],
        )
        assert err.details["rows"] == [3]

    def test_budget_below_must_open(self, cost, demand) -> None:
        err = _raises(
            "budget",
            siting.capacitated,
            cost,
            demand,
            self.capacity * 3,
            self.fixed,
            must_open=[2],
            budget=25.0,
        )
        assert err.details["minimum"] == 30.0

    def test_budget_below_cheapest_opening(self, cost, demand) -> None:
        # demand 10 needs two sites of capacity 5 + a fraction: at least 10 + 20 + 0 = 30
        err = _raises(
            "budget", siting.capacitated, cost, demand, self.capacity, self.fixed, budget=25.0
        )
        assert err.details["minimum"] == pytest.approx(30.0)

    def test_negative_capacity(self, cost, demand) -> None:
        _raises("capacity", siting.capacitated, cost, demand, [5.0, -1.0, 5.0], self.fixed)

    def test_fixed_cost_shape(self, cost, demand) -> None:
        _raises("fixed_cost", siting.capacitated, cost, demand, self.capacity, [1.0])


def test_solver_params_validation() -> None:
    with pytest.raises(ValueError, match="solver"):
        SolverParams(solver="gurobi")
    with pytest.raises(ValueError, match="time_limit"):
        SolverParams(time_limit=0)
    with pytest.raises(ValueError, match="gap"):
        SolverParams(gap=1.5)


def test_infeasible_p_median_is_reported_not_raised() -> None:
    # each row reachable from exactly one different site: p = 1 cannot serve both rows
    cost = np.array([[1.0, np.nan], [np.nan, 1.0]])
    result = siting.p_median(cost, [1.0, 1.0], 1)
    assert result.status == "infeasible"
    assert result.open == [] and result.objective is None

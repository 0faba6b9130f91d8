"""Every siting model answers every valid input with a status, on every backend.

The edge cases: nothing coverable, all demand zero, every choice forced (must-open sites,
p equal to the number of candidates).  When the status is ``optimal`` the bound is set and
equals the objective: these instances are small enough to know the optimum by hand.
"""

from __future__ import annotations

import pytest

from reserve_service.optimize import siting

BACKENDS = ("highs", "cbc", "ortools", "ortools-cbc")
TWO_BY_TWO = [[1.0, 2.0], [2.0, 1.0]]

# name -> (call with a solver, expected objective, expected open sites)
CASES = {
    "max_cover, nothing coverable": (
        lambda s: siting.max_cover([[3.0, 3.0]], [1.0], 1, 1.0, solver=s),
        0.0,
        None,
    ),
    "max_cover, all demand zero": (
        lambda s: siting.max_cover([[1.0]], [0.0], 1, 2.0, solver=s),
        0.0,
        [0],
    ),
    "max_cover, p equal to the candidates": (
        lambda s: siting.max_cover(TWO_BY_TWO, [1.0, 1.0], 2, 1.5, solver=s),
        2.0,
        [0, 1],
    ),
    "max_cover, forced site": (
        lambda s: siting.max_cover(TWO_BY_TWO, [1.0, 1.0], 1, 1.5, must_open=[0], solver=s),
        1.0,
        [0],
    ),
    "p_median, all demand zero": (lambda s: siting.p_median([[1.0]], [0.0], 1, solver=s), 0.0, [0]),
    "p_median, all demand zero, must-open first": (
        lambda s: siting.p_median([[1.0, 2.0, 3.0]], [0.0], 1, must_open=[2], solver=s),
        0.0,
        [2],
    ),
    "p_median, p equal to the candidates": (
        lambda s: siting.p_median(TWO_BY_TWO, [1.0, 1.0], 2, solver=s),
        2.0,
        [0, 1],
    ),
    "p_median, forced site": (
        lambda s: siting.p_median(TWO_BY_TWO, [1.0, 1.0], 1, must_open=[0], solver=s),
        3.0,
        [0],
    ),
    "p_median, forced by forbidding": (
        lambda s: siting.p_median(TWO_BY_TWO, [1.0, 1.0], 1, forbidden=[0], solver=s),
        3.0,
        [1],
    ),
    "p_center, all demand zero": (lambda s: siting.p_center([[1.0]], [0.0], 1, solver=s), 0.0, [0]),
    "p_center, p equal to the candidates": (
        lambda s: siting.p_center(TWO_BY_TWO, [1.0, 1.0], 2, solver=s),
        1.0,
        [0, 1],
    ),
    "p_center, forced site": (
        lambda s: siting.p_center(TWO_BY_TWO, [1.0, 1.0], 1, must_open=[1], solver=s),
        2.0,
        [1],
    ),
    "set_cover, forced site": (
        lambda s: siting.set_cover(TWO_BY_TWO, 2.5, must_open=[0], solver=s),
        1.0,
        [0],
    ),
    "capacitated, all demand zero": (
        lambda s: siting.capacitated([[1.0, 2.0]], [0.0], [5.0, 5.0], [1.0, 1.0], solver=s),
        0.0,
        [],
    ),
    "capacitated, forced site": (
        lambda s: siting.capacitated(
            [[1.0, 2.0]], [1.0], [5.0, 5.0], [1.0, 1.0], must_open=[1], forbidden=[0], solver=s
        ),
        3.0,
        [1],
    ),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_edge_case_is_solved_with_a_bound(case: str, backend: str) -> None:
    call, objective, open_sites = CASES[case]
    result = call(backend)
    assert result.status == "optimal", result.summary()
    assert result.objective == pytest.approx(objective)
    assert result.bound == pytest.approx(objective)
    if open_sites is not None:
        assert result.open == open_sites


def test_nothing_coverable_reports_the_uncoverable_rows() -> None:
    result = siting.max_cover([[3.0, 3.0], [0.5, 4.0]], [1.0, 0.0], 1, 1.0)
    assert result.status == "optimal" and result.objective == 0.0
    assert result.coverage["uncoverable_rows"] == [0]
    assert len(result.open) == 1

"""Dispatch travel times with the roads as they will be (``TravelTimes.epochs``): two nodes,
a → b in 1 h on a road that changes at known times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reserve_service.optimize.dispatch import TravelTimes


def travel(*epochs: tuple[float, float]) -> TravelTimes:
    """Epochs (from_h, a→b hours); b→a always 1 h."""
    mats = tuple((start, {"relief_truck": np.array([[0.0, ab], [1.0, 0.0]])}) for start, ab in epochs)
    hours = {"relief_truck": np.minimum.reduce([m["relief_truck"] for _, m in mats])}
    return TravelTimes(nodes=("a", "b"), hours=hours, epochs=mats)


def test_a_closure_that_starts_later_blocks_only_the_legs_that_meet_it():
    closes = travel((0.0, 1.0), (2.0, 2.5))  # from 2 h the road is closed, a detour takes 2.5 h
    assert closes.time("relief_truck", "a", "b", 0.5) == pytest.approx(1.0)
    assert closes.time("relief_truck", "a", "b", 1.5) == pytest.approx(2.5)  # still driving at 2 h
    assert closes.time("relief_truck", "a", "b", 3.0) == pytest.approx(2.5)
    assert closes.time("relief_truck", "a", "b") == pytest.approx(1.0)  # the planning bound


def test_a_repair_is_waited_for_when_that_is_sooner():
    repaired = travel((0.0, math.inf), (3.0, 1.0))
    assert repaired.time("relief_truck", "a", "b", 1.0) == pytest.approx(3.0)  # wait 2 h, drive 1 h
    assert repaired.time("relief_truck", "a", "b", 3.5) == pytest.approx(1.0)
    slow = travel((0.0, 5.0), (1.0, 1.0))  # a slowdown until 1 h: better to wait for its end
    assert slow.time("relief_truck", "a", "b", 0.0) == pytest.approx(2.0)
    assert travel((0.0, math.inf)).time("relief_truck", "a", "b", 0.0) == math.inf


def test_without_epochs_the_matrix_is_used_whatever_the_departure():
    static = TravelTimes(nodes=("a", "b"), hours={"relief_truck": np.array([[0.0, 1.0], [1.0, 0.0]])})
    assert static.time("relief_truck", "a", "b", 7.0) == 1.0

"""Pure inventory rules: relief norms, FEFO picking, availability by lead time."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reserve_service.inventory.domain import (
    LotView,
    ReliefNorm,
    SupplySource,
    available_within,
    norm_for_people,
    pick_fefo,
    tier_norm,
)

TODAY = dt.date(2026, 11, 29)
TARGETS = {"city": 50_000, "county": 6_000, "township": 400, "community": 100}


@pytest.mark.parametrize("norm, people, expected", [
    (ReliefNorm("per_person", 0.33), 400, 132),
    (ReliefNorm("per_household", 1), 274, 100),
    (ReliefNorm("per_person_day", 3, 3), 1000, 9000),
    (ReliefNorm("per_person_day", 0.55, 3), 400, 660),
    (ReliefNorm("none", 5), 1000, 0),
])
def test_norm_for_people(norm, people, expected):
    assert norm_for_people(norm, people, 2.74) == expected


def test_per_county_items_sit_in_city_and_county_depots_only():
    boats = ReliefNorm("per_county", 10)
    assert [tier_norm(boats, t, TARGETS, 2.74) for t in ("city", "county", "township")] == [10, 10, 0]


def test_fefo_skips_expired_and_empties_earliest_first():
    lots = [LotView(1, 10, TODAY + dt.timedelta(days=30)), LotView(2, 10, TODAY - dt.timedelta(days=1)),
            LotView(3, 10, None), LotView(4, 10, TODAY + dt.timedelta(days=5))]
    assert [(lot.lot_id, q) for lot, q in pick_fefo(lots, 25, TODAY)] == [(4, 10), (1, 10), (3, 5)]
    with pytest.raises(ValueError, match="only 30 of 31"):
        pick_fefo(lots, 31, TODAY)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(-10, 100)), min_size=1, max_size=8),
       st.integers(1, 200))
def test_fefo_takes_exactly_what_is_asked_from_usable_lots(spec, quantity):
    lots = [LotView(i, q, TODAY + dt.timedelta(days=d)) for i, (q, d) in enumerate(spec)]
    usable = sum(lot.quantity for lot in lots if lot.expires_on >= TODAY)
    if quantity > usable:
        with pytest.raises(ValueError):
            pick_fefo(lots, quantity, TODAY)
        return
    picks = pick_fefo(lots, quantity, TODAY)
    assert sum(q for _, q in picks) == quantity
    assert all(0 < q <= lot.quantity and lot.expires_on >= TODAY for lot, q in picks)
    expiries = [lot.expires_on for lot, _ in picks]
    assert expiries == sorted(expiries)
    # only the last lot touched may be left partly full
    assert all(q == lot.quantity for lot, q in picks[:-1])


def test_available_within_counts_rates_after_lead_time():
    sources = [SupplySource("government", 100, 0.5), SupplySource("enterprise_held", 50, 2),
               SupplySource("agreement", 1000, 4), SupplySource("capacity", 240, 6, is_rate=True)]
    assert available_within(sources, 1)["total"] == 100
    assert available_within(sources, 10) == {"government": 100, "enterprise_held": 50,
                                             "agreement": 1000, "capacity": 40, "total": 1190}

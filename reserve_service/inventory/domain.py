"""Pure rules of the reserve network: relief norms, FEFO order, availability by lead time.

Plain dataclasses in, plain numbers out; no Flask, no ORM. The service layer feeds these
from the database; the optimisers reuse them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reserve_service.inventory.norms import ReliefNorm, county_quantity, relief_need


def norm_for_people(norm: ReliefNorm, people: int, household_size: float) -> int:
    """Units of an item that ``people`` relocated people need (:func:`norms.relief_need`)."""
    return relief_need(norm, people, household_size=household_size)


def tier_norm(norm: ReliefNorm, tier: str, tier_target_people: dict[str, int],
              household_size: float) -> int:
    """The stock a depot of ``tier`` should hold: its target people × the relief norm.

    ``per_county`` items are held by city and county depots only, one county quantity each.
    """
    if norm.basis == "per_county":
        return county_quantity(norm, tier)
    return norm_for_people(norm, tier_target_people.get(tier, 0), household_size)


@dataclass(frozen=True)
class LotView:
    lot_id: int
    quantity: int
    expires_on: dt.date | None
    produced_on: dt.date | None = None


def fefo_order(lots: Iterable[LotView], today: dt.date) -> list[LotView]:
    """Usable lots, first-expiry-first-out; lots without expiry last, expired lots dropped."""
    usable = [lot for lot in lots if lot.quantity > 0 and (lot.expires_on is None or lot.expires_on >= today)]
    return sorted(usable, key=lambda lot: (lot.expires_on or dt.date.max, lot.produced_on or dt.date.min, lot.lot_id))


def pick_fefo(lots: Sequence[LotView], quantity: int, today: dt.date) -> list[tuple[LotView, int]]:
    """Split ``quantity`` over lots in FEFO order; raises ValueError when they hold too little."""
    picks: list[tuple[LotView, int]] = []
    remaining = quantity
    for lot in fefo_order(lots, today):
        if remaining <= 0:
            break
        take = min(lot.quantity, remaining)
        picks.append((lot, take))
        remaining -= take
    if remaining > 0:
        raise ValueError(f"only {quantity - remaining} of {quantity} available in unexpired lots")
    return picks


@dataclass(frozen=True)
class SupplySource:
    """One source of an item and when its stock can start moving."""

    mode: str  # government | enterprise_held | agreement | capacity
    quantity: int  # units on hand or committed (for capacity: units per day)
    lead_hours: float
    is_rate: bool = False


def available_within(sources: Iterable[SupplySource], hours: float) -> dict[str, int]:
    """Units of one item each mode can release within ``hours``, and their ``total``.

    Stock and agreements count in full once their lead time has passed; a capacity reserve
    counts its daily rate × the hours left after its lead time.
    """
    by_mode = {"government": 0, "enterprise_held": 0, "agreement": 0, "capacity": 0}
    for source in sources:
        if source.lead_hours > hours:
            continue
        if source.is_rate:
            by_mode[source.mode] += int(source.quantity * (hours - source.lead_hours) / 24.0)
        else:
            by_mode[source.mode] += source.quantity
    by_mode["total"] = sum(by_mode.values())
    return by_mode

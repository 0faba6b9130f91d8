"""The relief norm: how many units of an item relocated people need (one rule for the service).

Every place that turns people into a need — dispatch needs, below-norm alerts, pre-positioning
targets and the availability view — calls :func:`relief_need`, so a township and an item get
the same need everywhere. The constants (household size, default relief days) come from
``config`` and are passed in; this module is pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: ``norm_basis`` values that scale with people.
PEOPLE_BASES = ("per_person", "per_household", "per_person_day")


@dataclass(frozen=True)
class ReliefNorm:
    """How much of an item one planning unit needs (see ``items.csv`` ``norm_basis``).

    ``days`` is the item's own number of days for a ``per_person_day`` norm (``None``: the
    service's default relief days).
    """

    basis: str  # per_person | per_household | per_person_day | per_county | none
    quantity: float
    days: float | None = 1


def households_of(people: int, household_size: float) -> int:
    """Households of ``people`` relocated people, rounded up (a part household is a household)."""
    if not household_size > 0:
        raise ValueError(f"household_size must be > 0, got {household_size!r}")
    return math.ceil(people / household_size - 1e-9)


def relief_need(
    norm: ReliefNorm,
    people: int,
    *,
    household_size: float,
    households: int | None = None,
    relief_days: float = 1.0,
    days: float | None = None,
) -> int:
    """Units of an item that ``people`` relocated people need, rounded up to whole units.

    ``per_person``: people × quantity; ``per_household``: households × quantity, households
    given or ``ceil(people / household_size)``; ``per_person_day``: people × quantity × days,
    where days is ``days`` when given (an incident's own relief period), else the item's
    ``norm.days``, else ``relief_days`` (the configured default). ``per_county`` and ``none``
    do not scale with people: 0 (see :func:`county_quantity`).
    """
    if people < 0:
        raise ValueError("people must be >= 0")
    if norm.basis == "per_person":
        need = people * norm.quantity
    elif norm.basis == "per_household":
        count = households if households is not None else households_of(people, household_size)
        need = count * norm.quantity
    elif norm.basis == "per_person_day":
        period = days if days is not None else (norm.days if norm.days else relief_days)
        need = people * norm.quantity * period
    else:
        return 0
    return math.ceil(need - 1e-9)


def county_quantity(norm: ReliefNorm, tier: str) -> int:
    """A ``per_county`` item's stock for a depot of ``tier``: city and county depots hold one
    county quantity each, others none."""
    if norm.basis != "per_county":
        return 0
    return math.ceil(norm.quantity) if tier in ("city", "county") else 0

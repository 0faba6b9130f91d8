"""One snapshot of the supply that can be used at a moment: unexpired lots, agreements in their
validity, capacity reserves, each with its lead time.

The availability view, dispatch and pre-positioning all read stock through
:func:`usable_supply`, so a lot expired at ``at`` or an agreement that has lapsed counts
nowhere. The result is plain dataclasses; nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from reserve_service.clock import local_date
from reserve_service.inventory.tables import AgreementReserve, CapacityReserve, Depot, StockLot

LOT_MODES = ("government", "enterprise_held")


@dataclass(frozen=True)
class LotSupply:
    """Units of one stock lot that can leave its depot ``lead_hours`` after the call."""

    lot_id: int
    lot_no: str
    depot: str
    depot_name: str
    depot_tier: str
    region_id: int
    item: str
    mode: str  # government | enterprise_held
    quantity: int
    expires_on: dt.date | None
    produced_on: dt.date | None
    lead_hours: float
    lat: float
    lng: float


@dataclass(frozen=True)
class AgreementSupply:
    """协议储备: up to ``quantity`` units after the activation ``lead_hours``."""

    code: str
    supplier: str
    item: str
    quantity: int
    lead_hours: float
    valid_to: dt.date
    region_id: int | None
    lat: float | None
    lng: float | None


@dataclass(frozen=True)
class CapacitySupply:
    """产能储备: ``units_per_day`` produced from ``lead_hours`` on."""

    code: str
    producer: str
    item: str
    units_per_day: int
    lead_hours: float
    valid_to: dt.date | None
    region_id: int | None
    lat: float | None
    lng: float | None


@dataclass(frozen=True)
class UsableSupply:
    """Everything usable on ``on``: lots first-expiry-first-out, agreements, capacity reserves."""

    on: dt.date
    lots: tuple[LotSupply, ...]
    agreements: tuple[AgreementSupply, ...]
    capacities: tuple[CapacitySupply, ...]

    def lots_by_depot_mode(self) -> dict[tuple[str, str], list[LotSupply]]:
        """Lots grouped per (depot code, mode), each group in FEFO order."""
        groups: dict[tuple[str, str], list[LotSupply]] = {}
        for lot in self.lots:
            groups.setdefault((lot.depot, lot.mode), []).append(lot)
        return groups

    def as_seed_tables(self) -> dict[str, list[dict[str, str]]]:
        """The snapshot in the seed files' columns (``stock_lots.csv``, ``agreement_reserves.csv``,
        ``capacity_reserves.csv``), for models that read those tables, e.g. pre-positioning's
        start stock: unexpired lots only, reserves in their validity with a location."""
        return {
            "stock_lots.csv": [
                {"depot_code": lot.depot, "item_code": lot.item, "lot_no": lot.lot_no,
                 "quantity": str(lot.quantity), "mode": lot.mode,
                 "expires_on": lot.expires_on.isoformat() if lot.expires_on else ""}
                for lot in self.lots],
            "agreement_reserves.csv": [
                {"code": a.code, "item_code": a.item, "committed_quantity": str(a.quantity),
                 "activation_lead_hours": str(a.lead_hours), "lat": str(a.lat), "lng": str(a.lng)}
                for a in self.agreements if a.lat is not None and a.lng is not None],
            "capacity_reserves.csv": [
                {"code": c.code, "item_code": c.item, "units_per_day": str(c.units_per_day),
                 "lead_hours": str(c.lead_hours), "lat": str(c.lat), "lng": str(c.lng)}
                for c in self.capacities if c.lat is not None and c.lng is not None],
        }

    def stock(self, item: str, mode: str | None = None) -> int:
        """Units of ``item`` held in usable lots (of one mode, or all)."""
        return sum(lot.quantity for lot in self.lots
                   if lot.item == item and (mode is None or lot.mode == mode))


def lot_usable(expires_on: dt.date | None, at: dt.date | dt.datetime) -> bool:
    """A lot is usable through its expiry day and not after."""
    return expires_on is None or expires_on >= local_date(at)


def usable_supply(
    session: Session,
    at: dt.date | dt.datetime,
    *,
    mode_lead_hours: Mapping[str, float],
    modes: Collection[str] | None = None,
    depots: Collection[str] | None = None,
    exclude_depots: Collection[str] = (),
    region_ids: Iterable[int] | None = None,
    items: Collection[str] | None = None,
) -> UsableSupply:
    """What can be used at ``at``: lots of operating depots not expired then (FEFO order),
    agreements valid then, capacity reserves not lapsed, each with its lead time.

    Parameters
    ----------
    at : date or datetime
        The moment of use (a pickup time, an incident start, today); expiry is by calendar day
        in the service's time zone.
    mode_lead_hours : mapping
        Hours before a lot of each mode can leave (``config.MODE_LEAD_HOURS``).
    modes : optional
        Keep only these modes (``government``, ``enterprise_held``, ``agreement``, ``capacity``).
    depots, exclude_depots : optional
        Depot codes to keep only, and to leave out (lots only).
    region_ids : optional
        Keep holders located in these regions (depots by their region, reserves by theirs).
    items : optional
        Item codes to keep.
    """
    on = local_date(at)
    wanted = set(modes) if modes is not None else None
    regions = set(region_ids) if region_ids is not None else None
    lots = (
        select(StockLot).join(Depot, Depot.id == StockLot.depot_id)
        .where(StockLot.quantity > 0, Depot.status == "operating",
               (StockLot.expires_on.is_(None)) | (StockLot.expires_on >= on))
        .options(joinedload(StockLot.depot), joinedload(StockLot.item))
        .order_by(StockLot.expires_on.is_(None), StockLot.expires_on, StockLot.produced_on, StockLot.id)
    )
    found_lots = []
    for lot in session.scalars(lots):
        if wanted is not None and lot.mode not in wanted:
            continue
        if (depots and lot.depot.code not in depots) or lot.depot.code in exclude_depots:
            continue
        if (regions is not None and lot.depot.region_id not in regions) or (items and lot.item.code not in items):
            continue
        found_lots.append(LotSupply(
            lot_id=lot.id, lot_no=lot.lot_no, depot=lot.depot.code, depot_name=lot.depot.name,
            depot_tier=lot.depot.tier, region_id=lot.depot.region_id, item=lot.item.code, mode=lot.mode,
            quantity=int(lot.quantity), expires_on=lot.expires_on, produced_on=lot.produced_on,
            lead_hours=float(mode_lead_hours.get(lot.mode, 0.0)), lat=lot.depot.lat, lng=lot.depot.lng))
    agreements = []
    if wanted is None or "agreement" in wanted:
        for a in session.scalars(select(AgreementReserve).where(
                AgreementReserve.valid_from <= on, AgreementReserve.valid_to >= on)
                .options(joinedload(AgreementReserve.item)).order_by(AgreementReserve.code)):
            if (regions is not None and a.region_id not in regions) or (items and a.item.code not in items):
                continue
            agreements.append(AgreementSupply(
                code=a.code, supplier=a.supplier, item=a.item.code, quantity=int(a.committed_quantity),
                lead_hours=float(a.activation_lead_hours), valid_to=a.valid_to, region_id=a.region_id,
                lat=a.lat, lng=a.lng))
    capacities = []
    if wanted is None or "capacity" in wanted:
        for c in session.scalars(select(CapacityReserve).where(
                (CapacityReserve.valid_to.is_(None)) | (CapacityReserve.valid_to >= on))
                .options(joinedload(CapacityReserve.item)).order_by(CapacityReserve.code)):
            if (regions is not None and c.region_id not in regions) or (items and c.item.code not in items):
                continue
            capacities.append(CapacitySupply(
                code=c.code, producer=c.producer, item=c.item.code, units_per_day=int(c.units_per_day),
                lead_hours=float(c.lead_hours), valid_to=c.valid_to, region_id=c.region_id,
                lat=c.lat, lng=c.lng))
    return UsableSupply(on=on, lots=tuple(found_lots), agreements=tuple(agreements),
                        capacities=tuple(capacities))

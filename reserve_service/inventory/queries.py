"""Read-side views managers use: stock summaries, availability by lead time, alerts, history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, joinedload

from reserve_service.errors import InvalidInput
from reserve_service.inventory.domain import (
    ReliefNorm,
    SupplySource,
    available_within,
    tier_norm,
)
from reserve_service.inventory.services import get_item, get_region, region_subtree_ids, today
from reserve_service.inventory.supply import usable_supply
from reserve_service.inventory.tables import (
    AgreementReserve,
    Depot,
    Item,
    Region,
    StockLot,
)

GROUPINGS = {
    "depot": (Depot.code, Depot.name),
    "item": (Item.code, Item.name_zh),
    "tier": (Depot.tier, Depot.tier),
    "region": (Region.adcode, Region.name),
    "mode": (StockLot.mode, StockLot.mode),
}


@dataclass(frozen=True)
class StockFilter:
    depot: str | None = None
    item: str | None = None
    tier: str | None = None
    region: str | None = None  # adcode: the region and everything below it
    mode: str | None = None


def filtered(session: Session, query: Select, flt: StockFilter) -> Select:
    if flt.depot:
        query = query.where(Depot.code == flt.depot)
    if flt.item:
        query = query.where(Item.code == flt.item)
    if flt.tier:
        query = query.where(Depot.tier == flt.tier)
    if flt.mode:
        query = query.where(StockLot.mode == flt.mode)
    if flt.region:
        region = get_region(session, flt.region)
        query = query.where(Depot.region_id.in_(region_subtree_ids(session, region.id)))
    return query


def stock_summary(session: Session, group_by: list[str], flt: StockFilter) -> dict[str, Any]:
    """Quantities, weight and volume grouped by any of depot/item/tier/region/mode, with totals."""
    unknown = [g for g in group_by if g not in GROUPINGS]
    if unknown or not group_by:
        raise InvalidInput.field("group_by", f"choose from {', '.join(GROUPINGS)}; got {unknown or group_by}")
    keys = [col for g in group_by for col in GROUPINGS[g]]
    query = (
        select(
            *keys,
            func.sum(StockLot.quantity),
            func.sum(StockLot.quantity * Item.kg_per_unit),
            func.sum(StockLot.quantity * Item.m3_per_unit),
            func.count(StockLot.id),
        )
        .join(Depot, Depot.id == StockLot.depot_id)
        .join(Item, Item.id == StockLot.item_id)
        .join(Region, Region.id == Depot.region_id)
        .where(StockLot.quantity > 0)
        .group_by(*keys)
        .order_by(*keys)
    )
    rows = []
    totals: dict[str, Any] = {"weight_t": 0.0, "volume_m3": 0.0, "lots": 0}
    for row in session.execute(filtered(session, query, flt)):
        entry: dict[str, Any] = {}
        for index, name in enumerate(group_by):
            entry[name] = row[2 * index]
            entry[f"{name}_name"] = row[2 * index + 1]
        quantity, kg, m3, lots = row[len(keys):]
        entry.update(quantity=int(quantity), weight_t=round(kg / 1000, 3), volume_m3=round(m3, 3), lots=lots)
        totals["weight_t"] += kg / 1000
        totals["volume_m3"] += m3
        totals["lots"] += lots
        rows.append(entry)
    if "item" in group_by:
        by_item: dict[str, int] = defaultdict(int)
        for entry in rows:
            by_item[entry["item"]] += entry["quantity"]
        totals["quantity_by_item"] = dict(by_item)
    totals["weight_t"] = round(totals["weight_t"], 3)
    totals["volume_m3"] = round(totals["volume_m3"], 3)
    return {"group_by": group_by, "rows": rows, "totals": totals}


def availability(
    session: Session,
    hours: float,
    mode_lead_hours: dict[str, float],
    region: str | None = None,
    item: str | None = None,
    on: dt.date | None = None,
) -> dict[str, Any]:
    """Per item: what government stock, enterprise-held stock, agreements and capacity reserves
    can release within ``hours`` (lead times only; travel is the router's business)."""
    if hours <= 0:
        raise InvalidInput.field("hours", f"must be > 0, got {hours}")
    on = on or today()
    region_ids = None
    if region:
        region_ids = region_subtree_ids(session, get_region(session, region).id)
    items = session.scalars(select(Item).order_by(Item.code)).all()
    if item:
        items = [get_item(session, item)]
    supply = usable_supply(session, on, mode_lead_hours=mode_lead_hours, region_ids=region_ids,
                           items={it.code for it in items} if item else None)
    sources: dict[str, list[SupplySource]] = defaultdict(list)
    for lot in supply.lots:
        sources[lot.item].append(SupplySource(lot.mode, lot.quantity, lot.lead_hours))
    for agreement in supply.agreements:
        sources[agreement.item].append(SupplySource("agreement", agreement.quantity, agreement.lead_hours))
    for capacity in supply.capacities:
        sources[capacity.item].append(
            SupplySource("capacity", capacity.units_per_day, capacity.lead_hours, is_rate=True))
    rows = []
    for it in items:
        by_mode = available_within(sources[it.code], hours)
        rows.append({"item": it.code, "item_name": it.name_zh, "unit": it.unit, **by_mode})
    return {"hours": hours, "region": region, "on": on.isoformat(), "lead_hours": mode_lead_hours,
            "items": rows}


def below_norm(
    session: Session,
    tier_target_people: dict[str, int],
    household_size: float,
    depot: str | None = None,
    tier: str | None = None,
    region: str | None = None,
    item: str | None = None,
) -> list[dict[str, Any]]:
    """Operating depots × items whose unexpired stock is below the tier norm."""
    on = today()
    depots = select(Depot).where(Depot.status == "operating", Depot.operator == "government")
    if depot:
        depots = depots.where(Depot.code == depot)
    if tier:
        depots = depots.where(Depot.tier == tier)
    if region:
        depots = depots.where(Depot.region_id.in_(region_subtree_ids(session, get_region(session, region).id)))
    depot_rows = session.scalars(depots.order_by(Depot.code)).all()
    items = session.scalars(select(Item).order_by(Item.code)).all()
    if item:
        items = [it for it in items if it.code == item]
    held: dict[tuple[int, int], int] = defaultdict(int)
    stock = (
        select(StockLot.depot_id, StockLot.item_id, func.sum(StockLot.quantity))
        .where((StockLot.expires_on.is_(None)) | (StockLot.expires_on >= on))
        .group_by(StockLot.depot_id, StockLot.item_id)
    )
    if depot:
        stock = stock.where(StockLot.depot_id.in_([d.id for d in depot_rows]))
    if item:
        stock = stock.where(StockLot.item_id.in_([it.id for it in items]))
    for depot_id, item_id, quantity in session.execute(stock):
        held[(depot_id, item_id)] = int(quantity)
    alerts = []
    for d in depot_rows:
        for it in items:
            norm = tier_norm(ReliefNorm(it.norm_basis, it.norm_quantity, it.norm_days), d.tier,
                             tier_target_people, household_size)
            have = held[(d.id, it.id)]
            if norm > 0 and have < norm:
                alerts.append({
                    "depot": d.code, "depot_name": d.name, "tier": d.tier, "item": it.code,
                    "item_name": it.name_zh, "unit": it.unit, "norm": norm, "quantity": have,
                    "shortfall": norm - have, "fill_rate": round(have / norm, 4),
                })
    alerts.sort(key=lambda a: (a["fill_rate"], a["depot"], a["item"]))
    return alerts


def touched_stock(
    session: Session, booking: Any, tier_target_people: dict[str, int], household_size: float,
    on: dt.date, expiring_days: int = 60,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What one movement changed, for its response: the balance of each touched depot × item,
    and the alerts of the touched stock only (below its tier norm; its lots expiring soon).

    One aggregate query per depot × item; the lots and norms are already in memory.
    """
    pairs = {(m.lot.depot_id, m.lot.item_id): m.lot for m in booking.movements}
    balances, alerts = [], []
    for (depot_id, item_id), lot in sorted(pairs.items()):
        depot, item = lot.depot, lot.item
        unexpired = (StockLot.expires_on.is_(None)) | (StockLot.expires_on >= on)
        total, usable = session.execute(
            select(func.coalesce(func.sum(StockLot.quantity), 0),
                   func.coalesce(func.sum(case((unexpired, StockLot.quantity), else_=0)), 0))
            .where(StockLot.depot_id == depot_id, StockLot.item_id == item_id)
        ).one()
        balances.append({"depot": depot.code, "item": item.code, "quantity": int(total)})
        if depot.status != "operating" or depot.operator != "government":
            continue
        norm = tier_norm(ReliefNorm(item.norm_basis, item.norm_quantity, item.norm_days), depot.tier,
                         tier_target_people, household_size)
        if norm > 0 and usable < norm:
            alerts.append({
                "kind": "below_norm", "depot": depot.code, "depot_name": depot.name, "tier": depot.tier,
                "item": item.code, "item_name": item.name_zh, "unit": item.unit, "norm": norm,
                "quantity": int(usable), "shortfall": norm - int(usable),
                "fill_rate": round(int(usable) / norm, 4),
            })
    horizon = on + dt.timedelta(days=expiring_days)
    for lot in sorted(booking.lots, key=lambda x: (x.expires_on or dt.date.max, x.id)):
        if lot.quantity > 0 and lot.expires_on is not None and lot.expires_on <= horizon:
            alerts.append({
                "kind": "expiring", "lot_id": lot.id, "depot": lot.depot.code, "item": lot.item.code,
                "item_name": lot.item.name_zh, "lot_no": lot.lot_no, "mode": lot.mode,
                "quantity": lot.quantity, "expires_on": lot.expires_on.isoformat(),
                "days_left": (lot.expires_on - on).days, "expired": lot.expires_on < on,
            })
    return balances, alerts


def expiring_lots(session: Session, days: int, depot: str | None = None,
                  region: str | None = None, lot_ids: Iterable[int] | None = None
                  ) -> list[dict[str, Any]]:
    """The rotation list: lots with stock expiring within ``days`` (already expired included),
    first-expiry-first-out."""
    if days < 0:
        raise InvalidInput.field("days", f"must be >= 0, got {days}")
    on = today()
    horizon = on + dt.timedelta(days=days)
    query = (
        select(StockLot)
        .join(Depot, Depot.id == StockLot.depot_id)
        .where(StockLot.quantity > 0, StockLot.expires_on.is_not(None), StockLot.expires_on <= horizon)
    )
    if depot:
        query = query.where(Depot.code == depot)
    if region:
        query = query.where(Depot.region_id.in_(region_subtree_ids(session, get_region(session, region).id)))
    if lot_ids is not None:
        query = query.where(StockLot.id.in_(list(lot_ids)))
    query = query.options(joinedload(StockLot.depot), joinedload(StockLot.item))
    lots = session.scalars(
        query.order_by(StockLot.expires_on, StockLot.produced_on, StockLot.id)
    ).all()
    return [
        {
            "lot_id": lot.id, "depot": lot.depot.code, "item": lot.item.code, "item_name": lot.item.name_zh,
            "lot_no": lot.lot_no, "mode": lot.mode, "quantity": lot.quantity,
            "expires_on": expires.isoformat(), "days_left": (expires - on).days,
            "expired": expires < on,
        }
        for lot in lots
        for expires in [cast(dt.date, lot.expires_on)]  # the query leaves out lots without one
    ]


def expiring_agreements(session: Session, days: int) -> list[dict[str, Any]]:
    if days < 0:
        raise InvalidInput.field("days", f"must be >= 0, got {days}")
    on = today()
    rows = session.scalars(
        select(AgreementReserve)
        .where(AgreementReserve.valid_to <= on + dt.timedelta(days=days))
        .order_by(AgreementReserve.valid_to, AgreementReserve.code)
    ).all()
    return [
        {"code": a.code, "supplier": a.supplier, "item": a.item.code, "item_name": a.item.name_zh,
         "committed_quantity": a.committed_quantity, "valid_to": a.valid_to.isoformat(),
         "days_left": (a.valid_to - on).days, "expired": a.valid_to < on}
        for a in rows
    ]

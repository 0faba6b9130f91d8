"""Load the 宿州 seed data (``seed_data/*.csv``) into an empty database.

Dates in the files are written relative to ``meta.json``'s ``reference_date``; the loader
shifts every date by (today − reference date) so that a demo loaded on any day shows the same
picture: the same lots near expiry, the same agreements about to lapse.
Opening balances enter the ledger as receipts, so balance = sum of movements from the start.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from reserve_service.config import PROJECT_ROOT
from reserve_service.inventory.services import new_group
from reserve_service.inventory.tables import (
    AgreementReserve,
    CapacityReserve,
    Depot,
    Item,
    Movement,
    Region,
    StockLot,
)

SEED_DIR = PROJECT_ROOT / "seed_data"


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _float(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def _boundaries(folder: Path) -> dict[str, dict]:
    """adcode → GeoJSON geometry of the outlines in boundaries.geojson (none if the file is absent)."""
    path = folder / "boundaries.geojson"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {f["properties"]["adcode"]: f["geometry"] for f in data["features"]}


def is_empty(session: Session) -> bool:
    return session.scalar(select(Region.id).limit(1)) is None


def load_seed(session: Session, folder: Path = SEED_DIR, today: dt.date | None = None) -> dict[str, int]:
    """Insert every seed file; returns row counts. The caller commits."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    shift = (today or dt.date.today()) - dt.date.fromisoformat(meta["reference_date"])

    def date(text: str) -> dt.date | None:
        return dt.date.fromisoformat(text) + shift if text else None

    regions: dict[str, Region] = {}
    for row in _rows(folder, "regions.csv"):
        region = Region(
            adcode=row["adcode"], name=row["name"], level=row["level"],
            parent=regions.get(row["parent_adcode"]), population=int(row["population"]),
            households=int(row["households"]), lat=_float(row["lat"]), lng=_float(row["lng"]),
            location_quality=row["location_quality"],
        )
        regions[region.adcode] = region
        session.add(region)
    for adcode, geometry in _boundaries(folder).items():
        regions[adcode].boundary = geometry
    items: dict[str, Item] = {}
    for row in _rows(folder, "items.csv"):
        item = Item(
            code=row["code"], name_zh=row["name_zh"], name_en=row["name_en"], category=row["category"],
            unit=row["unit"], kg_per_unit=float(row["kg_per_unit"]), m3_per_unit=float(row["m3_per_unit"]),
            shelf_life_days=int(row["shelf_life_days"]) if row["shelf_life_days"] else None,
            norm_basis=row["norm_basis"], norm_quantity=float(row["norm_quantity"] or 0),
            norm_days=int(row["norm_days"] or 1),
        )
        items[item.code] = item
        session.add(item)
    depots: dict[str, Depot] = {}
    for row in _rows(folder, "depots.csv"):
        depot = Depot(
            code=row["code"], name=row["name"], tier=row["tier"], region=regions[row["region_adcode"]],
            lat=float(row["lat"]), lng=float(row["lng"]), operator=row["operator"], status=row["status"],
            capacity_m3=float(row["capacity_m3"]), capacity_t=_float(row["capacity_t"]),
            fixed_cost_yuan=_float(row["fixed_cost_yuan"]),
        )
        depots[depot.code] = depot
        session.add(depot)
    session.flush()
    group = new_group()
    lots = 0
    for row in _rows(folder, "stock_lots.csv"):
        quantity = int(row["quantity"])
        lot = StockLot(
            depot=depots[row["depot_code"]], item=items[row["item_code"]], lot_no=row["lot_no"],
            mode=row["mode"], quantity=quantity, produced_on=date(row["produced_on"]),
            expires_on=date(row["expires_on"]),
        )
        session.add(lot)
        session.add(Movement(kind="receipt", lot=lot, depot=lot.depot, item=lot.item, quantity=quantity,
                             balance_after=quantity, actor="seed", reason="opening balance (seed data)",
                             reference="seed", group_id=group))
        lots += 1
    agreements = _rows(folder, "agreement_reserves.csv")
    for row in agreements:
        session.add(AgreementReserve(
            code=row["code"], supplier=row["supplier"], item=items[row["item_code"]],
            committed_quantity=int(row["committed_quantity"]),
            activation_lead_hours=float(row["activation_lead_hours"]),
            valid_from=date(row["valid_from"]), valid_to=date(row["valid_to"]),
            region=regions.get(row["region_adcode"]), lat=_float(row["lat"]), lng=_float(row["lng"]),
        ))
    capacities = _rows(folder, "capacity_reserves.csv")
    for row in capacities:
        session.add(CapacityReserve(
            code=row["code"], producer=row["producer"], item=items[row["item_code"]],
            units_per_day=int(row["units_per_day"]), lead_hours=float(row["lead_hours"]),
            valid_to=date(row["valid_to"]), region=regions.get(row["region_adcode"]),
            lat=_float(row["lat"]), lng=_float(row["lng"]),
        ))
    session.flush()
    return {"regions": len(regions), "items": len(items), "depots": len(depots), "lots": lots,
            "agreements": len(agreements), "capacity_reserves": len(capacities)}

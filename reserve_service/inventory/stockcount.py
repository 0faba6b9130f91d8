"""Bulk import of a stock count (盘点) from CSV or XLSX: check every row, then book all or none."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reserve_service.auth import Principal
from reserve_service.errors import DomainError, InvalidInput
from reserve_service.inventory import services
from reserve_service.inventory.tables import STOCK_MODES, Depot, Item, StockLot

REQUIRED_COLUMNS = ("depot", "item", "lot_no", "counted_quantity")
OPTIONAL_COLUMNS = ("mode", "produced_on", "expires_on")
EXPORT_COLUMNS = ("depot", "depot_name", "item", "item_name", "unit", "lot_no", "mode", "quantity",
                  "produced_on", "expires_on")
MAX_ROWS = 100_000


@dataclass
class CountLine:
    row: int
    depot: Depot
    item: Item
    lot_no: str
    mode: str
    counted: int
    lot: StockLot | None
    produced_on: dt.date | None
    expires_on: dt.date | None

    @property
    def recorded(self) -> int:
        return self.lot.quantity if self.lot else 0


def parse(raw: bytes, is_xlsx: bool, encoding: str) -> list[dict[str, str]]:
    """Rows as dicts of stripped strings; a file that cannot be read is a 422 on ``file``."""
    if not raw:
        raise InvalidInput.field("file", "empty upload; send a CSV or XLSX body or a 'file' field")
    if is_xlsx:
        return _parse_xlsx(raw)
    try:
        text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise InvalidInput.field(
            "file", f"not valid {encoding} at byte {exc.start}; save as UTF-8 or pass encoding=gb18030"
        ) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        _check_header(reader.fieldnames or [])
        return [_clean(row) for row in reader]
    except csv.Error as exc:
        raise InvalidInput.field("file", f"malformed CSV: {exc}") from exc


def _parse_xlsx(raw: bytes) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InvalidInput.field("file", f"not a readable XLSX workbook ({type(exc).__name__})") from exc
    rows = sheet.iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(rows, [])]
    _check_header(header)
    out = []
    for values in rows:
        if all(v is None for v in values):
            continue
        out.append(_clean({h: _cell(v) for h, v in zip(header, values, strict=False) if h}))
    return out


def _cell(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _clean(row: dict[str | None, Any]) -> dict[str, str]:
    if None in row:
        raise InvalidInput.field("file", "a row has more cells than the header")
    return {k.strip(): (v or "").strip() for k, v in row.items() if k}


def _check_header(header: list[str]) -> None:
    names = [h.strip() for h in header if h]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    unknown = [c for c in names if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        raise InvalidInput.field(
            "file", f"header must have {', '.join(REQUIRED_COLUMNS)} (optional: "
            f"{', '.join(OPTIONAL_COLUMNS)}); missing {missing}, unknown {unknown}")


def _date(value: str, field: str, problems: list[tuple[str, str]]) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.append((field, f"{value!r} is not a date (YYYY-MM-DD)"))
        return None


def validate(session: Session, principal: Principal, rows: list[dict[str, str]]) -> list[CountLine]:
    """Check every row; raise one 422 listing all bad rows, or return the booking plan."""
    if not rows:
        raise InvalidInput.field("file", "no data rows")
    if len(rows) > MAX_ROWS:
        raise InvalidInput.field("file", f"{len(rows)} rows; at most {MAX_ROWS} per import")
    depots = {d.code: d for d in session.scalars(select(Depot))}
    items = {i.code: i for i in session.scalars(select(Item))}
    errors: dict[str, list[str]] = {}
    bad_rows: list[dict[str, Any]] = []
    plan: list[CountLine] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        problems: list[tuple[str, str]] = []
        depot = depots.get(row.get("depot", ""))
        item = items.get(row.get("item", ""))
        if depot is None:
            problems.append(("depot", f"unknown depot {row.get('depot')!r}"))
        else:
            try:
                services.ensure_may_change(session, principal, depot)
            except DomainError as exc:
                problems.append(("depot", exc.detail))
        if item is None:
            problems.append(("item", f"unknown item {row.get('item')!r}"))
        lot_no = row.get("lot_no", "")
        if not lot_no or len(lot_no) > 64:
            problems.append(("lot_no", "required, at most 64 characters"))
        mode = row.get("mode") or "government"
        if mode not in STOCK_MODES:
            problems.append(("mode", f"must be one of {', '.join(STOCK_MODES)}"))
        counted_text = row.get("counted_quantity", "")
        counted = int(counted_text) if counted_text.isdigit() else -1
        if counted < 0:
            problems.append(("counted_quantity", f"{counted_text!r} is not a whole number >= 0"))
        produced = _date(row.get("produced_on", ""), "produced_on", problems)
        expires = _date(row.get("expires_on", ""), "expires_on", problems)
        if produced and expires and expires <= produced:
            problems.append(("expires_on", "not after produced_on"))
        key = (row.get("depot", ""), row.get("item", ""), lot_no, mode)
        if key in seen:
            problems.append(("lot_no", f"same lot already counted on row {seen[key]}"))
        seen[key] = number
        if problems:
            for field, message in problems:
                errors.setdefault(f"row {number}.{field}", []).append(message)
                bad_rows.append({"row": number, "field": field, "message": message})
            continue
        lot = session.scalar(select(StockLot).where(
            StockLot.depot_id == depot.id, StockLot.item_id == item.id,
            StockLot.lot_no == lot_no, StockLot.mode == mode))
        plan.append(CountLine(number, depot, item, lot_no, mode, counted, lot,
                              produced or (lot.produced_on if lot else None),
                              expires or (lot.expires_on if lot else None)))
    if bad_rows:
        raise InvalidInput(f"{len({b['row'] for b in bad_rows})} of {len(rows)} rows are invalid; "
                           "nothing was written", errors, rows=bad_rows)
    return plan


def report(plan: list[CountLine]) -> dict[str, Any]:
    changes = [
        {"row": line.row, "depot": line.depot.code, "item": line.item.code, "lot_no": line.lot_no,
         "mode": line.mode, "recorded": line.recorded, "counted": line.counted,
         "delta": line.counted - line.recorded, "new_lot": line.lot is None}
        for line in plan
    ]
    return {"rows": len(plan), "changes": [c for c in changes if c["delta"] != 0],
            "unchanged": sum(1 for c in changes if c["delta"] == 0)}


def apply(session: Session, principal: Principal, plan: list[CountLine]) -> services.Booking:
    """Book every difference as an adjustment, in the caller's one transaction."""
    group = services.new_group()
    movements = []
    for line in plan:
        lot = line.lot or services.lot_for_receipt(session, line.depot, line.item, line.lot_no,
                                                    line.mode, line.produced_on, line.expires_on)
        recorded = line.recorded
        movements.append(services.book(session, lot, line.counted - recorded, "adjustment", principal,
                                        group, f"stock count row {line.row}", "stock-count",
                                        expected_balance=recorded))
    return services.Booking(group, movements)

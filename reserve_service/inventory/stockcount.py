"""Bulk import of a stock count (盘点) from CSV or XLSX: check every row, then book the differences.

The columns are the export's (``GET /stock/export.csv`` or ``.xlsx``), so an export edited
in a spreadsheet imports back: ``depot, depot_name, item, item_name, unit, lot_no, mode,
counted_quantity, produced_on, expires_on``; the names and the unit are for people and ignored.
Any bad row refuses the whole file. Booking is set-based (one bulk UPDATE and one bulk INSERT
per batch); on SQLite in batches so that other writers wait a fraction of a second.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from reserve_service.auth import Principal
from reserve_service.errors import CapacityExceeded, Forbidden, InvalidInput
from reserve_service.inventory import services
from reserve_service.inventory.tables import STOCK_MODES, Depot, Item, Movement, StockLot

REQUIRED_COLUMNS = ("depot", "item", "lot_no", "counted_quantity")
OPTIONAL_COLUMNS = ("mode", "produced_on", "expires_on")
INFORMATIVE_COLUMNS = ("depot_name", "item_name", "unit")  # exported for people; ignored on import
ALIASES = {"quantity": "counted_quantity"}  # exports before the columns were unified
EXPORT_COLUMNS = ("depot", "depot_name", "item", "item_name", "unit", "lot_no", "mode",
                  "counted_quantity", "produced_on", "expires_on")
LISTED_CHANGES = 1000  # the report lists at most this many changes (and counts them all)
SQLITE_BATCH_ROWS = 2500  # rows booked per SQLite transaction, so other writers wait briefly
BATCH_PAUSE_SECONDS = 0.12  # between SQLite batches: longer than SQLite's busy-wait step (0.1 s)
MAX_ROWS = 100_000
MAX_QUANTITY = 10**12
WHOLE_NUMBER = re.compile(r"[0-9]{1,13}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class CountLine:
    """One checked row: what the count says, and what the books said when it was checked."""

    row: int
    depot_id: int
    depot: str
    item_id: int
    item: str
    lot_no: str
    mode: str
    counted: int
    lot_id: int | None
    recorded: int
    produced_on: dt.date | None
    expires_on: dt.date | None

    @property
    def delta(self) -> int:
        return self.counted - self.recorded


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
    return {ALIASES.get(k.strip(), k.strip()): (v or "").strip() for k, v in row.items() if k}


def _check_header(header: Sequence[str]) -> None:
    names = [ALIASES.get(h.strip(), h.strip()) for h in header if h]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    unknown = [c for c in names if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS + INFORMATIVE_COLUMNS]
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


def ensure_may_import(principal: Principal) -> None:
    """Only admins and managers book counts: everyone else is refused before the file is read."""
    if principal.role not in ("admin", "manager"):
        raise Forbidden(f"role '{principal.role}' may not import stock counts",
                        {"file": ["needs the admin or manager role"]})


def _row_problems(row: dict[str, str], depots: dict[str, Depot], items: dict[str, Item]
                  ) -> tuple[list[tuple[str, str]], int, dt.date | None, dt.date | None]:
    problems: list[tuple[str, str]] = []
    if row.get("depot", "") not in depots:
        problems.append(("depot", f"unknown depot {row.get('depot', '')[:40]!r}"))
    if row.get("item", "") not in items:
        problems.append(("item", f"unknown item {row.get('item', '')[:40]!r}"))
    lot_no = row.get("lot_no", "")
    if not lot_no or len(lot_no) > 64 or CONTROL_CHARACTERS.search(lot_no):
        problems.append(("lot_no", "required, at most 64 characters, no control characters"))
    if (row.get("mode") or "government") not in STOCK_MODES:
        problems.append(("mode", f"must be one of {', '.join(STOCK_MODES)}"))
    counted_text = row.get("counted_quantity", "")
    counted = int(counted_text) if WHOLE_NUMBER.fullmatch(counted_text) else -1
    if not 0 <= counted <= MAX_QUANTITY:
        problems.append(("counted_quantity",
                         f"{counted_text[:40]!r} is not a whole number from 0 to {MAX_QUANTITY}"))
    produced = _date(row.get("produced_on", ""), "produced_on", problems)
    expires = _date(row.get("expires_on", ""), "expires_on", problems)
    if produced and expires and expires <= produced:
        problems.append(("expires_on", "not after produced_on"))
    return problems, counted, produced, expires


def _out_of_scope(session: Session, principal: Principal, rows: list[dict[str, str]],
                  depots: dict[str, Depot]) -> None:
    """403 naming the rows whose depot lies outside a manager's scope."""
    allowed: dict[str, bool] = {}
    outside: list[int] = []
    for number, row in enumerate(rows, start=2):
        depot = depots.get(row.get("depot", ""))
        if depot is None:
            continue
        if depot.code not in allowed:
            try:
                services.ensure_may_change(session, principal, depot)
                allowed[depot.code] = True
            except Forbidden:
                allowed[depot.code] = False
        if not allowed[depot.code]:
            outside.append(number)
    if outside:
        codes = sorted(code for code, ok in allowed.items() if not ok)
        raise Forbidden(
            f"{len(outside)} rows name depots outside token '{principal.name}''s scope: {', '.join(codes)}",
            {"file": [f"rows {', '.join(map(str, outside[:20]))} name depots outside this manager's scope"]},
            rows=outside[:1000])


def validate(session: Session, principal: Principal, rows: list[dict[str, str]]) -> list[CountLine]:
    """Check every row; raise one 422 listing all bad rows, or return the booking plan.

    Set-based: one query each for depots, items and the existing lots of the named depots.
    """
    if not rows:
        raise InvalidInput.field("file", "no data rows")
    if len(rows) > MAX_ROWS:
        raise InvalidInput.field("file", f"{len(rows)} rows; at most {MAX_ROWS} per import")
    depots = {d.code: d for d in session.scalars(select(Depot))}
    items = {i.code: i for i in session.scalars(select(Item))}
    _out_of_scope(session, principal, rows, depots)
    named = {depots[r["depot"]].id for r in rows if r.get("depot", "") in depots}
    existing = {
        (lot.depot_id, lot.item_id, lot.lot_no, lot.mode): lot
        for lot in session.execute(
            select(StockLot.id, StockLot.depot_id, StockLot.item_id, StockLot.lot_no, StockLot.mode,
                   StockLot.quantity, StockLot.produced_on, StockLot.expires_on)
            .where(StockLot.depot_id.in_(named))
        )
    }
    errors: dict[str, list[str]] = {}
    bad_rows: list[dict[str, Any]] = []
    plan: list[CountLine] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        problems, counted, produced, expires = _row_problems(row, depots, items)
        lot_no, mode = row.get("lot_no", ""), row.get("mode") or "government"
        key = (row.get("depot", ""), row.get("item", ""), lot_no, mode)
        if key in seen:
            problems.append(("lot_no", f"same lot already counted on row {seen[key]}"))
        seen[key] = number
        if problems:
            for field, message in problems:
                errors.setdefault(f"row {number}.{field}", []).append(message)
                bad_rows.append({"row": number, "field": field, "message": message})
            continue
        depot, item = depots[key[0]], items[key[1]]
        lot = existing.get((depot.id, item.id, lot_no, mode))
        plan.append(CountLine(number, depot.id, depot.code, item.id, item.code, lot_no, mode, counted,
                              lot.id if lot else None, lot.quantity if lot else 0,
                              produced or (lot.produced_on if lot else None),
                              expires or (lot.expires_on if lot else None)))
    if bad_rows:
        listed = dict(list(errors.items())[:LISTED_CHANGES])
        raise InvalidInput(f"{len({b['row'] for b in bad_rows})} of {len(rows)} rows are invalid; "
                           "nothing was written", listed, rows=bad_rows[:LISTED_CHANGES])
    return plan


def check_capacity(session: Session, principal: Principal, plan: list[CountLine], force: bool) -> None:
    """A count that adds volume is bounded by each depot's capacity, like a receipt (admin may force)."""
    if force:
        if principal.role != "admin":
            raise Forbidden("only an admin may force a count beyond capacity", {"force": ["needs the admin role"]})
        return
    m3 = dict(session.execute(select(Item.id, Item.m3_per_unit)).all())
    added: dict[int, float] = {}
    for line in plan:
        added[line.depot_id] = added.get(line.depot_id, 0.0) + line.delta * m3[line.item_id]
    growing = [depot_id for depot_id, volume in added.items() if volume > 0]
    if not growing:
        return
    used = dict(session.execute(
        select(StockLot.depot_id, func.sum(StockLot.quantity * Item.m3_per_unit))
        .join(Item, Item.id == StockLot.item_id).where(StockLot.depot_id.in_(growing))
        .group_by(StockLot.depot_id)).all())
    over = []
    for depot in session.scalars(select(Depot).where(Depot.id.in_(growing)).order_by(Depot.code)):
        after = float(used.get(depot.id) or 0.0) + added[depot.id]
        if after > depot.capacity_m3 + 1e-9:
            over.append(f"{depot.code}: {after:.2f} m³ counted of {depot.capacity_m3:.2f} m³")
    if over:
        raise CapacityExceeded(f"the count exceeds the capacity of {len(over)} depots: {'; '.join(over[:20])}",
                               {"counted_quantity": over[:100]})


def report(plan: list[CountLine]) -> dict[str, Any]:
    """What the import books, computed from the books as they were when the file was checked."""
    changes = [
        {"row": line.row, "depot": line.depot, "item": line.item, "lot_no": line.lot_no,
         "mode": line.mode, "recorded": line.recorded, "counted": line.counted,
         "delta": line.delta, "new_lot": line.lot_id is None}
        for line in plan if line.delta != 0
    ]
    return {"rows": len(plan), "changed": len(changes), "changes": changes[:LISTED_CHANGES],
            "unchanged": len(plan) - len(changes)}


STATEMENT_ROWS = 10_000  # ids per IN list (PostgreSQL takes at most 65,535 parameters)


def apply(session: Session, principal: Principal, plan: list[CountLine], batch_rows: int | None = None
          ) -> tuple[str, int, list[dict[str, Any]]]:
    """Book every difference as an adjustment, set-based, in the lock order of the ledger.

    Per batch (the whole plan in one transaction unless ``batch_rows`` is given): lock the
    depots, create the missing lots, lock the lots in id order and read them again, then
    bulk UPDATE the lots and bulk INSERT the ledger lines, and commit. The count is absolute,
    so a lot that moved since the check is set to its counted quantity all the same; those
    rows are returned as ``moved`` with the delta actually booked.

    Returns (group id, ledger lines written, moved rows).
    """
    group = services.new_group()
    booked, moved = 0, []
    size = batch_rows or len(plan) or 1
    for start in range(0, len(plan), size):
        batch = plan[start:start + size]
        services.lock_depots(session, [line.depot_id for line in batch])
        _create_missing_lots(session, batch)
        batch.sort(key=lambda line: line.lot_id or 0)
        for first in range(0, len(batch), STATEMENT_ROWS):
            lines, chunk_moved = _book_chunk(session, principal, group, batch[first:first + STATEMENT_ROWS])
            booked += lines
            moved += chunk_moved
        session.commit()
        if batch_rows and start + size < len(plan):
            time.sleep(BATCH_PAUSE_SECONDS)  # let a waiting writer take the lock
    return group, booked, moved[:LISTED_CHANGES]


def _book_chunk(session: Session, principal: Principal, group: str, chunk: list[CountLine]
                ) -> tuple[int, list[dict[str, Any]]]:
    current = {
        row.id: row for row in session.execute(
            select(StockLot.id, StockLot.quantity, StockLot.version)
            .where(StockLot.id.in_([line.lot_id for line in chunk])).order_by(StockLot.id)
            .with_for_update(key_share=True))
    }
    updates, ledger, moved = [], [], []
    for line in chunk:
        now = current[line.lot_id]
        delta = line.counted - now.quantity
        if now.quantity != line.recorded:
            moved.append({"row": line.row, "lot_no": line.lot_no, "recorded": line.recorded,
                          "recorded_at_booking": now.quantity, "delta_booked": delta})
        if delta == 0:
            continue
        updates.append({"lot": line.lot_id, "counted": line.counted, "next_version": now.version + 1})
        ledger.append({"kind": "adjustment", "lot_id": line.lot_id, "depot_id": line.depot_id,
                       "item_id": line.item_id, "quantity": delta, "balance_after": line.counted,
                       "actor": principal.name, "reason": f"stock count row {line.row}",
                       "reference": "stock-count", "group_id": group})
    if updates:  # Core executemany: the ORM's per-row bookkeeping costs more than the database
        lots = cast(Table, StockLot.__table__)
        session.execute(update(lots).where(lots.c.id == bindparam("lot"))
                        .values(quantity=bindparam("counted"), version=bindparam("next_version")), updates)
        session.execute(insert(cast(Table, Movement.__table__)), ledger)
    return len(ledger), moved


def _create_missing_lots(session: Session, batch: list[CountLine]) -> None:
    """Insert the lots a count found (under the depot locks), and learn their ids.

    A lot someone received between the check and now is found, not inserted twice.
    """
    missing = [line for line in batch if line.lot_id is None]
    lots = cast(Table, StockLot.__table__)
    for first in range(0, len(missing), STATEMENT_ROWS):
        chunk = missing[first:first + STATEMENT_ROWS]
        known = _lot_ids(session, chunk)
        fresh = [line for line in chunk if _key(line) not in known]
        if fresh:  # one executemany, then one query for the new ids
            session.execute(insert(lots), [
                {"depot_id": line.depot_id, "item_id": line.item_id, "lot_no": line.lot_no, "mode": line.mode,
                 "quantity": 0, "produced_on": line.produced_on, "expires_on": line.expires_on, "note": "",
                 "version": 1} for line in fresh])
            known = _lot_ids(session, chunk)
        for line in chunk:
            line.lot_id = known[_key(line)]


def _lot_ids(session: Session, chunk: list[CountLine]) -> dict[tuple[int, int, str, str], int]:
    return {
        (r.depot_id, r.item_id, r.lot_no, r.mode): r.id
        for r in session.execute(
            select(StockLot.id, StockLot.depot_id, StockLot.item_id, StockLot.lot_no, StockLot.mode)
            .where(StockLot.depot_id.in_({line.depot_id for line in chunk}),
                   StockLot.lot_no.in_({line.lot_no for line in chunk})))
    }


def _key(line: CountLine) -> tuple[int, int, str, str]:
    return (line.depot_id, line.item_id, line.lot_no, line.mode)

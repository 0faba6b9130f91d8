"""The ledger service: every stock change of the reserve network goes through here.

Functions take a SQLAlchemy session, the acting ``Principal`` and plain values; they add rows
to the session and leave the commit to the caller (one request = one transaction), so a
transfer's two legs or a rotation's out and in land together or not at all.

One lock order for every movement kind, so two movements can never wait on each other in a
cycle (PostgreSQL row locks; SQLite takes its one write lock at ``BEGIN IMMEDIATE``):

1. the depots whose free volume or lot list the movement may change (receipts, transfers,
   counts, rotations), ``SELECT ... FOR NO KEY UPDATE`` in id order: this serialises the
   capacity check and the creation of lots in a depot, and it does not conflict with the
   key-share lock a ledger line's foreign key takes on its depot;
2. then the lots, ``SELECT ... FOR NO KEY UPDATE`` in id order, read again under the lock.

An issue locks the depot's lots of the item and picks first-expiry-first-out from what they
hold under the lock, so it takes the next lot instead of refusing. Balances move only by
``book``: a conditional ``UPDATE ... WHERE quantity + delta >= 0 RETURNING``, so a caller
that did not lock still can never drive a lot negative.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from reserve_service.auth import Principal
from reserve_service.errors import (
    CapacityExceeded,
    Conflict,
    Forbidden,
    InsufficientStock,
    InvalidInput,
    NotFound,
)
from reserve_service.inventory.domain import LotView, pick_fefo
from reserve_service.inventory.tables import Depot, Item, Movement, Region, StockLot

RECEIVING_STATUSES = ("operating",)


def today() -> dt.date:
    return dt.date.today()


# --------------------------------------------------------------------------- lookups


def _missing(kind: str, key: object, field: str, in_path: bool) -> Exception:
    """A reference in the URL that does not exist is a 404; one in a request body is a 422."""
    error = NotFound if in_path else InvalidInput
    return error(f"no {kind} {key!r}", {field: [f"unknown {kind} {key!r}"]})


MAX_ID = 2**31 - 1


def _storable(key: str) -> bool:
    """A key the database can compare: PostgreSQL refuses NUL in a string literal."""
    return "\x00" not in key


def get_depot(session: Session, code: str, field: str = "depot", in_path: bool = False) -> Depot:
    depot = session.scalar(select(Depot).where(Depot.code == code)) if _storable(code) else None
    if depot is None:
        raise _missing("depot", code, field, in_path)
    return depot


def get_item(session: Session, code: str, field: str = "item", in_path: bool = False) -> Item:
    item = session.scalar(select(Item).where(Item.code == code)) if _storable(code) else None
    if item is None:
        raise _missing("item", code, field, in_path)
    return item


def get_region(session: Session, adcode: str, field: str = "region", in_path: bool = False) -> Region:
    region = session.scalar(select(Region).where(Region.adcode == adcode)) if _storable(adcode) else None
    if region is None:
        raise _missing("region", adcode, field, in_path)
    return region


def get_lot(session: Session, lot_id: int, field: str = "lot_id", in_path: bool = False) -> StockLot:
    lot = session.get(StockLot, lot_id) if 1 <= lot_id <= MAX_ID else None
    if lot is None:
        raise _missing("stock lot", lot_id, field, in_path)
    return lot


def region_subtree_ids(session: Session, root_id: int) -> set[int]:
    """Ids of a region and all regions below it."""
    ids = {root_id}
    frontier = [root_id]
    while frontier:
        children = session.scalars(select(Region.id).where(Region.parent_id.in_(frontier))).all()
        frontier = [c for c in children if c not in ids]
        ids.update(frontier)
    return ids


def scope_region_ids(session: Session, principal: Principal) -> frozenset[int]:
    """The regions of a manager's scope: cached on the token when authenticated, else queried."""
    if principal.scope_region_ids is not None:
        return principal.scope_region_ids
    if principal.scope_region_id is None:
        return frozenset()
    return frozenset(region_subtree_ids(session, principal.scope_region_id))


def ensure_may_change(session: Session, principal: Principal, depot: Depot) -> None:
    """Managers change only the depots of their scope; planners and viewers change no stock."""
    if principal.role == "admin":
        return
    if principal.role != "manager":
        raise Forbidden(f"role '{principal.role}' may not change stock")
    if depot.code in principal.scope_depot_codes:
        return
    if principal.scope_region_id is not None and depot.region_id in scope_region_ids(session, principal):
        return
    raise Forbidden(
        f"token '{principal.name}' is not scoped to depot {depot.code}",
        {"depot": [f"depot {depot.code} is outside this manager's scope"]},
    )


# --------------------------------------------------------------------------- the ledger


@dataclass
class Booking:
    """What a movement request did: the ledger lines and the lots they touched."""

    group_id: str
    movements: list[Movement]

    @property
    def lots(self) -> list[StockLot]:
        seen: dict[int, StockLot] = {}
        for movement in self.movements:
            seen[movement.lot_id] = movement.lot
        return list(seen.values())


def lock_depots(session: Session, depot_ids: Sequence[int]) -> None:
    """Step 1 of the lock order: depots in id order (not needed on SQLite, which is serialised)."""
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(
        select(Depot.id).where(Depot.id.in_(sorted(set(depot_ids)))).order_by(Depot.id)
        .with_for_update(key_share=True)
    ).all()


def lock_lots(session: Session, lot_ids: Sequence[int]) -> dict[int, StockLot]:
    """Step 2 of the lock order: lots in id order, re-read under the lock."""
    lots = session.scalars(
        select(StockLot).where(StockLot.id.in_(sorted(set(lot_ids)))).order_by(StockLot.id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).all()
    return {lot.id: lot for lot in lots}


def book(
    session: Session,
    lot: StockLot,
    delta: int,
    kind: str,
    principal: Principal,
    group_id: str,
    reason: str = "",
    reference: str = "",
    expected_balance: int | None = None,
) -> Movement:
    """Change one lot's balance by ``delta`` and write the ledger line, atomically.

    With ``expected_balance`` the change applies only if nobody moved the lot since it was read.
    The ledger line is added to the session; it reaches the database at the next flush.
    """
    guard = StockLot.quantity + delta >= 0
    if expected_balance is not None:
        guard = StockLot.quantity == expected_balance
    changed = session.execute(
        update(StockLot)
        .where(StockLot.id == lot.id, guard)
        .values(quantity=StockLot.quantity + delta, version=StockLot.version + 1)
        .returning(StockLot.quantity, StockLot.version)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if changed is None:
        current = session.scalar(select(StockLot.quantity).where(StockLot.id == lot.id))
        if expected_balance is not None:
            raise Conflict(
                f"lot {lot.lot_no} changed from {expected_balance} to {current} while counting",
                {"counted_quantity": ["the lot moved since it was read; count again"]},
                available=current,
            )
        raise InsufficientStock(
            f"lot {lot.lot_no} holds {current}, cannot take {-delta}",
            {"quantity": [f"exceeds the {current} available in lot {lot.lot_no}"]},
            available=current,
        )
    new_balance, version = changed
    set_committed_value(lot, "quantity", new_balance)
    set_committed_value(lot, "version", version)
    movement = Movement(
        kind=kind,
        lot=lot,
        depot=lot.depot,  # held by the line, so the response finds them in the session
        item=lot.item,
        quantity=delta,
        balance_after=new_balance,
        actor=principal.name,
        reason=reason,
        reference=reference,
        group_id=group_id,
    )
    session.add(movement)
    return movement


def _booked(session: Session, group: str, movements: list[Movement]) -> Booking:
    session.flush()
    return Booking(group, movements)


def new_group() -> str:
    return str(uuid.uuid4())


def _positive(quantity: int, field: str = "quantity") -> None:
    if quantity <= 0:
        raise InvalidInput.field(field, f"must be > 0, got {quantity}")


def used_volume_m3(session: Session, depot_id: int) -> float:
    used = session.scalar(
        select(func.coalesce(func.sum(StockLot.quantity * Item.m3_per_unit), 0.0))
        .join(Item, Item.id == StockLot.item_id)
        .where(StockLot.depot_id == depot_id, StockLot.quantity > 0)
    )
    return float(used or 0.0)


def check_capacity(
    session: Session, depot: Depot, item: Item, quantity: int, principal: Principal, force: bool,
    field: str = "quantity",
) -> None:
    """Refuse ``quantity`` more units of ``item`` beyond the depot's free volume (admin may force).

    Call it holding the depot's lock (``lock_depots``) so two receipts cannot both fit the
    last free volume.
    """
    if force:
        if principal.role != "admin":
            raise Forbidden("only an admin may force stock beyond capacity",
                            {"force": ["needs the admin role"]})
        return
    if quantity <= 0:
        return
    used = used_volume_m3(session, depot.id)
    needed = quantity * item.m3_per_unit
    if used + needed > depot.capacity_m3 + 1e-9:
        free = max(depot.capacity_m3 - used, 0.0)
        raise CapacityExceeded(
            f"depot {depot.code} has {free:.2f} m³ free of {depot.capacity_m3:.2f} m³; "
            f"{quantity} {item.unit} of {item.code} need {needed:.2f} m³",
            {field: [f"needs {needed:.2f} m³, only {free:.2f} m³ free"]},
            free_m3=round(free, 3),
            needed_m3=round(needed, 3),
        )


def lot_for_receipt(
    session: Session,
    depot: Depot,
    item: Item,
    lot_no: str,
    mode: str,
    produced_on: dt.date | None,
    expires_on: dt.date | None,
) -> StockLot:
    """The lot a receipt lands in: an existing lot with the same identity and dates, or a new one.

    Call it holding the depot's lock, so two receipts cannot both create the lot.
    """
    lot = session.scalar(
        select(StockLot).where(
            StockLot.depot_id == depot.id,
            StockLot.item_id == item.id,
            StockLot.lot_no == lot_no,
            StockLot.mode == mode,
        )
    )
    if lot is None:
        lot = StockLot(depot=depot, item=item, lot_no=lot_no, mode=mode, quantity=0,
                       produced_on=produced_on, expires_on=expires_on)
        session.add(lot)
        session.flush()
    elif (produced_on, expires_on) != (lot.produced_on, lot.expires_on):
        raise Conflict(
            f"lot {lot_no} of {item.code} at {depot.code} exists with other dates "
            f"(produced {lot.produced_on}, expires {lot.expires_on})",
            {"lot_no": ["exists at this depot with different production/expiry dates"]},
        )
    return lot


def _check_dates(produced_on: dt.date | None, expires_on: dt.date | None, on: dt.date) -> None:
    if produced_on and produced_on > on:
        raise InvalidInput.field("produced_on", f"{produced_on} is in the future")
    if produced_on and expires_on and expires_on <= produced_on:
        raise InvalidInput.field("expires_on", f"{expires_on} is not after produced_on {produced_on}")
    if expires_on and expires_on <= on:
        raise InvalidInput.field("expires_on", f"lot already expired on {expires_on}; do not receive it")


def _ensure_receiving(depot: Depot, field: str = "depot") -> None:
    if depot.status not in RECEIVING_STATUSES:
        raise Conflict(f"depot {depot.code} is {depot.status} and cannot receive",
                       {field: [f"status is {depot.status}"]})


def receive(
    session: Session,
    principal: Principal,
    *,
    depot_code: str,
    item_code: str,
    lot_no: str,
    quantity: int,
    mode: str = "government",
    produced_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    reason: str = "",
    reference: str = "",
    force: bool = False,
) -> Booking:
    """Receipt (入库): stock arrives at a depot, into a new or matching lot."""
    _positive(quantity)
    depot = get_depot(session, depot_code)
    item = get_item(session, item_code)
    ensure_may_change(session, principal, depot)
    _check_dates(produced_on, expires_on, today())
    _ensure_receiving(depot)
    lock_depots(session, [depot.id])
    check_capacity(session, depot, item, quantity, principal, force)
    lot = lot_for_receipt(session, depot, item, lot_no, mode, produced_on, expires_on)
    group = new_group()
    return _booked(session, group, [book(session, lot, quantity, "receipt", principal, group, reason,
                                         reference)])


def _insufficient(depot: Depot, item: Item, available: int, quantity: int, message: str) -> InsufficientStock:
    return InsufficientStock(
        f"{depot.code} holds {available} {item.unit} of {item.code} in unexpired lots, "
        f"{quantity} requested",
        {"quantity": [message]},
        available=available,
    )


def _lots_to_take(
    session: Session, depot: Depot, item: Item, quantity: int, lot_id: int | None, on: dt.date
) -> list[tuple[StockLot, int]]:
    """The named lot, or the depot's lots of the item in first-expiry-first-out order.

    The lots are locked and read under the lock, so what is picked is what is there.
    """
    if lot_id is not None:
        lot = get_lot(session, lot_id)
        if lot.depot_id != depot.id or lot.item_id != item.id:
            raise InvalidInput.field("lot_id", f"lot {lot_id} is not {item.code} at {depot.code}")
        if lot.expires_on is not None and lot.expires_on < on:
            raise Conflict(f"lot {lot.lot_no} expired on {lot.expires_on}; write it off instead",
                           {"lot_id": ["lot has expired"]})
        lock_lots(session, [lot.id])
        if lot.quantity < quantity:
            raise InsufficientStock(
                f"lot {lot.lot_no} holds {lot.quantity}, cannot take {quantity}",
                {"quantity": [f"exceeds the {lot.quantity} available in lot {lot.lot_no}"]},
                available=lot.quantity,
            )
        return [(lot, quantity)]
    lots = session.scalars(
        select(StockLot)
        .where(StockLot.depot_id == depot.id, StockLot.item_id == item.id, StockLot.quantity > 0)
        .order_by(StockLot.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    by_id = {lot.id: lot for lot in lots}
    views = [LotView(lot.id, lot.quantity, lot.expires_on, lot.produced_on) for lot in lots]
    try:
        picks = pick_fefo(views, quantity, on)
    except ValueError as exc:
        available = sum(v.quantity for v in views if v.expires_on is None or v.expires_on >= on)
        raise _insufficient(depot, item, available, quantity, str(exc)) from exc
    return [(by_id[view.lot_id], take) for view, take in picks]


def issue(
    session: Session,
    principal: Principal,
    *,
    depot_code: str,
    item_code: str,
    quantity: int,
    lot_id: int | None = None,
    reason: str = "",
    reference: str = "",
) -> Booking:
    """Issue (出库): stock leaves a depot, from one lot or FEFO across lots."""
    _positive(quantity)
    depot = get_depot(session, depot_code)
    item = get_item(session, item_code)
    ensure_may_change(session, principal, depot)
    group = new_group()
    movements = [
        book(session, lot, -take, "issue", principal, group, reason, reference)
        for lot, take in _lots_to_take(session, depot, item, quantity, lot_id, today())
    ]
    return _booked(session, group, movements)


def transfer(
    session: Session,
    principal: Principal,
    *,
    from_depot: str,
    to_depot: str,
    item_code: str,
    quantity: int,
    lot_id: int | None = None,
    reason: str = "",
    reference: str = "",
    force: bool = False,
) -> Booking:
    """Transfer (调拨): both legs, out of one depot and into another, in one transaction.

    Both depots are locked (in id order) before any lot, so two transfers in opposite
    directions queue instead of deadlocking.
    """
    _positive(quantity)
    if from_depot == to_depot:
        raise InvalidInput.field("to_depot", "must differ from from_depot")
    source = get_depot(session, from_depot, "from_depot")
    target = get_depot(session, to_depot, "to_depot")
    item = get_item(session, item_code)
    ensure_may_change(session, principal, source)
    ensure_may_change(session, principal, target)
    _ensure_receiving(target, "to_depot")
    lock_depots(session, [source.id, target.id])
    check_capacity(session, target, item, quantity, principal, force)
    group = new_group()
    movements: list[Movement] = []
    for lot, take in _lots_to_take(session, source, item, quantity, lot_id, today()):
        movements.append(book(session, lot, -take, "transfer_out", principal, group, reason, reference))
        landing = lot_for_receipt(session, target, item, lot.lot_no, lot.mode, lot.produced_on,
                                   lot.expires_on)
        movements.append(book(session, landing, take, "transfer_in", principal, group, reason, reference))
    return _booked(session, group, movements)


def _locked_lot(session: Session, lot_id: int) -> StockLot:
    """A lot named by id, with its depot locked first and then the lot (the lock order)."""
    lot = get_lot(session, lot_id)
    lock_depots(session, [lot.depot_id])
    lock_lots(session, [lot.id])
    return lot


def adjust(
    session: Session,
    principal: Principal,
    *,
    lot_id: int,
    counted_quantity: int,
    reason: str,
    reference: str = "",
    force: bool = False,
) -> Booking:
    """Adjustment after a count (盘点): book the difference between counted and recorded.

    A count that adds stock is bounded by the depot's free volume like a receipt.
    """
    if counted_quantity < 0:
        raise InvalidInput.field("counted_quantity", f"must be >= 0, got {counted_quantity}")
    lot = get_lot(session, lot_id)
    ensure_may_change(session, principal, lot.depot)
    lot = _locked_lot(session, lot_id)
    delta = counted_quantity - lot.quantity
    check_capacity(session, lot.depot, lot.item, delta, principal, force, "counted_quantity")
    group = new_group()
    return _booked(session, group, [book(session, lot, delta, "adjustment", principal, group, reason,
                                         reference)])


def rotate(
    session: Session,
    principal: Principal,
    *,
    lot_id: int,
    quantity_out: int,
    new_lot_no: str,
    new_quantity: int,
    new_produced_on: dt.date | None,
    new_expires_on: dt.date | None,
    reason: str = "rotation",
    reference: str = "",
    force: bool = False,
) -> Booking:
    """Rotation (轮换): a near-expiry lot goes out and a fresh lot of the same item comes in."""
    _positive(quantity_out, "quantity_out")
    _positive(new_quantity, "new_quantity")
    old = get_lot(session, lot_id)
    ensure_may_change(session, principal, old.depot)
    _check_dates(new_produced_on, new_expires_on, today())
    if old.expires_on and new_expires_on and new_expires_on <= old.expires_on:
        raise InvalidInput.field("new_expires_on", f"must be later than the old lot's {old.expires_on}")
    lock_depots(session, [old.depot_id])
    fresh = lot_for_receipt(session, old.depot, old.item, new_lot_no, old.mode, new_produced_on,
                            new_expires_on)
    if fresh.id == old.id:
        raise InvalidInput.field("new_lot_no", "must name a lot other than the one rotated out")
    lock_lots(session, [old.id, fresh.id])
    if old.quantity < quantity_out:
        raise InsufficientStock(
            f"lot {old.lot_no} holds {old.quantity}, cannot take {quantity_out}",
            {"quantity_out": [f"exceeds the {old.quantity} available in lot {old.lot_no}"]},
            available=old.quantity,
        )
    group = new_group()
    out = book(session, old, -quantity_out, "rotation_out", principal, group, reason, reference)
    check_capacity(session, old.depot, old.item, new_quantity, principal, force, "new_quantity")
    into = book(session, fresh, new_quantity, "rotation_in", principal, group, reason, reference)
    return _booked(session, group, [out, into])


def write_off(
    session: Session,
    principal: Principal,
    *,
    lot_id: int,
    quantity: int,
    reason: str,
    reference: str = "",
) -> Booking:
    """Write-off (报废/核销): stock that is lost, damaged or expired leaves the books."""
    _positive(quantity)
    if not reason.strip():
        raise InvalidInput.field("reason", "a write-off needs a reason")
    lot = get_lot(session, lot_id)
    ensure_may_change(session, principal, lot.depot)
    lock_lots(session, [lot.id])
    group = new_group()
    return _booked(session, group, [book(session, lot, -quantity, "write_off", principal, group, reason,
                                         reference)])


def ledger_mismatches(session: Session, lot_ids: Sequence[int] | None = None) -> list[tuple[int, int, int]]:
    """Lots whose cached balance differs from the sum of their movements: (lot, balance, sum)."""
    sums = (
        select(Movement.lot_id, func.sum(Movement.quantity).label("total"))
        .group_by(Movement.lot_id)
        .subquery()
    )
    query = select(StockLot.id, StockLot.quantity, func.coalesce(sums.c.total, 0)).outerjoin(
        sums, sums.c.lot_id == StockLot.id
    )
    if lot_ids is not None:
        query = query.where(StockLot.id.in_(lot_ids))
    return [(lot, bal, int(total)) for lot, bal, total in session.execute(query) if bal != int(total)]

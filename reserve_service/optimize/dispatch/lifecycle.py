"""A plan's lifecycle in the ledger: approve (issue), dispatch, deliver, cancel (return), and the
stock a re-plan starts from.

The ledger is the truth about what each vehicle carries. Every issue and return for a vehicle
is booked with the reference ``plan:<plan id>:<vehicle id>``, so what a vehicle holds *now*
for an incident (:func:`outstanding`) is the net of those movements over all the incident's
plans. From that:

* **approve** issues, per vehicle not yet loaded (draft) or already on the road (dispatched),
  the plan's manifest minus what the vehicle already holds: a dispatched truck's cargo is
  never issued twice, its new loads are issued;
* **supersede** (a re-plan replaces its parent) returns what the parent's vehicles hold but
  the new plan no longer has them carry: all of an approved, not yet dispatched vehicle's
  stock; the loads a dispatched truck had not yet picked up;
* **cancel** returns what every vehicle holds beyond what it delivered; refused while a
  vehicle is on the road (its delivery must be confirmed first);
* **deliver** checks the confirmed quantities against the vehicle's manifest (422 naming the
  field) and records them;
* :func:`replan_stock` is the stock a re-plan may use: the ledger now, plus what superseding
  the parent will return, plus the cargo the re-plan keeps on dispatched trucks (the pure
  re-planner takes that cargo out of the pool itself).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from reserve_service.auth import Principal
from reserve_service.errors import Conflict, InvalidInput
from reserve_service.inventory import services
from reserve_service.inventory.tables import Depot, Item, Movement, StockLot
from reserve_service.optimize.tables import DispatchPlanRow, PlanVehicle

LOT_MODES = ("government", "enterprise_held")

#: (depot code, item code, lot number, mode): one stock lot.
LotKey = tuple[str, str, str, str]


# --------------------------------------------------------------------------------------------
# What the plan loads, what vehicles hold
# --------------------------------------------------------------------------------------------


def vehicle_json(row: DispatchPlanRow, vehicle_id: str) -> dict[str, Any] | None:
    return next((v for v in row.plan["vehicles"] if v["vehicle_id"] == vehicle_id), None)


def manifest_lots(row: DispatchPlanRow, vehicle_id: str,
                  orders: Iterable[str] | None = None) -> dict[LotKey, int]:
    """Units per stock lot the plan loads on a vehicle (only ``orders``, when given)."""
    keep = None if orders is None else set(orders)
    out: dict[LotKey, int] = defaultdict(int)
    for line in (vehicle_json(row, vehicle_id) or {}).get("manifest", []):
        if line["source_mode"] not in LOT_MODES or (keep is not None and line["order"] not in keep):
            continue
        out[(line["source"].rsplit(":", 1)[0], line["item"], line["lot_no"], line["source_mode"])] += (
            line["quantity"])
    return out


def incident_plan_ids(session: Session, incident_id: str) -> list[str]:
    return list(session.scalars(select(DispatchPlanRow.id).where(DispatchPlanRow.incident_id == incident_id)))


def outstanding(session: Session, incident_id: str, vehicle_id: str) -> dict[LotKey, int]:
    """Units per lot the ledger has issued to a vehicle for this incident and not had back."""
    references = [f"plan:{plan_id}:{vehicle_id}" for plan_id in incident_plan_ids(session, incident_id)]
    rows = session.execute(
        select(Depot.code, Item.code, StockLot.lot_no, StockLot.mode, func.sum(Movement.quantity))
        .join(StockLot, StockLot.id == Movement.lot_id).join(Depot, Depot.id == StockLot.depot_id)
        .join(Item, Item.id == StockLot.item_id)
        .where(Movement.reference.in_(references), Movement.kind.in_(("issue", "return")))
        .group_by(Depot.code, Item.code, StockLot.lot_no, StockLot.mode))
    return {(depot, item, lot_no, mode): -int(net) for depot, item, lot_no, mode, net in rows if net < 0}


def _lot(session: Session, key: LotKey) -> StockLot | None:
    depot, item, lot_no, mode = key
    return session.scalar(
        select(StockLot).join(Depot, Depot.id == StockLot.depot_id).join(Item, Item.id == StockLot.item_id)
        .where(Depot.code == depot, Item.code == item, StockLot.lot_no == lot_no, StockLot.mode == mode))


def _minus(a: Mapping[LotKey, int], b: Mapping[LotKey, int]) -> dict[LotKey, int]:
    return {k: q - b.get(k, 0) for k, q in a.items() if q - b.get(k, 0) > 0}


def _book(session: Session, principal: Principal, row: DispatchPlanRow, vehicle_id: str,
          quantities: Mapping[LotKey, int], kind: str, reason: str) -> tuple[str, int]:
    """Issue (``kind="issue"``) or return quantities per lot for one vehicle, in one group."""
    group = services.new_group()
    count = 0
    for key, quantity in sorted(quantities.items()):
        lot = _lot(session, key)
        if lot is None or quantity <= 0:
            continue
        services.book(session, lot, -quantity if kind == "issue" else quantity, kind, principal, group,
                      reason, f"plan:{row.id}:{vehicle_id}")
        count += 1
    return group, count


def _vehicles(session: Session, row: DispatchPlanRow) -> dict[str, PlanVehicle]:
    return {v.vehicle_id: v for v in session.scalars(select(PlanVehicle).where(PlanVehicle.plan_id == row.id))}


# --------------------------------------------------------------------------------------------
# Approve, supersede, cancel
# --------------------------------------------------------------------------------------------


def approve(session: Session, principal: Principal, row: DispatchPlanRow) -> dict[str, Any]:
    """Issue the loads of every vehicle not yet loaded or on the road, in one transaction.

    Each vehicle gets its manifest minus what it already holds for this incident (a
    dispatched truck's cargo from the plan it left under). Idempotent: approving an approved
    plan books nothing. If the ledger no longer holds what the plan loads, nothing is booked
    and the 409 lists each lot: planned, available.
    """
    if row.status in ("approved", "dispatched", "delivered"):
        return {"status": row.status, "already": True, "movements": 0}
    if row.status != "draft":
        raise Conflict(f"plan is {row.status}", {"status": [f"cannot approve a {row.status} plan"]})
    vehicles = _vehicles(session, row)
    to_issue = {vid: _minus(manifest_lots(row, vid), outstanding(session, row.incident_id, vid))
                for vid, v in sorted(vehicles.items()) if v.status in ("draft", "dispatched")}
    wanted: dict[LotKey, int] = defaultdict(int)
    for quantities in to_issue.values():
        for key, quantity in quantities.items():
            wanted[key] += quantity
    changed = []
    for key, quantity in sorted(wanted.items()):
        lot = _lot(session, key)
        available = lot.quantity if lot else 0
        if available < quantity:
            changed.append({"depot": key[0], "item": key[1], "lot_no": key[2], "planned": quantity,
                            "available": available})
    if changed:
        raise Conflict(f"stock changed since the plan was made: {len(changed)} lots no longer hold what "
                       "the plan loads; re-plan", {"plan": ["stock changed"]}, changed=changed)
    on_road = any(v.status == "dispatched" for v in vehicles.values())
    claimed = cast(CursorResult[Any], session.execute(
        update(DispatchPlanRow).where(DispatchPlanRow.id == row.id, DispatchPlanRow.status == "draft")
        .values(status="dispatched" if on_road else "approved", version=DispatchPlanRow.version + 1,
                approved_by=principal.name, approved_at=dt.datetime.now(dt.UTC))))
    if claimed.rowcount != 1:
        session.rollback()
        return {"status": "approved", "already": True, "movements": 0}
    movements = 0
    for vehicle_id, quantities in to_issue.items():
        regions = sorted({line["region"] for line in (vehicle_json(row, vehicle_id) or {}).get("manifest", [])})
        group, count = _book(session, principal, row, vehicle_id, quantities, "issue",
                             f"dispatch to {', '.join(regions)}")
        movements += count
        vehicle = vehicles[vehicle_id]
        if vehicle.status == "draft":
            vehicle.status = "approved"
        vehicle.issue_group_id = group if count else vehicle.issue_group_id
    session.commit()
    return {"status": "dispatched" if on_road else "approved", "already": False, "movements": movements}


def supersede(session: Session, parent: DispatchPlanRow, actor: str,
              carried: Mapping[str, Iterable[str]] | None = None) -> int:
    """A re-plan replaces its parent: approved vehicles not yet gone give all their stock back,
    dispatched ones give back what they had not picked up (``carried``: the order ids each
    keeps on board); the new plan issues its loads again when approved. Returns the lines
    booked."""
    principal = Principal(0, actor or "replan", "dispatcher")
    returned = 0
    for vehicle in _vehicles(session, parent).values():
        if vehicle.status in ("approved", "dispatched"):
            held = outstanding(session, parent.incident_id, vehicle.vehicle_id)
            keep = (manifest_lots(parent, vehicle.vehicle_id, (carried or {}).get(vehicle.vehicle_id, ()))
                    if vehicle.status == "dispatched" else {})
            returned += _book(session, principal, parent, vehicle.vehicle_id, _minus(held, keep), "return",
                              "re-planned")[1]
        if vehicle.status in ("approved", "draft"):
            vehicle.status = "cancelled"
    parent.status = "superseded"
    return returned


def _undelivered(session: Session, row: DispatchPlanRow, vehicle: PlanVehicle) -> dict[LotKey, int]:
    """What a vehicle holds beyond what it delivered: per item the held lots, latest expiry
    returned first (the truck delivered its earliest-expiring units)."""
    held = outstanding(session, row.incident_id, vehicle.vehicle_id)
    delivered: dict[str, int] = defaultdict(int)
    for line in vehicle.delivered or []:
        delivered[line["item"]] += int(line["quantity"])
    expiry = {(line["item"], line["lot_no"]): line.get("expiry") or "9999"
              for line in (vehicle_json(row, vehicle.vehicle_id) or {}).get("manifest", [])}
    back: dict[LotKey, int] = {}
    for item in sorted({key[1] for key in held}):
        keys = sorted((k for k in held if k[1] == item), key=lambda k: expiry.get((k[1], k[2]), "9999"))
        used = delivered.get(item, 0)
        for key in keys:  # delivered units come from the earliest-expiring lots
            take = min(used, held[key])
            used -= take
            if held[key] - take > 0:
                back[key] = held[key] - take
    return back


def cancel(session: Session, principal: Principal, row: DispatchPlanRow) -> dict[str, Any]:
    """Cancel a plan: every vehicle's stock not delivered goes back to its lots.

    Refused while a vehicle is on the road: confirm its delivery (what arrived) first.
    """
    if row.status in ("cancelled", "superseded", "delivered"):
        raise Conflict(f"plan is {row.status}", {"status": [f"cannot cancel a {row.status} plan"]})
    vehicles = _vehicles(session, row)
    moving = sorted(vid for vid, v in vehicles.items() if v.status == "dispatched")
    if moving:
        raise Conflict(f"vehicles {moving} are on the road; confirm their delivery first",
                       {"status": ["vehicles on the road"]}, vehicles=moving)
    returned = 0
    for vehicle_id, vehicle in sorted(vehicles.items()):
        if vehicle.status in ("approved", "delivered"):
            back = (_undelivered(session, row, vehicle) if vehicle.status == "delivered"
                    else outstanding(session, row.incident_id, vehicle_id))
            returned += _book(session, principal, row, vehicle_id, back, "return", "dispatch plan cancelled")[1]
        if vehicle.status != "delivered":
            vehicle.status = "cancelled"
    row.status = "cancelled"
    session.commit()
    return {"status": "cancelled", "returned_lines": returned}


# --------------------------------------------------------------------------------------------
# Dispatch and deliver
# --------------------------------------------------------------------------------------------


def check_delivery(row: DispatchPlanRow, vehicle_id: str, delivered: list[dict[str, Any]],
                   earlier: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """What the vehicle has delivered in all, after confirming ``delivered`` on top of
    ``earlier`` confirmations, checked against its manifest: each region one it serves, each
    item one it carries there, and in total at most what it carries there. 422 naming the
    offending field otherwise."""
    planned: dict[tuple[str, str], int] = defaultdict(int)
    for line in (vehicle_json(row, vehicle_id) or {}).get("manifest", []):
        planned[(line["region"], line["item"])] += line["quantity"]
    regions = {region for region, _ in planned}
    confirmed: dict[tuple[str, str], int] = defaultdict(int)
    for line in earlier:
        confirmed[(line["region"], line["item"])] += int(line["quantity"])
    for index, line in enumerate(delivered):
        where, key = f"delivered.{index}", (line["region"], line["item"])
        if line["region"] not in regions:
            raise InvalidInput.field(f"{where}.region", f"vehicle {vehicle_id} serves {sorted(regions)}, "
                                     f"not {line['region']!r}")
        if key not in planned:
            items = sorted(i for r, i in planned if r == line["region"])
            raise InvalidInput.field(f"{where}.item", f"vehicle {vehicle_id} carries {items} to "
                                     f"{line['region']}, not {line['item']!r}")
        confirmed[key] += line["quantity"]
        if confirmed[key] > planned[key]:
            raise InvalidInput.field(f"{where}.quantity", f"vehicle {vehicle_id} carries {planned[key]} of "
                                     f"{line['item']} to {line['region']}; {confirmed[key]} would be delivered")
    return [{"region": r, "item": i, "quantity": q} for (r, i), q in confirmed.items() if q > 0]


def _rest_of_manifest(row: DispatchPlanRow, vehicle_id: str,
                      earlier: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The manifest less what was confirmed before: the default delivery confirmation."""
    left: dict[tuple[str, str], int] = defaultdict(int)
    for line in (vehicle_json(row, vehicle_id) or {}).get("manifest", []):
        left[(line["region"], line["item"])] += line["quantity"]
    for line in earlier:
        left[(line["region"], line["item"])] -= int(line["quantity"])
    return [{"region": r, "item": i, "quantity": q} for (r, i), q in left.items() if q > 0]


def mark_vehicle(session: Session, row: DispatchPlanRow, vehicle_id: str, action: str,
                 delivered: list[dict[str, Any]] | None = None) -> PlanVehicle:
    """dispatch: approved → dispatched; deliver: dispatched → delivered, recording what arrived
    (default: the rest of the manifest) on top of what the vehicle delivered before in the
    incident (a truck that delivered under an earlier plan and took new loads in a re-plan)."""
    vehicle = session.scalar(select(PlanVehicle).where(PlanVehicle.plan_id == row.id,
                                                       PlanVehicle.vehicle_id == vehicle_id))
    if vehicle is None:
        raise InvalidInput.field("vehicle_id", f"vehicle {vehicle_id!r} is not in this plan")
    before = {"dispatch": "approved", "deliver": "dispatched"}[action]
    if vehicle.status != before:
        raise Conflict(f"vehicle {vehicle_id} is {vehicle.status}", {"status": [f"must be {before} to {action}"]})
    now = dt.datetime.now(dt.UTC)
    if action == "dispatch":
        vehicle.status, vehicle.dispatched_at = "dispatched", now
        if row.status == "approved":
            row.status = "dispatched"
    else:
        earlier = list(vehicle.delivered or [])
        if delivered is None:
            delivered = _rest_of_manifest(row, vehicle_id, earlier)
        vehicle.delivered = check_delivery(row, vehicle_id, delivered, earlier)
        vehicle.status, vehicle.delivered_at = "delivered", now
        statuses = set(session.scalars(select(PlanVehicle.status).where(PlanVehicle.plan_id == row.id,
                                                                        PlanVehicle.id != vehicle.id)))
        if statuses <= {"delivered", "cancelled"}:
            row.status = "delivered"
    session.commit()
    return vehicle


# --------------------------------------------------------------------------------------------
# The stock a re-plan starts from
# --------------------------------------------------------------------------------------------


def carried_orders(parent: DispatchPlanRow, completed_stops: Mapping[str, int]) -> dict[str, set[str]]:
    """Per vehicle that has left, the orders it has picked up (its first ``k`` stops done)."""
    out: dict[str, set[str]] = {}
    for vehicle_id, k in completed_stops.items():
        stops = (vehicle_json(parent, vehicle_id) or {}).get("stops", [])
        out[vehicle_id] = {s["order"] for s in stops[:k] if s["kind"] == "pickup"}
    return out


def replan_stock(session: Session, parent: DispatchPlanRow, carried: Mapping[str, set[str]]
                 ) -> dict[LotKey, int]:
    """Units per lot to add to the ledger's stock for a re-plan of ``parent``: what superseding
    the parent will return, plus the cargo kept on trucks that have left (the re-planner takes
    that out of the pool again)."""
    extra: dict[LotKey, int] = defaultdict(int)
    for vehicle in _vehicles(session, parent).values():
        kept = manifest_lots(parent, vehicle.vehicle_id, carried.get(vehicle.vehicle_id, ()))
        if vehicle.status in ("approved", "dispatched"):
            held = outstanding(session, parent.incident_id, vehicle.vehicle_id)
            for key, quantity in _minus(held, kept if vehicle.status == "dispatched" else {}).items():
                extra[key] += quantity
        if vehicle.vehicle_id in carried:
            for key, quantity in kept.items():
                extra[key] += quantity
    return dict(extra)

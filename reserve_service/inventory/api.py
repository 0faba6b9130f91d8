"""REST endpoints of the reserve network: a thin adapter from HTTP to the services."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select, update

from reserve_service.api_docs import CSV_BODY, ETAG_HEADER, IDEMPOTENCY_KEY, IF_MATCH, XLSX_BODY
from reserve_service.auth import bookkeeping, current_principal, roles_required
from reserve_service.db import with_retry
from reserve_service.errors import Conflict, Forbidden, InvalidInput, PreconditionFailed
from reserve_service.extensions import session
from reserve_service.http import etag_of, idempotent, paginate, require_if_match
from reserve_service.inventory import queries, services, stockcount
from reserve_service.inventory.responses import (
    STOCK_COUNT_BODY,
    AvailabilitySchema,
    BelowNormSchema,
    ExpiringAgreementsSchema,
    ExpiringLotsSchema,
    StockCountReportSchema,
    StockSummarySchema,
)
from reserve_service.inventory.schemas import (
    AdjustmentSchema,
    AgreementListArgs,
    AgreementSchema,
    AvailabilityArgs,
    BelowNormArgs,
    BookingSchema,
    CapacityReserveListArgs,
    CapacityReserveSchema,
    DepotListArgs,
    DepotPatchSchema,
    DepotSchema,
    ExpiringArgs,
    ImportArgs,
    IssueSchema,
    ItemListArgs,
    ItemSchema,
    LotListArgs,
    LotPatchSchema,
    LotSchema,
    MovementListArgs,
    MovementSchema,
    ReceiptSchema,
    RegionListArgs,
    RegionSchema,
    RotationSchema,
    StockArgs,
    TransferSchema,
    WriteOffSchema,
    page_of,
)
from reserve_service.inventory.tables import (
    AgreementReserve,
    CapacityReserve,
    Depot,
    Item,
    Movement,
    Region,
    StockLot,
)

PREFIX = "/api/v1"
regions_blp = Blueprint("regions", __name__, url_prefix=f"{PREFIX}/regions",
                        description="Administrative regions (adcode hierarchy) with population")
depots_blp = Blueprint("depots", __name__, url_prefix=f"{PREFIX}/depots",
                       description="Reserve depots of every tier")
items_blp = Blueprint("items", __name__, url_prefix=f"{PREFIX}/items",
                      description="Relief item catalogue (GB/T 38565-style codes, norms)")
lots_blp = Blueprint("lots", __name__, url_prefix=f"{PREFIX}/lots", description="Stock lots")
reserves_blp = Blueprint("reserves", __name__, url_prefix=f"{PREFIX}",
                         description="Agreement (协议储备) and production-capacity (产能储备) reserves")
movements_blp = Blueprint("movements", __name__, url_prefix=f"{PREFIX}/movements",
                          description="The ledger: receipts, issues, transfers, counts, rotations, write-offs")
stock_blp = Blueprint("stock", __name__, url_prefix=f"{PREFIX}",
                      description="Stock views, availability, alerts, bulk import/export")


# ----------------------------------------------------------------------- regions


def region_dump(region: Region) -> dict[str, Any]:
    return {
        "adcode": region.adcode, "name": region.name, "level": region.level,
        "parent_adcode": region.parent.adcode if region.parent else None,
        "population": region.population, "households": region.households,
        "lat": region.lat, "lng": region.lng, "location_quality": region.location_quality,
        "risk_weight": region.risk_weight,
    }


@regions_blp.route("")
class Regions(MethodView):
    @regions_blp.arguments(RegionListArgs, location="query")
    @regions_blp.response(200, page_of(RegionSchema))
    def get(self, args):
        """List regions (filter by level, parent adcode, name)."""
        db = session()
        query = select(Region)
        if args.get("level"):
            query = query.where(Region.level == args["level"])
        if args.get("parent"):
            query = query.where(Region.parent_id == services.get_region(db, args["parent"], "parent").id)
        if args.get("q"):
            query = query.where(Region.name.contains(args["q"]))
        page = paginate(db, query, args, {"adcode": Region.adcode, "name": Region.name,
                                          "population": Region.population}, "adcode")
        page["items"] = [region_dump(r) for r in page["items"]]
        return page

    @roles_required()
    @regions_blp.arguments(RegionSchema)
    @regions_blp.response(201, RegionSchema)
    def post(self, data):
        """Create a region (admin)."""
        db = session()
        if db.scalar(select(Region.id).where(Region.adcode == data["adcode"])):
            raise Conflict(f"region {data['adcode']} exists", {"adcode": ["already exists"]})
        parent_adcode = data.pop("parent_adcode")
        region = Region(**data)
        if parent_adcode:
            region.parent = services.get_region(db, parent_adcode, "parent_adcode")
        db.add(region)
        db.commit()
        bookkeeping().forget()  # manager scopes may now include this region
        return region_dump(region)


@regions_blp.route("/<adcode>")
@regions_blp.response(200, RegionSchema)
def get_region(adcode: str):
    """One region."""
    return region_dump(services.get_region(session(), adcode, "adcode", in_path=True))


# ----------------------------------------------------------------------- depots


def depot_dump(depot: Depot, used_m3: float | None = None) -> dict[str, Any]:
    return {
        "code": depot.code, "name": depot.name, "tier": depot.tier,
        "region_adcode": depot.region.adcode, "lat": depot.lat, "lng": depot.lng,
        "operator": depot.operator, "status": depot.status, "capacity_m3": depot.capacity_m3,
        "capacity_t": depot.capacity_t, "fixed_cost_yuan": depot.fixed_cost_yuan,
        "version": depot.version, "used_m3": used_m3,
    }


@depots_blp.route("")
class Depots(MethodView):
    @depots_blp.arguments(DepotListArgs, location="query")
    @depots_blp.response(200, page_of(DepotSchema))
    def get(self, args):
        """List depots; filter by tier, status, operator, region subtree; sort; paginate."""
        db = session()
        query = select(Depot)
        for name in ("tier", "status", "operator"):
            if args.get(name):
                query = query.where(getattr(Depot, name) == args[name])
        if args.get("region"):
            root = services.get_region(db, args["region"], "region")
            query = query.where(Depot.region_id.in_(services.region_subtree_ids(db, root.id)))
        if args.get("q"):
            query = query.where(or_(Depot.name.contains(args["q"]), Depot.code.contains(args["q"])))
        page = paginate(db, query, args, {"code": Depot.code, "name": Depot.name, "tier": Depot.tier,
                                          "capacity_m3": Depot.capacity_m3}, "code")
        page["items"] = [depot_dump(d) for d in page["items"]]
        return page

    @roles_required()
    @depots_blp.arguments(DepotSchema)
    @depots_blp.response(201, DepotSchema, headers=ETAG_HEADER)
    def post(self, data):
        """Create a depot (admin)."""
        db = session()
        if db.scalar(select(Depot.id).where(Depot.code == data["code"])):
            raise Conflict(f"depot {data['code']} exists", {"code": ["already exists"]})
        region = services.get_region(db, data.pop("region_adcode"), "region_adcode")
        depot = Depot(region=region, **data)
        db.add(depot)
        db.commit()
        return depot_dump(depot, 0.0), 201, {"ETag": etag_of(depot.version)}


ADMIN_ONLY_DEPOT_FIELDS = {"capacity_m3", "capacity_t", "fixed_cost_yuan"}


@depots_blp.route("/<code>")
class DepotResource(MethodView):
    @depots_blp.response(200, DepotSchema, headers=ETAG_HEADER)
    def get(self, code: str):
        """One depot with its used volume; the ETag is its version."""
        db = session()
        depot = services.get_depot(db, code, "code", in_path=True)
        return depot_dump(depot, round(services.used_volume_m3(db, depot.id), 3)), 200, {
            "ETag": etag_of(depot.version)}

    @depots_blp.arguments(DepotPatchSchema)
    @depots_blp.doc(parameters=[IF_MATCH])
    @depots_blp.response(200, DepotSchema, headers=ETAG_HEADER)
    def patch(self, data, code: str):
        """Change a depot; needs If-Match with its ETag (412 when stale). Admin, or its manager."""
        db = session()
        depot = services.get_depot(db, code, "code", in_path=True)
        principal = current_principal()
        services.ensure_may_change(db, principal, depot)
        admin_only = sorted(set(data) & ADMIN_ONLY_DEPOT_FIELDS)
        if admin_only and principal.role != "admin":
            raise Forbidden(f"only an admin may change {', '.join(admin_only)}",
                            {name: ["needs the admin role"] for name in admin_only})
        require_if_match(depot.version)
        if "capacity_m3" in data:
            used = services.used_volume_m3(db, depot.id)
            if data["capacity_m3"] + 1e-9 < used:
                raise InvalidInput.field("capacity_m3", f"{data['capacity_m3']} m³ is below the "
                                         f"{used:.2f} m³ already stored")
        for name, value in data.items():
            setattr(depot, name, value)
        _bump_version(db, Depot, depot)
        db.commit()
        return depot_dump(depot), 200, {"ETag": etag_of(depot.version)}


def _bump_version(db, table, row) -> None:
    """Compare-and-set the version so two writers holding one ETag cannot both win."""
    old = row.version
    db.flush()
    done = db.execute(update(table).where(table.id == row.id, table.version == old)
                      .values(version=old + 1).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.rollback()
        raise PreconditionFailed("changed by someone else meanwhile", {"If-Match": ["stale"]})
    row.version = old + 1


# ----------------------------------------------------------------------- items


@items_blp.route("")
class Items(MethodView):
    @items_blp.arguments(ItemListArgs, location="query")
    @items_blp.response(200, page_of(ItemSchema))
    def get(self, args):
        """The item catalogue."""
        db = session()
        query = select(Item)
        if args.get("category"):
            query = query.where(Item.category == args["category"])
        if args.get("q"):
            query = query.where(or_(Item.name_zh.contains(args["q"]), Item.name_en.contains(args["q"])))
        return paginate(db, query, args, {"code": Item.code, "name_en": Item.name_en}, "code")

    @roles_required()
    @items_blp.arguments(ItemSchema)
    @items_blp.response(201, ItemSchema)
    def post(self, data):
        """Add an item (admin)."""
        db = session()
        if db.scalar(select(Item.id).where(Item.code == data["code"])):
            raise Conflict(f"item {data['code']} exists", {"code": ["already exists"]})
        item = Item(**data)
        db.add(item)
        db.commit()
        return item


@items_blp.route("/<code>")
@items_blp.response(200, ItemSchema)
def get_item(code: str):
    """One item."""
    return services.get_item(session(), code, "code", in_path=True)


# ----------------------------------------------------------------------- lots


@lots_blp.route("")
@lots_blp.arguments(LotListArgs, location="query")
@lots_blp.response(200, page_of(LotSchema))
def list_lots(args):
    """Stock lots; filter by depot, item, mode, region, expiring within N days."""
    db = session()
    query = select(StockLot).join(Depot, Depot.id == StockLot.depot_id).join(Item, Item.id == StockLot.item_id)
    if not args["include_empty"]:
        query = query.where(StockLot.quantity > 0)
    if args.get("depot"):
        query = query.where(Depot.code == args["depot"])
    if args.get("item"):
        query = query.where(Item.code == args["item"])
    if args.get("mode"):
        query = query.where(StockLot.mode == args["mode"])
    if args.get("region"):
        root = services.get_region(db, args["region"], "region")
        query = query.where(Depot.region_id.in_(services.region_subtree_ids(db, root.id)))
    if args.get("expiring_within_days") is not None:
        horizon = services.today() + dt.timedelta(days=args["expiring_within_days"])
        query = query.where(StockLot.expires_on <= horizon)
    return paginate(db, query, args, {"id": StockLot.id, "expires_on": StockLot.expires_on,
                                      "quantity": StockLot.quantity, "lot_no": StockLot.lot_no}, "id")


@lots_blp.route("/<int:lot_id>")
class LotResource(MethodView):
    @lots_blp.response(200, LotSchema, headers=ETAG_HEADER)
    def get(self, lot_id: int):
        """One lot; the ETag is its version (it changes with every movement too)."""
        lot = services.get_lot(session(), lot_id, in_path=True)
        return lot, 200, {"ETag": etag_of(lot.version)}

    @lots_blp.arguments(LotPatchSchema)
    @lots_blp.doc(parameters=[IF_MATCH])
    @lots_blp.response(200, LotSchema, headers=ETAG_HEADER)
    def patch(self, data, lot_id: int):
        """Correct a lot's dates or note (not its quantity: that is a count). Needs If-Match."""
        db = session()
        lot = services.get_lot(db, lot_id, in_path=True)
        services.ensure_may_change(db, current_principal(), lot.depot)
        require_if_match(lot.version)
        produced = data.get("produced_on", lot.produced_on)
        expires = data.get("expires_on", lot.expires_on)
        if produced and expires and expires <= produced:
            raise InvalidInput.field("expires_on", f"{expires} is not after produced_on {produced}")
        for name, value in data.items():
            setattr(lot, name, value)
        _bump_version(db, StockLot, lot)
        db.commit()
        return lot, 200, {"ETag": etag_of(lot.version)}


# ----------------------------------------------------------------------- reserves


def _reserve_dump(row) -> dict[str, Any]:
    out = {c: getattr(row, c) for c in row.__table__.columns.keys() if c not in ("id", "item_id", "region_id")}
    out["item_code"] = row.item.code
    out["region_adcode"] = row.region.adcode if row.region else None
    return out


def _reserve_create(table, data: dict[str, Any]):
    db = session()
    if db.scalar(select(table.id).where(table.code == data["code"])):
        raise Conflict(f"{data['code']} exists", {"code": ["already exists"]})
    item = services.get_item(db, data.pop("item_code"), "item")
    adcode = data.pop("region_adcode")
    region = services.get_region(db, adcode, "region_adcode") if adcode else None
    row = table(item=item, region=region, **data)
    db.add(row)
    db.commit()
    return row


@reserves_blp.route("/agreements")
class Agreements(MethodView):
    @reserves_blp.arguments(AgreementListArgs, location="query")
    @reserves_blp.response(200, page_of(AgreementSchema))
    def get(self, args):
        """Agreement reserves (协议储备)."""
        db = session()
        page = paginate(db, select(AgreementReserve), args,
                        {"code": AgreementReserve.code, "valid_to": AgreementReserve.valid_to}, "code")
        page["items"] = [_reserve_dump(r) for r in page["items"]]
        return page

    @roles_required()
    @reserves_blp.arguments(AgreementSchema)
    @reserves_blp.response(201, AgreementSchema)
    def post(self, data):
        """Register an agreement reserve (admin)."""
        return _reserve_dump(_reserve_create(AgreementReserve, data))


@reserves_blp.route("/capacity-reserves")
class CapacityReserves(MethodView):
    @reserves_blp.arguments(CapacityReserveListArgs, location="query")
    @reserves_blp.response(200, page_of(CapacityReserveSchema))
    def get(self, args):
        """Production-capacity reserves (产能储备)."""
        db = session()
        page = paginate(db, select(CapacityReserve), args, {"code": CapacityReserve.code}, "code")
        page["items"] = [_reserve_dump(r) for r in page["items"]]
        return page

    @roles_required()
    @reserves_blp.arguments(CapacityReserveSchema)
    @reserves_blp.response(201, CapacityReserveSchema)
    def post(self, data):
        """Register a capacity reserve (admin)."""
        return _reserve_dump(_reserve_create(CapacityReserve, data))


# ----------------------------------------------------------------------- movements


BOOKING_SCHEMA = BookingSchema()


def _booking_response(booking: services.Booking) -> dict[str, Any]:
    """The ledger lines, the new balances of the touched depot × item, and their alerts."""
    cfg = current_app.config
    balances, alerts = queries.touched_stock(session(), booking, cfg["TIER_TARGET_PEOPLE"],
                                             cfg["HOUSEHOLD_SIZE"], services.today())
    return BOOKING_SCHEMA.dump({"group_id": booking.group_id, "movements": booking.movements,
                                 "lots": booking.lots, "balances": balances, "alerts": alerts})


def _movement_endpoint(operation, data: dict[str, Any], field_map: dict[str, str]) -> Response:
    """Book one movement request; a deadlock or serialization failure is retried whole."""
    db = session()
    kwargs = {field_map.get(k, k): v for k, v in data.items()}

    def perform():
        booking = operation(db, current_principal(), **kwargs)
        return _booking_response(booking), 201

    return with_retry(db, lambda: idempotent(db, data, perform))


@movements_blp.route("")
@movements_blp.arguments(MovementListArgs, location="query")
@movements_blp.response(200, page_of(MovementSchema))
def list_movements(args):
    """Movement history; filter by depot, item, kind, reference, time window."""
    db = session()
    query = select(Movement).join(Depot, Depot.id == Movement.depot_id).join(Item, Item.id == Movement.item_id)
    if args.get("depot"):
        query = query.where(Depot.code == args["depot"])
    if args.get("item"):
        query = query.where(Item.code == args["item"])
    for name in ("kind", "reference", "group_id"):
        if args.get(name):
            query = query.where(getattr(Movement, name) == args[name])
    if args.get("since"):
        query = query.where(Movement.created_at >= args["since"])
    if args.get("until"):
        query = query.where(Movement.created_at < args["until"])
    return paginate(db, query, args, {"id": Movement.id, "created_at": Movement.created_at}, "-id")


@movements_blp.route("/receipts", methods=["POST"])
@movements_blp.arguments(ReceiptSchema)
@movements_blp.doc(parameters=[IDEMPOTENCY_KEY])
@movements_blp.response(201, BookingSchema)
def post_receipt(data):
    """Receipt (入库) into a new or matching lot; refused beyond capacity unless an admin forces it."""
    return _movement_endpoint(services.receive, data, {"depot": "depot_code", "item": "item_code"})


@movements_blp.route("/issues", methods=["POST"])
@movements_blp.arguments(IssueSchema)
@movements_blp.doc(parameters=[IDEMPOTENCY_KEY])
@movements_blp.response(201, BookingSchema)
def post_issue(data):
    """Issue (出库) from a lot, or first-expiry-first-out; 409 when stock is short."""
    return _movement_endpoint(services.issue, data, {"depot": "depot_code", "item": "item_code"})


@movements_blp.route("/transfers", methods=["POST"])
@movements_blp.arguments(TransferSchema)
@movements_blp.doc(parameters=[IDEMPOTENCY_KEY])
@movements_blp.response(201, BookingSchema)
def post_transfer(data):
    """Transfer (调拨) between depots: both legs in one transaction."""
    return _movement_endpoint(services.transfer, data, {"item": "item_code"})


@movements_blp.route("/adjustments", methods=["POST"])
@movements_blp.arguments(AdjustmentSchema)
@movements_blp.doc(parameters=[IDEMPOTENCY_KEY])
@movements_blp.response(201, BookingSchema)
def post_adjustment(data):
    """Adjustment after a count (盘点): books counted − recorded."""
    return _movement_endpoint(services.adjust, data, {})


@movements_blp.route("/rotations", methods=["POST"])
@movements_blp.arguments(RotationSchema)
@movements_blp.doc(parameters=[IDEMPOTENCY_KEY])
@movements_blp.response(201, BookingSchema)
def post_rotation(data):
    """Rotation (轮换): near-expiry stock out, a fresh lot in, in one transaction."""
    return _movement_endpoint(services.rotate, data, {})


@movements_blp.route("/write-offs", methods=["POST"])
@movements_blp.arguments(WriteOffSchema)
@movements_blp.doc(parameters=[IDEMPOTENCY_KEY])
@movements_blp.response(201, BookingSchema)
def post_write_off(data):
    """Write-off (报废) with a reason."""
    return _movement_endpoint(services.write_off, data, {})


# ----------------------------------------------------------------------- views


@stock_blp.route("/stock")
@stock_blp.arguments(StockArgs, location="query")
@stock_blp.response(200, StockSummarySchema)
def stock_summary(args):
    """Stock grouped by depot / item / tier / region / mode, with totals."""
    group_by = args.pop("group_by")
    return queries.stock_summary(session(), group_by, queries.StockFilter(**args))


@stock_blp.route("/stock/availability")
@stock_blp.arguments(AvailabilityArgs, location="query")
@stock_blp.response(200, AvailabilitySchema)
def stock_availability(args):
    """What each reserve mode can release within H hours (lead times from config)."""
    return queries.availability(session(), args["hours"], current_app.config["MODE_LEAD_HOURS"],
                                region=args.get("region"), item=args.get("item"))


@stock_blp.route("/alerts/below-norm")
@stock_blp.arguments(BelowNormArgs, location="query")
@stock_blp.response(200, BelowNormSchema)
def alerts_below_norm(args):
    """Depot × item below the tier norm (tier target people × relief norm)."""
    cfg = current_app.config
    rows = queries.below_norm(session(), cfg["TIER_TARGET_PEOPLE"], cfg["HOUSEHOLD_SIZE"], **args)
    return {"tier_target_people": cfg["TIER_TARGET_PEOPLE"], "count": len(rows), "alerts": rows}


@stock_blp.route("/alerts/expiring-lots")
@stock_blp.arguments(ExpiringArgs, location="query")
@stock_blp.response(200, ExpiringLotsSchema)
def alerts_expiring_lots(args):
    """The rotation list: lots expiring within N days, first-expiry-first-out."""
    rows = queries.expiring_lots(session(), **args)
    return {"days": args["days"], "count": len(rows), "lots": rows}


@stock_blp.route("/alerts/expiring-agreements")
@stock_blp.arguments(ExpiringArgs, location="query")
@stock_blp.response(200, ExpiringAgreementsSchema)
def alerts_expiring_agreements(args):
    """Agreement reserves whose validity ends within N days."""
    rows = queries.expiring_agreements(session(), args["days"])
    return {"days": args["days"], "count": len(rows), "agreements": rows}


def _export_rows(args: dict[str, Any]):
    args.pop("group_by", None)
    db = session()
    query = (select(Depot.code, Depot.name, Item.code, Item.name_zh, Item.unit, StockLot.lot_no, StockLot.mode,
                    StockLot.quantity, StockLot.produced_on, StockLot.expires_on)
             .select_from(StockLot).join(Depot, Depot.id == StockLot.depot_id)
             .join(Item, Item.id == StockLot.item_id).join(Region, Region.id == Depot.region_id)
             .where(StockLot.quantity > 0).order_by(Depot.code, Item.code, StockLot.expires_on, StockLot.id))
    return db.execute(queries.filtered(db, query, queries.StockFilter(**args)))


@stock_blp.route("/stock/export.csv")
@stock_blp.arguments(StockArgs, location="query")
@stock_blp.response(200, CSV_BODY, content_type="text/csv")
def stock_export(args):
    """All non-empty lots as CSV (UTF-8 with BOM so spreadsheet programs read Chinese).

    The columns are the stock-count import's: edit ``counted_quantity`` and import the file back.
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(stockcount.EXPORT_COLUMNS)
    for row in _export_rows(args):
        writer.writerow([value if value is not None else "" for value in row])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=stock.csv"})


@stock_blp.route("/stock/export.xlsx")
@stock_blp.arguments(StockArgs, location="query")
@stock_blp.response(200, XLSX_BODY,
                    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def stock_export_xlsx(args):
    """All non-empty lots as an XLSX workbook, same columns as the CSV export and the import."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("stock")
    sheet.append(list(stockcount.EXPORT_COLUMNS))
    for row in _export_rows(args):
        sheet.append([value.isoformat() if isinstance(value, dt.date) else value for value in row])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype=XLSX_MIME,
                    headers={"Content-Disposition": "attachment; filename=stock.xlsx"})


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@stock_blp.route("/stock-counts/import", methods=["POST"])
@stock_blp.arguments(ImportArgs, location="query")
@stock_blp.doc(requestBody=STOCK_COUNT_BODY)
@stock_blp.response(200, StockCountReportSchema, description="dry run: what would be booked")
@stock_blp.alt_response(201, schema=StockCountReportSchema, description="booked")
def import_stock_count(args):
    """Import a stock count (CSV or XLSX; body or multipart field ``file``), columns as the export.

    Roles that may not book stock get 403 before the file is read; a manager naming a depot
    outside its scope gets 403 too. Every row is checked first; any bad row → 422 listing
    them all and nothing is written. The report (``changes``: recorded, counted, delta) is
    computed before anything is booked; ``dry_run=true`` stops there. A count that adds
    volume beyond a depot's capacity is 409 unless an admin sends ``force=true``.
    """
    principal = current_principal()
    stockcount.ensure_may_import(principal)
    if args["force"] and principal.role != "admin":
        raise Forbidden("only an admin may force a count beyond capacity", {"force": ["needs the admin role"]})
    upload = request.files.get("file")
    raw = upload.read() if upload else request.get_data()
    filename = upload.filename if upload else ""
    is_xlsx = filename.lower().endswith(".xlsx") or (request.mimetype or "").endswith("spreadsheetml.sheet")
    db = current_app.extensions["database"]
    rows = stockcount.parse(raw, is_xlsx, args["encoding"])
    with db.session_factory() as reader:  # checking reads only: other writers are not held up
        plan = stockcount.validate(reader, principal, rows)
        stockcount.check_capacity(reader, principal, plan, args["force"])
    report = stockcount.report(plan)
    if args["dry_run"]:
        return {"dry_run": True, **report}
    writer = session()
    batch = stockcount.SQLITE_BATCH_ROWS if writer.get_bind().dialect.name == "sqlite" else None
    group_id, booked, moved = with_retry(writer, lambda: stockcount.apply(writer, principal, plan, batch))
    return {"dry_run": False, **report, "group_id": group_id, "movements": booked,
            "moved_meanwhile": moved}, 201


blueprints = [regions_blp, depots_blp, items_blp, lots_blp, reserves_blp, movements_blp, stock_blp]

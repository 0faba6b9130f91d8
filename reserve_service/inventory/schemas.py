"""marshmallow schemas: the single source of request validation and of the OpenAPI document."""

from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import fields, validate, validates_schema
from webargs.fields import DelimitedList

from reserve_service.api_docs import UtcDateTime
from reserve_service.inventory.tables import (
    DEPOT_OPERATORS,
    DEPOT_STATUSES,
    DEPOT_TIERS,
    MOVEMENT_KINDS,
    NORM_BASES,
    REGION_LEVELS,
    STOCK_MODES,
)
from reserve_service.schemas import Schema

MAX_QUANTITY = 10**12
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
MAX_PAGE = 2**31 - 1
MAX_DAYS = 36_500  # a hundred years
# physical bounds of master data (far above any real reserve, far below float overflow)
MAX_KG_PER_UNIT = 100_000.0  # 100 t for one unit (a generator set, a pump truck)
MAX_M3_PER_UNIT = 1_000.0
MAX_NORM_QUANTITY = 10_000.0  # units per person, household or day
MAX_CAPACITY_M3 = 10_000_000.0  # ten million m³ for one depot
MAX_CAPACITY_T = 10_000_000.0
MAX_COST_YUAN = 1e13
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class String(fields.String):
    """A string without NUL or other control characters (tab and line breaks allowed)."""

    default_error_messages = {"control": "must not contain control characters (found {char!r})"}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        found = CONTROL_CHARACTERS.search(text)
        if found:
            raise self.make_error("control", char=found.group())
        return text


def Id(**kw) -> fields.Integer:  # noqa: N802
    """A database id: 1 to 2^31 − 1."""
    return fields.Integer(strict=True, **_with(validate.Range(min=1, max=MAX_ID), kw))


def Count(**kw) -> fields.Integer:  # noqa: N802
    """A count of people or households: 0 to 2^31 − 1."""
    return fields.Integer(**_with(validate.Range(min=0, max=MAX_ID), kw))


def Bounded(low: float, high: float, *, low_inclusive: bool = True, **kw) -> fields.Float:  # noqa: N802
    """A float within a physical range (no NaN, no infinity)."""
    return fields.Float(**_with(validate.Range(min=low, max=high, min_inclusive=low_inclusive), kw))
STOCK_GROUPINGS = ("depot", "item", "tier", "region", "mode")


def _with(validator, kw: dict) -> dict:
    extra = kw.pop("validate", None)
    kw["validate"] = [validator] + ([extra] if extra else [])
    return kw


def Quantity(**kw) -> fields.Integer:  # noqa: N802 - reads like a field class
    """A whole number of units, 1 to 10^12 (strict: "5" or 5.0 is refused)."""
    return fields.Integer(strict=True, **_with(validate.Range(min=1, max=MAX_QUANTITY), kw))


def Code(n: int, **kw) -> fields.String:  # noqa: N802
    """A non-empty string of at most ``n`` characters."""
    return String(**_with(validate.Length(min=1, max=n), kw))


def Text(n: int, **kw) -> fields.String:  # noqa: N802
    return String(**_with(validate.Length(max=n), kw))


def Lat(**kw) -> fields.Float:  # noqa: N802
    return fields.Float(**_with(validate.Range(min=-90, max=90), kw))


def Lng(**kw) -> fields.Float:  # noqa: N802
    return fields.Float(**_with(validate.Range(min=-180, max=180), kw))


# ----------------------------------------------------------------------- pagination


def sort_by(*names: str) -> fields.String:
    """The ``sort`` argument: one of ``names`` (the first is the default), '-' for descending."""
    return fields.String(load_default=None, validate=validate.OneOf([*names, *(f"-{n}" for n in names)]),
                         metadata={"description": f"one of {', '.join(names)}; '-' prefix for descending"})


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    sort: fields.String = String(load_default=None, metadata={"description": "field name, '-' for descending"})


class AgreementListArgs(PageArgs):
    sort = sort_by("code", "valid_to")


class CapacityReserveListArgs(PageArgs):
    sort = sort_by("code")


class PageMeta(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A response schema ``{items: [...], total, page, per_page, pages}``."""
    return type(
        f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
        (PageMeta,),
        {"items": fields.List(fields.Nested(item_schema))},
    )


# ----------------------------------------------------------------------- master data


class RegionSchema(Schema):
    adcode = Code(12, required=True, validate=validate.Regexp(r"^\d{12}$"))
    name = Code(64, required=True)
    level = String(required=True, validate=validate.OneOf(REGION_LEVELS))
    parent_adcode = String(allow_none=True, load_default=None)
    population = Count(load_default=0)
    households = Count(load_default=0)
    lat = Lat(allow_none=True, load_default=None)
    lng = Lng(allow_none=True, load_default=None)
    location_quality = String(load_default="approximate",
                                     validate=validate.OneOf(("surveyed", "approximate")))
    risk_weight = Bounded(0, 1000, load_default=1.0)


class RegionListArgs(PageArgs):
    sort = sort_by("adcode", "name", "population")
    level = String(validate=validate.OneOf(REGION_LEVELS))
    parent = String()
    q = String(metadata={"description": "name contains"})


class DepotSchema(Schema):
    code = Code(32, required=True)
    name = Code(128, required=True)
    tier = String(required=True, validate=validate.OneOf(DEPOT_TIERS))
    region_adcode = String(required=True)
    lat = Lat(required=True)
    lng = Lng(required=True)
    operator = String(load_default="government", validate=validate.OneOf(DEPOT_OPERATORS))
    status = String(load_default="operating", validate=validate.OneOf(DEPOT_STATUSES))
    capacity_m3 = Bounded(0, MAX_CAPACITY_M3, load_default=0.0)
    capacity_t = Bounded(0, MAX_CAPACITY_T, allow_none=True, load_default=None)
    fixed_cost_yuan = Bounded(0, MAX_COST_YUAN, allow_none=True, load_default=None)
    version = fields.Integer(dump_only=True)
    used_m3 = fields.Float(dump_only=True, allow_none=True,
                           metadata={"description": "stored volume; null in lists (ask the depot)"})


class DepotPatchSchema(Schema):
    name = Code(128)
    status = String(validate=validate.OneOf(DEPOT_STATUSES))
    operator = String(validate=validate.OneOf(DEPOT_OPERATORS))
    capacity_m3 = Bounded(0, MAX_CAPACITY_M3)
    capacity_t = Bounded(0, MAX_CAPACITY_T, allow_none=True)
    fixed_cost_yuan = Bounded(0, MAX_COST_YUAN, allow_none=True)
    lat = Lat()
    lng = Lng()


class DepotListArgs(PageArgs):
    sort = sort_by("code", "name", "tier", "capacity_m3")
    tier = String(validate=validate.OneOf(DEPOT_TIERS))
    status = String(validate=validate.OneOf(DEPOT_STATUSES))
    operator = String(validate=validate.OneOf(DEPOT_OPERATORS))
    region = String(metadata={"description": "adcode; includes the whole subtree"})
    q = String(metadata={"description": "name or code contains"})


class ItemSchema(Schema):
    code = Code(7, required=True, validate=validate.Regexp(r"^\d{7}$", error="must be 7 digits"))
    name_zh = Code(64, required=True)
    name_en = Code(64, required=True)
    category = Text(32, load_default="")
    unit = Code(16, required=True)
    kg_per_unit = Bounded(0, MAX_KG_PER_UNIT, low_inclusive=False, required=True)
    m3_per_unit = Bounded(0, MAX_M3_PER_UNIT, low_inclusive=False, required=True)
    shelf_life_days = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=MAX_DAYS))
    norm_basis = String(load_default="none", validate=validate.OneOf(NORM_BASES))
    norm_quantity = Bounded(0, MAX_NORM_QUANTITY, load_default=0.0)
    norm_days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=365))


class ItemListArgs(PageArgs):
    sort = sort_by("code", "name_en")
    category = String()
    q = String()


class LotSchema(Schema):
    id = fields.Integer(dump_only=True)
    depot = String(attribute="depot.code")
    item = String(attribute="item.code")
    item_name = String(attribute="item.name_zh")
    unit = String(attribute="item.unit")
    lot_no = String()
    mode = String()
    quantity = fields.Integer()
    produced_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    note = String()
    version = fields.Integer()


class LotPatchSchema(Schema):
    note = Text(500)
    expires_on = fields.Date(allow_none=True)
    produced_on = fields.Date(allow_none=True)


class LotListArgs(PageArgs):
    sort = sort_by("id", "expires_on", "quantity", "lot_no")
    depot = String()
    item = String()
    mode = String(validate=validate.OneOf(STOCK_MODES))
    region = String()
    expiring_within_days = fields.Integer(validate=validate.Range(min=0, max=MAX_DAYS))
    include_empty = fields.Boolean(load_default=False)


class AgreementSchema(Schema):
    code = Code(32, required=True)
    supplier = Code(128, required=True)
    item = String(required=True, attribute="item_code")
    committed_quantity = Quantity(required=True)
    activation_lead_hours = fields.Float(required=True, validate=validate.Range(min=0, max=24 * 90))
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(required=True)
    region_adcode = String(allow_none=True, load_default=None)
    lat = Lat(allow_none=True, load_default=None)
    lng = Lng(allow_none=True, load_default=None)

    @validates_schema
    def _window(self, data, **_kw):
        if data["valid_to"] <= data["valid_from"]:
            raise ma.ValidationError("must be after valid_from", "valid_to")


class CapacityReserveSchema(Schema):
    code = Code(32, required=True)
    producer = Code(128, required=True)
    item = String(required=True, attribute="item_code")
    units_per_day = Quantity(required=True)
    lead_hours = fields.Float(required=True, validate=validate.Range(min=0, max=24 * 90))
    valid_to = fields.Date(allow_none=True, load_default=None)
    region_adcode = String(allow_none=True, load_default=None)
    lat = Lat(allow_none=True, load_default=None)
    lng = Lng(allow_none=True, load_default=None)


# ----------------------------------------------------------------------- the ledger


class _MovementBase(Schema):
    reason = Text(500, load_default="")
    reference = Text(128, load_default="", metadata={"description": "e.g. a dispatch plan id"})


class ReceiptSchema(_MovementBase):
    depot = Code(32, required=True)
    item = Code(7, required=True)
    lot_no = Code(64, required=True)
    quantity = Quantity(required=True)
    mode = String(load_default="government", validate=validate.OneOf(STOCK_MODES))
    produced_on = fields.Date(allow_none=True, load_default=None)
    expires_on = fields.Date(allow_none=True, load_default=None)
    force = fields.Boolean(load_default=False, metadata={"description": "admin only: exceed capacity"})


class IssueSchema(_MovementBase):
    depot = Code(32, required=True)
    item = Code(7, required=True)
    quantity = Quantity(required=True)
    lot_id = Id(allow_none=True, load_default=None,
                metadata={"description": "omit to pick lots first-expiry-first-out"})


class TransferSchema(_MovementBase):
    from_depot = Code(32, required=True)
    to_depot = Code(32, required=True)
    item = Code(7, required=True)
    quantity = Quantity(required=True)
    lot_id = Id(allow_none=True, load_default=None)
    force = fields.Boolean(load_default=False)


class AdjustmentSchema(_MovementBase):
    lot_id = Id(required=True)
    counted_quantity = fields.Integer(strict=True, required=True,
                                      validate=validate.Range(min=0, max=MAX_QUANTITY))
    force = fields.Boolean(load_default=False, metadata={"description": "admin only: exceed capacity"})


class RotationSchema(_MovementBase):
    lot_id = Id(required=True)
    quantity_out = Quantity(required=True)
    new_lot_no = Code(64, required=True)
    new_quantity = Quantity(required=True)
    new_produced_on = fields.Date(allow_none=True, load_default=None)
    new_expires_on = fields.Date(allow_none=True, load_default=None)
    force = fields.Boolean(load_default=False)


class WriteOffSchema(_MovementBase):
    lot_id = Id(required=True)
    quantity = Quantity(required=True)
    reason = Code(500, required=True)


class MovementSchema(Schema):
    id = fields.Integer()
    kind = String(validate=validate.OneOf(MOVEMENT_KINDS))
    lot_id = fields.Integer()
    lot_no = String(attribute="lot.lot_no")
    depot = String(attribute="depot.code")
    item = String(attribute="item.code")
    quantity = fields.Integer()
    balance_after = fields.Integer()
    actor = String()
    reason = String()
    reference = String()
    group_id = String()
    created_at = UtcDateTime()


class MovementListArgs(PageArgs):
    sort = sort_by("id", "created_at")
    depot = String()
    item = String()
    kind = String(validate=validate.OneOf(MOVEMENT_KINDS))
    reference = String()
    group_id = String()
    since = fields.DateTime()
    until = fields.DateTime()


class BookingSchema(Schema):
    group_id = String()
    movements = fields.List(fields.Nested(MovementSchema))
    lots = fields.List(fields.Nested(LotSchema))
    balances = fields.List(fields.Dict(), metadata={"description": "depot × item balance after"})
    alerts = fields.List(fields.Dict(), metadata={"description": "below-norm / expiring for the touched stock"})


# ----------------------------------------------------------------------- views


class StockArgs(Schema):
    group_by = DelimitedList(String(validate=validate.OneOf(STOCK_GROUPINGS)),
                             load_default=["depot", "item"], validate=validate.Length(min=1))
    depot = String()
    item = String()
    tier = String(validate=validate.OneOf(DEPOT_TIERS))
    region = String()
    mode = String(validate=validate.OneOf(STOCK_MODES))


class AvailabilityArgs(Schema):
    hours = fields.Float(load_default=10.0, validate=validate.Range(min=0, min_inclusive=False, max=24 * 30))
    region = String()
    item = String()


class BelowNormArgs(Schema):
    depot = String()
    tier = String(validate=validate.OneOf(DEPOT_TIERS))
    region = String()


class ExpiringArgs(Schema):
    days = fields.Integer(load_default=60, validate=validate.Range(min=0, max=3650))
    depot = String()
    region = String()


class ImportArgs(Schema):
    dry_run = fields.Boolean(load_default=False)
    force = fields.Boolean(load_default=False, metadata={"description": "admin only: exceed capacity"})
    encoding = String(load_default="utf-8",
                             validate=validate.OneOf(("utf-8", "utf-8-sig", "gb18030", "gbk")))

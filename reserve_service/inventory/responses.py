"""Response schemas of the stock views, alerts and the stock-count import (the bodies the query
functions build as dicts); members a client can rely on are declared, others are admitted."""

from __future__ import annotations

from marshmallow import fields

from reserve_service.api_docs import ResponseBody


class StockRowSchema(ResponseBody):
    """One group; it also has ``<key>`` and ``<key>_name`` for each grouping key asked."""

    quantity = fields.Integer(required=True)
    weight_t = fields.Float(required=True)
    volume_m3 = fields.Float(required=True)
    lots = fields.Integer(required=True)


class StockTotalsSchema(ResponseBody):
    weight_t = fields.Float(required=True)
    volume_m3 = fields.Float(required=True)
    lots = fields.Integer(required=True)
    quantity_by_item = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                   metadata={"description": "when grouped by item"})


class StockSummarySchema(ResponseBody):
    group_by = fields.List(fields.String(), required=True)
    rows = fields.List(fields.Nested(StockRowSchema), required=True)
    totals = fields.Nested(StockTotalsSchema, required=True)


class AvailableItemSchema(ResponseBody):
    item = fields.String(required=True)
    item_name = fields.String(required=True)
    unit = fields.String(required=True)
    government = fields.Integer(required=True)
    enterprise_held = fields.Integer(required=True)
    agreement = fields.Integer(required=True)
    capacity = fields.Integer(required=True)
    total = fields.Integer(required=True)


class AvailabilitySchema(ResponseBody):
    hours = fields.Float(required=True)
    region = fields.String(required=True, allow_none=True)
    on = fields.String(required=True, metadata={"format": "date"})
    lead_hours = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    items = fields.List(fields.Nested(AvailableItemSchema), required=True)


class BelowNormAlertSchema(ResponseBody):
    depot = fields.String(required=True)
    depot_name = fields.String(required=True)
    tier = fields.String(required=True)
    item = fields.String(required=True)
    item_name = fields.String(required=True)
    unit = fields.String(required=True)
    norm = fields.Integer(required=True)
    quantity = fields.Integer(required=True)
    shortfall = fields.Integer(required=True)
    fill_rate = fields.Float(required=True)


class BelowNormSchema(ResponseBody):
    tier_target_people = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    count = fields.Integer(required=True)
    alerts = fields.List(fields.Nested(BelowNormAlertSchema), required=True)


class ExpiringLotSchema(ResponseBody):
    lot_id = fields.Integer(required=True)
    depot = fields.String(required=True)
    item = fields.String(required=True)
    item_name = fields.String(required=True)
    lot_no = fields.String(required=True)
    mode = fields.String(required=True)
    quantity = fields.Integer(required=True)
    expires_on = fields.String(required=True, metadata={"format": "date"})
    days_left = fields.Integer(required=True)
    expired = fields.Boolean(required=True)


class ExpiringLotsSchema(ResponseBody):
    days = fields.Integer(required=True)
    count = fields.Integer(required=True)
    lots = fields.List(fields.Nested(ExpiringLotSchema), required=True)


class ExpiringAgreementSchema(ResponseBody):
    code = fields.String(required=True)
    supplier = fields.String(required=True)
    item = fields.String(required=True)
    item_name = fields.String(required=True)
    committed_quantity = fields.Integer(required=True)
    valid_to = fields.String(required=True, metadata={"format": "date"})
    days_left = fields.Integer(required=True)
    expired = fields.Boolean(required=True)


class ExpiringAgreementsSchema(ResponseBody):
    days = fields.Integer(required=True)
    count = fields.Integer(required=True)
    agreements = fields.List(fields.Nested(ExpiringAgreementSchema), required=True)


class CountChangeSchema(ResponseBody):
    row = fields.Integer(required=True)
    depot = fields.String(required=True)
    item = fields.String(required=True)
    lot_no = fields.String(required=True)
    mode = fields.String(required=True)
    recorded = fields.Integer(required=True)
    counted = fields.Integer(required=True)
    delta = fields.Integer(required=True)
    new_lot = fields.Boolean(required=True)


class StockCountReportSchema(ResponseBody):
    """What a stock count changes (``dry_run``) or changed (then with its ledger group)."""

    dry_run = fields.Boolean(required=True)
    rows = fields.Integer(required=True)
    changes = fields.List(fields.Nested(CountChangeSchema), required=True)
    unchanged = fields.Integer(required=True)
    group_id = fields.String(metadata={"description": "the ledger group of the adjustments"})
    movements = fields.Integer(metadata={"description": "adjustments booked"})


STOCK_COUNT_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string", "description": "the export.csv columns, counted"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": "a .csv or .xlsx stock count"}}}},
    },
}

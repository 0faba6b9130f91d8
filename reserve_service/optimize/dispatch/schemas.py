"""Request schemas of incidents and dispatch plans."""

from __future__ import annotations

import datetime as dt

import marshmallow as ma
from marshmallow import fields, validate, validates_schema

from reserve_service import clock
from reserve_service.optimize.dispatch.service import DEFAULT_MODES
from reserve_service.schemas import Schema

MODES = DEFAULT_MODES
MAX_START_AHEAD = dt.timedelta(days=2)
Positive = validate.Range(min=0, min_inclusive=False)


class LocalDateTime(fields.DateTime):
    """An ISO 8601 time; without an offset it is a wall-clock time of the service's zone."""

    def _deserialize(self, value, attr, data, **kwargs):
        return clock.aware(super()._deserialize(value, attr, data, **kwargs))


class AffectedRegionSchema(Schema):
    region = fields.String(required=True, metadata={"description": "township adcode"})
    relocated_people = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))
    households = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    needs = fields.Dict(keys=fields.String(), values=fields.Float(validate=validate.Range(min=0)),
                        load_default=dict, metadata={"description": "reported needs per item code"})
    priority = fields.Float(load_default=1.0, validate=validate.Range(min=0, min_inclusive=False, max=100),
                            metadata={"description": "e.g. 2 for vulnerable groups first"})


class VehicleSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    depot = fields.String(metadata={"description": "start depot code (or give lat/lng)"})
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))
    weight_capacity_kg = fields.Float(required=True, validate=[Positive, validate.Range(max=100_000)])
    volume_capacity_m3 = fields.Float(required=True, validate=[Positive, validate.Range(max=500)])
    available_from_h = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=72))
    green_channel = fields.Boolean(load_default=True)

    @validates_schema
    def _where(self, data, **_kw):
        if not data.get("depot") and ("lat" not in data or "lng" not in data):
            raise ma.ValidationError("give a start depot or lat and lng", "depot")


class MutualAidSchema(Schema):
    city = fields.String(required=True, validate=validate.Length(min=1, max=32))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    lead_hours = fields.Float(load_default=6.0, validate=validate.Range(min=0, max=240))
    quantities = fields.Dict(keys=fields.String(), values=fields.Integer(validate=validate.Range(min=0)),
                             required=True)


class IncidentSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    start_at = LocalDateTime(required=True, metadata={
        "description": "ISO 8601; a time without an offset is read in the service's time zone"})
    regions = fields.List(fields.Nested(AffectedRegionSchema), required=True,
                          validate=validate.Length(min=1, max=2000))
    relief_days = fields.Float(load_default=None, allow_none=True,
                               validate=validate.Range(min=0, min_inclusive=False, max=30),
                               metadata={"description": "days a per-person-day norm covers in this plan; "
                                                        "default RELIEF_DAYS (1: the first day's basic relief)"})
    item_priority = fields.Dict(keys=fields.String(), values=fields.Float(validate=validate.Range(min=0)),
                                load_default=dict)
    modes = fields.List(fields.String(validate=validate.OneOf(MODES)), load_default=lambda: list(MODES))
    depots = fields.List(fields.String(), load_default=list,
                         metadata={"description": "only these depots may send (default: all)"})
    exclude_depots = fields.List(fields.String(), load_default=list)
    mutual_aid = fields.List(fields.Nested(MutualAidSchema), load_default=list)
    fleet = fields.List(fields.Nested(VehicleSchema), load_default=None, allow_none=True,
                        metadata={"description": "omit for the preset fleet; [] for none"})
    deadline_h = fields.Float(load_default=10.0, validate=validate.Range(min=0, min_inclusive=False, max=72))
    routing_time_limit_s = fields.Float(load_default=10.0, validate=validate.Range(min=1, max=600))
    time_limit = fields.Float(load_default=30.0, validate=validate.Range(min=1, max=600))

    @validates_schema
    def _not_far_future(self, data, **_kw):
        if data["start_at"] > dt.datetime.now(dt.UTC) + MAX_START_AHEAD:
            raise ma.ValidationError("must not be more than 2 days ahead", "start_at")
        if len({r["region"] for r in data["regions"]}) != len(data["regions"]):
            raise ma.ValidationError("each region at most once", "regions")


class ReplanSchema(Schema):
    now_h = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=240),
                         metadata={"description": "hours since the incident start (default: the clock)"})


class DeliveredLineSchema(Schema):
    region = fields.String(required=True, validate=validate.Length(min=1, max=12),
                           metadata={"description": "a township this vehicle serves"})
    item = fields.String(required=True, validate=validate.Length(min=1, max=7),
                         metadata={"description": "an item this vehicle carries there"})
    quantity = fields.Integer(required=True, validate=validate.Range(min=0, max=100_000_000),
                              metadata={"description": "units that arrived, at most what it carries"})


class DeliverySchema(Schema):
    delivered = fields.List(fields.Nested(DeliveredLineSchema), load_default=None, allow_none=True,
                            validate=validate.Length(max=10_000),
                            metadata={"description": "what arrived; default: the rest of the manifest"})

"""Request schemas of the routing endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate, validates_schema

from reserve_service.inventory.schemas import Schema

EVENT_KINDS = ("closure", "slowdown", "traffic_control", "repair")


class LocationSchema(Schema):
    """Where: a depot code, a region adcode, a road node id, or a point."""

    depot = fields.String()
    region = fields.String()
    node = fields.Raw()
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))

    @validates_schema
    def _exactly_one(self, data, **_kw):
        given = [k for k in ("depot", "region", "node") if k in data] + (
            ["point"] if "lat" in data or "lng" in data else [])
        if len(given) != 1 or ("point" in given and not ("lat" in data and "lng" in data)):
            raise ma.ValidationError("give exactly one of depot, region, node, or lat and lng")


class RouteRequest(Schema):
    origin = fields.Nested(LocationSchema, required=True, data_key="from")
    destination = fields.Nested(LocationSchema, required=True, data_key="to")
    profile = fields.String(load_default="relief_truck")
    at = fields.DateTime(load_default=None, allow_none=True)


class MatrixRequest(Schema):
    sources = fields.List(fields.Nested(LocationSchema), required=True,
                          validate=validate.Length(min=1, max=2000))
    targets = fields.List(fields.Nested(LocationSchema), required=True,
                          validate=validate.Length(min=1, max=5000))
    profile = fields.String(load_default="relief_truck")
    at = fields.DateTime(load_default=None, allow_none=True)


class ReachabilityRequest(Schema):
    depots = fields.List(fields.String(), load_default=None,
                         metadata={"description": "depot codes; default: every operating depot"})
    hours = fields.List(fields.Float(validate=validate.Range(min=0, min_inclusive=False, max=72)),
                        load_default=[2.0, 4.0, 10.0])
    profile = fields.String(load_default="relief_truck")
    at = fields.DateTime(load_default=None, allow_none=True)


class RoadEventRequest(Schema):
    id = fields.String(validate=validate.Length(min=1, max=36))
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    edge_ids = fields.List(fields.Integer(), load_default=None)
    area = fields.Dict(load_default=None, metadata={"description": "GeoJSON Polygon/MultiPolygon (lng, lat)"})
    starts_at = fields.DateTime(load_default=None, allow_none=True)
    ends_at = fields.DateTime(load_default=None, allow_none=True)
    speed_factor = fields.Float(load_default=None, allow_none=True)
    cause = fields.String(load_default="", validate=validate.Length(max=200))

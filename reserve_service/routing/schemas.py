"""Request and response schemas of the routing endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import INCLUDE, fields, validate, validates_schema

from reserve_service.api_docs import ResponseBody
from reserve_service.routing.errors import RoadEventError
from reserve_service.routing.geojson import AREA_TYPES, check_area
from reserve_service.schemas import Schema

EVENT_KINDS = ("closure", "slowdown", "traffic_control", "repair")


class LocationSchema(Schema):
    """Where: a depot code, a region adcode, a road node id, or a point."""

    depot = fields.String()
    region = fields.String()
    node = fields.Raw(metadata={"description": "road node id", "oneOf": [{"type": "integer"}, {"type": "string"}]})
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
    """Send ``{}`` for every operating depot and the 2, 4 and 10 h bands."""

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
    area = fields.Nested(lambda: AreaSchema(), load_default=None, allow_none=False,
                         metadata={"description": "GeoJSON Polygon/MultiPolygon (lng, lat; RFC 7946 rings)"})
    starts_at = fields.DateTime(load_default=None, allow_none=True)
    ends_at = fields.DateTime(load_default=None, allow_none=True)
    speed_factor = fields.Float(load_default=None, allow_none=True)
    cause = fields.String(load_default="", validate=validate.Length(max=200))


class AreaSchema(Schema):
    """A GeoJSON Polygon or MultiPolygon; each linear ring has ≥ 4 positions and first = last."""

    class Meta:
        unknown = INCLUDE  # GeoJSON allows foreign members (bbox, crs...)

    type = fields.String(required=True, validate=validate.OneOf(AREA_TYPES))
    coordinates = fields.List(
        fields.List(fields.List(fields.Raw(allow_none=True))),
        required=True, validate=validate.Length(min=1), metadata={
            "description": "Polygon: [ring, ...]; MultiPolygon: [[ring, ...], ...]; ring: [[lng, lat], ...]"})

    @ma.validates_schema(pass_original=True)
    def _rings(self, data, original, **_kw):
        try:
            check_area(original, "area")
        except RoadEventError as exc:
            member = exc.field.removeprefix("area").removeprefix(".") or "_schema"
            raise ma.ValidationError({member: [str(exc)]}) from exc

    @ma.post_load(pass_original=True)
    def _as_sent(self, data, original, **_kw):
        return dict(original)


# ----------------------------------------------------------------------------- responses



class NetworkInfoSchema(ResponseBody):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    source = fields.String(allow_none=True)
    nodes = fields.Integer(required=True)
    edges = fields.Integer(required=True)
    loaded_at = fields.String(allow_none=True, metadata={"description": "ISO 8601"})
    events = fields.Integer(required=True, metadata={"description": "road events applied now"})


class PolicySchema(ResponseBody):
    version = fields.String(required=True)
    effective_from = fields.String(required=True)
    document = fields.Dict(required=True, metadata={"description": "the declared policy: profiles, tolls, rules"})


class RoadEventSchema(ResponseBody):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    edge_ids = fields.List(fields.Integer(), allow_none=True)
    area = fields.Dict(allow_none=True, metadata={"description": "GeoJSON Polygon/MultiPolygon"})
    starts_at = fields.String(allow_none=True)
    ends_at = fields.String(allow_none=True)
    speed_factor = fields.Float(allow_none=True)
    cause = fields.String(allow_none=True)
    edge_count = fields.Integer(required=True, metadata={"description": "road edges the event covers"})
    created_by = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)
    removed_at = fields.String(allow_none=True)


class RoadEventListSchema(ResponseBody):
    events = fields.List(fields.Nested(RoadEventSchema), required=True)


class EventListArgs(Schema):
    all = fields.Boolean(load_default=False, metadata={"description": "include withdrawn events"})


class ResolvedLocationSchema(ResponseBody):
    """A requested location and the road node it snapped to."""

    node = fields.Raw(required=True, metadata={"description": "road node id (integer or string)"})
    snap_m = fields.Float(metadata={"description": "distance from the point to the node"})
    depot = fields.String()
    region = fields.String()
    name = fields.String()
    lat = fields.Float()
    lng = fields.Float()


class LegSchema(ResponseBody):
    edge_id = fields.Integer(required=True)
    road_class = fields.String(required=True)
    name = fields.String(allow_none=True)
    ref = fields.String(allow_none=True)
    length_m = fields.Float(required=True)
    speed_kmh = fields.Float(required=True)
    hours = fields.Float(required=True)
    queue_hours = fields.Float(required=True)
    toll_yuan = fields.Float(required=True)
    toll_saved_yuan = fields.Float(required=True)
    event_ids = fields.List(fields.String(), required=True)


class RouteResultSchema(ResponseBody):
    origin = fields.Nested(ResolvedLocationSchema, required=True, data_key="from", attribute="from")
    destination = fields.Nested(ResolvedLocationSchema, required=True, data_key="to", attribute="to")
    profile = fields.String(required=True)
    policy_version = fields.String(required=True)
    reachable = fields.Boolean(required=True)
    reason = fields.String(metadata={"description": "why there is no route (unreachable only)"})
    eta_hours = fields.Float(required=True, allow_none=True)
    length_km = fields.Float(required=True, allow_none=True)
    toll_yuan = fields.Float()
    toll_saved_yuan = fields.Float()
    rules_applied = fields.List(fields.String())
    legs = fields.List(fields.Nested(LegSchema), required=True)
    geometry = fields.Dict(required=True, allow_none=True, metadata={
        "description": "GeoJSON Feature with a LineString and the route totals as properties"})


class MatrixResultSchema(ResponseBody):
    profile = fields.String(required=True)
    sources = fields.List(fields.Nested(ResolvedLocationSchema), required=True)
    targets = fields.List(fields.Nested(ResolvedLocationSchema), required=True)
    hours = fields.List(fields.List(fields.Float(allow_none=True)), required=True,
                        metadata={"description": "hours[i][j] from source i to target j; null = unreachable"})
    unreachable = fields.List(fields.List(fields.Integer()), required=True,
                              metadata={"description": "[i, j] pairs with no open route"})


class BandSchema(ResponseBody):
    hours = fields.Float(required=True)
    regions = fields.Integer(required=True)
    population = fields.Integer(required=True)
    share = fields.Float(required=True, allow_none=True)
    outside = fields.List(fields.String(), required=True, metadata={"description": "adcodes not reached"})


class ReachabilityResultSchema(ResponseBody):
    profile = fields.String(required=True)
    depots = fields.List(fields.String(), required=True)
    townships = fields.Integer(required=True)
    population = fields.Integer(required=True)
    bands = fields.List(fields.Nested(BandSchema), required=True)
    unreachable = fields.List(fields.String(), required=True)

"""Response schemas of the optimisation operations: jobs, siting and pre-positioning runs,
scenario sets, incidents and dispatch plans.

They describe what the views send (the views build plain dicts); members whose shape belongs to
an engine's result (a job's ``result``, a plan's vehicles and regions) are documented as objects
so that an engine can grow its result without breaking the contract. Every schema admits extra
members (``additionalProperties: true``): a client must ignore what it does not know.
"""

from __future__ import annotations

from marshmallow import fields, validate

from reserve_service.api_docs import ResponseBody
from reserve_service.jobs import JOB_STATUSES

Timestamp = fields.String  # ISO 8601 text written by the view; null until it happens



class JobSchema(ResponseBody):
    """A background job: follow ``url`` until ``status`` is succeeded, failed or cancelled."""

    id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"example": "siting"})
    status = fields.String(required=True, validate=validate.OneOf(JOB_STATUSES))
    progress = fields.Float(allow_none=True, metadata={"description": "0 to 1"})
    message = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = Timestamp(allow_none=True)
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)
    params = fields.Dict(allow_none=True, metadata={"description": "the request as accepted"})
    url = fields.String(required=True)
    result = fields.Dict(allow_none=True, metadata={"description": "the engine's result once succeeded"})


class JobListSchema(ResponseBody):
    jobs = fields.List(fields.Nested(JobSchema), required=True)


class FeatureCollectionSchema(ResponseBody):
    """A GeoJSON FeatureCollection (RFC 7946), coordinates in lng, lat."""

    type = fields.String(required=True, validate=validate.OneOf(("FeatureCollection",)))
    features = fields.List(fields.Dict(), required=True)


class ScenarioSetSummarySchema(ResponseBody):
    id = fields.String(required=True)
    name = fields.String(required=True)
    source = fields.String(allow_none=True)
    scenarios: fields.Field = fields.Integer(required=True, metadata={"description": "how many scenarios"})
    hazards = fields.List(fields.String(), required=True)
    probability = fields.Float(required=True, metadata={"description": "sum of probabilities"})


class ScenarioSetSchema(ScenarioSetSummarySchema):
    scenarios = fields.List(fields.Dict(), required=True, metadata={"description": "every scenario"})


class ScenarioSetListSchema(ResponseBody):
    scenario_sets = fields.List(fields.Nested(ScenarioSetSummarySchema), required=True)


class IncidentCreatedSchema(ResponseBody):
    id = fields.String(required=True)
    name = fields.String(required=True)
    start_at = Timestamp(required=True)
    regions = fields.Integer(required=True, metadata={"description": "affected townships"})


class PlanSummarySchema(ResponseBody):
    """A dispatch plan without its vehicles and regions (``GET /dispatch-plans/{id}`` has them)."""

    id = fields.String(required=True)
    incident_id = fields.String(required=True)
    generation = fields.Integer(required=True)
    parent_id = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={
        "description": "draft, approved, dispatched, delivered, cancelled or superseded"})
    created_by = fields.String(allow_none=True)
    approved_by = fields.String(allow_none=True)
    approved_at = Timestamp(allow_none=True)
    vehicle_status = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    summary = fields.Dict(required=True)


class PlanSchema(PlanSummarySchema):
    vehicles = fields.List(fields.Dict(), metadata={"description": "manifest, stops, ETAs, route"})
    regions = fields.List(fields.Dict(), metadata={"description": "fill rate, shortfalls with reasons"})


class IncidentResponseSchema(ResponseBody):
    id = fields.String(required=True)
    name = fields.String(required=True)
    start_at = Timestamp(required=True)
    request = fields.Dict(required=True, metadata={"description": "the incident as recorded"})
    plans = fields.List(fields.Nested(PlanSummarySchema), required=True)


class PlanOutcomeSchema(PlanSummarySchema):
    """The plan after approve or cancel, with what the ledger did."""

    already = fields.Boolean(metadata={"description": "true when the plan was already in that state"})
    movements = fields.Integer(metadata={"description": "ledger movements booked"})
    returned_lines = fields.Integer(metadata={"description": "lot lines returned on cancel"})


class VehicleStatusSchema(ResponseBody):
    vehicle_id = fields.String(required=True)
    status = fields.String(required=True)
    delivered = fields.List(fields.Dict(), metadata={"description": "what arrived (deliver only)"})

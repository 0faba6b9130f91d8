"""Request schemas of the scenario sets and the pre-positioning runs."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate, validates_schema

from reserve_service.optimize.schemas import SOLVERS
from reserve_service.schemas import Schema


class ScenarioUpload(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    scenarios = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=1000))
    normalize = fields.Boolean(
        load_default=False, metadata={"description": "rescale probabilities that do not sum to 1"}
    )


class ScenarioGenerate(Schema):
    name = fields.String(load_default="宿州 hazards", validate=validate.Length(min=1, max=200))
    n = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    seed = fields.Integer(load_default=2026, validate=validate.Range(min=0, max=2**32 - 1))
    hazard_weights = fields.Dict(
        keys=fields.String(),
        values=fields.Float(validate=validate.Range(min=0)),
        load_default=None,
        allow_none=True,
    )


class PrepositioningRequest(Schema):
    scenario_set = fields.String(required=True)
    budget = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    service_level = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=1),
        metadata={"description": "β: share of needs met within 10 h"},
    )
    scenario_share = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=1),
        metadata={"description": "β must hold in at least this share of scenarios"},
    )
    method = fields.String(
        load_default="auto", validate=validate.OneOf(("auto", "extensive", "benders"))
    )
    items = fields.List(fields.String(), load_default=None, allow_none=True)
    rotation_days = fields.Integer(
        load_default=90,
        validate=validate.Range(min=0, max=3650),
        metadata={"description": "rotate lots expiring within this many days"},
    )
    township_depots = fields.Integer(load_default=15, validate=validate.Range(min=0, max=200))
    solver = fields.String(load_default="auto", validate=validate.OneOf(SOLVERS))
    time_limit = fields.Float(load_default=600.0, validate=validate.Range(min=1, max=7200))
    stochastic_values = fields.Boolean(load_default=True, metadata={"description": "VSS and EVPI"})
    budget_sweep = fields.List(
        fields.Float(validate=validate.Range(min=0)),
        load_default=list,
        validate=validate.Length(max=20),
    )

    @validates_schema
    def _share_needs_level(self, data, **_kw):
        if data.get("scenario_share") is not None and data.get("service_level") is None:
            raise ma.ValidationError("scenario_share needs service_level", "scenario_share")

"""Request schema of the siting runs."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate, validates_schema

from reserve_service.inventory.schemas import Schema
from reserve_service.inventory.tables import DEPOT_STATUSES, DEPOT_TIERS
from reserve_service.optimize.schemas import SOLVERS

SITING_MODELS = ("p_median", "p_center", "max_cover", "set_cover", "capacitated")
Hours = fields.Float(validate=validate.Range(min=0, min_inclusive=False, max=72))


class SitingRequest(Schema):
    model = fields.String(required=True, validate=validate.OneOf(SITING_MODELS))
    p = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "sites open in total, kept ones included"},
    )
    radius_hours = fields.Float(
        validate=validate.Range(min=0, min_inclusive=False, max=72),
        metadata={"description": "coverage radius (max_cover, set_cover)"},
    )
    keep_open = fields.List(
        fields.String(), load_default=list, metadata={"description": "depot codes that stay open"}
    )
    keep_open_tiers = fields.List(
        fields.String(validate=validate.OneOf(DEPOT_TIERS)),
        load_default=list,
        metadata={"description": "every operating depot of these tiers stays open"},
    )
    exclude = fields.List(fields.String(), load_default=list)
    candidate_statuses = fields.List(
        fields.String(validate=validate.OneOf(DEPOT_STATUSES)),
        load_default=lambda: ["candidate", "planned"],
    )
    candidate_tiers = fields.List(
        fields.String(validate=validate.OneOf(DEPOT_TIERS)), load_default=list
    )
    candidate_codes = fields.List(fields.String(), load_default=list)
    include_region_sites = fields.Boolean(load_default=False)
    region_site_tier = fields.String(load_default="township", validate=validate.OneOf(DEPOT_TIERS))
    region_site_cost = fields.Float(load_default=0.0, validate=validate.Range(min=0))
    risk_weights = fields.Dict(
        keys=fields.String(), values=fields.Float(validate=validate.Range(min=0)), load_default=dict
    )
    coverage_standard_hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(DEPOT_TIERS)), values=Hours, load_default=dict
    )
    profile = fields.String(load_default="relief_truck")
    solver = fields.String(load_default="auto", validate=validate.OneOf(SOLVERS))
    time_limit = fields.Float(
        load_default=60.0, validate=validate.Range(min=0, min_inclusive=False, max=3600)
    )
    budget = fields.Float(validate=validate.Range(min=0))
    single_source = fields.Boolean(load_default=False)
    minimise_cost = fields.Boolean(
        load_default=False, metadata={"description": "set_cover: least fixed cost"}
    )
    displaced_share = fields.Float(load_default=0.02, validate=validate.Range(min=0, max=1))
    m3_per_person = fields.Float(
        load_default=0.35, validate=validate.Range(min=0, min_inclusive=False)
    )
    yuan_per_person_hour = fields.Float(load_default=50.0, validate=validate.Range(min=0))

    @validates_schema
    def _model_needs(self, data, **_kw):
        if data["model"] in ("p_median", "p_center", "max_cover") and "p" not in data:
            raise ma.ValidationError(f"{data['model']} needs p", "p")
        if data["model"] in ("max_cover", "set_cover") and "radius_hours" not in data:
            raise ma.ValidationError(f"{data['model']} needs radius_hours", "radius_hours")

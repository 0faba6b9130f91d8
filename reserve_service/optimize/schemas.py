"""Request schemas of the job endpoints (siting runs: ``optimize.siting.schemas``)."""

from __future__ import annotations

from marshmallow import fields, validate

from reserve_service.inventory.schemas import Schema

SOLVERS = ("auto", "cbc", "highs", "ortools")


class JobListArgs(Schema):
    kind = fields.String()
    status = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

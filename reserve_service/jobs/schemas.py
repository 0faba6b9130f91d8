"""Marshmallow schemas of the job endpoints."""

from __future__ import annotations

from marshmallow import fields, validate

from reserve_service.inventory.schemas import Schema
from reserve_service.jobs.table import JOB_STATUSES


class JobListArgs(Schema):
    kind = fields.String(validate=validate.Length(max=32))
    status = fields.String(validate=validate.OneOf(JOB_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

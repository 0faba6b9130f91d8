"""The marshmallow base every package's request and response schemas derive from."""

from __future__ import annotations

import marshmallow as ma


class Schema(ma.Schema):
    """Fields keep their declared order (in validation messages and in the OpenAPI document)."""

    class Meta:
        ordered = True

"""What the OpenAPI document says beyond each view's own decorators.

* :class:`ProblemSchema` — the one error body, ``application/problem+json`` (RFC 9457);
* the headers the service reads and writes (``If-Match``, ``ETag``, ``Idempotency-Key``,
  ``Location``) as reusable parameter and header documents for ``@blp.doc`` and
  ``@blp.response(headers=...)``;
* :class:`StandardResponsesPlugin` — an apispec plugin that documents the errors every operation
  of a kind can answer: 401 on every ``/api/`` operation (a bearer token is needed), 403 on every
  write (roles), 404 where the path names a resource, 400 where a body is read (malformed or too
  deeply nested JSON); and the links (:data:`LINKS`) from an operation that returns an id to
  the operations that take it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from apispec import BasePlugin
from marshmallow import INCLUDE, Schema, fields, post_dump, validate

PROBLEM_MIME = "application/problem+json"
PROBLEM_TYPE_BASE = "https://reserve-service.example/problems/"


class ProblemSchema(Schema):
    """An error: ``type`` names the problem kind, ``errors`` maps each bad field to its messages.

    Some problems carry more members (``current_etag`` on a 412, ``lots`` on a stock conflict).
    """

    class Meta:
        ordered = True
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"example": "https://reserve-service.example/problems/invalid-input"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "field name (dotted for nested members) → messages"})


IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "the ETag from the last GET; 412 when the resource changed since, 428 when absent",
    "schema": {"type": "string"},
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "a key per intended movement: a retry with the same key and body gets the stored answer "
                   "(with Idempotent-Replayed: true) instead of booking twice",
    "schema": {"type": "string", "minLength": 1, "maxLength": 128},
}
ETAG_HEADER = {"ETag": {"description": "the resource version, for If-Match", "schema": {"type": "string"}}}
LOCATION_HEADER = {"Location": {"description": "URL of the job to follow", "schema": {"type": "string"}}}

_STANDARD = {
    "400": "BAD_REQUEST",
    "401": "UNAUTHORIZED",
    "403": "FORBIDDEN",
    "404": "NOT_FOUND",
}
_WRITES = {"post", "put", "patch", "delete"}


class StandardResponsesPlugin(BasePlugin):
    """Document the problem responses that follow from an operation's kind (see module doc)."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if method not in _WRITES | {"get"} or not (path or "").startswith("/api/"):
                continue
            wanted = ["401"]
            if method in _WRITES:
                wanted.append("403")
            if "{" in (path or ""):
                wanted.append("404")
            if "requestBody" in operation:
                wanted.append("400")
            responses = operation.setdefault("responses", {})
            for code in wanted:
                responses.setdefault(code, _STANDARD[code])
            for (link_method, link_path, code), links in LINKS.items():
                if (link_method, link_path) != (method, path):
                    continue
                for status, response in responses.items():
                    if str(status) == code and isinstance(response, dict):
                        response.setdefault("links", {}).update(links)


# Bodies that are files, not JSON: documented by media type, a string of bytes.
CSV_BODY = {"type": "string", "description": "CSV text, UTF-8 with a byte-order mark"}
PNG_BODY = {"type": "string", "format": "binary", "description": "a PNG image"}
XLSX_BODY = {"type": "string", "format": "binary", "description": "an Excel workbook (.xlsx)"}


class ResponseBody(Schema):
    """Base of response schemas for bodies the views build as dicts.

    The document declares the members a client can rely on and admits others
    (``additionalProperties: true``); dumping keeps every member the view sent, declared or not,
    so an engine that adds a figure to its result never has it silently dropped.
    """

    class Meta:
        ordered = True
        unknown = INCLUDE

    @post_dump(pass_original=True)
    def _keep_undeclared(self, data: dict[str, Any], original: Any, **_kw: Any) -> dict[str, Any]:
        if isinstance(original, Mapping):
            for key, value in original.items():
                data.setdefault(key, value)
        return data


class UtcDateTime(fields.DateTime):
    """An RFC 3339 timestamp with its offset: a naive value (SQLite returns them) is UTC."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | float | None:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def range_exclusivity(converter: Any, field: fields.Field, **_kw: Any) -> dict[str, Any]:
    """apispec attribute function: ``Range(min_inclusive=False)`` is ``exclusiveMinimum`` (and
    the same for the maximum), which apispec leaves out, so a client would send the bound."""
    found: dict[str, Any] = {}
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            if validator.min is not None and not validator.min_inclusive:
                found["exclusiveMinimum"] = True
            if validator.max is not None and not validator.max_inclusive:
                found["exclusiveMaximum"] = True
    return found


def dict_key_choices(converter: Any, field: fields.Field, **_kw: Any) -> dict[str, Any]:
    """apispec attribute function: a ``Dict`` whose keys are one of a few names is an object
    with those properties and no others (OpenAPI 3.0 has no ``propertyNames``)."""
    if not isinstance(field, fields.Dict) or field.key_field is None:
        return {}
    choices = [v.choices for v in field.key_field.validators if isinstance(v, validate.OneOf)]
    if not choices:
        return {}
    value = converter.field2property(field.value_field) if field.value_field is not None else {}
    return {"properties": {str(name): value for name in choices[0]}, "additionalProperties": False}


def _link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


_JOB = {"job": _link("/api/v1/jobs/{job_id}", "get", job_id="$response.body#/id"),
        "cancel": _link("/api/v1/jobs/{job_id}/cancel", "post", job_id="$response.body#/id")}
# OpenAPI links: where the id an operation returns is used next (clients and the stateful
# contract run follow them).
LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("post", "/api/v1/siting-runs", "202"): _JOB,
    ("post", "/api/v1/prepositioning-runs", "202"): {
        **_JOB, "curve": _link("/api/v1/jobs/{job_id}/budget-curve.png", "get", job_id="$response.body#/id")},
    ("post", "/api/v1/incidents", "201"): {
        "incident": _link("/api/v1/incidents/{incident_id}", "get", incident_id="$response.body#/id"),
        "plan": _link("/api/v1/incidents/{incident_id}/plans", "post", incident_id="$response.body#/id")},
    ("post", "/api/v1/incidents/{incident_id}/plans", "202"): _JOB,
    ("post", "/api/v1/routing/events", "201"): {
        "withdraw": _link("/api/v1/routing/events/{event_id}", "delete", event_id="$response.body#/id")},
    ("post", "/api/v1/scenario-sets", "201"): {
        "set": _link("/api/v1/scenario-sets/{set_id}", "get", set_id="$response.body#/id")},
    ("post", "/api/v1/scenario-sets/generate", "201"): {
        "set": _link("/api/v1/scenario-sets/{set_id}", "get", set_id="$response.body#/id")},
}

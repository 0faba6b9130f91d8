"""HTTP helpers every blueprint shares: pagination, sorting, ETags, idempotent POSTs, and the
guards every request passes before its view (bounded integer path segments, JSON nesting depth,
NUL characters)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import marshmallow as ma
import numpy as np
from flask import Response, request
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.routing import IntegerConverter, UUIDConverter

from reserve_service.auth import current_principal
from reserve_service.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
)
from reserve_service.inventory.tables import IdempotencyRecord


def paginate(
    session: Session,
    query: Select,
    args: dict[str, Any],
    sortable: dict[str, Any],
    default_sort: str,
) -> dict[str, Any]:
    """Apply ``sort`` (a name in ``sortable``, '-' prefix for descending), page and per_page."""
    sort = args.get("sort") or default_sort
    descending = sort.startswith("-")
    column = sortable.get(sort.lstrip("-"))
    if column is None:
        raise InvalidInput.field("sort", f"sort by one of {', '.join(sorted(sortable))}")
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    rows = session.scalars(
        query.order_by(column.desc() if descending else column.asc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return {"items": rows, "total": total, "page": page, "per_page": per_page,
            "pages": math.ceil(total / per_page) if total else 0}


def etag_of(version: int) -> str:
    return f'"{version}"'


def require_if_match(version: int) -> None:
    """412 unless the client's If-Match names the current version (428 when absent)."""
    header = request.headers.get("If-Match")
    if header is None:
        raise PreconditionRequired(
            "send If-Match with the ETag from a GET to avoid overwriting someone else's change",
            {"If-Match": ["required"]},
        )
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" not in tags and etag_of(version) not in tags:
        raise PreconditionFailed(
            f"resource is at version {etag_of(version)}, If-Match was {header}",
            {"If-Match": ["stale: fetch the resource again"]},
            current_etag=etag_of(version),
        )


def idempotent(session: Session, payload: dict[str, Any],
               perform: Callable[[], tuple[dict[str, Any], int]]) -> Response:
    """Run a POST once per ``Idempotency-Key``; a retry gets the stored answer.

    The key is claimed first (its record inserted before the work), so a second request with
    the same key waits on the unique key instead of doing the work too, then answers with the
    first one's stored response. The record is completed in the same transaction as the
    work, so a crash or a refusal leaves neither.
    """
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 128):
        raise InvalidInput.field("Idempotency-Key", "must be 1 to 128 characters")
    principal = current_principal()
    digest = hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str).encode() + request.path.encode()
    ).hexdigest()
    record = None
    if key is not None:
        stored = _stored(session, principal.token_id, key)
        if stored is not None:
            return _replay(stored, digest)
        record = IdempotencyRecord(token_id=principal.token_id, key=key, endpoint=request.path,
                                   request_hash=digest, status_code=0, response_body="")
        session.add(record)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            stored = _stored(session, principal.token_id, key)
            if stored is None:
                raise Conflict("another request with this Idempotency-Key is in progress; retry",
                               {"Idempotency-Key": ["in use by a request not yet finished"]}) from None
            return _replay(stored, digest)
    body, status = perform()
    text = json.dumps(body, ensure_ascii=False, default=str)
    if record is not None:
        record.status_code, record.response_body = status, text
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        stored = _stored(session, principal.token_id, key) if key is not None else None
        if stored is None:
            raise
        return _replay(stored, digest)
    return Response(text, status=status, mimetype="application/json")


def _stored(session: Session, token_id: int, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.token_id == token_id,
                                        IdempotencyRecord.key == key)
    )


def _replay(stored: IdempotencyRecord, digest: str) -> Response:
    if stored.request_hash != digest:
        raise InvalidInput.field("Idempotency-Key", "already used for a different request")
    response = Response(stored.response_body, status=stored.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


# ----------------------------------------------------------------------------- request guards

MAX_JSON_DEPTH = 64
INT32_MAX = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` path segments within the database's integer range: beyond it is a 404
    (no such resource), never an overflow inside the driver."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", INT32_MAX)
        super().__init__(map, *args, **kwargs)

    @staticmethod
    def openapi(converter: BoundedIntegerConverter) -> dict[str, Any]:
        return {"type": "integer", "minimum": converter.min or 0, "maximum": converter.max}


class UuidTextConverter(UUIDConverter):
    """``<uuid:...>`` segments reach the view as text (ids are stored as strings), and a
    sibling literal such as ``/scenario-sets/generate`` is not also an id."""

    def to_python(self, value: str) -> str:  # type: ignore[override]
        return str(super().to_python(value))

    @staticmethod
    def openapi(_converter: UuidTextConverter) -> dict[str, Any]:
        return {"type": "string", "format": "uuid"}


class BadRequestBody(DomainError):
    status, title, type_slug = 400, "Bad request", "bad-request"


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# ``\u0000`` is an escape only after an even number of backslashes (``\\u0000`` is text).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings are skipped)."""
    brackets = np.frombuffer(_JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS), np.uint8)
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max(initial=0))


def guard_request() -> None:
    """Refuse what no view can use: JSON nested deeper than :data:`MAX_JSON_DEPTH` (400), NUL
    characters (422: text columns cannot hold them) in the path, query string or a JSON body."""
    if "\x00" in request.path:
        raise InvalidInput("the path contains a NUL character", {"_path": ["contains a NUL character"]})
    for name, values in request.args.lists():
        if "\x00" in name or any("\x00" in v for v in values):
            raise InvalidInput.field(name, "contains a NUL character")
    if not request.content_length and "chunked" not in request.headers.get("Transfer-Encoding", ""):
        return
    body = request.get_data(cache=True)
    if body.lstrip()[:1] not in (b"[", b"{"):
        return
    if json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequestBody(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels",
                             {"_body": [f"nested deeper than {MAX_JSON_DEPTH} levels"]})
    if _NUL_ESCAPE.search(body):
        try:
            where = _nul_field(json.loads(body)) or "_body"
        except ValueError:
            where = "_body"
        raise InvalidInput(f"{where}: NUL characters (\\u0000) are not allowed in text",
                           {where: ["contains a NUL character"]})


def _nul_field(value: Any, prefix: str = "") -> str | None:
    """The dotted path (``lot_no``, ``regions.0.name``) of the first key or string with a NUL."""
    if isinstance(value, str):
        return prefix or "_body" if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        path = f"{prefix}.{key}" if prefix else str(key)
        if "\x00" in str(key):
            return path
        found = _nul_field(item, path)
        if found:
            return found
    return None


class JsonBodyParser(FlaskParser):
    """Request bodies are required, as the OpenAPI document says: no body is a 422 naming
    ``_body`` (send ``{}`` to take every default), a body that is not JSON a 415."""

    def load_json(self, req: Any, schema: ma.Schema) -> Any:
        data = super().load_json(req, schema)
        if data is webargs_core.missing:
            if req.get_data(cache=True).strip():
                raise UnsupportedMediaType("send the body as application/json")
            raise ma.ValidationError({"_body": ["a JSON body is required (send {} for the defaults)"]})
        type_errors = json_type_errors(schema, data)
        if type_errors:
            raise ma.ValidationError(type_errors)
        bad = unstorable_numbers(data)
        if bad:
            raise InvalidInput(f"{', '.join(bad)}: numbers must be finite and integers within 64 bits",
                               {path: ["must be finite, and an integer within 64 bits"] for path in bad})
        return data


INT64 = 2**63


def unstorable_numbers(value: Any, path: str = "") -> list[str]:
    """Dotted paths of numbers no column can hold: NaN, ±Infinity (Python's JSON reads them,
    and ``1e400``), integers beyond 64 bits."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [] if -INT64 <= value < INT64 else [path or "_body"]
    if isinstance(value, float):
        return [] if math.isfinite(value) else [path or "_body"]
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    found: list[str] = []
    for key, item in items:
        found += unstorable_numbers(item, f"{path}.{key}" if path else str(key))
    return found


def json_type_errors(schema: ma.Schema, data: Any, path: str = "") -> dict[str, list[str]]:
    """JSON types as the document states them: marshmallow reads ``0`` as false and ``"5"`` as 5,
    the document says boolean and integer, so a body must send a boolean and a number."""
    if not isinstance(data, dict):
        return {}
    errors: dict[str, list[str]] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if field.dump_only or key not in data or data[key] is None:
            continue
        where = f"{path}.{key}" if path else key
        errors.update(_field_type_errors(field, data[key], where))
    return errors


def _field_type_errors(field: ma.fields.Field, value: Any, where: str) -> dict[str, list[str]]:
    if isinstance(field, ma.fields.Boolean) and not isinstance(value, bool):
        return {where: ["Not a valid boolean: send true or false."]}
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(field, ma.fields.Integer) and (isinstance(value, bool) or not whole):
        return {where: ["Not a valid integer: send a JSON number without a fraction."]}
    if isinstance(field, ma.fields.Float) and (isinstance(value, bool) or not isinstance(value, int | float)):
        return {where: ["Not a valid number: send a JSON number."]}
    if isinstance(field, ma.fields.Nested) and isinstance(field.schema, ma.Schema):
        if field.many and isinstance(value, list):
            return {k: v for i, item in enumerate(value)
                    for k, v in json_type_errors(field.schema, item, f"{where}.{i}").items()}
        return json_type_errors(field.schema, value, where)
    if isinstance(field, ma.fields.List) and isinstance(value, list):
        return {k: v for i, item in enumerate(value) if item is not None
                for k, v in _field_type_errors(field.inner, item, f"{where}.{i}").items()}
    if isinstance(field, ma.fields.Dict) and field.value_field is not None and isinstance(value, dict):
        return {k: v for key, item in value.items() if item is not None
                for k, v in _field_type_errors(field.value_field, item, f"{where}.{key}").items()}
    return {}

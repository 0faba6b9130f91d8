"""HTTP helpers every blueprint shares: pagination, sorting, ETags, idempotent POSTs."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

from flask import Response, request
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reserve_service.auth import current_principal
from reserve_service.errors import Conflict, InvalidInput, PreconditionFailed, PreconditionRequired
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

"""One error shape everywhere: ``application/problem+json`` (RFC 9457).

Domain code raises the exceptions below (no Flask import needed to raise them); this module
maps them, and every HTTP error, to ``{type, title, status, detail, errors{field: [msg]}}``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

PROBLEM_MIME = "application/problem+json"


class DomainError(Exception):
    """Base of errors the service reports to its caller."""

    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(
        self, detail: str, errors: dict[str, list[str]] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}
        self.extra = extra


class InvalidInput(DomainError):
    status, title, type_slug = 422, "Invalid input", "invalid-input"

    @classmethod
    def field(cls, name: str, message: str, **extra: Any) -> InvalidInput:
        return cls(f"{name}: {message}", {name: [message]}, **extra)


class NotFound(DomainError):
    status, title, type_slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, type_slug = 409, "Conflict with current state", "conflict"


class InsufficientStock(Conflict):
    type_slug = "insufficient-stock"
    title = "Insufficient stock"


class CapacityExceeded(Conflict):
    type_slug = "capacity-exceeded"
    title = "Depot capacity exceeded"


class PreconditionFailed(DomainError):
    status, title, type_slug = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(DomainError):
    status, title, type_slug = 428, "Precondition required", "precondition-required"


class Forbidden(DomainError):
    status, title, type_slug = 403, "Forbidden", "forbidden"


class Unauthorized(DomainError):
    status, title, type_slug = 401, "Unauthorized", "unauthorized"


def problem(
    status: int,
    title: str,
    detail: str = "",
    errors: dict[str, Any] | None = None,
    type_slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://reserve-service.example/problems/{type_slug or _slug(title)}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "errors": errors or {},
    }
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIME)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="reserve_service"')
    return response


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


def flatten_validation_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn webargs/marshmallow nested messages into ``{"a.b.0.c": ["msg"]}``.

    The request location (``json``, ``query``, ``files``) is dropped: the field name is what
    the caller needs.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            key_str = str(key)
            if not prefix and key_str in {"json", "query", "form", "files", "headers", "view_args"}:
                flat.update(flatten_validation_messages(value, prefix))
                continue
            name = f"{prefix}.{key_str}" if prefix else key_str
            flat.update(flatten_validation_messages(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat.setdefault(prefix or "_schema", []).extend(messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(flatten_validation_messages(value, f"{prefix}.{index}"))
    else:
        flat.setdefault(prefix or "_schema", []).append(str(messages))
    return flat


def http_exception_to_problem(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    flat = flatten_validation_messages(errors) if errors else {}
    detail = data.get("message") or error.description or ""
    if flat and error.code in (400, 422):
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in flat.items())
    status = error.code or 500
    return problem(status, error.name, detail, flat, headers=data.get("headers"))


def domain_error_to_problem(error: DomainError) -> Response:
    return problem(
        error.status, error.title, error.detail, error.errors, error.type_slug, **error.extra
    )


def field_error_to_problem(error: ValueError) -> Response:
    """Input errors of the pure engines carry a ``field``; they are 422s like any other."""
    field = getattr(error, "field", None) or "_schema"
    return problem(422, "Invalid input", str(error), {field: [str(error)]}, "invalid-input",
                   **getattr(error, "details", {}))


def register_error_handlers(app: Flask, field_errors: tuple[type[ValueError], ...] = ()) -> None:
    app.register_error_handler(DomainError, domain_error_to_problem)
    for error_class in field_errors:
        app.register_error_handler(error_class, field_error_to_problem)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_exception_to_problem(error)
        app.logger.exception("unhandled error")
        return problem(500, "Internal server error", "an unexpected error occurred; see logs")

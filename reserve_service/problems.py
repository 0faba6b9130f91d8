"""Errors as ``application/problem+json`` (RFC 9457), in one place (the Flask side).

Every HTTP error, every :class:`~reserve_service.errors.DomainError` and every engine's
:class:`~reserve_service.errors.InputError` becomes
``{type, title, status, detail, errors{field: [msg]}}``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from reserve_service.errors import DomainError, InputError
from reserve_service.jsonio import dumps_strict

PROBLEM_MIME = "application/problem+json"


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
    response = Response(dumps_strict(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIME)
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


def input_error_to_problem(error: InputError) -> Response:
    """An engine's refusal is a 422 like any other invalid input, with its numbers beside."""
    return problem(
        422,
        "Invalid input",
        str(error),
        {error.field: [error.message]},
        "invalid-input",
        **_jsonable_details(error.details),
    )


def _jsonable_details(details: dict[str, Any]) -> dict[str, Any]:
    """Details that can stand beside the problem members (numbers, names, lists of them)."""
    reserved = {"type", "title", "status", "detail", "errors"}
    return {
        key: value
        for key, value in details.items()
        if key not in reserved and isinstance(value, str | int | float | bool | list | dict)
    }


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, engine input errors and every other error to problem+json."""
    app.register_error_handler(DomainError, domain_error_to_problem)
    app.register_error_handler(InputError, input_error_to_problem)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_exception_to_problem(error)
        app.logger.exception("unhandled error")
        return problem(500, "Internal server error", "an unexpected error occurred; see logs")

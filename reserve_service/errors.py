"""The errors the service reports, without Flask: domain errors and the engines' input errors.

Services raise a :class:`DomainError` (its HTTP status, title and field errors travel with it);
the pure engines raise an :class:`InputError` naming the offending field before they solve.
:mod:`reserve_service.problems` maps both, once, to ``application/problem+json``.
"""

from __future__ import annotations

from typing import Any


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


class InputError(ValueError):
    """Input an engine refuses before solving: ``field`` names it, ``details`` hold the numbers.

    Every engine's input error subclasses this one (siting, pre-positioning, scenarios,
    dispatch, VRPTW, routing), so an adapter maps them all to a 422 with
    ``errors{field: [message]}`` and the details beside.

    >>> error = InputError("p", "p = 12 but only 10 candidate sites", p=12, n_sites=10)
    >>> str(error), error.field, error.details["n_sites"]
    ('p: p = 12 but only 10 candidate sites', 'p', 10)
    """

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.details = details

    def prefixed(self, prefix: str) -> InputError:
        """The same error with ``prefix`` before its field (``"events.0."`` + ``"edges"``)."""
        copy = InputError(f"{prefix}{self.field}", self.message, **self.details)
        copy.__cause__ = self
        return copy

"""Bearer API tokens, roles and depot scopes.

Tokens are random 32-byte strings shown once; the database keeps only their SHA-256.
Roles: ``admin`` (everything), ``planner`` (optimisation runs), ``dispatcher`` (road events,
dispatch plans), ``manager`` (stock of the depots in its scope), ``viewer`` (read only).
A manager is scoped to a region subtree and/or a list of depot codes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import g, request
from sqlalchemy import DateTime, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from reserve_service.db import Base
from reserve_service.errors import Forbidden, Unauthorized

ROLES = ("admin", "planner", "dispatcher", "manager", "viewer")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope_region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    scope_depot_codes: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    uses: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Principal:
    """Who is calling: what the views and services need to know about a token."""

    token_id: int
    name: str
    role: str
    scope_region_id: int | None = None
    scope_depot_codes: frozenset[str] = frozenset()

    @property
    def is_scoped(self) -> bool:
        return self.role == "manager"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    name: str,
    role: str,
    scope_region_id: int | None = None,
    scope_depot_codes: list[str] | None = None,
    token: str | None = None,
) -> str:
    """Store a new token and return its plain text (the only time it exists in clear)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "manager" and scope_region_id is None and not scope_depot_codes:
        raise ValueError("a manager token needs a region or depot scope")
    token = token or secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            role=role,
            token_hash=hash_token(token),
            scope_region_id=scope_region_id,
            scope_depot_codes=",".join(scope_depot_codes or []),
        )
    )
    return token


def authenticate(session: Session, header: str | None) -> Principal:
    if not header or not header.startswith("Bearer "):
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(header[7:].strip()))
    )
    if row is None or row.revoked_at is not None:
        raise Unauthorized("unknown or revoked token")
    codes = frozenset(c for c in row.scope_depot_codes.split(",") if c)
    return Principal(row.id, row.name, row.role, row.scope_region_id, codes)


def current_principal() -> Principal:
    return g.principal


def roles_required(*roles: str) -> Callable:
    """View decorator: the caller's role must be one of ``roles`` (admin always passes)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal.role != "admin" and principal.role not in roles:
                raise Forbidden(
                    f"role '{principal.role}' may not {request.method} {request.path}; "
                    f"needs one of: {', '.join(('admin',) + roles)}"
                )
            return view(*args, **kwargs)

        return wrapper

    return decorator

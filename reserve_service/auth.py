"""Bearer API tokens, roles and depot scopes.

Tokens are random 32-byte strings shown once; the database keeps only their SHA-256.
Roles: ``admin`` (everything), ``planner`` (optimisation runs), ``dispatcher`` (road events,
dispatch plans), ``manager`` (stock of the depots in its scope), ``viewer`` (read only).
A manager is scoped to a region subtree and/or a list of depot codes.

Per request a token costs one indexed lookup. A manager's region subtree is cached per
process for ``SCOPE_CACHE_SECONDS``, and a token's ``uses`` / ``last_used_at`` are written
at most once per ``LAST_USED_EVERY_SECONDS`` per token and process (with the count of uses
since the last write), so bookkeeping costs no extra write per request.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request
from sqlalchemy import DateTime, ForeignKey, Integer, String, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

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
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Principal:
    """Who is calling: what the views and services need to know about a token."""

    token_id: int
    name: str
    role: str
    scope_region_id: int | None = None
    scope_depot_codes: frozenset[str] = frozenset()
    scope_region_ids: frozenset[int] | None = None  # the scope region's subtree, when known

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


SCOPE_CACHE_SECONDS = 60.0
LAST_USED_EVERY_SECONDS = 60.0


class _TokenBookkeeping:
    """Per-process caches: region subtrees of manager scopes, and uses not yet written."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subtrees: dict[int, tuple[float, frozenset[int]]] = {}
        self.pending_uses: dict[int, int] = {}
        self.written_at: dict[int, float] = {}

    def subtree(self, session: Session, region_id: int) -> frozenset[int]:
        key = region_id
        now = time.monotonic()
        with self.lock:
            cached = self.subtrees.get(key)
        if cached is not None and now - cached[0] < SCOPE_CACHE_SECONDS:
            return cached[1]
        from reserve_service.inventory.services import region_subtree_ids

        ids = frozenset(region_subtree_ids(session, region_id))
        with self.lock:
            self.subtrees[key] = (now, ids)
        return ids

    def used(self, writer: sessionmaker[Session], token_id: int) -> None:
        """Count one use; write the count and the time when the last write is a minute old.

        The write is its own short transaction; if it fails the uses are kept for the next one.
        """
        key = token_id
        now = time.monotonic()
        with self.lock:
            uses = self.pending_uses.get(key, 0) + 1
            due = now - self.written_at.get(key, -LAST_USED_EVERY_SECONDS) >= LAST_USED_EVERY_SECONDS
            self.pending_uses[key] = 0 if due else uses
            if due:
                self.written_at[key] = now
        if not due:
            return
        try:
            with writer() as session, session.begin():
                session.execute(update(ApiToken).where(ApiToken.id == token_id).values(
                    uses=ApiToken.uses + uses, last_used_at=dt.datetime.now(dt.UTC)))
        except SQLAlchemyError:
            with self.lock:
                self.pending_uses[key] = self.pending_uses.get(key, 0) + uses

    def forget(self) -> None:
        with self.lock:
            self.subtrees.clear()


def bookkeeping() -> _TokenBookkeeping:
    """The app's caches (one per app and process)."""
    return current_app.extensions.setdefault("token_bookkeeping", _TokenBookkeeping())


def authenticate(session: Session, header: str | None) -> Principal:
    if not header or not header.startswith("Bearer "):
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    row = session.execute(
        select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.scope_region_id,
               ApiToken.scope_depot_codes, ApiToken.revoked_at)
        .where(ApiToken.token_hash == hash_token(header[7:].strip()))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("unknown or revoked token")
    codes = frozenset(c for c in row.scope_depot_codes.split(",") if c)
    subtree = (bookkeeping().subtree(session, row.scope_region_id)
               if row.scope_region_id is not None else None)
    return Principal(row.id, row.name, row.role, row.scope_region_id, codes, subtree)


def authenticate_request(header: str | None) -> Principal:
    """Authenticate on a short read session of its own (so the request's transaction, a
    writer's on SQLite, has not begun yet), then count the use."""
    database = current_app.extensions["database"]
    with database.session_factory() as reader:
        principal = authenticate(reader, header)
    bookkeeping().used(database.writer_factory, principal.token_id)
    return principal


def revoke_token(session: Session, token_ids: Iterable[int] = (), name: str | None = None) -> list[ApiToken]:
    """Revoke tokens by id or by name; returns those that were live until now."""
    query = select(ApiToken).where(ApiToken.revoked_at.is_(None))
    ids = list(token_ids)
    if ids:
        query = query.where(ApiToken.id.in_(ids))
    elif name is not None:
        query = query.where(ApiToken.name == name)
    else:
        raise ValueError("name a token by --id or --name")
    rows = list(session.scalars(query))
    for row in rows:
        row.revoked_at = dt.datetime.now(dt.UTC)
    return rows


def list_tokens(session: Session, include_revoked: bool = False) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


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

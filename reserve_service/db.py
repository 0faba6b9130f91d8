"""Database engine, sessions and the declarative base.

One engine per app. A request gets one session, closed at teardown. On SQLite, sessions made
by the *writer* factory start with ``BEGIN IMMEDIATE`` so that two writers queue on the busy
timeout instead of failing when a read lock is upgraded; readers use plain ``BEGIN`` and, with
WAL, never wait for a writer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from reserve_service.errors import NotFound

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def get_or_404(session: Session, model: type[T], key: object, field: str, what: str = "") -> T:
    """The row of ``model`` with primary key ``key``, or :class:`NotFound` naming ``field``."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"no {what or model.__name__} {key}", {field: ["unknown"]})
    return row


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and immediate transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - driver glue
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            if url not in ("sqlite://", "sqlite:///:memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - driver glue
            options = conn.get_execution_options()
            if options.get("isolation_level") == "AUTOCOMMIT":
                return
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_immediate") else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_session_factory(engine: Engine, writer: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``writer`` sessions take SQLite's write lock when they begin."""
    bind = engine.execution_options(sqlite_immediate=True) if writer else engine
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization failure, deadlock detected
RETRY_ATTEMPTS = 4


def is_retryable(error: BaseException) -> bool:
    """A failure the database asks us to retry: a serialization failure, a deadlock, or (on
    SQLite) a lock that outlasted the busy timeout."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(original)


def with_retry(session: Session, work: Callable[[], T], attempts: int = RETRY_ATTEMPTS) -> T:
    """Run ``work`` (one whole transaction on ``session``), again after a retryable failure.

    The failed attempt is rolled back first, so nothing of it is kept: a retry can never
    book twice. After ``attempts`` the last error is raised.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as error:
            session.rollback()
            if attempt == attempts or not is_retryable(error):
                raise
            time.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")

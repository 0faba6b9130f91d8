"""Extensions bound to the app in ``create_app``: the smorest Api and the database."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_smorest import Api
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from reserve_service.db import make_engine, make_session_factory
from reserve_service.problems import http_exception_to_problem


class ProblemApi(Api):
    """flask-smorest Api whose errors are problem+json like every other error."""

    def handle_http_exception(self, error):  # type: ignore[override]
        return http_exception_to_problem(error)


class Database:
    """The app's engine and session factory; one session per request in ``g``."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory: sessionmaker[Session] | None = None
        self.writer_factory: sessionmaker[Session] | None = None

    def init_app(self, app: Flask) -> None:
        self.engine = make_engine(app.config["DATABASE_URL"])
        self.session_factory = make_session_factory(self.engine)
        self.writer_factory = make_session_factory(self.engine, writer=True)
        app.extensions["database"] = self
        app.teardown_appcontext(_close_session)


def database() -> Database:
    return current_app.extensions["database"]


def session() -> Session:
    """The request's session (created on first use); a writer unless the method is safe."""
    if "db_session" not in g:
        db = database()
        safe = request.method in ("GET", "HEAD", "OPTIONS")
        g.db_session = (db.session_factory if safe else db.writer_factory)()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.rollback()
        db_session.close()

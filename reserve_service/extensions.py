"""Extensions bound to the app in ``create_app``: the smorest Api and the database."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from flask import Flask, current_app, g, request
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from reserve_service.api_docs import (
    PROBLEM_MIME,
    PROBLEM_TYPE_BASE,
    ProblemSchema,
    StandardResponsesPlugin,
    dict_key_choices,
    range_exclusivity,
)
from reserve_service.db import make_engine, make_session_factory
from reserve_service.http import (
    BoundedIntegerConverter,
    JsonBodyParser,
    UuidTextConverter,
    guard_request,
)
from reserve_service.problems import http_exception_to_problem

# Every blueprint's @arguments parse with it (bound when the views are decorated, at import).
Blueprint.ARGUMENTS_PARSER = JsonBodyParser()


class ProblemApi(Api):
    """flask-smorest Api whose errors are problem+json like every other error, and documented so.

    It also installs what every request goes through before its view: the body guard (nesting
    depth, NUL characters) and integer path segments bounded to the database's integer range.
    """

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("spec_kwargs", {}).setdefault("extra_plugins", [StandardResponsesPlugin()])
        super().__init__(app, **kwargs)

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        app.url_map.converters["int"] = BoundedIntegerConverter
        app.url_map.converters["uuid"] = UuidTextConverter
        app.before_request(guard_request)
        super().init_app(app, *args, **kwargs)
        self.register_converter(BoundedIntegerConverter, BoundedIntegerConverter.openapi)
        self.register_converter(UuidTextConverter, UuidTextConverter.openapi)
        self.ma_plugin.converter.add_attribute_function(range_exclusivity)
        self.ma_plugin.converter.add_attribute_function(dict_key_choices)

    def handle_http_exception(self, error):
        """Problems for every HTTP error; a request that does not match its schema is a
        ``schema-violation`` (a client bug), unlike ``invalid-input`` (refused by the data)."""
        response = http_exception_to_problem(error)
        for name, value in error.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers.setdefault(name, value)
        data = getattr(error, "data", None) or {}
        if error.code == 422 and data.get("messages"):
            body = response.get_json()
            body.update(type=f"{PROBLEM_TYPE_BASE}schema-violation", title="Request does not match the API schema")
            response.set_data(json.dumps(body, ensure_ascii=False))
        return response

    def _register_responses(self) -> None:
        """Every error response is a problem, served as ``application/problem+json``."""
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIME)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error, as a problem", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIME)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


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

    def factory(self, writer: bool = False) -> sessionmaker[Session]:
        """The writer or the reader session factory (a TypeError before ``init_app``)."""
        factory = self.writer_factory if writer else self.session_factory
        if factory is None:
            raise TypeError("the database is not initialised: call init_app first")
        return factory


def database() -> Database:
    return current_app.extensions["database"]


def session() -> Session:
    """The request's session (created on first use); a writer unless the method is safe."""
    if "db_session" not in g:
        db = database()
        safe = request.method in ("GET", "HEAD", "OPTIONS")
        g.db_session = db.factory(writer=not safe)()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.rollback()
        db_session.close()

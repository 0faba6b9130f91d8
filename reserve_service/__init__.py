"""reserve_service: emergency-materials reserve network and logistics optimisation."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request

from reserve_service.config import INSTANCE_DIR, Config


def create_app(config: dict[str, Any] | type | None = None) -> Flask:
    """Application factory: config, database, API blueprints, auth and error handlers."""
    from reserve_service import cli
    from reserve_service.account import blp as account_blueprint
    from reserve_service.auth import authenticate
    from reserve_service.console_site import bp as console_site
    from reserve_service.errors import register_error_handlers
    from reserve_service.extensions import Database, ProblemApi, session
    from reserve_service.inventory.api import blueprints as inventory_blueprints
    from reserve_service.jobs import InProcessRunner
    from reserve_service.maps.api import blp as maps_blueprint
    from reserve_service.optimize import dispatch_runs, prepositioning_runs  # noqa: F401  (job kinds)
    from reserve_service.optimize.api import blp as optimize_blueprint
    from reserve_service.optimize.dispatch import DispatchInputError
    from reserve_service.optimize.dispatch_api import blp as dispatch_blueprint
    from reserve_service.optimize.prepositioning import PrepositioningInputError
    from reserve_service.optimize.prepositioning_api import blp as prepositioning_blueprint
    from reserve_service.optimize.scenarios import ScenarioInputError
    from reserve_service.optimize.siting import SitingInputError
    from reserve_service.routing.api import blp as routing_blueprint
    from reserve_service.routing.errors import RoutingInputError

    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    Database().init_app(app)
    api = ProblemApi(app)
    for blueprint in [*inventory_blueprints, routing_blueprint, optimize_blueprint, dispatch_blueprint,
                      prepositioning_blueprint, maps_blueprint, account_blueprint]:
        api.register_blueprint(blueprint)
    app.register_blueprint(console_site)
    register_error_handlers(app, field_errors=(RoutingInputError, SitingInputError, DispatchInputError,
                                                 PrepositioningInputError, ScenarioInputError))
    database = app.extensions["database"]
    app.extensions["jobs"] = InProcessRunner(database.writer_factory, app.config["JOB_WORKERS"],
                                             readers=database.session_factory)
    cli.register(app)

    @app.before_request
    def _authenticate() -> None:
        if request.path.startswith("/api/"):
            g.principal = authenticate(session(), request.headers.get("Authorization"))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app

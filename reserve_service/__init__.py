"""reserve_service: emergency-materials reserve network and logistics optimisation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing a pure engine module (reserve_service.optimize...) loads no Flask
    from flask import Flask


def create_app(config: dict[str, Any] | type | None = None) -> Flask:
    """Application factory: config, database, API blueprints, auth and error handlers."""
    from flask import Flask, g, request

    from reserve_service import cli, docs
    from reserve_service.account import blp as account_blueprint
    from reserve_service.auth import authenticate_request
    from reserve_service.config import INSTANCE_DIR, Config
    from reserve_service.console_site import bp as console_site
    from reserve_service.extensions import Database, ProblemApi
    from reserve_service.inventory.api import blueprints as inventory_blueprints
    from reserve_service.jobs.api import blp as jobs_blueprint
    from reserve_service.jobs.setup import init_jobs
    from reserve_service.jsonio import StrictJSONProvider
    from reserve_service.maps.api import blp as maps_blueprint
    from reserve_service.ops import init_ops
    from reserve_service.optimize.dispatch import service as dispatch_service
    from reserve_service.optimize.dispatch.api import blp as dispatch_blueprint
    from reserve_service.optimize.prepositioning import service as prepositioning_service
    from reserve_service.optimize.prepositioning.api import blp as prepositioning_blueprint
    from reserve_service.optimize.siting import service as siting_service
    from reserve_service.optimize.siting.api import blp as siting_blueprint
    from reserve_service.problems import register_error_handlers
    from reserve_service.routing import service as routing_service
    from reserve_service.routing.api import blp as routing_blueprint
    from reserve_service.routing.events import set_local_zone

    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    set_local_zone(app.config["TIME_ZONE"])
    app.json = StrictJSONProvider(app)
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    Database().init_app(app)
    api = ProblemApi(app)
    for blueprint in [*inventory_blueprints, routing_blueprint, jobs_blueprint, siting_blueprint,
                      dispatch_blueprint, prepositioning_blueprint, maps_blueprint, account_blueprint]:
        api.register_blueprint(blueprint)
    app.register_blueprint(console_site)
    register_error_handlers(app)
    routing_service.configure(app.config.get("GRAPH_DIR"))
    init_jobs(app, {**siting_service.JOB_HANDLERS, **prepositioning_service.JOB_HANDLERS,
                    **dispatch_service.JOB_HANDLERS})
    cli.register(app)
    init_ops(app)
    app.register_blueprint(docs.blp)

    @app.before_request
    def _authenticate() -> None:
        if request.path.startswith("/api/"):
            g.principal = authenticate_request(request.headers.get("Authorization"))

    return app

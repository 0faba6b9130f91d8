"""The API documentation pages, served offline: Swagger UI's files come from the installed
``swagger-ui-bundle`` package, not from a CDN. ``/swagger`` is flask-smorest's page; ``/docs``
answers the same page (it used to be ReDoc, which needs a CDN)."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, Response, current_app, send_from_directory
from flask.typing import ResponseReturnValue
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/docs-assets/swagger-ui/"
ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
          "favicon-16x16.png", "favicon-32x32.png"}

blp = Blueprint("docs", __name__)


@blp.get(f"{ASSETS_URL}<path:filename>")
def swagger_ui_asset(filename: str) -> Response:
    """One of Swagger UI's files, from the package (cached a day)."""
    if filename not in ASSETS:
        return Response(status=404)
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


@blp.get("/docs")
def docs() -> ResponseReturnValue:
    """The Swagger UI page (offline), also at /swagger."""
    view = next(f for name, f in current_app.view_functions.items() if name.endswith(".openapi_swagger_ui"))
    return cast(ResponseReturnValue, view())  # a sync view: never the Awaitable Flask allows

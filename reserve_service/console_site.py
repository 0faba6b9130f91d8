"""Serves the built web console (``console/dist``) at ``/console/`` with a history-mode fallback."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, redirect, send_from_directory

DIST = Path(__file__).resolve().parents[1] / "console" / "dist"

bp = Blueprint("console", __name__)


@bp.get("/console")
def console_root() -> Response:
    return redirect("/console/", code=308)  # type: ignore[return-value]


@bp.get("/console/")
@bp.get("/console/<path:path>")
def console_page(path: str = "") -> Response:
    """A built asset when it exists, else index.html so the client router handles the path."""
    if not (DIST / "index.html").is_file():
        abort(404, "the console is not built: run `make console` (needs Node 20 and npm)")
    target = DIST / path
    if path and target.is_file() and DIST in target.resolve().parents:
        response = send_from_directory(DIST, path, max_age=31536000 if path.startswith("assets/") else 0)
        return response
    response = send_from_directory(DIST, "index.html", max_age=0)
    response.cache_control.no_cache = True
    return response

"""The house rule checked: the pure engine modules load neither Flask nor SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PURE_MODULES = (
    "reserve_service.errors",
    "reserve_service.optimize.solvers",
    "reserve_service.optimize.siting",
    "reserve_service.optimize.prepositioning",
    "reserve_service.optimize.prepositioning.scenarios",
    "reserve_service.optimize.dispatch",
    "reserve_service.optimize.vrptw",
    "reserve_service.optimize.monitor",
    "reserve_service.optimize.orlib",
    "reserve_service.routing.graph",
    "reserve_service.routing.events",
    "reserve_service.routing.loaders",
)
WEB_PACKAGES = ("flask", "flask_smorest", "werkzeug", "marshmallow", "sqlalchemy", "alembic")


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_loads_no_web_or_orm_package(module: str) -> None:
    """A fresh interpreter imports the module; none of the web or ORM packages may come with it."""
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({WEB_PACKAGES!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []

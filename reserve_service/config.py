"""Settings read from the environment.

Every setting has a default that works on one machine: an SQLite file under ``instance/``,
jobs in an in-process worker thread.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("RESERVE_INSTANCE_DIR", PROJECT_ROOT / "instance"))

#: People each tier's reserve is planned to serve (relocated people, seed_outline.json):
#: province 100,000 (sourced), city 50,000 (A), county 6,000 (A), township 400 (A), community 100 (A).
DEFAULT_TIER_TARGET_PEOPLE = {"city": 50_000, "county": 6_000, "township": 400, "community": 100}

#: Hours before a reserve mode's stock can leave (seed_outline.json ``mode_lead_time_hours``, A).
DEFAULT_MODE_LEAD_HOURS = {"government": 0.5, "enterprise_held": 2.0}

#: Average household size, 宿州 7th census bulletin No. 1.
HOUSEHOLD_SIZE = 2.74


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'reserve.db'}"


class Config:
    """Production-ish defaults; every value can be overridden by an environment variable."""

    DATABASE_URL = os.environ.get("DATABASE_URL") or default_database_url()
    TIER_TARGET_PEOPLE = DEFAULT_TIER_TARGET_PEOPLE
    MODE_LEAD_HOURS = DEFAULT_MODE_LEAD_HOURS
    HOUSEHOLD_SIZE = HOUSEHOLD_SIZE
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 20 * 1024 * 1024))
    JOB_WORKERS = int(os.environ.get("JOB_WORKERS", 1))

    API_TITLE = "reserve_service"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "swagger"  # and /docs (reserve_service/docs.py); assets served offline
    OPENAPI_SWAGGER_UI_URL = "/docs-assets/swagger-ui/"
    API_SPEC_OPTIONS = {
        "info": {
            "description": "Emergency-materials reserve network, siting, pre-positioning and "
            "dispatch for a prefecture-level city (宿州市 model).",
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"bearerAuth": []}],
    }

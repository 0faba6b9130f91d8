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
HOUSEHOLD_SIZE = float(os.environ.get("HOUSEHOLD_SIZE", 2.74))

#: Days of relief a per-person-day norm covers when the item's own ``norm_days`` is not set (A).
RELIEF_DAYS = float(os.environ.get("RELIEF_DAYS", 1))

#: The zone in which times given without an offset are read (IANA name).
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'reserve.db'}"


class Config:
    """Production-ish defaults; every value can be overridden by an environment variable."""

    DATABASE_URL = os.environ.get("DATABASE_URL") or default_database_url()
    TIER_TARGET_PEOPLE = DEFAULT_TIER_TARGET_PEOPLE
    MODE_LEAD_HOURS = DEFAULT_MODE_LEAD_HOURS
    HOUSEHOLD_SIZE = HOUSEHOLD_SIZE
    RELIEF_DAYS = RELIEF_DAYS
    TIME_ZONE = TIME_ZONE
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 20 * 1024 * 1024))
    JOB_WORKERS = int(os.environ.get("JOB_WORKERS", 1))
    #: memory-mapped road networks, one folder per network version, shared by every process
    GRAPH_DIR = os.environ.get("GRAPH_DIR") or str(INSTANCE_DIR / "graphs")
    #: logs: one JSON object per line ("json") or plain text ("text")
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    #: Redis for RQ workers; unset = jobs run on threads in the web process
    REDIS_URL = os.environ.get("REDIS_URL") or None
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "reserve-jobs")
    #: hard limit of one job attempt, seconds, per kind (env JOB_TIME_LIMIT_<KIND>) and otherwise
    JOB_TIME_LIMITS = {kind: float(os.environ.get(f"JOB_TIME_LIMIT_{kind.upper()}", default))
                       for kind, default in (("siting", 1800), ("prepositioning", 3600), ("dispatch", 900))}
    JOB_TIME_LIMIT = float(os.environ.get("JOB_TIME_LIMIT", 3600))
    #: runs of a job whose worker died (1 = no retry)
    JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", 2))
    JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", 1))
    #: a running job silent this long has lost its worker
    JOB_LOST_AFTER_SECONDS = float(os.environ.get("JOB_LOST_AFTER_SECONDS", 15))
    #: time a solve told to stop gets to return its best answer before it is killed
    JOB_STOP_GRACE_SECONDS = float(os.environ.get("JOB_STOP_GRACE_SECONDS", 5))
    #: extra modules whose JOB_HANDLERS are registered (comma-separated import paths)
    JOB_HANDLER_MODULES = os.environ.get("JOB_HANDLER_MODULES", "")

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

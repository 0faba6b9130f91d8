"""Siting runs over HTTP: cheap checks answer 422 at once; the solve runs as a job."""

from __future__ import annotations

from flask_smorest import Blueprint

from reserve_service.api_docs import LOCATION_HEADER
from reserve_service.auth import roles_required
from reserve_service.extensions import session
from reserve_service.jobs.api import submit
from reserve_service.optimize.response_schemas import JobSchema
from reserve_service.optimize.siting import service
from reserve_service.optimize.siting.schemas import SitingRequest

blp = Blueprint(
    "siting",
    __name__,
    url_prefix="/api/v1",
    description="Depot siting runs (p-median, p-center, covering, capacitated) as background jobs",
)


@blp.route("/siting-runs", methods=["POST"])
@roles_required("planner")
@blp.arguments(SitingRequest)
@blp.response(202, JobSchema, headers=LOCATION_HEADER)
def post_siting_run(data):
    """Start a siting run (planner). Cheap checks answer 422 now; the solve runs as a job.

    Example, one new city depot while all five county depots stay open:
    ``{"model": "p_median", "p": 6, "keep_open_tiers": ["county"], "candidate_tiers": ["city"]}``.
    """
    service.build_instance(session(), data)  # unknown codes, p too large, no candidates → 422
    return submit("siting", data)

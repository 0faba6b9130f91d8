"""Optimisation endpoints: submit runs as jobs (202), follow, cancel, read results."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask_smorest import Blueprint
from sqlalchemy import select

from reserve_service.api_docs import LOCATION_HEADER
from reserve_service.auth import current_principal, roles_required
from reserve_service.errors import Conflict, NotFound
from reserve_service.extensions import session
from reserve_service.jobs import Job
from reserve_service.optimize import siting_runs
from reserve_service.optimize.response_schemas import (
    FeatureCollectionSchema,
    JobListSchema,
    JobSchema,
)
from reserve_service.optimize.schemas import JobListArgs, SitingRequest

blp = Blueprint(
    "optimize",
    __name__,
    url_prefix="/api/v1",
    description="Siting and other optimisation runs as background jobs",
)


def job_dump(job: Job, with_result: bool = True) -> dict[str, Any]:
    body = {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "created_by": job.created_by,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "params": job.params,
        "url": url_for("optimize.get_job", job_id=job.id),
    }
    if with_result:
        body["result"] = job.result
    return body


def submit(kind: str, params: dict[str, Any]):
    job = current_app.extensions["jobs"].submit(session(), kind, params, current_principal().name)
    return job_dump(job), 202, {"Location": url_for("optimize.get_job", job_id=job.id)}


@blp.route("/siting-runs", methods=["POST"])
@roles_required("planner")
@blp.arguments(SitingRequest)
@blp.response(202, JobSchema, headers=LOCATION_HEADER)
def post_siting_run(data):
    """Start a siting run (planner). Cheap checks answer 422 now; the solve runs as a job.

    Example, one new city depot while all five county depots stay open:
    ``{"model": "p_median", "p": 6, "keep_open_tiers": ["county"], "candidate_tiers": ["city"]}``.
    """
    siting_runs.build_instance(session(), data)  # unknown codes, p too large, no candidates → 422
    return submit("siting", data)


@blp.route("/jobs")
@blp.arguments(JobListArgs, location="query")
@blp.response(200, JobListSchema)
def list_jobs(args):
    """Recent jobs, newest first."""
    query = select(Job).order_by(Job.created_at.desc()).limit(args["limit"])
    if args.get("kind"):
        query = query.where(Job.kind == args["kind"])
    if args.get("status"):
        query = query.where(Job.status == args["status"])
    return {"jobs": [job_dump(j, with_result=False) for j in session().scalars(query)]}


def _job(job_id: str) -> Job:
    job = session().get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}", {"job_id": ["unknown"]})
    return job


@blp.route("/jobs/<job_id>")
@blp.response(200, JobSchema)
def get_job(job_id: str):
    """Status, progress and, when done, the result."""
    return job_dump(_job(job_id))


@blp.route("/jobs/<job_id>/geojson")
@blp.response(200, FeatureCollectionSchema)
def get_job_geojson(job_id: str):
    """The result's map layer (sites and assignments) as a GeoJSON FeatureCollection."""
    job = _job(job_id)
    if not job.result or "geojson" not in job.result:
        raise Conflict(
            f"job {job_id} has no map yet (status {job.status})", {"job_id": ["not done"]}
        )
    return job.result["geojson"]


@blp.route("/jobs/<job_id>/cancel", methods=["POST"])
@roles_required("planner", "dispatcher")
@blp.response(202, JobSchema)
def cancel_job(job_id: str):
    """Ask a queued or running job to stop; it ends as cancelled at its next checkpoint."""
    db = session()
    job = _job(job_id)
    if job.status in ("succeeded", "failed", "cancelled"):
        raise Conflict(f"job {job_id} already {job.status}", {"job_id": [f"already {job.status}"]})
    job.cancel_requested = True
    job.message = "cancel requested"
    db.commit()
    return job_dump(job), 202

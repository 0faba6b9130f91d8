"""Job endpoints: list, follow, read the map of, and cancel jobs; ``submit`` for the packages
that start jobs (siting, pre-positioning, dispatch)."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask_smorest import Blueprint
from sqlalchemy import select

from reserve_service.auth import current_principal, roles_required
from reserve_service.errors import Conflict, Forbidden, NotFound
from reserve_service.extensions import session
from reserve_service.jobs import records
from reserve_service.jobs.schemas import JobListArgs
from reserve_service.jobs.table import FINISHED, Job
from reserve_service.optimize.response_schemas import (
    FeatureCollectionSchema,
    JobListSchema,
    JobSchema,
)

blp = Blueprint("jobs", __name__, url_prefix="/api/v1",
                description="Background jobs of the optimisation runs: status, progress, cancel")


def job_dump(job: Job, with_result: bool = True) -> dict[str, Any]:
    def moment(value: Any) -> str | None:
        utc = records.as_utc(value)
        return utc.isoformat() if utc else None

    body = {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "figures": job.figures or {},
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "time_limit_s": job.time_limit_s,
        "created_by": job.created_by,
        "created_at": moment(job.created_at),
        "started_at": moment(job.started_at),
        "finished_at": moment(job.finished_at),
        "duration_s": job.duration_s,
        "params": job.params,
        "url": url_for("jobs.get_job", job_id=job.id),
    }
    if with_result:
        body["result"] = job.result
    return body


def submit(kind: str, params: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Start a job of ``kind`` for the caller: 202 with the job and its Location."""
    job = current_app.extensions["jobs"].submit(session(), kind, params, current_principal().name)
    return job_dump(job), 202, {"Location": url_for("jobs.get_job", job_id=job.id)}


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
    job = session().get(Job, job_id) if len(job_id) <= 36 else None
    if job is None:
        raise NotFound(f"no job {job_id}", {"job_id": ["unknown"]})
    return job


@blp.route("/jobs/<job_id>")
@blp.response(200, JobSchema)
def get_job(job_id: str):
    """Status, progress (with the solve's latest figures) and, when done, the result."""
    return job_dump(_job(job_id))


@blp.route("/jobs/<job_id>/geojson")
@blp.response(200, FeatureCollectionSchema)
def get_job_geojson(job_id: str):
    """The result's map layer (sites and assignments) as a GeoJSON FeatureCollection."""
    job = _job(job_id)
    if not job.result or "geojson" not in job.result:
        raise Conflict(f"job {job_id} has no map yet (status {job.status})", {"job_id": ["not done"]})
    return job.result["geojson"]


@blp.route("/jobs/<job_id>/cancel", methods=["POST"])
@roles_required("planner", "dispatcher")
@blp.response(202, JobSchema)
def cancel_job(job_id: str):
    """Stop a queued or running job (its owner or an admin). A queued job ends at once; a
    running solve is stopped within seconds and the job ends as cancelled."""
    db = session()
    job = _job(job_id)
    principal = current_principal()
    if principal.role != "admin" and job.created_by != principal.name:
        raise Forbidden(f"job {job_id} belongs to {job.created_by!r}; only its owner or an admin "
                        "may cancel it", {"job_id": ["not yours"]})
    if job.status in FINISHED:
        raise Conflict(f"job {job_id} already {job.status}", {"job_id": [f"already {job.status}"]})
    job.cancel_requested = True
    job.message = "cancel requested"
    db.commit()
    runner = current_app.extensions["jobs"]
    if not records.cancel_queued(runner.env.sessions, job.id):
        runner.cancel(job)
    db.refresh(job)
    return job_dump(job)

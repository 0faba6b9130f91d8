"""Pre-positioning endpoints: scenario sets (upload, generate) and stock-plan runs as jobs."""

from __future__ import annotations

import io
import tempfile
import uuid
from pathlib import Path

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import select

from reserve_service.api_docs import LOCATION_HEADER, PNG_BODY
from reserve_service.auth import current_principal, roles_required
from reserve_service.db import get_or_404
from reserve_service.errors import Conflict, InvalidInput
from reserve_service.extensions import session
from reserve_service.jobs import Job
from reserve_service.jobs.api import submit
from reserve_service.optimize import prepositioning as pp
from reserve_service.optimize.prepositioning import scenarios as sc
from reserve_service.optimize.prepositioning import service as runs
from reserve_service.optimize.prepositioning.schemas import (
    PrepositioningRequest,
    ScenarioGenerate,
    ScenarioUpload,
)
from reserve_service.optimize.response_schemas import (
    JobSchema,
    ScenarioSetListSchema,
    ScenarioSetSchema,
    ScenarioSetSummarySchema,
)
from reserve_service.optimize.tables import ScenarioSet

blp = Blueprint(
    "prepositioning",
    __name__,
    url_prefix="/api/v1",
    description="Disaster scenarios and two-stage stochastic pre-positioning",
)


def _store(name: str, scenarios: list[sc.Scenario], source: str) -> dict:
    db = session()
    row = ScenarioSet(
        id=str(uuid.uuid4()),
        name=name,
        source=source,
        created_by=current_principal().name,
        scenarios=[s.to_dict() for s in scenarios],
    )
    db.add(row)
    db.commit()
    return _summary(row)


def _summary(row: ScenarioSet) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "source": row.source,
        "scenarios": len(row.scenarios),
        "hazards": sorted({s["hazard"] for s in row.scenarios}),
        "probability": round(sum(s["probability"] for s in row.scenarios), 9),
    }


@blp.route("/scenario-sets", methods=["POST"])
@roles_required("planner")
@blp.arguments(ScenarioUpload)
@blp.response(201, ScenarioSetSummarySchema)
def upload_scenarios(data):
    """Store a scenario set; probabilities must sum to 1 unless ``normalize`` (then rescaled)."""
    regions, depots = runs.known_ids(session())
    try:
        scenarios = sc.validate_scenarios(
            [sc.Scenario.from_dict(d) for d in data["scenarios"]],
            normalize=data["normalize"],
            region_ids=regions,
            depot_ids=depots,
        )
    except (KeyError, TypeError) as exc:  # a scenario without a required member
        raise InvalidInput.field("scenarios", str(exc)) from exc
    return _store(data["name"], scenarios, "uploaded")


@blp.route("/scenario-sets/generate", methods=["POST"])
@roles_required("planner")
@blp.arguments(ScenarioGenerate)
@blp.response(201, ScenarioSetSummarySchema)
def generate_scenarios(data):
    """Generate 宿州's hazard scenarios (river floods, earthquake, snowstorm, chemical) for editing."""
    towns, depots = runs.places(session())
    scenarios = sc.generate_suzhou_scenarios(
        towns, depots, n=data["n"], seed=data["seed"], hazard_weights=data["hazard_weights"]
    )
    return _store(data["name"], scenarios, f"generated n={data['n']} seed={data['seed']}")


@blp.route("/scenario-sets")
@blp.response(200, ScenarioSetListSchema)
def list_scenario_sets():
    """Stored scenario sets."""
    rows = session().scalars(select(ScenarioSet).order_by(ScenarioSet.created_at.desc()))
    return {"scenario_sets": [_summary(r) for r in rows]}


@blp.route("/scenario-sets/<uuid:set_id>")
@blp.response(200, ScenarioSetSchema)
def get_scenario_set(set_id: str):
    """A scenario set with every scenario (edit it and upload it again)."""
    row = get_or_404(session(), ScenarioSet, set_id, "set_id", "scenario set")
    return {**_summary(row), "scenarios": row.scenarios}


@blp.route("/prepositioning-runs", methods=["POST"])
@roles_required("planner")
@blp.arguments(PrepositioningRequest)
@blp.response(202, JobSchema, headers=LOCATION_HEADER)
def post_prepositioning_run(data):
    """Plan stock per depot × item under the scenarios (202 + job): targets, action list,
    coverage within 10 h per scenario, cost, VSS, EVPI and an optional budget curve."""
    runs.check_request(session(), data)
    return submit("prepositioning", data)


@blp.route("/jobs/<job_id>/budget-curve.png")
@blp.response(200, PNG_BODY, content_type="image/png")
def budget_curve_png(job_id: str):
    """The cost-vs-coverage curve of a pre-positioning run with ``budget_sweep``."""
    job = get_or_404(session(), Job, job_id, "job_id", "job")
    if not job.result or not job.result.get("budget_curve"):
        raise Conflict(
            "this job has no budget curve (run with budget_sweep)", {"job_id": ["no curve"]}
        )
    points = [pp.BudgetPoint(**p) for p in job.result["budget_curve"]]
    with tempfile.TemporaryDirectory() as folder:
        path = pp.plot_budget_curve(points, Path(folder) / "curve.png", title=f"job {job_id[:8]}")
        data = io.BytesIO(path.read_bytes())
    return Response(data.getvalue(), mimetype="image/png")

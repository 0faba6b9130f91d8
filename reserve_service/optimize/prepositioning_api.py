"""Pre-positioning endpoints: scenario sets (upload, generate) and stock-plan runs as jobs."""

from __future__ import annotations

import io
import tempfile
import uuid
from pathlib import Path

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint
from marshmallow import fields, validate, validates_schema
from sqlalchemy import select

from reserve_service.api_docs import LOCATION_HEADER, PNG_BODY
from reserve_service.auth import current_principal, roles_required
from reserve_service.errors import Conflict, InvalidInput, NotFound
from reserve_service.extensions import session
from reserve_service.inventory.schemas import Schema
from reserve_service.jobs import Job
from reserve_service.optimize import prepositioning as pp
from reserve_service.optimize import prepositioning_runs as runs
from reserve_service.optimize import scenarios as sc
from reserve_service.optimize.api import submit
from reserve_service.optimize.response_schemas import (
    JobSchema,
    ScenarioSetListSchema,
    ScenarioSetSchema,
    ScenarioSetSummarySchema,
)
from reserve_service.optimize.schemas import SOLVERS
from reserve_service.optimize.tables import ScenarioSet

blp = Blueprint("prepositioning", __name__, url_prefix="/api/v1",
                description="Disaster scenarios and two-stage stochastic pre-positioning")


class ScenarioUpload(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    scenarios = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=1000))
    normalize = fields.Boolean(load_default=False,
                               metadata={"description": "rescale probabilities that do not sum to 1"})


class ScenarioGenerate(Schema):
    name = fields.String(load_default="宿州 hazards", validate=validate.Length(min=1, max=200))
    n = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    seed = fields.Integer(load_default=2026, validate=validate.Range(min=0, max=2**32 - 1))
    hazard_weights = fields.Dict(keys=fields.String(), values=fields.Float(validate=validate.Range(min=0)),
                                 load_default=None, allow_none=True)


class PrepositioningRequest(Schema):
    scenario_set = fields.String(required=True)
    budget = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    service_level = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1),
                                 metadata={"description": "β: share of needs met within 10 h"})
    scenario_share = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1),
                                  metadata={"description": "β must hold in at least this share of scenarios"})
    method = fields.String(load_default="auto", validate=validate.OneOf(("auto", "extensive", "benders")))
    items = fields.List(fields.String(), load_default=None, allow_none=True)
    rotation_days = fields.Integer(load_default=90, validate=validate.Range(min=0, max=3650),
                                   metadata={"description": "rotate lots expiring within this many days"})
    township_depots = fields.Integer(load_default=15, validate=validate.Range(min=0, max=200))
    solver = fields.String(load_default="auto", validate=validate.OneOf(SOLVERS))
    time_limit = fields.Float(load_default=600.0, validate=validate.Range(min=1, max=7200))
    stochastic_values = fields.Boolean(load_default=True, metadata={"description": "VSS and EVPI"})
    budget_sweep = fields.List(fields.Float(validate=validate.Range(min=0)), load_default=list,
                               validate=validate.Length(max=20))

    @validates_schema
    def _share_needs_level(self, data, **_kw):
        if data.get("scenario_share") is not None and data.get("service_level") is None:
            raise ma.ValidationError("scenario_share needs service_level", "scenario_share")


def _store(name: str, scenarios: list[sc.Scenario], source: str) -> dict:
    db = session()
    row = ScenarioSet(id=str(uuid.uuid4()), name=name, source=source, created_by=current_principal().name,
                      scenarios=[s.to_dict() for s in scenarios])
    db.add(row)
    db.commit()
    return _summary(row)


def _summary(row: ScenarioSet) -> dict:
    return {"id": row.id, "name": row.name, "source": row.source, "scenarios": len(row.scenarios),
            "hazards": sorted({s["hazard"] for s in row.scenarios}),
            "probability": round(sum(s["probability"] for s in row.scenarios), 9)}


@blp.route("/scenario-sets", methods=["POST"])
@roles_required("planner")
@blp.arguments(ScenarioUpload)
@blp.response(201, ScenarioSetSummarySchema)
def upload_scenarios(data):
    """Store a scenario set; probabilities must sum to 1 unless ``normalize`` (then rescaled)."""
    regions, depots = runs.known_ids(session())
    try:
        scenarios = sc.validate_scenarios([sc.Scenario.from_dict(d) for d in data["scenarios"]],
                                          normalize=data["normalize"], region_ids=regions, depot_ids=depots)
    except (sc.ScenarioInputError, KeyError, TypeError) as exc:
        field = getattr(exc, "field", "scenarios")
        raise InvalidInput.field(field, str(exc)) from exc
    return _store(data["name"], scenarios, "uploaded")


@blp.route("/scenario-sets/generate", methods=["POST"])
@roles_required("planner")
@blp.arguments(ScenarioGenerate)
@blp.response(201, ScenarioSetSummarySchema)
def generate_scenarios(data):
    """Generate 宿州's hazard scenarios (river floods, earthquake, snowstorm, chemical) for editing."""
    towns, depots = runs.places(session())
    scenarios = sc.generate_suzhou_scenarios(towns, depots, n=data["n"], seed=data["seed"],
                                             hazard_weights=data["hazard_weights"])
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
    row = session().get(ScenarioSet, set_id)
    if row is None:
        raise NotFound(f"no scenario set {set_id}", {"set_id": ["unknown"]})
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
    job = session().get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}", {"job_id": ["unknown"]})
    if not job.result or not job.result.get("budget_curve"):
        raise Conflict("this job has no budget curve (run with budget_sweep)", {"job_id": ["no curve"]})
    points = [pp.BudgetPoint(**p) for p in job.result["budget_curve"]]
    with tempfile.TemporaryDirectory() as folder:
        path = pp.plot_budget_curve(points, Path(folder) / "curve.png", title=f"job {job_id[:8]}")
        data = io.BytesIO(path.read_bytes())
    return Response(data.getvalue(), mimetype="image/png")

"""Dispatch endpoints: incidents, plans as jobs, approve/dispatch/deliver/cancel, re-plan."""

from __future__ import annotations

import uuid

from flask import Response, current_app
from flask_smorest import Blueprint
from sqlalchemy import select

from reserve_service.api_docs import CSV_BODY, LOCATION_HEADER
from reserve_service.auth import current_principal, roles_required
from reserve_service.db import get_or_404
from reserve_service.errors import Conflict, NotFound
from reserve_service.extensions import session
from reserve_service.jobs.api import submit
from reserve_service.optimize import dispatch as dp
from reserve_service.optimize.dispatch import lifecycle, service
from reserve_service.optimize.dispatch.schemas import DeliverySchema, IncidentSchema, ReplanSchema
from reserve_service.optimize.response_schemas import (
    IncidentCreatedSchema,
    IncidentResponseSchema,
    JobSchema,
    PlanOutcomeSchema,
    PlanSchema,
    VehicleStatusSchema,
)
from reserve_service.optimize.tables import DispatchPlanRow, Incident, PlanVehicle

blp = Blueprint("dispatch", __name__, url_prefix="/api/v1",
                description="Disaster dispatch: incidents, allocation-and-route plans, their lifecycle")


def _incident(incident_id: str) -> Incident:
    return get_or_404(session(), Incident, incident_id, "incident_id", "incident")


def _plan(plan_id: str) -> DispatchPlanRow:
    return get_or_404(session(), DispatchPlanRow, plan_id, "plan_id", "dispatch plan")


def plan_dump(row: DispatchPlanRow, full: bool = True) -> dict:
    statuses = {v.vehicle_id: v.status for v in session().scalars(
        select(PlanVehicle).where(PlanVehicle.plan_id == row.id))}
    body = {"id": row.id, "incident_id": row.incident_id, "generation": row.generation,
            "parent_id": row.parent_id, "status": row.status, "created_by": row.created_by,
            "approved_by": row.approved_by,
            "approved_at": row.approved_at.isoformat() if row.approved_at else None,
            "vehicle_status": statuses, "summary": row.plan["summary"]}
    if full:
        body.update({k: v for k, v in row.plan.items() if k != "summary"})
        for vehicle in body.get("vehicles", []):
            vehicle["status"] = statuses.get(vehicle["vehicle_id"], vehicle["status"])
    return body


@blp.route("/incidents", methods=["POST"])
@roles_required("dispatcher")
@blp.arguments(IncidentSchema)
@blp.response(201, IncidentCreatedSchema)
def post_incident(data):
    """Record an incident: affected townships with relocated people and/or reported needs."""
    db = session()
    service.check_incident(db, data)
    request = {**data, "start_at": data["start_at"].isoformat()}
    incident = Incident(id=str(uuid.uuid4()), name=data["name"], start_at=data["start_at"], request=request,
                        created_by=current_principal().name)
    db.add(incident)
    db.commit()
    return {"id": incident.id, "name": incident.name, "start_at": incident.start_at.isoformat(),
            "regions": len(data["regions"])}


@blp.route("/incidents/<incident_id>")
@blp.response(200, IncidentResponseSchema)
def get_incident(incident_id: str):
    """An incident and its plans."""
    db = session()
    incident = _incident(incident_id)
    plans = db.scalars(select(DispatchPlanRow).where(DispatchPlanRow.incident_id == incident_id)
                       .order_by(DispatchPlanRow.generation))
    return {"id": incident.id, "name": incident.name, "start_at": incident.start_at.isoformat(),
            "request": incident.request, "plans": [plan_dump(p, full=False) for p in plans]}


@blp.route("/incidents/<incident_id>/plans", methods=["POST"])
@roles_required("dispatcher")
@blp.response(202, JobSchema, headers=LOCATION_HEADER)
def post_plan(incident_id: str):
    """Plan the incident (202 + job URL); the job's result names the new plan."""
    _incident(incident_id)
    return submit("dispatch", {"incident_id": incident_id, "created_by": current_principal().name})


@blp.route("/dispatch-plans/<plan_id>")
@blp.response(200, PlanSchema)
def get_plan(plan_id: str):
    """The plan: vehicles (manifest, stops, ETAs, route), regions (fill rate, shortfalls with reasons)."""
    return plan_dump(_plan(plan_id))


@blp.route("/dispatch-plans/<plan_id>/vehicles/<vehicle_id>/manifest.csv")
@blp.response(200, CSV_BODY, content_type="text/csv")
def get_manifest(plan_id: str, vehicle_id: str):
    """A printable manifest for one vehicle."""
    plan, names = service.stored_plan(_plan(plan_id))
    try:
        text = dp.plan_to_manifest_csv(plan, vehicle_id)
    except (KeyError, ValueError) as exc:
        raise NotFound(f"vehicle {vehicle_id} is not in plan {plan_id}", {"vehicle_id": ["unknown"]}) from exc
    return Response("\ufeff" + text, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=manifest-{vehicle_id}.csv"})


@blp.route("/dispatch-plans/<plan_id>/approve", methods=["POST"])
@roles_required("dispatcher")
@blp.response(200, PlanOutcomeSchema)
def approve_plan(plan_id: str):
    """Approve: issue every loaded lot from the ledger in one transaction (idempotent; 409 if
    stock changed, listing the lots)."""
    outcome = lifecycle.approve(session(), current_principal(), _plan(plan_id))
    return {**plan_dump(_plan(plan_id), full=False), **outcome}


@blp.route("/dispatch-plans/<plan_id>/cancel", methods=["POST"])
@roles_required("dispatcher")
@blp.response(200, PlanOutcomeSchema)
def cancel_plan(plan_id: str):
    """Cancel: every vehicle's stock not delivered goes back to its lots (409 while a vehicle is
    on the road: confirm its delivery first)."""
    outcome = lifecycle.cancel(session(), current_principal(), _plan(plan_id))
    return {**plan_dump(_plan(plan_id), full=False), **outcome}


@blp.route("/dispatch-plans/<plan_id>/vehicles/<vehicle_id>/dispatch", methods=["POST"])
@roles_required("dispatcher")
@blp.response(200, VehicleStatusSchema)
def dispatch_vehicle(plan_id: str, vehicle_id: str):
    """The vehicle has left (approved → dispatched)."""
    vehicle = lifecycle.mark_vehicle(session(), _plan(plan_id), vehicle_id, "dispatch")
    return {"vehicle_id": vehicle.vehicle_id, "status": vehicle.status}


@blp.route("/dispatch-plans/<plan_id>/vehicles/<vehicle_id>/deliver", methods=["POST"])
@roles_required("dispatcher")
@blp.arguments(DeliverySchema)
@blp.response(200, VehicleStatusSchema)
def deliver_vehicle(data, plan_id: str, vehicle_id: str):
    """Delivery confirmed (dispatched → delivered), with what arrived: regions, items and
    quantities of this vehicle's manifest (422 naming the field otherwise); default: as planned."""
    vehicle = lifecycle.mark_vehicle(session(), _plan(plan_id), vehicle_id, "deliver", data["delivered"])
    return {"vehicle_id": vehicle.vehicle_id, "status": vehicle.status, "delivered": vehicle.delivered}


@blp.route("/dispatch-plans/<plan_id>/replan", methods=["POST"])
@roles_required("dispatcher")
@blp.arguments(ReplanSchema)
@blp.response(202, JobSchema, headers=LOCATION_HEADER)
def replan(data, plan_id: str):
    """Re-plan with the road events in force now (202 + job URL): vehicles not yet dispatched are
    re-planned, dispatched ones re-routed from where they should be; the result lists changed ETAs."""
    row = _plan(plan_id)
    if row.status not in ("draft", "approved", "dispatched"):
        raise Conflict(f"plan is {row.status}", {"status": [f"cannot re-plan a {row.status} plan"]})
    incident = _incident(row.incident_id)
    now_h = data["now_h"] if data["now_h"] is not None else service.replan_start_hours(incident)
    current_app.logger.info("re-plan %s at %.2f h", plan_id, now_h)
    return submit("dispatch", {"incident_id": incident.id, "parent_plan_id": row.id, "now_h": now_h,
                               "created_by": current_principal().name})

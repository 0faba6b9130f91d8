"""Routing endpoints: network, policy, road events, routes, matrices, reachability."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from reserve_service.auth import current_principal, roles_required
from reserve_service.extensions import session
from reserve_service.routing import service
from reserve_service.routing.errors import NoRouteError
from reserve_service.routing.policy import default_policy
from reserve_service.routing.schemas import (
    EventListArgs,
    MatrixRequest,
    MatrixResultSchema,
    NetworkInfoSchema,
    PolicySchema,
    ReachabilityRequest,
    ReachabilityResultSchema,
    RoadEventListSchema,
    RoadEventRequest,
    RoadEventSchema,
    RouteRequest,
    RouteResultSchema,
)
from reserve_service.routing.tables import RoadEventRow

blp = Blueprint("routing", __name__, url_prefix="/api/v1/routing",
                description="Road network, green-channel policy, road events, routes and matrices")


def _moment(data: dict[str, Any]) -> dt.datetime:
    """The request's ``at``, or now: the roads as they are when the question is asked."""
    return data.get("at") or dt.datetime.now(dt.UTC)


def _hours(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)


@blp.route("/network")
@blp.response(200, NetworkInfoSchema)
def network_info():
    """The active road network: size, source, events in force."""
    db = session()
    row = service.active_network(db)
    graph, _ = service.road_graph(db)
    return {"id": row.id, "name": row.name, "source": row.source, "nodes": row.node_count,
            "edges": row.edge_count, "loaded_at": row.created_at.isoformat() if row.created_at else None,
            "events": len(graph.events)}


@blp.route("/policy")
@blp.response(200, PolicySchema)
def policy_document():
    """The green-channel policy and vehicle profiles in force (versioned declared data)."""
    policy = default_policy()
    return {"version": policy.version, "effective_from": policy.effective_from,
            "document": policy.document}


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventListArgs, location="query")
    @blp.response(200, RoadEventListSchema)
    def get(self, args):
        """Road events in force (``?all=true`` for withdrawn ones too)."""
        db = session()
        query = select(RoadEventRow).order_by(RoadEventRow.created_at)
        if not args["all"]:
            query = query.where(RoadEventRow.removed_at.is_(None))
        return {"events": [_event_dump(r) for r in db.scalars(query)]}

    @roles_required("dispatcher")
    @blp.arguments(RoadEventRequest)
    @blp.response(201, RoadEventSchema)
    def post(self, data):
        """Add a closure, slowdown, traffic control or repair on edges or an area (dispatcher)."""
        payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()
                   if v is not None and not (k in ("edge_ids",) and not v)}
        row, edges = service.add_event(session(), current_principal(), payload)
        return {**_event_dump(row), "edge_ids": edges}


@blp.route("/events/<event_id>", methods=["DELETE"])
@roles_required("dispatcher")
@blp.response(200, RoadEventSchema)
def delete_event(event_id: str):
    """Withdraw an event: travel times return exactly to what they were without it."""
    row = service.remove_event(session(), event_id)
    return _event_dump(row)


def _event_dump(row: RoadEventRow) -> dict[str, Any]:
    return {**row.payload, "edge_count": row.edge_count, "created_by": row.created_by,
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "removed_at": row.removed_at.isoformat() if row.removed_at else None}


@blp.route("/route", methods=["POST"])
@blp.arguments(RouteRequest)
@blp.response(200, RouteResultSchema)
def route(data):
    """Fastest route A→B for a vehicle profile: ETA, length, tolls (paid, saved), rules, per-edge legs, GeoJSON."""
    db = session()
    graph, _ = service.road_graph(db)
    source, source_info = service.resolve_location(db, graph, data["origin"], "from")
    target, target_info = service.resolve_location(db, graph, data["destination"], "to")
    try:
        result = graph.route(source, target, profile=data["profile"], at=_moment(data), as_driven=True)
    except NoRouteError as exc:
        return {"from": source_info, "to": target_info, "profile": data["profile"],
                "policy_version": graph.policy.version, "reachable": False, "reason": str(exc),
                "eta_hours": None, "length_km": None, "legs": [], "geometry": None}
    return {
        "from": source_info, "to": target_info, "profile": result.profile,
        "policy_version": result.policy_version, "reachable": True,
        "eta_hours": _hours(result.eta_hours), "length_km": round(result.length_m / 1000, 3),
        "toll_yuan": round(result.toll_yuan, 2), "toll_saved_yuan": round(result.toll_saved_yuan, 2),
        "rules_applied": list(result.rules_applied),
        "legs": [{"edge_id": leg.edge_id, "road_class": leg.road_class, "name": leg.name, "ref": leg.ref,
                  "length_m": leg.length_m, "speed_kmh": leg.speed_kmh, "hours": leg.hours,
                  "queue_hours": leg.queue_hours, "toll_yuan": round(leg.toll_yuan, 2),
                  "toll_saved_yuan": round(leg.toll_saved_yuan, 2), "event_ids": list(leg.event_ids)}
                 for leg in result.legs],
        "geometry": result.to_geojson(),
    }


@blp.route("/matrix", methods=["POST"])
@blp.arguments(MatrixRequest)
@blp.response(200, MatrixResultSchema)
def matrix(data):
    """Travel-time matrix (hours) sources × targets; unreachable pairs are null and listed."""
    db = session()
    graph, _ = service.road_graph(db)
    sources = [service.resolve_location(db, graph, s, f"sources.{i}") for i, s in enumerate(data["sources"])]
    targets = [service.resolve_location(db, graph, t, f"targets.{i}") for i, t in enumerate(data["targets"])]
    hours = graph.leg_hours([s for s, _ in sources], [t for t, _ in targets],
                            profile=data["profile"], depart=_moment(data))
    unreachable = [[int(i), int(j)] for i, j in zip(*np.nonzero(~np.isfinite(hours)), strict=True)]
    return {"profile": data["profile"], "sources": [info for _, info in sources],
            "targets": [info for _, info in targets],
            "hours": [[_hours(v) for v in row] for row in hours], "unreachable": unreachable}


@blp.route("/reachability", methods=["POST"])
@blp.arguments(ReachabilityRequest)
@blp.response(200, ReachabilityResultSchema)
def reachability(data):
    """Which townships the given depots reach within each of H hours, and the population covered."""
    return service.reachability(session(), data["depots"], data["hours"], data["profile"],
                                _moment(data))

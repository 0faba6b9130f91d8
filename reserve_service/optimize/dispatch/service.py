"""Dispatch for dispatchers: incidents and plans in the database, the pure planner in between.

An adapter: it reads stock, reserves and the road network, builds a ``DispatchProblem`` for
``optimize.dispatch`` (the pure planner), stores the plan, and moves the plan through its lifecycle
(draft → approved → dispatched → delivered, or cancelled), booking stock in the ledger.

Supply sources, one per holder and mode:
``<depot>:government`` and ``<depot>:enterprise_held`` (unexpired lots, FEFO; lead times from
``config.DEFAULT_MODE_LEAD_HOURS``, as in the availability view), ``AG:<code>`` agreement reserves (committed quantity after the activation
lead time), ``CP:<code>`` capacity reserves (units/day after the lead time), ``MA:<city>``
mutual aid from a neighbouring city given in the request (lead time + the drive to the
network's edge at 60 km/h over 1.3 × the straight-line distance, an assumption).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reserve_service.auth import Principal
from reserve_service.config import DEFAULT_MODE_LEAD_HOURS, HOUSEHOLD_SIZE
from reserve_service.errors import Conflict, InvalidInput
from reserve_service.inventory import services
from reserve_service.inventory.tables import (
    AgreementReserve,
    CapacityReserve,
    Depot,
    Item,
    Region,
    StockLot,
)
from reserve_service.jobs import JobCancelled, JobContext, job_kind
from reserve_service.optimize import dispatch as dp
from reserve_service.optimize.dispatch.storage import StoredPlanError, dump_plan, load_plan
from reserve_service.optimize.solvers import SolverParams
from reserve_service.optimize.tables import DispatchPlanRow, Incident, PlanVehicle
from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.service import road_graph

T = TypeVar("T")
HEARTBEAT_S = 1.0  # the job's progress is written and its cancel flag read this often
DEFAULT_MODES = ("government", "enterprise_held", "agreement", "capacity", "mutual_aid")
OUTSIDE_SPEED_KMH, ROAD_FACTOR = 60.0, 1.3
PROFILES = ("relief_truck", "public_truck")


# --------------------------------------------------------------------------------------------
# Incident requests
# --------------------------------------------------------------------------------------------


def check_incident(session: Session, request: dict[str, Any]) -> None:
    """Every referenced region, item and depot exists; 422 naming the field otherwise."""
    adcodes = {r["region"] for r in request["regions"]}
    known = set(session.scalars(select(Region.adcode).where(Region.adcode.in_(adcodes))))
    for index, region in enumerate(request["regions"]):
        if region["region"] not in known:
            raise InvalidInput.field(f"regions.{index}.region", f"unknown region {region['region']!r}")
    items = set(session.scalars(select(Item.code)))
    for index, region in enumerate(request["regions"]):
        for code in region.get("needs") or {}:
            if code not in items:
                raise InvalidInput.field(f"regions.{index}.needs", f"unknown item {code!r}")
    for code in request.get("item_priority") or {}:
        if code not in items:
            raise InvalidInput.field("item_priority", f"unknown item {code!r}")
    depots = set(session.scalars(select(Depot.code)))
    for name in ("depots", "exclude_depots"):
        unknown = sorted(set(request.get(name) or []) - depots)
        if unknown:
            raise InvalidInput.field(name, f"unknown depots {unknown}")
    for index, vehicle in enumerate(request.get("fleet") or []):
        if vehicle.get("depot") and vehicle["depot"] not in depots:
            raise InvalidInput.field(f"fleet.{index}.depot", f"unknown depot {vehicle['depot']!r}")
    for index, aid in enumerate(request.get("mutual_aid") or []):
        for code in aid["quantities"]:
            if code not in items:
                raise InvalidInput.field(f"mutual_aid.{index}.quantities", f"unknown item {code!r}")
    ids = [v["id"] for v in request.get("fleet") or []]
    if len(ids) != len(set(ids)):
        raise InvalidInput.field("fleet", "vehicle ids must be unique")


def default_fleet(session: Session) -> list[dict[str, Any]]:
    """Preset fleet (assumptions): 2 own relief trucks (8 t, 40 m³) at each operating
    government city/county depot, 4 mobilised trucks of logistics enterprises (社会运力: 15 t,
    60 m³, available after 2 h, green-channel approved) at each enterprise store."""
    fleet = []
    for depot in session.scalars(select(Depot).where(Depot.status == "operating").order_by(Depot.code)):
        if depot.operator == "government" and depot.tier in ("city", "county"):
            fleet += [{"id": f"{depot.code}-T{k}", "depot": depot.code, "weight_capacity_kg": 8000,
                       "volume_capacity_m3": 40, "available_from_h": 0.0, "green_channel": True}
                      for k in (1, 2)]
        elif depot.operator == "enterprise":
            fleet += [{"id": f"{depot.code}-M{k}", "depot": depot.code, "weight_capacity_kg": 15000,
                       "volume_capacity_m3": 60, "available_from_h": 2.0, "green_channel": True}
                      for k in (1, 2, 3, 4)]
    return fleet


# --------------------------------------------------------------------------------------------
# Building the problem
# --------------------------------------------------------------------------------------------


class NodeBook:
    """Road nodes the problem uses, as strings, with their names for the answer."""

    def __init__(self, graph: RoadGraph) -> None:
        self.graph = graph
        self.nodes: dict[str, Any] = {}
        self.names: dict[str, str] = {}

    def at(self, lat: float, lng: float, max_snap_m: float | None = None) -> tuple[str, float]:
        snapped = self.graph.snap(lat, lng, max_snap_m=max_snap_m)
        key = str(snapped.node)
        self.nodes[key] = snapped.node
        return key, snapped.distance_m

    def travel(self) -> dp.TravelTimes:
        keys = tuple(self.nodes)
        ids = [self.nodes[k] for k in keys]
        hours = {p: self.graph.travel_time_matrix(ids, ids, profile=p) for p in PROFILES}
        return dp.TravelTimes(nodes=keys, hours=hours)


def incident_start(incident: Incident) -> dt.datetime:
    """The incident's start as an aware datetime (as the dispatcher gave it)."""
    return dt.datetime.fromisoformat(incident.request["start_at"])


def build_problem(session: Session, incident: Incident, graph: RoadGraph, now_h: float = 0.0
                  ) -> tuple[dp.DispatchProblem, dp.DispatchParams, dict[str, str]]:
    """The pure problem for an incident, from today's stock, reserves, fleet and roads."""
    request = incident.request
    book = NodeBook(graph)
    names: dict[str, str] = {}
    on = incident_start(incident).date()
    items = list(session.scalars(select(Item).order_by(Item.code)))
    dp_items = []
    for item in items:
        basis = {"per_person": ("person", False), "per_household": ("household", False),
                 "per_person_day": ("person", True)}.get(item.norm_basis)
        dp_items.append(dp.Item(id=item.code, weight_kg=item.kg_per_unit, volume_m3=item.m3_per_unit,
                                norm_quantity=item.norm_quantity if basis else 0.0,
                                norm_basis=basis[0] if basis else "person",
                                norm_per_day=basis[1] if basis else False, name=item.name_zh))
        names[item.code] = item.name_zh
    regions = []
    for spec in request["regions"]:
        region = services.get_region(session, spec["region"])
        node, _ = book.at(region.lat, region.lng)
        names[region.adcode] = region.name
        regions.append(dp.AffectedRegion(
            id=region.adcode, node=node, relocated_people=spec.get("relocated_people", 0),
            households=spec.get("households"), needs=spec.get("needs") or {},
            priority=spec.get("priority", 1.0)))
    modes = set(request.get("modes") or DEFAULT_MODES)
    wanted = set(request.get("depots") or [])
    excluded = set(request.get("exclude_depots") or [])
    sources: list[dp.SupplySource] = []
    lots_by_source: dict[tuple[str, str], list[StockLot]] = defaultdict(list)
    for lot in session.scalars(
        select(StockLot).join(Depot, Depot.id == StockLot.depot_id)
        .where(StockLot.quantity > 0, Depot.status == "operating")
        .order_by(StockLot.expires_on, StockLot.id)
    ):
        if lot.mode in modes and (not wanted or lot.depot.code in wanted) and lot.depot.code not in excluded:
            if lot.expires_on is None or lot.expires_on >= on:
                lots_by_source[(lot.depot.code, lot.mode)].append(lot)
    depots = {d.code: d for d in session.scalars(select(Depot))}
    for (code, mode), lots in sorted(lots_by_source.items()):
        depot = depots[code]
        node, _ = book.at(depot.lat, depot.lng)
        source_id = f"{code}:{mode}"
        names[source_id] = depot.name
        sources.append(dp.SupplySource(
            id=source_id, node=node, mode=mode, lead_time_h=DEFAULT_MODE_LEAD_HOURS.get(mode, 0.0), name=depot.name,
            lots=tuple(dp.StockLot(lot_no=lot.lot_no, item_id=lot.item.code, quantity=lot.quantity,
                                   expiry=lot.expires_on) for lot in lots)))
    if "agreement" in modes:
        for agreement in session.scalars(select(AgreementReserve).where(
                AgreementReserve.valid_from <= on, AgreementReserve.valid_to >= on).order_by(AgreementReserve.code)):
            if agreement.lat is None:
                continue
            node, _ = book.at(agreement.lat, agreement.lng)
            names[f"AG:{agreement.code}"] = agreement.supplier
            sources.append(dp.SupplySource(
                id=f"AG:{agreement.code}", node=node, mode="agreement", name=agreement.supplier,
                quantities={agreement.item.code: agreement.committed_quantity},
                lead_time_h=agreement.activation_lead_hours))
    if "capacity" in modes:
        for capacity in session.scalars(select(CapacityReserve).where(
                (CapacityReserve.valid_to.is_(None)) | (CapacityReserve.valid_to >= on)).order_by(CapacityReserve.code)):
            if capacity.lat is None:
                continue
            node, _ = book.at(capacity.lat, capacity.lng)
            names[f"CP:{capacity.code}"] = capacity.producer
            sources.append(dp.SupplySource(
                id=f"CP:{capacity.code}", node=node, mode="capacity", name=capacity.producer,
                quantities={capacity.item.code: capacity.units_per_day}, lead_time_h=capacity.lead_hours))
    if "mutual_aid" in modes:
        for aid in request.get("mutual_aid") or []:
            node, distance_m = book.at(aid["lat"], aid["lng"], max_snap_m=math.inf)
            outside_h = distance_m / 1000 * ROAD_FACTOR / OUTSIDE_SPEED_KMH
            names[f"MA:{aid['city']}"] = aid["city"]
            sources.append(dp.SupplySource(
                id=f"MA:{aid['city']}", node=node, mode="mutual_aid", name=aid["city"],
                quantities=aid["quantities"], lead_time_h=aid.get("lead_hours", 6.0) + outside_h))
    fleet = []
    for vehicle in request.get("fleet") if request.get("fleet") is not None else default_fleet(session):
        if vehicle.get("depot"):
            depot = depots[vehicle["depot"]]
            node, _ = book.at(depot.lat, depot.lng)
        else:
            node, _ = book.at(vehicle["lat"], vehicle["lng"])
        fleet.append(dp.Vehicle(
            id=vehicle["id"], start_node=node, weight_capacity_kg=vehicle["weight_capacity_kg"],
            volume_capacity_m3=vehicle["volume_capacity_m3"],
            available_from_h=vehicle.get("available_from_h", 0.0), green_channel=vehicle.get("green_channel", True)))
    problem = dp.DispatchProblem(
        incident=dp.Incident(start=incident_start(incident), regions=tuple(regions),
                             relief_days=request.get("relief_days", 1.0),
                             persons_per_household=HOUSEHOLD_SIZE,
                             item_priority=request.get("item_priority") or {}),
        items=tuple(dp_items), sources=tuple(sources), fleet=tuple(fleet), travel=book.travel(), now_h=now_h)
    params = dp.DispatchParams(
        deadline_h=request.get("deadline_h", 10.0),
        routing_time_limit_s=request.get("routing_time_limit_s", 10.0),
        solver=SolverParams(solver=request.get("solver", "auto"), time_limit=request.get("time_limit", 30.0)))
    names.update({f"node:{k}": k for k in book.nodes})
    return problem, params, names


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _clock(start: dt.datetime, hours: float | None) -> str | None:
    if hours is None or not math.isfinite(hours):
        return None
    return (start + dt.timedelta(hours=hours)).isoformat()


def node_lookup(graph: RoadGraph) -> dict[str, Any]:
    """Graph node ids by their string form (the planner's node keys)."""
    return {str(node): node for node in graph.node_ids}


def _vehicle_geometry(graph: RoadGraph, nodes: dict[str, Any], start: str, stops: list[dp.Stop]
                      ) -> dict[str, Any] | None:
    """The vehicle's road path through its stops as one GeoJSON LineString."""
    coords: list[list[float]] = []
    previous = start
    for stop in stops[:200]:
        if stop.node != previous:
            try:
                leg = graph.route(nodes[previous], nodes[stop.node])
            except (LookupError, ValueError):
                return None
            coords += [list(c) for c in leg.geometry["coordinates"]][1 if coords else 0:]
        previous = stop.node
    return {"type": "LineString", "coordinates": coords} if len(coords) >= 2 else None


def render(plan: dp.DispatchPlan, start: dt.datetime, names: dict[str, str], graph: RoadGraph,
           statuses: dict[str, str] | None = None) -> dict[str, Any]:
    """The plan as the dispatcher reads it (JSON)."""
    s = plan.summary
    nodes = node_lookup(graph)
    vehicles = []
    for vp in plan.vehicles:
        if not vp.used:
            continue
        vehicles.append({
            "vehicle_id": vp.vehicle_id, "profile": vp.profile, "status": (statuses or {}).get(vp.vehicle_id, "draft"),
            "dispatched": vp.dispatched, "trips": vp.trips,
            "peak_load_kg": round(vp.peak_load_kg, 1), "peak_load_m3": round(vp.peak_load_m3, 3),
            "total_load_kg": round(vp.total_load_kg, 1), "total_load_m3": round(vp.total_load_m3, 3),
            "stops": [{"kind": st.kind, "place": st.place_id, "place_name": names.get(st.place_id, st.place_id),
                       "eta_h": round(st.eta_h, 3), "eta": _clock(start, st.eta_h),
                       "departure_h": round(st.departure_h, 3), "load_kg": round(st.load_kg, 1),
                       "order": st.order_id} for st in vp.stops],
            "manifest": [{"item": m.item_id, "item_name": names.get(m.item_id, ""), "quantity": m.quantity,
                          "lot_no": m.lot_no, "expiry": m.expiry.isoformat() if m.expiry else None,
                          "source": m.source_id, "source_mode": m.source_mode, "region": m.region_id,
                          "order": m.order_id} for m in vp.manifest],
            "geometry": _vehicle_geometry(graph, nodes, vp.start_node, vp.stops),
        })
    regions = [{
        "region": rp.region_id, "name": names.get(rp.region_id, ""), "relocated_people": rp.relocated_people,
        "need": rp.need, "delivered": rp.delivered, "on_time": rp.on_time,
        "eta_h": {k: round(v, 3) for k, v in rp.eta_h.items()},
        "eta": {k: _clock(start, v) for k, v in rp.eta_h.items()},
        "fill_rate_by_deadline": round(rp.fill_rate_by_deadline, 4),
        "fully_served_by_deadline": rp.fully_served_by_deadline,
        "shortfalls": [{"item": sf.item_id, "item_name": names.get(sf.item_id, ""), "quantity": sf.quantity,
                        "reason": sf.reason, "detail": sf.detail} for sf in rp.shortfalls],
    } for rp in plan.regions]
    return {
        "generation": plan.generation, "deadline_h": plan.params.deadline_h, "start_at": start.isoformat(),
        "summary": {"share_people_fully_served": round(s.share_people_fully_served, 4),
                    "people_fully_served": s.people_fully_served, "people_total": s.people_total,
                    "latest_arrival_h": None if s.latest_arrival_h is None else round(s.latest_arrival_h, 3),
                    "latest_arrival": _clock(start, s.latest_arrival_h), "vehicles_used": s.vehicles_used,
                    "mean_arrival_h": None if s.mean_arrival_h is None else round(s.mean_arrival_h, 3),
                    "bound_people_served": s.bound_people_served,
                    "bound_share_people_served": None if s.bound_share_people_served is None
                    else round(s.bound_share_people_served, 4),
                    "gap": None if s.gap is None else round(s.gap, 4),
                    "solve_seconds": round(s.solve_seconds, 2), "allocation_status": s.allocation_status,
                    "routing_status": s.routing_status, "text": plan.summary_text()},
        "vehicles": vehicles, "regions": regions, "unrouted_orders": plan.unrouted_orders,
    }


def stored_plan(row: DispatchPlanRow) -> tuple[dp.DispatchPlan, dict[str, str]]:
    """The pure plan and display names stored with a plan row (JSON); 409 for a row stored in
    an older format (plan the incident again)."""
    try:
        return load_plan(row.state)
    except StoredPlanError as exc:
        raise Conflict(f"plan {row.id} was stored by an older version: {exc}; plan the incident again",
                       {"plan": ["stored in an older format"]}) from exc


def save_plan(session: Session, incident: Incident, plan: dp.DispatchPlan, names: dict[str, str],
              graph: RoadGraph, created_by: str, parent: DispatchPlanRow | None = None) -> DispatchPlanRow:
    statuses = {vp.vehicle_id: ("dispatched" if vp.dispatched else "draft") for vp in plan.vehicles if vp.used}
    row = DispatchPlanRow(id=str(uuid.uuid4()), incident_id=incident.id, generation=plan.generation,
                          parent_id=parent.id if parent else None, status="draft", created_by=created_by,
                          plan=render(plan, incident_start(incident), names, graph, statuses),
                          state=dump_plan(plan, names))
    session.add(row)
    for vehicle_id, status in statuses.items():
        session.add(PlanVehicle(plan_id=row.id, vehicle_id=vehicle_id, status=status))
    return row


class LatestReport:
    """A :class:`~reserve_service.optimize.monitor.SolveMonitor` that keeps the solver's latest
    report in memory and answers ``should_stop`` from a flag; the job thread reads and sets them
    (the solver thread never touches the database)."""

    def __init__(self) -> None:
        self.stage, self.fraction, self.figures = "starting", 0.0, {}
        self.stop = threading.Event()

    def report(self, stage: str, fraction: float | None = None, **figures: Any) -> None:
        self.stage, self.figures = stage, dict(figures)
        if fraction is not None:
            self.fraction = fraction

    def should_stop(self) -> bool:
        return self.stop.is_set()

    def message(self, elapsed_s: float) -> str:
        parts = [self.stage, f"{elapsed_s:.0f} s"]
        for key, label in (("served_share", "served"), ("bound", "bound")):
            value = self.figures.get(key)
            if isinstance(value, float) and math.isfinite(value):
                parts.append(f"{label} {100 * value:.1f} %")
        return " · ".join(parts)


def solve_watched(context: JobContext, solve: Callable[[LatestReport], T], start: float = 0.2,
                  end: float = 0.9) -> T:
    """Run ``solve(monitor)`` on a thread; every ``HEARTBEAT_S`` write its latest stage, the
    elapsed time, the served share and the bound to the job (progress between ``start`` and
    ``end``) and look at the cancel flag.  On cancel the solver is told to stop and the job
    ends at once (the solver thread finishes its current step in the background)."""
    monitor = LatestReport()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = solve(monitor)
        except BaseException as exc:  # handed to the job thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"solve-{context.job_id}", daemon=True)
    started = time.perf_counter()
    thread.start()
    while True:
        thread.join(HEARTBEAT_S)
        if not thread.is_alive():
            break
        context.progress(start + (end - start) * min(1.0, monitor.fraction),
                         monitor.message(time.perf_counter() - started))
        if context.cancel_requested():
            monitor.stop.set()
            raise JobCancelled()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@job_kind("dispatch")
def run_dispatch(params: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """Job: plan an incident (or re-plan a plan after road events).

    Inputs are read with a reader session, the plan is solved holding no lock, and the result
    is stored (with the parent superseded, for a re-plan) in one short write transaction.
    """
    context.progress(0.05, "stock, reserves, fleet and travel times")
    changed = None
    with context.reader() as session:
        incident = session.get(Incident, params["incident_id"])
        graph, _ = road_graph(session)
        if params.get("parent_plan_id"):
            old_plan, names = stored_plan(session.get(DispatchPlanRow, params["parent_plan_id"]))
            dispatched = set(session.scalars(select(PlanVehicle.vehicle_id).where(
                PlanVehicle.plan_id == params["parent_plan_id"], PlanVehicle.status == "dispatched")))
        else:
            problem, dparams, names = build_problem(session, incident, graph)
    context.check_cancelled()
    if params.get("parent_plan_id"):
        context.progress(0.2, "re-planning with the roads as they are now")
        book = NodeBook(graph)
        nodes = node_lookup(graph)
        for key in old_plan.problem.travel.nodes:
            book.nodes[key] = nodes[key]
        travel = book.travel()
        positions = vehicle_positions(old_plan, params["now_h"], dispatched)
        result = solve_watched(context, lambda monitor: dp.replan(old_plan, travel, positions,
                                                                  now_h=params["now_h"]))
        plan = result.plan
        changed = [{"region": c.region_id, "region_name": names.get(c.region_id, ""), "item": c.item_id,
                    "vehicle": c.vehicle_id, "old_eta_h": c.old_eta_h, "new_eta_h": c.new_eta_h,
                    "old_on_time": c.old_on_time, "new_on_time": c.new_on_time} for c in result.changed_etas]
    else:
        context.progress(0.2, f"planning {len(problem.incident.regions)} regions, "
                         f"{len(problem.sources)} sources, {len(problem.fleet)} vehicles")
        plan = solve_watched(context, lambda monitor: dp.plan_dispatch(problem, dparams, monitor))
    context.check_cancelled()
    context.progress(0.9, "storing the plan")
    with context.writer() as session:
        parent = session.get(DispatchPlanRow, params["parent_plan_id"]) if params.get("parent_plan_id") else None
        row = save_plan(session, incident, plan, names, graph, params.get("created_by", ""), parent)
        if changed is not None:
            row.plan = {**row.plan, "changed_etas": changed}
        if parent is not None:
            supersede(session, parent, params.get("created_by", ""))
        session.commit()
        return {"plan_id": row.id, "generation": row.generation, "summary": row.plan["summary"],
                "changed_etas": changed}


def vehicle_positions(plan: dp.DispatchPlan, now_h: float, dispatched: set[str]
                      ) -> dict[str, dp.VehiclePosition]:
    """Where the vehicles the dispatcher marked as dispatched should be at ``now_h``.

    The plan's expected position when it has them on the road; one marked dispatched that the
    plan had not yet started is at its start node now.
    """
    expected = dp.expected_positions(plan, now_h)
    positions = {}
    for vp in plan.vehicles:
        if vp.vehicle_id in dispatched and vp.stops:
            positions[vp.vehicle_id] = expected.get(vp.vehicle_id) or dp.VehiclePosition(vp.start_node, now_h, 0)
    return positions


# --------------------------------------------------------------------------------------------
# Lifecycle: approve (issue stock), dispatch, deliver, cancel (return stock), supersede
# --------------------------------------------------------------------------------------------


def _stock_lines(row: DispatchPlanRow, vehicle_ids: set[str]) -> list[dict[str, Any]]:
    """What each vehicle loads from depot stock, one line per vehicle × lot (ledger granularity)."""
    lines: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    for vehicle in row.plan["vehicles"]:
        if vehicle["vehicle_id"] not in vehicle_ids:
            continue
        for line in vehicle["manifest"]:
            if line["source_mode"] not in ("government", "enterprise_held"):
                continue
            depot = line["source"].rsplit(":", 1)[0]
            key = (vehicle["vehicle_id"], depot, line["item"], line["lot_no"], line["source_mode"])
            entry = lines.setdefault(key, {"vehicle_id": key[0], "depot": depot, "item": key[2],
                                           "lot_no": key[3], "source_mode": key[4], "quantity": 0,
                                           "regions": []})
            entry["quantity"] += line["quantity"]
            if line["region"] not in entry["regions"]:
                entry["regions"].append(line["region"])
    return list(lines.values())


def _lot(session: Session, line: dict[str, Any]) -> StockLot | None:
    return session.scalar(
        select(StockLot).join(Depot, Depot.id == StockLot.depot_id).join(Item, Item.id == StockLot.item_id)
        .where(Depot.code == line["depot"], Item.code == line["item"], StockLot.lot_no == line["lot_no"],
               StockLot.mode == line["source_mode"]))


def approve(session: Session, principal: Principal, row: DispatchPlanRow) -> dict[str, Any]:
    """Issue every loaded lot of the plan's not-yet-dispatched vehicles in one transaction.

    Idempotent: approving an approved plan books nothing. If stock changed so that the plan no
    longer fits, nothing is booked and the 409 lists each lot: planned, available.
    """
    if row.status in ("approved", "dispatched", "delivered"):
        return {"status": row.status, "already": True, "movements": 0}
    if row.status != "draft":
        raise Conflict(f"plan is {row.status}", {"status": [f"cannot approve a {row.status} plan"]})
    vehicles = {v.vehicle_id: v for v in session.scalars(select(PlanVehicle).where(PlanVehicle.plan_id == row.id))}
    to_issue = {vid for vid, v in vehicles.items() if v.status == "draft"}
    lines = _stock_lines(row, to_issue)
    wanted: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for line in lines:
        wanted[(line["depot"], line["item"], line["lot_no"], line["source_mode"])] += line["quantity"]
    changed = []
    lots = {}
    for key, quantity in wanted.items():
        lot = _lot(session, {"depot": key[0], "item": key[1], "lot_no": key[2], "source_mode": key[3]})
        lots[key] = lot
        available = lot.quantity if lot else 0
        if available < quantity:
            changed.append({"depot": key[0], "item": key[1], "lot_no": key[2], "planned": quantity,
                            "available": available})
    if changed:
        raise Conflict(f"stock changed since the plan was made: {len(changed)} lots no longer hold what "
                       "the plan loads; re-plan", {"plan": ["stock changed"]}, changed=changed)
    claimed = session.execute(update(DispatchPlanRow).where(DispatchPlanRow.id == row.id,
                                                            DispatchPlanRow.status == "draft")
                              .values(status="approved", version=DispatchPlanRow.version + 1,
                                      approved_by=principal.name, approved_at=dt.datetime.now(dt.UTC)))
    if claimed.rowcount != 1:
        session.rollback()
        return {"status": "approved", "already": True, "movements": 0}
    movements = 0
    for vehicle_id in sorted(to_issue):
        group = services.new_group()
        for line in (entry for entry in lines if entry["vehicle_id"] == vehicle_id):
            key = (line["depot"], line["item"], line["lot_no"], line["source_mode"])
            services.book(session, lots[key], -line["quantity"], "issue", principal, group,
                          f"dispatch to {', '.join(line['regions'])}", f"plan:{row.id}:{vehicle_id}")
            movements += 1
        vehicles[vehicle_id].status = "approved"
        vehicles[vehicle_id].issue_group_id = group
    session.commit()
    return {"status": "approved", "already": False, "movements": movements}


def return_stock(session: Session, principal: Principal, row: DispatchPlanRow, vehicle: PlanVehicle,
                 reason: str) -> int:
    """Book the issued lots of one approved vehicle back into their lots."""
    count = 0
    group = services.new_group()
    for line in _stock_lines(row, {vehicle.vehicle_id}):
        lot = _lot(session, line)
        services.book(session, lot, line["quantity"], "return", principal, group, reason,
                      f"plan:{row.id}:{vehicle.vehicle_id}")
        count += 1
    return count


def cancel(session: Session, principal: Principal, row: DispatchPlanRow) -> dict[str, Any]:
    """Cancel a plan: approved vehicles' stock goes back; refused while vehicles are on the road."""
    if row.status in ("cancelled", "superseded", "delivered"):
        raise Conflict(f"plan is {row.status}", {"status": [f"cannot cancel a {row.status} plan"]})
    vehicles = list(session.scalars(select(PlanVehicle).where(PlanVehicle.plan_id == row.id)))
    moving = sorted(v.vehicle_id for v in vehicles if v.status in ("dispatched", "delivered"))
    if moving:
        raise Conflict(f"vehicles {moving} have left; confirm their delivery first",
                       {"status": ["vehicles on the road"]}, vehicles=moving)
    returned = 0
    for vehicle in vehicles:
        if vehicle.status == "approved":
            returned += return_stock(session, principal, row, vehicle, "dispatch plan cancelled")
        vehicle.status = "cancelled"
    row.status = "cancelled"
    session.commit()
    return {"status": "cancelled", "returned_lines": returned}


def supersede(session: Session, parent: DispatchPlanRow, actor: str) -> None:
    """A re-plan replaces its parent: stock of approved vehicles not yet gone returns (the new
    plan issues it again when approved); dispatched vehicles carry on in the new plan."""
    principal = Principal(0, actor or "replan", "dispatcher")
    for vehicle in session.scalars(select(PlanVehicle).where(PlanVehicle.plan_id == parent.id)):
        if vehicle.status == "approved":
            return_stock(session, principal, parent, vehicle, "re-planned")
            vehicle.status = "cancelled"
        elif vehicle.status == "draft":
            vehicle.status = "cancelled"
    parent.status = "superseded"


def mark_vehicle(session: Session, row: DispatchPlanRow, vehicle_id: str, action: str,
                 delivered: list[dict[str, Any]] | None = None) -> PlanVehicle:
    """dispatch: approved → dispatched; deliver: dispatched → delivered (recording what arrived)."""
    vehicle = session.scalar(select(PlanVehicle).where(PlanVehicle.plan_id == row.id,
                                                       PlanVehicle.vehicle_id == vehicle_id))
    if vehicle is None:
        raise InvalidInput.field("vehicle_id", f"vehicle {vehicle_id!r} is not in this plan")
    before = {"dispatch": "approved", "deliver": "dispatched"}[action]
    if vehicle.status != before:
        raise Conflict(f"vehicle {vehicle_id} is {vehicle.status}", {"status": [f"must be {before} to {action}"]})
    now = dt.datetime.now(dt.UTC)
    if action == "dispatch":
        vehicle.status, vehicle.dispatched_at = "dispatched", now
        if row.status == "approved":
            row.status = "dispatched"
    else:
        planned = [m for v in row.plan["vehicles"] if v["vehicle_id"] == vehicle_id for m in v["manifest"]]
        vehicle.status, vehicle.delivered_at = "delivered", now
        vehicle.delivered = delivered if delivered is not None else [
            {"region": m["region"], "item": m["item"], "quantity": m["quantity"]} for m in planned]
        statuses = set(session.scalars(select(PlanVehicle.status).where(PlanVehicle.plan_id == row.id,
                                                                        PlanVehicle.id != vehicle.id)))
        if statuses <= {"delivered", "cancelled"}:
            row.status = "delivered"
    session.commit()
    return vehicle


def replan_start_hours(incident: Incident, now: dt.datetime | None = None) -> float:
    """Hours since the incident started (the re-plan's ``now_h``)."""
    moment = now or dt.datetime.now(dt.UTC)
    return max(0.0, (moment - incident_start(incident)).total_seconds() / 3600)


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
from dataclasses import replace
from typing import Any, Literal, TypeVar, cast

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from reserve_service.config import DEFAULT_MODE_LEAD_HOURS, HOUSEHOLD_SIZE, RELIEF_DAYS
from reserve_service.errors import Conflict, InvalidInput
from reserve_service.inventory import services
from reserve_service.inventory.supply import UsableSupply, lot_usable, usable_supply
from reserve_service.inventory.tables import (
    Depot,
    Item,
    Region,
    StockLot,
)
from reserve_service.jobs import JobCancelled, JobContext
from reserve_service.optimize import dispatch as dp
from reserve_service.optimize.dispatch import lifecycle
from reserve_service.optimize.dispatch.lifecycle import supersede
from reserve_service.optimize.dispatch.storage import StoredPlanError, dump_plan, load_plan
from reserve_service.optimize.solvers import SolverParams
from reserve_service.optimize.tables import DispatchPlanRow, Incident, PlanVehicle
from reserve_service.routing.errors import RoutingInputError
from reserve_service.routing.graph import RoadGraph, Route
from reserve_service.routing.service import road_graph
from reserve_service.routing.tables import RoadNetwork

T = TypeVar("T")
HEARTBEAT_S = 1.0  # the job's progress is written and its cancel flag read this often
DEFAULT_MODES = ("government", "enterprise_held", "agreement", "capacity", "mutual_aid")
OUTSIDE_SPEED_KMH, ROAD_FACTOR = 60.0, 1.3
PROFILES = ("relief_truck", "public_truck")
MAX_ROAD_EPOCHS = 24  # road-event changes within the horizon given their own travel times


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
    check_vehicles_on_roads(session, request)


def check_vehicles_on_roads(session: Session, request: dict[str, Any]) -> None:
    """Every affected region has coordinates, and those and each vehicle placed by lat/lng lie
    within the snapping limit of a road (422 naming the field), so the plan job never fails on
    them; the road check waits until a network is loaded."""
    regions = {r.adcode: r for r in session.scalars(
        select(Region).where(Region.adcode.in_([spec["region"] for spec in request["regions"]])))}
    for index, spec in enumerate(request["regions"]):
        if regions[spec["region"]].lat is None or regions[spec["region"]].lng is None:
            raise InvalidInput.field(f"regions.{index}.region", f"region {spec['region']} has no coordinates")
    if session.scalar(select(RoadNetwork.id).where(RoadNetwork.active.is_(True)).limit(1)) is None:
        return
    graph, _ = road_graph(session)
    places = [(f"regions.{i}.region", (regions[spec["region"]].lat, regions[spec["region"]].lng))
              for i, spec in enumerate(request["regions"])]
    places += [(f"fleet.{i}.lat", (v["lat"], v["lng"]))
               for i, v in enumerate(request.get("fleet") or []) if not v.get("depot")]
    for field, (lat, lng) in places:
        try:
            graph.snap(cast(float, lat), cast(float, lng))
        except RoutingInputError as exc:
            errors = {field: [str(exc)]}
            if field.endswith(".lat"):
                errors[field[:-4] + ".lng"] = [str(exc)]
            raise InvalidInput(f"{field}: {exc}", errors) from exc


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

    def __init__(self, graph: RoadGraph, keep: tuple[str, ...] = ()) -> None:
        self.graph = graph
        self.nodes: dict[str, Any] = {}
        self.names: dict[str, str] = {}
        lookup = node_lookup(graph) if keep else {}
        for key in keep:
            self.nodes[key] = lookup[key]

    def at(self, lat: float, lng: float, max_snap_m: float | None = None) -> tuple[str, float]:
        snapped = self.graph.snap(lat, lng, max_snap_m=max_snap_m)
        key = str(snapped.node)
        self.nodes[key] = snapped.node
        return key, snapped.distance_m

    def travel(self, start: dt.datetime, now_h: float, horizon_h: float = 48.0) -> dp.TravelTimes:
        """Travel times with the roads as they will be: leg hours for trucks leaving at ``now_h``
        (hours since ``start``) and at every later moment within the horizon when a road event
        begins or ends, each meeting the events in force while it drives (not every stored
        event whatever its window)."""
        keys = tuple(self.nodes)
        ids = [self.nodes[k] for k in keys]
        moment = start + dt.timedelta(hours=now_h)
        end = moment + dt.timedelta(hours=horizon_h)
        changes = sorted({t for e in self.graph.events for t in (e.starts_at, e.ends_at)
                          if t is not None and moment < t < end})[:MAX_ROAD_EPOCHS]
        epochs = tuple(
            (now_h + (t - moment).total_seconds() / 3600,
             {p: self.graph.leg_hours(ids, ids, profile=p, depart=t) for p in PROFILES})
            for t in [moment, *changes])
        if len(epochs) == 1:
            return dp.TravelTimes(nodes=keys, hours=epochs[0][1])
        hours = {p: np.minimum.reduce([m[p] for _, m in epochs]) for p in PROFILES}
        return dp.TravelTimes(nodes=keys, hours=hours, epochs=epochs)


def incident_start(incident: Incident) -> dt.datetime:
    """The incident's start as an aware datetime (as the dispatcher gave it)."""
    return dt.datetime.fromisoformat(incident.request["start_at"])


def _lots_by_source(session: Session, supply: UsableSupply, extra_stock: dict[tuple[str, str, str, str], int],
                    moment: dt.datetime) -> dict[tuple[str, str], list[dp.StockLot]]:
    """The snapshot's lots per (depot, mode), plus ``extra_stock`` a re-plan gets back (also
    for lots at zero in the ledger now, when still good at ``moment``)."""
    lots_by_source: dict[tuple[str, str], list[dp.StockLot]] = defaultdict(list)
    extra = dict(extra_stock)
    for lot in supply.lots:
        back = extra.pop((lot.depot, lot.item, lot.lot_no, lot.mode), 0)
        lots_by_source[(lot.depot, lot.mode)].append(dp.StockLot(
            lot_no=lot.lot_no, item_id=lot.item, quantity=lot.quantity + back, expiry=lot.expires_on))
    for (code, item, lot_no, mode), back in extra.items():  # issued lots now at zero in the ledger
        row = session.scalar(select(StockLot).join(Depot, Depot.id == StockLot.depot_id)
                             .join(Item, Item.id == StockLot.item_id)
                             .where(Depot.code == code, Item.code == item, StockLot.lot_no == lot_no,
                                    StockLot.mode == mode))
        if row is not None and back > 0 and lot_usable(row.expires_on, moment):
            lots_by_source[(code, mode)].append(dp.StockLot(lot_no=lot_no, item_id=item, quantity=back,
                                                            expiry=row.expires_on))
    return lots_by_source


def build_problem(session: Session, incident: Incident, graph: RoadGraph, now_h: float = 0.0,
                  keep_nodes: tuple[str, ...] = (), extra_stock: dict[tuple[str, str, str, str], int] | None = None
                  ) -> tuple[dp.DispatchProblem, dp.DispatchParams, dict[str, str]]:
    """The pure problem for an incident at ``now_h``, from the ledger's stock as it is now
    (:func:`usable_supply` at that moment, plus ``extra_stock`` per (depot, item, lot, mode)
    that a re-plan gets back), reserves, fleet and the roads as trucks leaving then meet them."""
    request = incident.request
    book = NodeBook(graph, keep_nodes)
    names: dict[str, str] = {}
    moment = incident_start(incident) + dt.timedelta(hours=now_h)
    items = list(session.scalars(select(Item).order_by(Item.code)))
    dp_items = []
    for item in items:
        basis = {"per_person": ("person", False), "per_household": ("household", False),
                 "per_person_day": ("person", True)}.get(item.norm_basis)
        dp_items.append(dp.Item(id=item.code, weight_kg=item.kg_per_unit, volume_m3=item.m3_per_unit,
                                norm_quantity=item.norm_quantity if basis else 0.0,
                                norm_basis=cast(Literal["person", "household"], basis[0]) if basis else "person",
                                norm_per_day=basis[1] if basis else False, name=item.name_zh,
                                # dispatch plans the incident's relief period (default RELIEF_DAYS,
                                # one day: the basic relief the 10-hour rule is about); the item's
                                # own norm days size stock in the alerts and pre-positioning
                                norm_days=None))
        names[item.code] = item.name_zh
    regions = []
    for spec in request["regions"]:
        region = services.get_region(session, spec["region"])
        node, _ = book.at(cast(float, region.lat), cast(float, region.lng))
        names[region.adcode] = region.name
        regions.append(dp.AffectedRegion(
            id=region.adcode, node=node, relocated_people=spec.get("relocated_people", 0),
            households=spec.get("households"), needs=spec.get("needs") or {},
            priority=spec.get("priority", 1.0)))
    modes = set(request.get("modes") or DEFAULT_MODES)
    wanted = set(request.get("depots") or [])
    excluded = set(request.get("exclude_depots") or [])
    sources: list[dp.SupplySource] = []
    supply = usable_supply(session, moment, mode_lead_hours=DEFAULT_MODE_LEAD_HOURS, modes=modes,
                           depots=wanted, exclude_depots=excluded)
    lots_by_source = _lots_by_source(session, supply, extra_stock or {}, moment)
    depots = {d.code: d for d in session.scalars(select(Depot))}
    for (code, mode), lots in sorted(lots_by_source.items()):
        depot = depots[code]
        node, _ = book.at(depot.lat, depot.lng)
        source_id = f"{code}:{mode}"
        names[source_id] = depot.name
        sources.append(dp.SupplySource(
            id=source_id, node=node, mode=cast(dp.SourceMode, mode), lead_time_h=DEFAULT_MODE_LEAD_HOURS.get(mode, 0.0), name=depot.name,
            lots=tuple(sorted(lots, key=lambda lt: (lt.expiry is None, lt.expiry or dt.date.max, lt.lot_no)))))
    for agreement in supply.agreements:
        if agreement.lat is None or agreement.lng is None:
            continue
        node, _ = book.at(agreement.lat, agreement.lng)
        names[f"AG:{agreement.code}"] = agreement.supplier
        sources.append(dp.SupplySource(
            id=f"AG:{agreement.code}", node=node, mode="agreement", name=agreement.supplier,
            quantities={agreement.item: agreement.quantity}, lead_time_h=agreement.lead_hours))
    for capacity in supply.capacities:
        if capacity.lat is None or capacity.lng is None:
            continue
        node, _ = book.at(capacity.lat, capacity.lng)
        names[f"CP:{capacity.code}"] = capacity.producer
        sources.append(dp.SupplySource(
            id=f"CP:{capacity.code}", node=node, mode="capacity", name=capacity.producer,
            quantities={capacity.item: capacity.units_per_day}, lead_time_h=capacity.lead_hours))
    if "mutual_aid" in modes:
        for aid in request.get("mutual_aid") or []:
            node, distance_m = book.at(aid["lat"], aid["lng"], max_snap_m=math.inf)
            outside_h = distance_m / 1000 * ROAD_FACTOR / OUTSIDE_SPEED_KMH
            names[f"MA:{aid['city']}"] = aid["city"]
            sources.append(dp.SupplySource(
                id=f"MA:{aid['city']}", node=node, mode="mutual_aid", name=aid["city"],
                quantities=aid["quantities"], lead_time_h=aid.get("lead_hours", 6.0) + outside_h))
    fleet = []
    fleet_spec = request.get("fleet")
    for vehicle in fleet_spec if fleet_spec is not None else default_fleet(session):
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
                             relief_days=request.get("relief_days") or RELIEF_DAYS,
                             persons_per_household=HOUSEHOLD_SIZE,
                             item_priority=request.get("item_priority") or {}),
        items=tuple(dp_items), sources=tuple(sources), fleet=tuple(fleet),
        travel=book.travel(incident_start(incident), now_h), now_h=now_h)
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


def _leg_route(graph: RoadGraph, a: Any, b: Any, profile: str, start: dt.datetime, leave_h: float,
               eta_h: float) -> Route | None:
    """The road a leg takes, leaving when the plan has it leave or, when the plan has it wait
    for a road to reopen, at the road change it waits for; None when no road reaches ``b``."""
    leave = start + dt.timedelta(hours=leave_h)
    arrive = start + dt.timedelta(hours=eta_h)
    waits = sorted({t for e in graph.events for t in (e.starts_at, e.ends_at) if t is not None and leave < t < arrive})
    best = None
    for moment in [leave, *waits]:
        try:
            leg = graph.route(a, b, profile=profile, at=moment, as_driven=True)
        except (LookupError, ValueError):
            continue
        best = best or leg
        if moment + dt.timedelta(hours=leg.eta_hours) <= arrive + dt.timedelta(minutes=3):
            return leg
    return best


def _vehicle_geometry(graph: RoadGraph, nodes: dict[str, Any], vp: dp.VehiclePlan, start: dt.datetime
                      ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The vehicle's road path through its stops as one GeoJSON LineString, drawn with its own
    profile, each leg meeting the roads as they will be when it is driven; and the legs whose
    drive, routed so, is longer than the plan's time, so the dispatcher sees it."""
    coords: list[list[float]] = []
    differs: list[dict[str, Any]] = []
    previous, leave_h = vp.start_node, vp.start_h
    for stop in vp.stops[:200]:
        if stop.node != previous:
            leg = _leg_route(graph, nodes[previous], nodes[stop.node], vp.profile, start, leave_h, stop.eta_h)
            planned = stop.eta_h - leave_h
            if leg is None or leg.eta_hours > planned + 0.05:
                differs.append({"from": previous, "to": stop.node, "departure_h": round(leave_h, 3),
                                "planned_h": round(planned, 3),
                                "as_driven_h": None if leg is None else round(leg.eta_hours, 3)})
            if leg is None:
                return None, differs
            coords += [list(c) for c in leg.geometry["coordinates"]][1 if coords else 0:]
        previous, leave_h = stop.node, stop.departure_h
    return ({"type": "LineString", "coordinates": coords} if len(coords) >= 2 else None), differs


def render(plan: dp.DispatchPlan, start: dt.datetime, names: dict[str, str], graph: RoadGraph,
           statuses: dict[str, str] | None = None) -> dict[str, Any]:
    """The plan as the dispatcher reads it (JSON)."""
    s = plan.summary
    nodes = node_lookup(graph)
    vehicles = []
    for vp in plan.vehicles:
        if not vp.used:
            continue
        geometry, slower_legs = _vehicle_geometry(graph, nodes, vp, start)
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
            "geometry": geometry, "slower_legs": slower_legs,
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
        self.stage, self.fraction = "starting", 0.0
        self.figures: dict[str, Any] = {}
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


def run_dispatch(params: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """Job: plan an incident (or re-plan a plan after road events).

    Inputs are read with a reader session, the plan is solved holding no lock, and the result
    is stored (with the parent superseded, for a re-plan) in one short write transaction.
    """
    context.progress(0.05, "stock, reserves, fleet and travel times")
    changed = None
    with context.reader() as session:
        incident = cast(Incident, session.get(Incident, params["incident_id"]))  # checked when queued
        graph, _ = road_graph(session)
        if params.get("parent_plan_id"):
            old_plan, names, positions, carried = replan_inputs(session, incident, graph, params["parent_plan_id"],
                                                                params["now_h"])
        else:
            problem, dparams, names = build_problem(session, incident, graph)
    context.check_cancelled()
    if params.get("parent_plan_id"):
        context.progress(0.2, "re-planning with the roads as they are now")
        result = solve_watched(context, lambda monitor: dp.replan(old_plan, old_plan.problem.travel, positions,
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
            carry_deliveries(session, parent, row, {vid: p.completed_stops or 0 for vid, p in positions.items()})
            supersede(session, parent, params.get("created_by", ""), carried)
        session.commit()
        return {"plan_id": row.id, "generation": row.generation, "summary": row.plan["summary"],
                "changed_etas": changed}


def vehicle_positions(plan: dp.DispatchPlan, now_h: float, statuses: dict[str, str]
                      ) -> dict[str, dp.VehiclePosition]:
    """Where the vehicles that have left should be at ``now_h``.

    A dispatched vehicle has left with its first trip loaded (the pickups before its first
    delivery, issued at approval): it is where the plan expects it when the plan has it
    further on, else at its last first-trip pickup now. A vehicle whose delivery was confirmed
    has done all its stops and is free from now at its last one.
    """
    expected = dp.expected_positions(plan, now_h)
    positions = {}
    for vp in plan.vehicles:
        status = statuses.get(vp.vehicle_id)
        if status == "dispatched" and vp.stops:
            loaded = next((k for k, stop in enumerate(vp.stops) if stop.kind != "pickup"), len(vp.stops))
            position = expected.get(vp.vehicle_id)
            if position is None or (position.completed_stops or 0) < loaded:
                node = vp.stops[loaded - 1].node if loaded else vp.start_node
                position = dp.VehiclePosition(node, now_h, loaded)
            positions[vp.vehicle_id] = position
        elif status == "delivered" and vp.stops:
            positions[vp.vehicle_id] = dp.VehiclePosition(vp.stops[-1].node, max(now_h, vp.start_h), len(vp.stops))
    return positions


def replan_inputs(session: Session, incident: Incident, graph: RoadGraph, parent_id: str, now_h: float
                  ) -> tuple[dp.DispatchPlan, dict[str, str], dict[str, dp.VehiclePosition], dict[str, set[str]]]:
    """The parent plan with the stock as the ledger holds it now, the names, where the vehicles
    that have left are, and the orders each carries.

    The stock is read again (approvals, dispatches, deliveries and other plans since the
    parent was made all count), plus what superseding the parent gives back; the travel times
    are those of trucks leaving at ``now_h``.
    """
    parent = cast(DispatchPlanRow, session.get(DispatchPlanRow, parent_id))  # checked when queued
    old_plan, names = stored_plan(parent)
    statuses = {v.vehicle_id: v.status
                for v in session.scalars(select(PlanVehicle).where(PlanVehicle.plan_id == parent_id))}
    positions = vehicle_positions(old_plan, now_h, statuses)
    carried = lifecycle.carried_orders(parent, {vid: p.completed_stops or 0 for vid, p in positions.items()})
    fresh, _, fresh_names = build_problem(session, incident, graph, now_h, keep_nodes=old_plan.problem.travel.nodes,
                                          extra_stock=lifecycle.replan_stock(session, parent, carried))
    problem = replace(old_plan.problem, sources=fresh.sources, travel=fresh.travel)
    return replace(old_plan, problem=problem), {**names, **fresh_names}, positions, carried


def carry_deliveries(session: Session, parent: DispatchPlanRow, row: DispatchPlanRow,
                     completed: dict[str, int]) -> None:
    """A vehicle whose delivery was confirmed under the parent keeps that record in the new
    plan: still delivered when the re-plan gives it nothing more, else on the road again."""
    session.flush()
    before = {v.vehicle_id: v for v in session.scalars(select(PlanVehicle).where(PlanVehicle.plan_id == parent.id))}
    for vehicle in session.scalars(select(PlanVehicle).where(PlanVehicle.plan_id == row.id)):
        old = before.get(vehicle.vehicle_id)
        if old is None or old.status != "delivered":
            continue
        vehicle.delivered, vehicle.delivered_at = old.delivered, old.delivered_at
        stops = (lifecycle.vehicle_json(row, vehicle.vehicle_id) or {}).get("stops", [])
        vehicle.status = "delivered" if len(stops) <= completed.get(vehicle.vehicle_id, 0) else "dispatched"


# --------------------------------------------------------------------------------------------
# Lifecycle: approve (issue stock), dispatch, deliver, cancel (return stock), supersede
# --------------------------------------------------------------------------------------------


def replan_start_hours(incident: Incident, now: dt.datetime | None = None) -> float:
    """Hours since the incident started (the re-plan's ``now_h``)."""
    moment = now or dt.datetime.now(dt.UTC)
    return max(0.0, (moment - incident_start(incident)).total_seconds() / 3600)


JOB_HANDLERS = {"dispatch": run_dispatch}

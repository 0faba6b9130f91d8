"""Siting runs for planners: service data in, a pure siting model, an explained result out.

This is an adapter (it reads the database and the router); the model itself is
``optimize.siting``. Inputs:

* **Demand** rows are townships; weight = population × risk weight (``risk_weights`` in the
  request override the regions' stored weights).
* **Sites** are the depots kept open (``keep_open`` codes, or every operating depot of
  ``keep_open_tiers``), plus candidates: depots whose status is in ``candidate_statuses``
  (default candidate and planned), optionally filtered by tier or listed by code, and, with
  ``include_region_sites``, one hypothetical site at each township seat.
* **Travel times** come from the router (green-channel ``profile``, road events in force).
  A site may only serve a township within its tier's coverage standard
  (``coverage_standard_hours``, default city 10 h, county 4 h, township 1 h, community 0.5 h):
  pairs beyond it count as unreachable, so an impossible standard is reported, not ignored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from reserve_service.errors import InvalidInput
from reserve_service.inventory.tables import Depot, Region
from reserve_service.jobs import JobContext
from reserve_service.optimize import siting
from reserve_service.routing.service import road_graph

DEFAULT_STANDARD_HOURS = {"city": 10.0, "county": 4.0, "township": 1.0, "community": 0.5}
COVERAGE_BANDS = (0.5, 1.0, 2.0, 4.0, 10.0)  # the plan asks for 2/4/10 h; shorter bands show more


@dataclass
class Site:
    code: str
    name: str
    tier: str
    status: str
    lat: float
    lng: float
    fixed_cost: float
    capacity_m3: float
    existing: bool

    @classmethod
    def of_depot(cls, depot: Depot) -> Site:
        """A depot as a site; an operating depot costs nothing to keep open (its cost is sunk)."""
        existing = depot.status == "operating"
        return cls(depot.code, depot.name, depot.tier, depot.status, depot.lat, depot.lng,
                   0.0 if existing else float(depot.fixed_cost_yuan or 0.0), depot.capacity_m3, existing)


@dataclass
class SitingInstance:
    towns: list[Region]
    weights: np.ndarray
    sites: list[Site]
    must_open: list[int]
    hours: np.ndarray  # towns × sites, inf = unreachable
    cost: np.ndarray  # hours masked by the tier standards
    today: list[str]  # operating government depots of the tiers in play: today's network
    today_hours: np.ndarray  # towns × today


def _sites(session: Session, request: dict[str, Any]) -> tuple[list[Site], list[int]]:
    keep_codes = set(request.get("keep_open") or [])
    keep_tiers = set(request.get("keep_open_tiers") or [])
    exclude = set(request.get("exclude") or [])
    depots = {d.code: d for d in session.scalars(select(Depot))}
    unknown = sorted(
        (keep_codes | exclude | set(request.get("candidate_codes") or [])) - depots.keys()
    )
    if unknown:
        raise InvalidInput.field("keep_open", f"unknown depot codes {unknown}")
    statuses = set(request.get("candidate_statuses") or ["candidate", "planned"])
    tiers = set(request.get("candidate_tiers") or [])
    listed = set(request.get("candidate_codes") or [])
    kept = [
        d
        for d in depots.values()
        if d.code in keep_codes
        or (d.tier in keep_tiers and d.status == "operating" and d.operator == "government")
    ]
    candidates = [
        d
        for d in depots.values()
        if d not in kept
        and d.code not in exclude
        and (
            d.code in listed
            or (not listed and d.status in statuses and (not tiers or d.tier in tiers))
        )
    ]
    sites = [Site.of_depot(d) for d in sorted(kept, key=lambda d: d.code)]
    must_open = list(range(len(sites)))
    sites += [Site.of_depot(d) for d in sorted(candidates, key=lambda d: d.code)]
    if request.get("include_region_sites"):
        tier = request.get("region_site_tier", "township")
        for town in session.scalars(
            select(Region).where(Region.level == "township").order_by(Region.adcode)
        ):
            sites.append(
                Site(
                    f"REGION-{town.adcode}",
                    f"{town.name} (site at the township seat)",
                    tier,
                    "candidate",
                    town.lat,
                    town.lng,
                    float(request.get("region_site_cost", 0.0)),
                    float(request.get("region_site_capacity_m3", 3000.0)),
                    False,
                )
            )
    if len(sites) == len(must_open):
        raise InvalidInput.field("candidate_statuses", "no candidate sites match the request")
    return sites, must_open


def build_instance(session: Session, request: dict[str, Any]) -> SitingInstance:
    """Gather demand, sites and travel times; raise InvalidInput for what cannot be asked."""
    towns = list(
        session.scalars(select(Region).where(Region.level == "township").order_by(Region.adcode))
    )
    if not towns:
        raise InvalidInput.field("demand", "no township regions to serve")
    overrides = request.get("risk_weights") or {}
    unknown = sorted(set(overrides) - {t.adcode for t in towns})
    if unknown:
        raise InvalidInput.field("risk_weights", f"unknown township adcodes {unknown[:10]}")
    weights = np.array(
        [t.population * float(overrides.get(t.adcode, t.risk_weight)) for t in towns]
    )
    sites, must_open = _sites(session, request)
    p = request.get("p")
    if p is not None and p > len(sites):
        raise InvalidInput.field("p", f"p = {p} but only {len(sites)} sites (kept + candidates)")
    if p is not None and p < len(must_open):
        raise InvalidInput.field(
            "p", f"p = {p} is fewer than the {len(must_open)} depots kept open"
        )
    graph, _ = road_graph(session)
    points = [(t.lat, t.lng) for t in towns]
    profile = request.get("profile", "relief_truck")
    hours = graph.travel_time_matrix(points, [(s.lat, s.lng) for s in sites], profile=profile)
    tiers = {s.tier for s in sites}
    today = list(session.scalars(select(Depot).where(
        Depot.status == "operating", Depot.operator == "government", Depot.tier.in_(tiers)
    ).order_by(Depot.code)))
    today_hours = (graph.travel_time_matrix(points, [(d.lat, d.lng) for d in today], profile=profile)
                   if today else np.full((len(towns), 0), np.inf))
    standard = {**DEFAULT_STANDARD_HOURS, **(request.get("coverage_standard_hours") or {})}
    limit = np.array([standard.get(s.tier, np.inf) for s in sites])
    cost = np.where(hours <= limit[None, :], hours, np.inf)
    return SitingInstance(towns, weights, sites, must_open, hours, cost,
                          [d.code for d in today], today_hours)


def solve(instance: SitingInstance, request: dict[str, Any]) -> siting.SitingResult:
    """Run the chosen model on the instance."""
    common = {
        "must_open": instance.must_open,
        "solver": request.get("solver", "auto"),
        "time_limit": request.get("time_limit", 60.0),
    }
    model = request["model"]
    if model == "p_median":
        return siting.p_median(instance.cost, instance.weights, request["p"], **common)
    if model == "p_center":
        return siting.p_center(instance.cost, instance.weights, request["p"], **common)
    if model == "max_cover":
        return siting.max_cover(
            instance.cost, instance.weights, request["p"], request["radius_hours"], **common
        )
    if model == "set_cover":
        site_cost = (
            np.array([s.fixed_cost for s in instance.sites])
            if request.get("minimise_cost")
            else None
        )
        return siting.set_cover(
            instance.cost, request["radius_hours"], site_cost=site_cost, **common
        )
    if model == "capacitated":
        demand = instance.weights * float(request.get("displaced_share", 0.02))
        per_person_m3 = float(request.get("m3_per_person", 0.35))
        capacity = np.array([s.capacity_m3 / per_person_m3 for s in instance.sites])
        fixed = np.array([s.fixed_cost for s in instance.sites])
        cost = demand[:, None] * instance.cost * float(request.get("yuan_per_person_hour", 50.0))
        return siting.capacitated(
            cost,
            demand,
            capacity,
            fixed,
            single_source=request.get("single_source", False),
            budget=request.get("budget"),
            **common,
        )
    raise InvalidInput.field("model", f"unknown model {model!r}")


def network_figures(instance: SitingInstance, hours: np.ndarray) -> dict[str, Any]:
    """Coverage within 2/4/10 h, mean and worst travel time of a network (towns × its sites)."""
    best = hours.min(axis=1) if hours.shape[1] else np.full(hours.shape[0], np.inf)
    population = np.array([t.population for t in instance.towns], dtype=float)
    total = population.sum()
    finite = np.isfinite(best)
    return {
        "sites": hours.shape[1],
        "coverage": [
            {
                "hours": h,
                "population": int(population[best <= h].sum()),
                "share": round(float(population[best <= h].sum() / total), 4) if total else None,
            }
            for h in COVERAGE_BANDS
        ],
        "mean_hours": round(
            float((population[finite] * best[finite]).sum() / population[finite].sum()), 4
        )
        if finite.any()
        else None,
        "max_hours": round(float(best[finite].max()), 4) if finite.any() else None,
        "unreachable_regions": [
            t.adcode for t, f in zip(instance.towns, finite, strict=True) if not f
        ],
    }


def _assignments(instance: SitingInstance, result: siting.SitingResult) -> list[int]:
    if isinstance(result.assign, np.ndarray) and result.assign.ndim == 2:
        return [int(np.argmax(row)) if row.sum() > 0 else -1 for row in result.assign]
    return [int(j) for j in result.assign]


def extract(
    instance: SitingInstance, request: dict[str, Any], result: siting.SitingResult
) -> dict[str, Any]:
    """The planner's answer: sites, assignment, coverage, cost, comparison with today, GeoJSON."""
    open_sites = list(result.open)
    assign = _assignments(instance, result) if open_sites else [-1] * len(instance.towns)
    plan = network_figures(instance, instance.hours[:, open_sites])
    current = {**network_figures(instance, instance.today_hours), "depots": instance.today}
    chosen = [
        {
            "code": s.code,
            "name": s.name,
            "tier": s.tier,
            "new": not s.existing,
            "lat": s.lat,
            "lng": s.lng,
            "fixed_cost_yuan": s.fixed_cost,
        }
        for s in (instance.sites[j] for j in open_sites)
    ]
    rows = []
    for i, town in enumerate(instance.towns):
        j = assign[i]
        hours = float(instance.hours[i, j]) if j >= 0 else float("inf")
        rows.append(
            {
                "region": town.adcode,
                "name": town.name,
                "population": town.population,
                "depot": instance.sites[j].code if j >= 0 else None,
                "hours": round(hours, 4) if np.isfinite(hours) else None,
            }
        )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [c["lng"], c["lat"]]},
            "properties": {"kind": "site", **c},
        }
        for c in chosen
    ]
    for i, row in enumerate(rows):
        if assign[i] >= 0:
            s, t = instance.sites[assign[i]], instance.towns[i]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[s.lng, s.lat], [t.lng, t.lat]],
                    },
                    "properties": {"kind": "assignment", **row},
                }
            )
    improvement = {
        "coverage_share": [
            {
                "hours": a["hours"],
                "today": b["share"],
                "plan": a["share"],
                "change": None
                if a["share"] is None or b["share"] is None
                else round(a["share"] - b["share"], 4),
            }
            for a, b in zip(plan["coverage"], current["coverage"], strict=True)
        ],
        "mean_hours": {"today": current["mean_hours"], "plan": plan["mean_hours"]},
        "max_hours": {"today": current["max_hours"], "plan": plan["max_hours"]},
    }
    return {
        "model": request["model"],
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "solve_seconds": round(result.solve_seconds, 3),
        "solver": result.solver,
        "sites": chosen,
        "new_sites": [c["code"] for c in chosen if c["new"]],
        "total_fixed_cost_yuan": sum(c["fixed_cost_yuan"] for c in chosen if c["new"]),
        "assignment": rows,
        "plan": plan,
        "today": current,
        "improvement": improvement,
        "geojson": {"type": "FeatureCollection", "features": features},
        "coverage_standard_hours": {
            **DEFAULT_STANDARD_HOURS,
            **(request.get("coverage_standard_hours") or {}),
        },
        "details": {k: v for k, v in (result.details or {}).items() if _jsonable(v)},
    }


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | type(None) | list | dict)


def explain_infeasible(instance: SitingInstance, error: siting.SitingInputError) -> dict[str, Any]:
    """Turn a model's pre-solve refusal into the planner's explanation with region names."""
    rows = error.details.get("rows") or error.details.get("uncovered_rows") or []
    names = [instance.towns[i].name for i in rows if 0 <= i < len(instance.towns)]
    reason = error.message
    if names:
        reason = (f"{len(names)} townships have no allowed site within reach (the tier's coverage "
                  f"standard, the radius, or closed roads): {', '.join(names[:20])}. {error.message}")
    return {
        "status": "infeasible",
        "reason": reason,
        "field": error.field,
        "regions": [
            {"region": instance.towns[i].adcode, "name": n}
            for i, n in zip(rows, names, strict=False)
        ],
        "details": {k: v for k, v in error.details.items() if _jsonable(v)},
    }


def run_siting(request: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """Job handler: build → solve → extract, reporting progress and honouring cancellation."""
    started = dt.datetime.now(dt.UTC)
    context.progress(0.05, "travel times from the router")
    with context.reader() as session:
        instance = build_instance(session, request)
    context.check_cancelled()
    context.progress(
        0.3,
        f"solving {request['model']} with {len(instance.sites)} sites, "
        f"{len(instance.towns)} townships",
    )
    try:
        result = solve(instance, request)
    except siting.SitingInputError as error:
        return explain_infeasible(instance, error)
    context.check_cancelled()
    context.progress(0.9, "extracting the plan")
    answer = extract(instance, request, result)
    answer["started_at"] = started.isoformat()
    return answer


JOB_HANDLERS = {"siting": run_siting}

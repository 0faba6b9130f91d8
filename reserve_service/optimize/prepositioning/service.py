"""Pre-positioning for planners: scenario sets and stock plans from the service's own data.

An adapter: today's stock, depots, items and reserves come from the database (exported in the
seed files' columns for ``prepositioning.instance_from_tables``), scenarios from a stored
scenario set, travel times from the router; the model is ``optimize.prepositioning``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from reserve_service.config import DEFAULT_MODE_LEAD_HOURS
from reserve_service.errors import InvalidInput
from reserve_service.inventory.services import today as inventory_today
from reserve_service.inventory.supply import usable_supply
from reserve_service.inventory.tables import Depot, Item, Region, StockLot
from reserve_service.jobs import JobContext
from reserve_service.optimize import prepositioning as pp
from reserve_service.optimize.prepositioning import scenarios as sc
from reserve_service.optimize.solvers import SolverParams
from reserve_service.optimize.tables import ScenarioSet
from reserve_service.routing.service import road_graph


def known_ids(session: Session) -> tuple[set[str], set[str]]:
    """Township adcodes and depot codes scenarios may name."""
    regions = set(session.scalars(select(Region.adcode).where(Region.level == "township")))
    return regions, set(session.scalars(select(Depot.code)))


def places(session: Session) -> tuple[list[sc.Place], list[sc.Place]]:
    """Townships (those with a location: a hazard is placed by distance) and depots as the
    scenario generator's places."""
    located = select(Region).where(
        Region.level == "township", Region.lat.is_not(None), Region.lng.is_not(None)
    )
    towns = [
        sc.Place(
            r.adcode,
            cast(float, r.lat),
            cast(float, r.lng),
            float(r.population),
            r.name,
            r.name.endswith("街道"),
        )
        for r in session.scalars(located.order_by(Region.adcode))
    ]
    depots = [
        sc.Place(d.code, d.lat, d.lng, 0.0, d.name)
        for d in session.scalars(
            select(Depot).where(Depot.status == "operating").order_by(Depot.code)
        )
    ]
    return towns, depots


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def tables(session: Session) -> dict[str, list[dict[str, str]]]:
    """The database in the seed files' columns; stock and reserves are today's supply snapshot
    (:func:`reserve_service.inventory.supply.usable_supply`: unexpired lots of operating depots,
    agreements and capacity reserves in force today)."""
    today = inventory_today()  # the availability view's today
    out: dict[str, list[dict[str, str]]] = {}
    out["regions.csv"] = [
        {
            "adcode": r.adcode,
            "name": r.name,
            "level": r.level,
            "parent_adcode": r.parent.adcode if r.parent else "",
            "population": str(r.population),
            "households": str(r.households),
            "lat": _text(r.lat),
            "lng": _text(r.lng),
        }
        for r in session.scalars(select(Region).order_by(Region.adcode))
    ]
    out["items.csv"] = [
        {
            "code": i.code,
            "name_zh": i.name_zh,
            "unit": i.unit,
            "kg_per_unit": str(i.kg_per_unit),
            "m3_per_unit": str(i.m3_per_unit),
            "shelf_life_days": _text(i.shelf_life_days),
            "norm_basis": i.norm_basis,
            "norm_quantity": str(i.norm_quantity),
            "norm_days": str(i.norm_days),
        }
        for i in session.scalars(select(Item).order_by(Item.code))
    ]
    out["depots.csv"] = [
        {
            "code": d.code,
            "name": d.name,
            "tier": d.tier,
            "region_adcode": d.region.adcode,
            "lat": str(d.lat),
            "lng": str(d.lng),
            "operator": d.operator,
            "status": d.status,
            "capacity_m3": str(d.capacity_m3),
            "fixed_cost_yuan": _text(d.fixed_cost_yuan),
        }
        for d in session.scalars(
            select(Depot)
            .where(Depot.status.in_(("operating", "planned", "candidate")))
            .order_by(Depot.code)
        )
    ]
    out.update(
        usable_supply(session, today, mode_lead_hours=DEFAULT_MODE_LEAD_HOURS).as_seed_tables()
    )
    return out


def scenario_objects(row: ScenarioSet) -> list[sc.Scenario]:
    return [sc.Scenario.from_dict(d) for d in row.scenarios]


def check_request(session: Session, request: dict[str, Any]) -> ScenarioSet:
    row = session.get(ScenarioSet, request["scenario_set"])
    if row is None:
        raise InvalidInput.field(
            "scenario_set", f"unknown scenario set {request['scenario_set']!r}"
        )
    codes = set(session.scalars(select(Item.code)))
    unknown = sorted(set(request.get("items") or []) - codes)
    if unknown:
        raise InvalidInput.field("items", f"unknown items {unknown}")
    unpriced = sorted(set(request.get("items") or []) - set(pp.SEED_PRICES))
    if unpriced:
        raise InvalidInput.field(
            "items", f"no price known for {unpriced}; priced: {sorted(pp.SEED_PRICES)}"
        )
    return row


def rotation_actions(
    session: Session, targets: dict[str, dict[str, float]], actions: list[dict[str, Any]], days: int
) -> list[dict[str, Any]]:
    """Lots that expire within ``days`` where the plan keeps stock of their item: rotate (轮换)
    them, first-expiry-first-out, so the targets hold good stock.

    Units the plan already takes out of a depot (released or moved away) are taken from its
    expiring lots first, so no unit is both released and rotated; what is rotated at a depot
    never exceeds its target of the item.
    """
    horizon = dt.date.today() + dt.timedelta(days=days)
    leaving: dict[tuple[str, str], float] = {}
    for action in actions:
        if action["kind"] in ("release", "move") and action.get("from_depot"):
            key = (action["from_depot"], action["item"])
            leaving[key] = leaving.get(key, 0.0) + float(action["quantity"])
    lots = session.scalars(
        select(StockLot)
        .join(Depot, Depot.id == StockLot.depot_id)
        .where(
            StockLot.quantity > 0,
            StockLot.mode == "government",
            StockLot.expires_on.is_not(None),
            StockLot.expires_on > dt.date.today(),
            StockLot.expires_on <= horizon,
            Depot.code.in_(list(targets)),
        )
        .order_by(StockLot.expires_on, StockLot.id)
    )
    rotations = []
    for lot in lots:
        key = (lot.depot.code, lot.item.code)
        room = targets.get(key[0], {}).get(key[1], 0.0)
        taken = min(float(lot.quantity), leaving.get(key, 0.0))
        leaving[key] = leaving.get(key, 0.0) - taken
        quantity = min(float(lot.quantity) - taken, room)
        if quantity <= 1e-9:
            continue
        targets[key[0]][key[1]] = room - quantity  # what is left of the target to rotate into
        rotations.append(
            {
                "kind": "rotate",
                "item": key[1],
                "quantity": quantity,
                "cost": 0.0,
                "from_depot": key[0],
                "to_depot": key[0],
                "lot_no": lot.lot_no,
                "expires_on": cast(dt.date, lot.expires_on).isoformat(),
            }
        )
    return rotations


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def _stochastic(value: pp.StochasticValue) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(value).items() if k != "ws_by_scenario"}


def run_prepositioning(request: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """Job: build the instance from today's data, solve, add VSS / EVPI and the budget curve."""
    context.progress(0.05, "today's stock, scenarios and travel times")
    with context.reader() as session:
        row = check_request(session, request)
        graph, _ = road_graph(session, cache_key="prepositioning")
        options = {"township_depots": request.get("township_depots", 15)}
        if request.get("items"):
            options["items"] = request["items"]
        instance = pp.instance_from_tables(tables(session), scenario_objects(row), graph, **options)
    context.check_cancelled()
    solve: dict[str, Any] = {
        "budget": request.get("budget"),
        "service_level": request.get("service_level"),
        "scenario_share": request.get("scenario_share"),
        "params": SolverParams(
            solver=request.get("solver", "auto"), time_limit=request.get("time_limit", 600.0)
        ),
    }
    method = request.get("method", "auto")
    if method == "auto":
        method = "benders" if len(instance.scenarios) > 20 else "extensive"
    context.progress(0.2, f"solving ({method}, {len(instance.scenarios)} scenarios)")
    try:
        result = pp.solve_prepositioning(instance, method=method, **solve)
    except pp.ServiceLevelInfeasibleError as error:
        answer: dict[str, Any] = {
            "scenario_set": row.id,
            "status": "infeasible",
            "reason": error.message,
            "field": error.field,
            "explanation": error.shortfalls,
        }
    else:
        answer = _plan(context, instance, result, request, row.id, method, solve)
    if request.get("budget_sweep"):
        context.check_cancelled()
        context.progress(0.8, "budget sweep")
        points = pp.budget_sweep(instance, request["budget_sweep"], method=method, **solve)
        answer["budget_curve"] = [dataclasses.asdict(p) for p in points]
    return finite(answer)


def _plan(
    context: JobContext,
    instance: pp.PrepositioningInstance,
    result: pp.PrepositioningResult,
    request: dict[str, Any],
    set_id: str,
    method: str,
    solve: dict[str, Any],
) -> dict[str, Any]:
    """The solved plan with its rotations and, when it has one, its VSS and EVPI."""
    answer: dict[str, Any] = {
        "scenario_set": set_id,
        "shape": dict(
            zip(("depots", "items", "regions", "scenarios"), instance.shape, strict=True)
        ),
        **pp.result_to_dict(result),
    }
    with context.reader() as session:
        answer["actions"] = answer.get("actions", []) + rotation_actions(
            session,
            copy.deepcopy(result.targets),
            answer.get("actions", []),
            request.get("rotation_days", 90),
        )
    if not request.get("stochastic_values", True):
        return answer
    if result.objective is None:
        why = {
            "status": "not_defined",
            "reason": f"the stochastic problem has no plan ({result.status})",
        }
        answer["vss"], answer["evpi"] = why, why
        return answer
    context.check_cancelled()
    context.progress(0.6, "value of the stochastic solution and of perfect information")
    answer["vss"] = _stochastic(
        pp.value_of_stochastic_solution(instance, rp=result, method=method, **solve)
    )
    answer["evpi"] = _stochastic(
        pp.expected_value_of_perfect_information(instance, rp=result, method=method, **solve)
    )
    return answer


JOB_HANDLERS = {"prepositioning": run_prepositioning}

"""The 宿州 instance from the seed tables (regions, depots, items, stock, reserves)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reserve_service.config import DEFAULT_MODE_LEAD_HOURS, HOUSEHOLD_SIZE, RELIEF_DAYS
from reserve_service.inventory.norms import ReliefNorm, relief_need

from .instance import (
    ExternalSource,
    PrepositioningInputError,
    PrepositioningInstance,
    ScenarioData,
    SizeClass,
)

#: Assumed unit prices (yuan) for the seed items (**A**: indicative market prices).
SEED_PRICES: dict[str, float] = {
    "1010101": 3000.0,  # tent 12 m²
    "1010201": 150.0,  # folding bed
    "1020101": 200.0,  # quilt
    "1020102": 120.0,  # blanket
    "1020201": 250.0,  # winter coat
    "1020301": 20.0,  # raincoat
    "1030101": 2.0,  # water, per L
    "1030201": 20.0,  # ready-to-eat food, per kg
    "1030301": 6.0,  # rice, per kg
    "1030401": 30.0,  # purification tablets
    "1040101": 50.0,  # hygiene kit
    "1040201": 60.0,  # disinfectant drum
    "1050101": 150.0,  # family kit
    "2020101": 3000.0,  # portable toilet
    "2030101": 8000.0,  # lighting tower
    "2030201": 60.0,  # lamp
}
SEED_ITEMS: tuple[str, ...] = (
    "1010101",
    "1010201",
    "1020101",
    "1020201",
    "1030101",
    "1030201",
    "1040101",
    "1050101",
    "2020101",
    "2030201",
)


SEED_TABLES = (
    "regions.csv",
    "items.csv",
    "depots.csv",
    "stock_lots.csv",
    "agreement_reserves.csv",
    "capacity_reserves.csv",
)


def instance_from_seed(
    seed_dir: str | Path, scenarios: Sequence[Any], graph: Any, **options: Any
) -> PrepositioningInstance:
    """The 宿州 instance from the ``seed_data`` CSVs (see :func:`instance_from_tables`)."""
    import csv

    folder = Path(seed_dir)
    tables = {}
    for name in SEED_TABLES:
        with (folder / name).open(encoding="utf-8") as fh:
            tables[name] = list(csv.DictReader(fh))
    return instance_from_tables(tables, scenarios, graph, **options)


def instance_from_tables(
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    scenarios: Sequence[Any],
    graph: Any,
    *,
    items: Sequence[str] = SEED_ITEMS,
    township_depots: int = 15,
    deadline_hours: float = 10.0,
    penalty_factor: float = 10.0,
    hold_share: float = 0.05,
    release_share: float = 0.3,
    storage_yuan_m3: float = 50.0,
    transport_yuan_m3h: float = 20.0,
    move_fixed_yuan_m3: float = 30.0,
    profile: str = "relief_truck",
    household_size: float = HOUSEHOLD_SIZE,
    relief_days: float = RELIEF_DAYS,
) -> PrepositioningInstance:
    """The 宿州 instance from tables with the seed files' columns, scenarios and the road graph.

    ``tables`` maps each name in :data:`SEED_TABLES` to its rows (the CSV files, or the
    service's database exported in the same columns, so that today's stock is the start).
    Depots: city depots, county depots, candidates and the ``township_depots`` township points
    with the most people (planned/candidate sites get size classes half / full capacity at
    0.6 / 1.0 × their fixed cost). Enterprise-held lots, agreement and capacity reserves become
    external sources. Need = the service's relief norm of the displaced people
    (:func:`reserve_service.inventory.norms.relief_need` with ``household_size`` and
    ``relief_days``, by default from ``config``), so a township and an item need the same
    units here as in dispatch and the availability view. Prices :data:`SEED_PRICES` (**A**); penalty = ``penalty_factor`` × price (**A**);
    holding = ``hold_share`` × price + storage per m³ (**A**); release = ``release_share`` ×
    price (**A**); moves cost a fixed part plus driving per m³ (**A**). Travel times: the
    scenario's road events applied to ``graph`` (events whose area crosses no road are skipped),
    seats of the regions as targets. Damage to enterprise stores is not modelled.
    """

    def rows(name: str) -> list[Mapping[str, Any]]:
        return list(tables[name])

    regions = [r for r in rows("regions.csv") if r["level"] == "township"]
    item_rows = {r["code"]: r for r in rows("items.csv")}
    unknown = [i for i in items if i not in item_rows or i not in SEED_PRICES]
    if unknown:
        raise PrepositioningInputError("items", f"unknown or unpriced items {unknown}")
    depot_rows = rows("depots.csv")
    chosen = _chosen_depots(depot_rows, regions, township_depots)
    depot_ids = [d["code"] for d in chosen]
    item_ids = list(items)
    region_ids = [r["adcode"] for r in regions]
    nd = len(depot_ids)
    stock, enterprise = _stock(rows("stock_lots.csv"), depot_ids, item_ids)
    capacity = np.array(
        [float(d["capacity_m3"]) if d["status"] == "operating" else 0.0 for d in chosen]
    )
    price = np.array([SEED_PRICES[i] for i in item_ids])
    vol = np.array([float(item_rows[i]["m3_per_unit"]) for i in item_ids])
    depot_pt = {d["code"]: (float(d["lat"]), float(d["lng"])) for d in depot_rows}
    external, ext_points = _external_sources(enterprise, depot_pt, rows, set(item_ids))

    # travel: depots then external sources to the township seats, over the scenario's roads
    sources = [graph.snap(*depot_pt[c]).node for c in depot_ids]
    sources += [graph.snap(*p).node for p in ext_points]
    targets = [graph.snap(float(r["lat"]), float(r["lng"])).node for r in regions]
    base_depot = graph.travel_time_matrix(sources[:nd], sources[:nd], profile=profile)
    move_cost = move_fixed_yuan_m3 + transport_yuan_m3h * np.where(
        np.isfinite(base_depot), base_depot, 24.0
    )
    np.fill_diagonal(move_cost, 0.0)

    _check_scenario_ids(scenarios, set(region_ids), {d["code"] for d in depot_rows})
    norms = [_relief_norm(item_rows[i]) for i in item_ids]

    def need(people: float, norm: ReliefNorm) -> int:
        return relief_need(
            norm, round(people), household_size=household_size, relief_days=relief_days
        )

    data = [
        _scenario_data(sc, graph, sources, targets, profile, region_ids, depot_ids, norms, need)
        for sc in scenarios
    ]
    return PrepositioningInstance(
        depot_ids=depot_ids,
        item_ids=item_ids,
        region_ids=region_ids,
        current_stock=stock,
        capacity_m3=capacity,
        item_m3=vol,
        buy_cost=price,
        hold_cost=hold_share * price + storage_yuan_m3 * vol,
        release_value=release_share * price,
        penalty=penalty_factor * price,
        scenarios=data,
        move_cost_m3=move_cost,
        transport_cost_m3h=transport_yuan_m3h,
        depot_lead_hours=np.full(nd, DEFAULT_MODE_LEAD_HOURS["government"]),
        candidate_sizes=_size_classes(chosen),
        external=external,
        deadline_hours=deadline_hours,
    )


def _chosen_depots(
    depot_rows: list[Mapping[str, Any]], regions: list[Mapping[str, Any]], township_depots: int
) -> list[Mapping[str, Any]]:
    """Government city and county depots, then the township points with the most people."""
    population = {r["adcode"]: float(r["population"]) for r in regions}
    towns = sorted(
        (d for d in depot_rows if d["tier"] == "township"),
        key=lambda d: (-population.get(d["region_adcode"], 0.0), d["code"]),
    )[:township_depots]
    return [
        d for d in depot_rows if d["tier"] in ("city", "county") and d["operator"] == "government"
    ] + towns


def _stock(
    lots: list[Mapping[str, Any]], depot_ids: list[str], item_ids: list[str]
) -> tuple[np.ndarray, dict[tuple[str, str], float]]:
    """Today's government stock per (depot, item), and enterprise-held stock per (site, item)."""
    dpos = {d: k for k, d in enumerate(depot_ids)}
    ipos = {i: k for k, i in enumerate(item_ids)}
    stock = np.zeros((len(depot_ids), len(item_ids)))
    enterprise: dict[tuple[str, str], float] = {}
    for lot in lots:
        if lot["item_code"] not in ipos:
            continue
        if lot["mode"] == "enterprise_held":
            key = (lot["depot_code"], lot["item_code"])
            enterprise[key] = enterprise.get(key, 0.0) + float(lot["quantity"])
        elif lot["depot_code"] in dpos:
            stock[dpos[lot["depot_code"]], ipos[lot["item_code"]]] += float(lot["quantity"])
    return stock, enterprise


def _size_classes(chosen: list[Mapping[str, Any]]) -> dict[str, list[SizeClass]]:
    """Planned and candidate sites: half capacity at 0.6 × their fixed cost, or full at 1.0 ×."""
    return {
        d["code"]: [
            SizeClass(0.5 * float(d["capacity_m3"]), 0.6 * float(d["fixed_cost_yuan"]), "half"),
            SizeClass(float(d["capacity_m3"]), float(d["fixed_cost_yuan"]), "full"),
        ]
        for d in chosen
        if d["status"] in ("planned", "candidate")
    }


def _relief_norm(row: Mapping[str, Any]) -> ReliefNorm:
    """An ``items.csv`` row's relief norm."""
    days = row.get("norm_days")
    return ReliefNorm(
        row["norm_basis"], float(row["norm_quantity"] or 0), float(days) if days else None
    )


def _external_sources(
    enterprise: dict[tuple[str, str], float],
    depot_pt: dict[str, tuple[float, float]],
    rows: Callable[[str], list[Mapping[str, Any]]],
    items: set[str],
) -> tuple[list[ExternalSource], list[tuple[float, float]]]:
    """Enterprise-held lots, agreement and capacity reserves of the chosen items, and where."""
    external: list[ExternalSource] = []
    points: list[tuple[float, float]] = []
    for (code, item), qty in sorted(enterprise.items()):
        external.append(
            ExternalSource(
                f"{code}/{item}",
                "enterprise_held",
                item,
                quantity=qty,
                lead_hours=DEFAULT_MODE_LEAD_HOURS["enterprise_held"],
                unit_cost=0.05 * SEED_PRICES[item],
            )
        )
        points.append(depot_pt[code])
    for row in rows("agreement_reserves.csv"):
        if row["item_code"] in items:
            external.append(
                ExternalSource(
                    row["code"],
                    "agreement",
                    row["item_code"],
                    quantity=float(row["committed_quantity"]),
                    lead_hours=float(row["activation_lead_hours"]),
                    unit_cost=SEED_PRICES[row["item_code"]],
                )
            )
            points.append((float(row["lat"]), float(row["lng"])))
    for row in rows("capacity_reserves.csv"):
        if row["item_code"] in items:
            external.append(
                ExternalSource(
                    row["code"],
                    "capacity",
                    row["item_code"],
                    rate_per_day=float(row["units_per_day"]),
                    lead_hours=float(row["lead_hours"]),
                    unit_cost=SEED_PRICES[row["item_code"]],
                )
            )
            points.append((float(row["lat"]), float(row["lng"])))
    return external, points


def _check_scenario_ids(scenarios: Sequence[Any], regions: set[str], depots: set[str]) -> None:
    """Every affected region and damaged depot of every scenario is known."""
    for k, sc in enumerate(scenarios):
        for region in sc.affected:
            if region not in regions:
                raise PrepositioningInputError(
                    f"scenarios[{k}].affected.{region}",
                    f"scenario {sc.id}: unknown region id {region!r}",
                )
        for depot in sc.damaged_depots:
            if depot not in depots:
                raise PrepositioningInputError(
                    f"scenarios[{k}].damaged_depots.{depot}",
                    f"scenario {sc.id}: unknown depot id {depot!r}",
                )


def _scenario_data(
    sc: Any,
    graph: Any,
    sources: list[Any],
    targets: list[Any],
    profile: str,
    region_ids: list[str],
    depot_ids: list[str],
    norms: list[ReliefNorm],
    need_of: Callable[[float, ReliefNorm], int],
) -> ScenarioData:
    """One scenario: need = the relief norm of the displaced, travel times with its road
    events applied."""
    from reserve_service.routing.errors import RoadEventError

    applied = []
    for event in sc.road_event_objects():
        try:
            applied.append(graph.apply_event(event).id)
        except RoadEventError:
            continue  # the area crosses no road of this graph
    try:
        hours = graph.travel_time_matrix(sources, targets, profile=profile)
    finally:
        for event_id in applied:
            graph.remove_event(event_id)
    rpos = {r: k for k, r in enumerate(region_ids)}
    need = np.zeros((len(region_ids), len(norms)))
    for region, people in sc.affected.items():
        need[rpos[region]] = [need_of(people, norm) for norm in norms]
    loss = np.array([float(sc.damaged_depots.get(d, 0.0)) for d in depot_ids])
    nd = len(depot_ids)
    return ScenarioData(sc.id, float(sc.probability), need, hours[:nd], hours[nd:], loss, sc.hazard)

"""The 宿州 instance from the seed tables (regions, depots, items, stock, reserves)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

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


SEED_TABLES = ("regions.csv", "items.csv", "depots.csv", "stock_lots.csv", "agreement_reserves.csv",
               "capacity_reserves.csv")


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
) -> PrepositioningInstance:
    """The 宿州 instance from tables with the seed files' columns, scenarios and the road graph.

    ``tables`` maps each name in :data:`SEED_TABLES` to its rows (the CSV files, or the
    service's database exported in the same columns, so that today's stock is the start).
    Depots: city depots, county depots, candidates and the ``township_depots`` township points
    with the most people (planned/candidate sites get size classes half / full capacity at
    0.6 / 1.0 × their fixed cost). Enterprise-held lots, agreement and capacity reserves become
    external sources. Need = displaced × item norm (per household ÷ 2.74; per person-day ×
    days). Prices :data:`SEED_PRICES` (**A**); penalty = ``penalty_factor`` × price (**A**);
    holding = ``hold_share`` × price + storage per m³ (**A**); release = ``release_share`` ×
    price (**A**); moves cost a fixed part plus driving per m³ (**A**). Travel times: the
    scenario's road events applied to ``graph`` (events whose area crosses no road are skipped),
    seats of the regions as targets. Damage to enterprise stores is not modelled.
    """
    from reserve_service.routing.errors import RoadEventError

    def rows(name: str) -> list[Mapping[str, Any]]:
        return list(tables[name])

    regions = [r for r in rows("regions.csv") if r["level"] == "township"]
    item_rows = {r["code"]: r for r in rows("items.csv")}
    unknown = [i for i in items if i not in item_rows or i not in SEED_PRICES]
    if unknown:
        raise PrepositioningInputError(f"unknown or unpriced items {unknown}", "items")
    depot_rows = rows("depots.csv")
    population = {r["adcode"]: float(r["population"]) for r in regions}
    towns = sorted(
        (d for d in depot_rows if d["tier"] == "township"),
        key=lambda d: (-population.get(d["region_adcode"], 0.0), d["code"]),
    )[:township_depots]
    chosen = [
        d for d in depot_rows if d["tier"] in ("city", "county") and d["operator"] == "government"
    ] + towns
    depot_ids = [d["code"] for d in chosen]
    item_ids = list(items)
    region_ids = [r["adcode"] for r in regions]
    nd, ni = len(depot_ids), len(item_ids)
    dpos = {d: k for k, d in enumerate(depot_ids)}
    ipos = {i: k for k, i in enumerate(item_ids)}
    stock = np.zeros((nd, ni))
    enterprise: dict[tuple[str, str], float] = {}
    for lot in rows("stock_lots.csv"):
        if lot["item_code"] not in ipos:
            continue
        if lot["mode"] == "enterprise_held":
            key = (lot["depot_code"], lot["item_code"])
            enterprise[key] = enterprise.get(key, 0.0) + float(lot["quantity"])
        elif lot["depot_code"] in dpos:
            stock[dpos[lot["depot_code"]], ipos[lot["item_code"]]] += float(lot["quantity"])
    capacity = np.array(
        [float(d["capacity_m3"]) if d["status"] == "operating" else 0.0 for d in chosen]
    )
    sizes = {
        d["code"]: [
            SizeClass(0.5 * float(d["capacity_m3"]), 0.6 * float(d["fixed_cost_yuan"]), "half"),
            SizeClass(float(d["capacity_m3"]), float(d["fixed_cost_yuan"]), "full"),
        ]
        for d in chosen
        if d["status"] in ("planned", "candidate")
    }
    price = np.array([SEED_PRICES[i] for i in item_ids])
    vol = np.array([float(item_rows[i]["m3_per_unit"]) for i in item_ids])
    per_person = []
    for i in item_ids:
        row = item_rows[i]
        q = float(row["norm_quantity"] or 0)
        basis = row["norm_basis"]
        if basis == "per_household":
            q /= 2.74
        elif basis == "per_person_day":
            q *= float(row["norm_days"] or 1)
        elif basis != "per_person":
            q = 0.0
        per_person.append(q)
    norm = np.array(per_person)

    external: list[ExternalSource] = []
    ext_points: list[tuple[float, float]] = []
    depot_pt = {d["code"]: (float(d["lat"]), float(d["lng"])) for d in depot_rows}
    for (code, item), qty in sorted(enterprise.items()):
        external.append(
            ExternalSource(
                f"{code}/{item}",
                "enterprise_held",
                item,
                quantity=qty,
                lead_hours=2.0,
                unit_cost=0.05 * SEED_PRICES[item],
            )
        )
        ext_points.append(depot_pt[code])
    for row in rows("agreement_reserves.csv"):
        if row["item_code"] in ipos:
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
            ext_points.append((float(row["lat"]), float(row["lng"])))
    for row in rows("capacity_reserves.csv"):
        if row["item_code"] in ipos:
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
            ext_points.append((float(row["lat"]), float(row["lng"])))

    sources = [graph.snap(*depot_pt[c]).node for c in depot_ids]
    sources += [graph.snap(*p).node for p in ext_points]
    targets = [graph.snap(float(r["lat"]), float(r["lng"])).node for r in regions]
    base_depot = graph.travel_time_matrix(sources[:nd], sources[:nd], profile=profile)
    move_cost = move_fixed_yuan_m3 + transport_yuan_m3h * np.where(
        np.isfinite(base_depot), base_depot, 24.0
    )
    np.fill_diagonal(move_cost, 0.0)

    rpos = {r: k for k, r in enumerate(region_ids)}
    known_depots = {d["code"] for d in depot_rows}
    for k, sc in enumerate(scenarios):
        for region in sc.affected:
            if region not in rpos:
                raise PrepositioningInputError(
                    f"scenario {sc.id}: unknown region id {region!r}",
                    f"scenarios[{k}].affected.{region}",
                )
        for depot in sc.damaged_depots:
            if depot not in known_depots:
                raise PrepositioningInputError(
                    f"scenario {sc.id}: unknown depot id {depot!r}",
                    f"scenarios[{k}].damaged_depots.{depot}",
                )
    data: list[ScenarioData] = []
    for sc in scenarios:
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
        need = np.zeros((len(region_ids), ni))
        for region, people in sc.affected.items():
            need[rpos[region]] = np.round(people * norm)
        loss = np.array([float(sc.damaged_depots.get(d, 0.0)) for d in depot_ids])
        data.append(
            ScenarioData(
                sc.id, float(sc.probability), need, hours[:nd], hours[nd:], loss, sc.hazard
            )
        )
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
        depot_lead_hours=np.full(nd, 0.5),
        candidate_sizes=sizes,
        external=external,
        deadline_hours=deadline_hours,
    )

"""Scenario data: JSON round trip, validation errors naming the field, generator determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from reserve_service.optimize.prepositioning.scenarios import (
    ASSUMED_RIVERS,
    HAZARD_WEIGHTS,
    Place,
    Scenario,
    ScenarioInputError,
    generate_suzhou_scenarios,
    load_rivers,
    load_scenarios,
    read_seed_places,
    scenarios_from_json,
    scenarios_to_json,
    validate_scenarios,
)

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seed_data"
RIVERS = SEED / "roads" / "rivers.geojson"
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[117.0, 33.6], [117.1, 33.6], [117.1, 33.7], [117.0, 33.7], [117.0, 33.6]]],
}


@pytest.fixture(scope="module")
def places() -> tuple[list[Place], list[Place]]:
    """The 112 townships and 140 depots of the seed data."""
    return read_seed_places(SEED)


def _pair() -> list[Scenario]:
    return [
        Scenario(
            "f1",
            "flood",
            0.7,
            "severe",
            affected={"R1": 100.0, "R2": 5.0},
            road_events=[{"kind": "closure", "area": SQUARE}],
            damaged_depots={"D1": 0.5},
        ),
        Scenario(
            "s1",
            "snowstorm",
            0.3,
            affected={"R2": 10.0},
            road_events=[{"kind": "slowdown", "area": SQUARE, "speed_factor": 0.5}],
        ),
    ]


def test_json_round_trip() -> None:
    text = scenarios_to_json(_pair(), meta={"seed": 1})
    back = scenarios_from_json(text, region_ids={"R1", "R2"}, depot_ids={"D1"})
    assert [sc.to_dict() for sc in back] == [sc.to_dict() for sc in _pair()]
    assert back[0].road_event_objects()[0].closes_edges
    assert back[0].total_displaced == 105.0


def test_probabilities_must_sum_to_one_or_be_normalized() -> None:
    scenarios = _pair()
    scenarios[1].probability = 0.5
    with pytest.raises(ScenarioInputError) as err:
        validate_scenarios(scenarios)
    assert err.value.field == "scenarios.probability"
    fixed = validate_scenarios(scenarios, normalize=True)
    assert math.fsum(sc.probability for sc in fixed) == pytest.approx(1.0, abs=1e-12)
    assert fixed[0].probability == pytest.approx(0.7 / 1.2)
    scenarios[1].probability = 0.3 + 5e-7  # within the 1e-6 tolerance
    validate_scenarios(scenarios)
    zero = _pair()
    zero[0].probability = zero[1].probability = 0.0
    with pytest.raises(ScenarioInputError):
        validate_scenarios(zero, normalize=True)


@pytest.mark.parametrize(
    "change,field",
    [
        (lambda s: s[0].affected.update({"R1": -3.0}), "scenarios[0].affected.R1"),
        (lambda s: s[0].affected.update({"R9": 3.0}), "scenarios[0].affected.R9"),
        (lambda s: s[0].damaged_depots.update({"D9": 0.1}), "scenarios[0].damaged_depots.D9"),
        (lambda s: s[0].damaged_depots.update({"D1": 1.5}), "scenarios[0].damaged_depots.D1"),
        (lambda s: setattr(s[1], "probability", -0.3), "scenarios[1].probability"),
        (lambda s: setattr(s[1], "hazard", "meteor"), "scenarios[1].hazard"),
        (lambda s: setattr(s[1], "severity", "huge"), "scenarios[1].severity"),
        (lambda s: setattr(s[1], "id", "f1"), "scenarios[1].id"),
        (
            lambda s: s[1].road_events[0].pop("speed_factor"),
            "scenarios[1].road_events[0].speed_factor",
        ),
    ],
)
def test_validation_names_the_field(change, field: str) -> None:
    scenarios = _pair()
    change(scenarios)
    with pytest.raises(ScenarioInputError) as err:
        validate_scenarios(scenarios, region_ids={"R1", "R2"}, depot_ids={"D1"})
    assert err.value.field == field


def test_json_structure_errors() -> None:
    with pytest.raises(ScenarioInputError) as err:
        scenarios_from_json("{not json")
    assert err.value.field == "scenarios"
    with pytest.raises(ScenarioInputError) as err:
        scenarios_from_json({"scenarios": [{"id": "a", "hazard": "flood"}]})
    assert err.value.field == "scenarios[0].probability"
    with pytest.raises(ScenarioInputError) as err:
        scenarios_from_json([{"id": "a", "hazard": "flood", "probability": "1"}])
    assert err.value.field == "scenarios[0].probability"
    with pytest.raises(ScenarioInputError) as err:
        scenarios_from_json([{"id": "a", "hazard": "flood", "probability": 1, "extra": 1}])
    assert err.value.field == "scenarios[0].extra"


def test_rivers_file_plus_assumed_lines() -> None:
    rivers = load_rivers(RIVERS)
    assert {"新汴河", "濉河", "浍河", "沱河"} <= set(rivers)
    assert rivers["沱河"] == ASSUMED_RIVERS["沱河"]
    assert set(load_rivers(None)) == set(ASSUMED_RIVERS)


def test_generator_is_deterministic(places) -> None:
    towns, depots = places
    rivers = load_rivers(RIVERS)
    a = generate_suzhou_scenarios(towns, depots, n=24, seed=3, rivers=rivers)
    b = generate_suzhou_scenarios(towns, depots, n=24, seed=3, rivers=rivers)
    c = generate_suzhou_scenarios(towns, depots, n=24, seed=4, rivers=rivers)
    assert scenarios_to_json(a) == scenarios_to_json(b)
    assert scenarios_to_json(a) != scenarios_to_json(c)
    validate_scenarios(a, region_ids=[t.id for t in towns], depot_ids=[d.id for d in depots])
    assert math.fsum(sc.probability for sc in a) == pytest.approx(1.0, abs=1e-12)
    for hazard, weight in HAZARD_WEIGHTS.items():
        share = math.fsum(sc.probability for sc in a if sc.hazard == hazard)
        assert share == pytest.approx(weight, abs=1e-9)
    floods = [sc for sc in a if sc.hazard == "flood"]
    assert floods and sum(bool(sc.affected) for sc in floods) >= len(floods) // 2
    snow = [sc for sc in a if sc.hazard == "snowstorm"]
    assert all(e["kind"] == "slowdown" for sc in snow for e in sc.road_events)


def test_flood_displacement_decays_with_distance_to_the_river() -> None:
    """Towns on a straight river and 30 km away: only the near ones are ever displaced."""
    river = {"新汴河": [(116.6, 33.9), (117.6, 33.9)]}
    near = [Place(f"n{k}", 33.9, 116.7 + 0.1 * k, 10_000.0) for k in range(8)]
    far = [Place(f"f{k}", 34.2, 116.7 + 0.1 * k, 10_000.0) for k in range(8)]
    out = generate_suzhou_scenarios(
        near + far, n=12, seed=0, rivers=river, hazard_weights={"flood": 1.0}
    )
    displaced = {p.id: 0.0 for p in near + far}
    for sc in out:
        for region, people in sc.affected.items():
            displaced[region] += people
    assert all(displaced[p.id] == 0 for p in far)
    assert sum(displaced[p.id] > 0 for p in near) >= 4


def test_committed_scenario_file_is_valid(places) -> None:
    path = SEED / "scenarios" / "suzhou_hazards.json"
    if not path.exists():
        pytest.skip("seed_data/scenarios/suzhou_hazards.json not generated")
    towns, depots = places
    assert path.stat().st_size < 1_000_000
    scenarios = load_scenarios(
        path, region_ids=[t.id for t in towns], depot_ids=[d.id for d in depots]
    )
    meta = json.loads(path.read_text(encoding="utf-8"))["meta"]
    rivers = load_rivers(RIVERS)
    again = generate_suzhou_scenarios(
        towns, depots, n=len(scenarios), seed=meta["seed"], rivers=rivers
    )
    assert scenarios_to_json(again, meta) == path.read_text(encoding="utf-8")

"""Scenario sets and pre-positioning runs over HTTP on the tiny network.

DEP-A (county, 100 m³) holds 100 tents and 1,500 L of water; the township next to it
(341302001000) is the only one. A flood displacing 60 people needs 60 × 0.33 → 20 tents and
60 × 3 L × 3 days = 540 L: today's stock already covers it within 10 h, so the optimal plan buys
no tents and covers every scenario fully.
"""

from __future__ import annotations

import pytest

TOWN = "341302001000"


def scenarios(p1=0.7, p2=0.3):
    return [{"id": "flood", "hazard": "flood", "probability": p1, "affected": {TOWN: 60}},
            {"id": "quiet", "hazard": "snowstorm", "probability": p2, "affected": {TOWN: 0}}]


def upload(client, roads, items, **extra):
    return client.post("/api/v1/scenario-sets", headers=roads.headers("planner"),
                       json={"name": "test", "scenarios": items, **extra})


@pytest.fixture
def wait_job(wait_for_job, roads):
    return lambda url: wait_for_job(url, roads.headers("planner"))


@pytest.fixture
def wait(wait_job):
    return lambda url: wait_job(url)["result"]


def test_stock_plan_keeps_what_already_covers_the_scenarios(client, roads, wait):
    stored = upload(client, roads, scenarios())
    assert stored.status_code == 201 and stored.json["scenarios"] == 2
    job = client.post("/api/v1/prepositioning-runs", headers=roads.headers("planner"), json={
        "scenario_set": stored.json["id"], "items": ["1010101", "1030101"], "budget": 0,
        "budget_sweep": [0, 10000]})
    assert job.status_code == 202, job.json
    result = wait(job.json["url"])
    assert result["status"] == "optimal"
    assert result["expected_coverage"] == pytest.approx(1.0)
    assert not [a for a in result["actions"] if a["kind"] == "buy"]
    # LOT-W1 (water, 1,000 L) expires in 20 days at DEP-A, where the plan keeps 540 of 1,500 L:
    # the 960 L released come out of LOT-W1 first, the other 40 L of it are rotated — no litre
    # is both released and rotated, and the rotation stays within the target
    rotate = [a for a in result["actions"] if a["kind"] == "rotate"]
    release = {a["item"]: a["quantity"] for a in result["actions"] if a["kind"] == "release"}
    assert result["targets"]["DEP-A"]["1030101"] == pytest.approx(540)
    assert release["1030101"] == pytest.approx(960)
    assert [(a["from_depot"], a["lot_no"], a["quantity"]) for a in rotate] == [("DEP-A", "LOT-W1", 40)]
    assert result["vss"]["vss"] >= -1e-6 and result["evpi"]["evpi"] >= -1e-6
    png = client.get(f"{job.json['url']}/budget-curve.png", headers=roads.headers("viewer"))
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_impossible_service_level_is_explained(client, roads, wait_job, wait):
    stored = upload(client, roads, [{"id": "huge", "hazard": "flood", "probability": 1.0,
                                     "affected": {TOWN: 50_000}}])
    job = client.post("/api/v1/prepositioning-runs", headers=roads.headers("planner"), json={
        "scenario_set": stored.json["id"], "items": ["1010101"], "budget": 0, "service_level": 1.0})
    result = wait(job.json["url"])
    assert result["status"] == "infeasible" and result["field"] == "service_level"
    assert result["explanation"][0]["scenario"] == "huge"
    assert result["explanation"][0]["item"] == "1010101"
    job = wait_job(job.json["url"])
    assert job["message"].startswith("infeasible: ")  # the job says so, not only its result


def test_a_sweep_point_short_of_the_level_keeps_the_plan(client, roads, wait_job):
    """200 people need 1,800 L of water; 1,500 L are in stock. With 10,000 yuan the plan buys
    what β 0.95 asks for; with no budget it cannot: that sweep point says so, the plan stays."""
    stored = upload(client, roads, [{"id": "flood", "hazard": "flood", "probability": 1.0,
                                     "affected": {TOWN: 200}}])
    job = client.post("/api/v1/prepositioning-runs", headers=roads.headers("planner"), json={
        "scenario_set": stored.json["id"], "items": ["1030101"], "budget": 10000,
        "service_level": 0.95, "budget_sweep": [0, 10000]})
    done = wait_job(job.json["url"])
    result = done["result"]
    assert done["message"] == "done"
    assert result["status"] == "optimal"
    stock = sum(depot["1030101"] for depot in result["targets"].values())
    assert stock >= 0.95 * 1800 - 1e-6 and [a["quantity"] for a in result["actions"] if a["kind"] == "buy"]
    zero, full = result["budget_curve"]
    assert zero["status"] == "infeasible" and "falls short" in zero["reason"] and zero["objective"] is None
    assert full["status"] == "optimal" and full["objective"] == pytest.approx(result["objective"])
    assert result["vss"]["status"] in ("optimal", "not_defined", "infeasible")
    assert result["evpi"]["status"] == "optimal"


@pytest.mark.parametrize("items, extra, field", [
    (scenarios(0.5, 0.3), {}, "probability"),
    ([{"id": "x", "hazard": "flood", "probability": 1.0, "affected": {"341399999000": 5}}], {}, "affected"),
    ([{"id": "x", "hazard": "flood", "probability": 1.0, "affected": {TOWN: -5}}], {}, "affected"),
])
def test_bad_scenario_sets_are_422(client, roads, items, extra, field):
    response = upload(client, roads, items, **extra)
    assert response.status_code == 422, response.json
    assert any(field in key for key in response.json["errors"]), response.json


def test_probabilities_can_be_normalised_on_request(client, roads):
    response = upload(client, roads, scenarios(0.5, 0.3), normalize=True)
    assert response.status_code == 201 and response.json["probability"] == pytest.approx(1.0)


@pytest.mark.parametrize("payload, field", [
    ({"scenario_set": "nope"}, "scenario_set"),
    ({"scenario_set": "nope", "budget": -1}, "budget"),
    ({"scenario_set": "nope", "scenario_share": 0.9}, "scenario_share"),
])
def test_bad_runs_are_422(client, roads, payload, field):
    response = client.post("/api/v1/prepositioning-runs", headers=roads.headers("planner"), json=payload)
    assert response.status_code == 422 and field in response.json["errors"], response.json


def test_generated_scenarios_are_deterministic(client, roads):
    first = client.post("/api/v1/scenario-sets/generate", headers=roads.headers("planner"), json={"n": 5, "seed": 3})
    second = client.post("/api/v1/scenario-sets/generate", headers=roads.headers("planner"), json={"n": 5, "seed": 3})
    assert first.status_code == second.status_code == 201
    get = lambda r: client.get(f"/api/v1/scenario-sets/{r.json['id']}", headers=roads.headers("viewer")).json  # noqa: E731
    assert get(first)["scenarios"] == get(second)["scenarios"]
    assert get(first)["probability"] == pytest.approx(1.0)


def test_expired_lots_are_not_todays_stock(app, client, roads, wait):
    """500 tents at DEP-B expired yesterday: the plan neither counts, keeps nor releases them."""
    import datetime as dt

    from reserve_service.inventory.tables import Depot, Item, StockLot

    with app.extensions["database"].writer_factory() as session:
        session.add(StockLot(depot=session.query(Depot).filter_by(code="DEP-B").one(),
                             item=session.query(Item).filter_by(code="1010101").one(), lot_no="OLD-1",
                             quantity=500, expires_on=dt.date.today() - dt.timedelta(days=1)))
        session.commit()
    stored = upload(client, roads, scenarios())
    job = client.post("/api/v1/prepositioning-runs", headers=roads.headers("planner"), json={
        "scenario_set": stored.json["id"], "items": ["1010101"], "budget": 0, "stochastic_values": False})
    result = wait(job.json["url"])
    assert result["status"] == "optimal"
    assert "DEP-B" not in result["targets"]
    assert not [a for a in result["actions"] if a.get("from_depot") == "DEP-B"]

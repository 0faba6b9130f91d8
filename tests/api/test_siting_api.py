"""Siting runs over HTTP: 202 + job URL, the answer on a network small enough to check by hand."""

from __future__ import annotations

import pytest

from reserve_service.inventory.tables import Depot, Region
from reserve_service.routing.service import store_network

# a (DEP-A) ─ 1 km ─ t (township 341302001000, 50,000 people)
# a ─ 60 km ─ m (township 341321002000, 30,000 people; candidate DEP-M) ─ 60 km ─ b (DEP-B)
# b ─ 6 km ─ c (candidate DEP-C)
NODES = "id,lat,lng\na,33.64,116.98\nt,33.65,116.97\nm,34.04,116.67\nb,34.44,116.37\nc,34.40,116.40\n"
EDGES = ("id,u,v,length_m,road_class,speed_kmh\n"
         "0,a,t,1000,county,50\n1,a,m,60000,national,60\n2,m,b,60000,national,60\n3,b,c,6000,county,50\n")


@pytest.fixture
def world(app, network):
    with app.extensions["database"].writer_factory() as session:
        county_b = session.query(Region).filter_by(adcode="341321000000").one()
        session.add(Region(adcode="341321002000", name="中部镇", level="township", parent=county_b,
                           population=30_000, lat=34.04, lng=116.67))
        session.add(Depot(code="DEP-M", name="候选M", tier="county", region=county_b, lat=34.04, lng=116.67,
                          status="candidate", capacity_m3=100, fixed_cost_yuan=2e6))
        store_network(session, "test", NODES, EDGES)
        session.commit()
    return network


@pytest.fixture
def run(client, world, wait_for_job):
    """``run(payload, role)``: post a siting run and wait for its job."""

    def post_and_wait(payload, role="planner"):
        response = client.post("/api/v1/siting-runs", headers=world.headers(role), json=payload)
        assert response.status_code == 202, response.json
        assert response.headers["Location"] == response.json["url"]
        return wait_for_job(response.json["url"], world.headers(role), expect=None)

    return post_and_wait


@pytest.mark.parametrize("solver", ["cbc", "ortools"])
def test_one_new_depot_keeping_the_county_depots(client, world, solver, run):
    job = run({"model": "p_median", "p": 3, "keep_open_tiers": ["county"], "solver": solver})
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["status"] == "optimal"
    # DEP-M at the middle township serves it in 0 h; 341302001000 stays with DEP-A at 0.02 h
    assert result["new_sites"] == ["DEP-M"]
    assert result["objective"] == pytest.approx(50_000 * 0.02)
    assignment = {row["region"]: (row["depot"], row["hours"]) for row in result["assignment"]}
    assert assignment == {"341302001000": ("DEP-A", 0.02), "341321002000": ("DEP-M", 0.0)}
    assert result["total_fixed_cost_yuan"] == 2e6
    assert result["today"]["depots"] == ["DEP-A", "DEP-B"]  # operating county depots today
    assert result["today"]["max_hours"] == pytest.approx(1.0)
    assert result["plan"]["max_hours"] == pytest.approx(0.02)
    kinds = [f["properties"]["kind"] for f in result["geojson"]["features"]]
    assert kinds.count("site") == 3 and kinds.count("assignment") == 2
    geojson = client.get(f"{job['url']}/geojson", headers=world.headers("viewer"))
    assert geojson.status_code == 200 and geojson.json["type"] == "FeatureCollection"


def test_coverage_within_two_hours_population(client, world, run):
    job = run({"model": "max_cover", "p": 2, "radius_hours": 0.5,
                              "keep_open": ["DEP-A"], "candidate_statuses": ["candidate"]})
    result = job["result"]
    assert result["status"] == "optimal" and result["new_sites"] == ["DEP-M"]
    assert result["objective"] == pytest.approx(80_000)


def test_infeasible_standard_is_explained_by_region(client, world, run):
    job = run({"model": "set_cover", "radius_hours": 0.5, "keep_open": ["DEP-A"],
                              "candidate_codes": ["DEP-C"]})
    result = job["result"]
    assert result["status"] == "infeasible"
    assert [r["name"] for r in result["regions"]] == ["中部镇"]
    assert "中部镇" in result["reason"]


@pytest.mark.parametrize("payload, field", [
    ({"model": "p_median", "p": 9, "keep_open_tiers": ["county"]}, "p"),
    ({"model": "p_median", "p": 1, "keep_open_tiers": ["county"]}, "p"),
    ({"model": "p_median"}, "p"),
    ({"model": "max_cover", "p": 2}, "radius_hours"),
    ({"model": "set_cover", "radius_hours": -1}, "radius_hours"),
    ({"model": "p_median", "p": 2, "keep_open": ["NOPE"]}, "keep_open"),
    ({"model": "p_median", "p": 2, "candidate_statuses": ["closed"]}, "candidate_statuses"),
    ({"model": "p_median", "p": 2, "risk_weights": {"341302001000": -1}}, "risk_weights.341302001000.value"),
    ({"model": "p_median", "p": 2, "risk_weights": {"999": 1}}, "risk_weights"),
    ({"model": "gravity", "p": 2}, "model"),
])
def test_bad_requests_are_422_and_start_no_job(client, world, payload, field):
    response = client.post("/api/v1/siting-runs", headers=world.headers("planner"), json=payload)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert client.get("/api/v1/jobs", headers=world.headers("planner")).json["jobs"] == []


def test_only_planners_start_runs(client, world):
    response = client.post("/api/v1/siting-runs", headers=world.headers("manager"),
                           json={"model": "p_median", "p": 2})
    assert response.status_code == 403


def test_max_cover_with_nothing_coverable_succeeds_covering_nothing(client, world, run):
    """No township lies within 0.001 h of the candidate: the run still answers, optimal, 0 covered."""
    job = run({"model": "max_cover", "p": 1, "radius_hours": 0.001,
                              "candidate_codes": ["DEP-C"]})
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["status"] == "optimal"
    assert result["objective"] == 0
    assert result["bound"] == 0


def test_p_median_with_no_demand_succeeds_at_zero_cost(client, world, run):
    """Every township weighted 0: any p sites are optimal, the bound is 0 too."""
    job = run({"model": "p_median", "p": 1, "candidate_codes": ["DEP-M"],
                              "risk_weights": {"341302001000": 0, "341321002000": 0}})
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["status"] == "optimal"
    assert result["objective"] == 0 and result["bound"] == 0

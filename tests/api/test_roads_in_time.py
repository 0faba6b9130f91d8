"""Roads as they will be, over HTTP, on the tiny network (a → b: expressway 1.0 h, national
road 2.0 h): a query without ``at`` means now, each leg meets the events in force while it is
driven, and times without a zone are read in the service's time zone (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt

import pytest


def add_event(client, roads, **body):
    response = client.post("/api/v1/routing/events", headers=roads.headers("dispatcher"),
                           json={"kind": "closure", "edge_ids": [3], **body})
    assert response.status_code == 201, response.json
    return response.json


def a_to_b(client, roads, **extra) -> float:
    response = client.post("/api/v1/routing/matrix", headers=roads.headers("viewer"), json={
        "sources": [{"depot": "DEP-A"}], "targets": [{"depot": "DEP-B"}], **extra})
    assert response.status_code == 200, response.json
    return response.json["hours"][0][0]


def route_hours(client, roads, **extra) -> tuple[float, list[str]]:
    response = client.post("/api/v1/routing/route", headers=roads.headers("viewer"), json={
        "from": {"depot": "DEP-A"}, "to": {"depot": "DEP-B"}, **extra})
    assert response.status_code == 200, response.json
    return response.json["eta_hours"], [leg["ref"] for leg in response.json["legs"]]


def clock(hours: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).isoformat()


def test_without_at_a_future_or_past_closure_does_not_apply(client, roads):
    add_event(client, roads, starts_at=clock(2), ends_at=clock(5), cause="closes in 2 h")
    add_event(client, roads, starts_at=clock(-6), ends_at=clock(-1), cause="reopened an hour ago")
    assert a_to_b(client, roads) == pytest.approx(1.0)
    assert route_hours(client, roads) == (pytest.approx(1.0), ["G3"])
    assert a_to_b(client, roads, at=clock(3)) == pytest.approx(2.0)


def test_a_closure_met_during_the_drive_reroutes_the_leg(client, roads):
    """The expressway closes in 30 min; the 1 h drive would still be on it, so the route and
    the matrix take the national road (2.0 h)."""
    add_event(client, roads, starts_at=clock(0.5))
    assert route_hours(client, roads) == (pytest.approx(2.0), ["G343", "G343"])
    assert a_to_b(client, roads) == pytest.approx(2.0)
    assert a_to_b(client, roads, at=clock(-2)) == pytest.approx(1.0)  # over before it closes


def test_a_repair_is_used_once_it_reopens(client, roads):
    add_event(client, roads, kind="repair", ends_at=clock(3))
    assert route_hours(client, roads)[0] == pytest.approx(2.0)
    assert route_hours(client, roads, at=clock(3.1)) == (pytest.approx(1.0), ["G3"])


def test_times_without_a_zone_are_shanghai_wall_clock(client, roads):
    event = add_event(client, roads, starts_at="2026-07-10T08:00:00", ends_at="2026-07-10T10:00:00")
    assert event["starts_at"] == "2026-07-10T00:00:00+00:00"
    assert event["ends_at"] == "2026-07-10T02:00:00+00:00"
    assert a_to_b(client, roads, at="2026-07-10T08:30:00") == pytest.approx(2.0)
    assert a_to_b(client, roads, at="2026-07-10T00:30:00Z") == pytest.approx(2.0)
    assert a_to_b(client, roads, at="2026-07-10T08:30:00+00:00") == pytest.approx(1.0)
    assert route_hours(client, roads, at="2026-07-10T10:00:00")[0] == pytest.approx(1.0)


def test_the_time_zone_is_configurable(database_url, network):
    from reserve_service import create_app
    from reserve_service.routing.events import DEFAULT_TIME_ZONE, as_utc, set_local_zone

    try:
        app = create_app({"TESTING": True, "DATABASE_URL": database_url, "TIME_ZONE": "UTC"})
        app.extensions["database"].engine.dispose()
        assert as_utc("2026-07-10T08:00:00") == dt.datetime(2026, 7, 10, 8, tzinfo=dt.UTC)
    finally:
        set_local_zone(DEFAULT_TIME_ZONE)

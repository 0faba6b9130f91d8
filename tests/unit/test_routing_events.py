"""Road events against a NetworkX oracle: closures, slowdowns, traffic control, repairs,
validity windows, areas, and exact restoration of travel times on removal."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, shape

from reserve_service.routing.errors import NoRouteError, RoadEventError
from reserve_service.routing.events import (
    DEFAULT_TIME_ZONE,
    EventKind,
    RoadEvent,
    as_utc,
    set_local_zone,
)
from reserve_service.routing.graph import RoadGraph
from tests.unit.road_networks import Row, networks, oracle_graph, oracle_matrix

T0 = datetime(2026, 7, 10, 6, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def oracle(n: int, rows: list[Row], profile: str, events: list[RoadEvent]) -> np.ndarray:
    """The oracle's node-by-node hours under ``events``."""
    return oracle_matrix(oracle_graph(n, rows, profile, events), range(n), range(n))


@st.composite
def networks_with_events(draw: st.DrawFn):
    n, rows, graph = draw(networks(max_nodes=10, min_edges=1, lengths=(0.0, 333.3, 2500.0, 12345.6),
                                   speeds=(20.0, 60.0, 110.0), weight_limits=(None,)))
    edge_ids = [r.id for r in rows]
    events = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(list(EventKind)))
        start = draw(st.sampled_from([None, 0, 2, 5]))
        length = draw(st.sampled_from([None, 1, 3, 10]))
        if kind is EventKind.REPAIR and length is None:
            length = 4
        starts_at = None if start is None else T0 + timedelta(hours=start)
        ends_at = None if length is None else (starts_at or T0) + timedelta(hours=length)
        events.append(
            RoadEvent(
                kind,
                edge_ids=tuple(draw(st.sets(st.sampled_from(edge_ids), min_size=1, max_size=len(edge_ids)))),
                starts_at=starts_at,
                ends_at=ends_at,
                speed_factor=draw(st.sampled_from([0.1, 0.5, 0.77]))
                if kind is EventKind.SLOWDOWN
                else None,
            )
        )
    return n, rows, graph, events


@SETTINGS
@given(case=networks_with_events(), data=st.data())
def test_events_match_the_oracle_and_removal_restores_times_exactly(case, data):
    n, rows, graph, events = case
    nodes = list(range(n))
    profiles = ("relief_truck", "public_truck")
    before = {p: graph.travel_time_matrix(nodes, nodes, profile=p) for p in profiles}
    before_column = {p: graph.travel_time_matrix(nodes, [n - 1], profile=p) for p in profiles}
    for event in events:
        graph.apply_event(event)
    for profile in (
        "relief_truck",
        "public_truck",
        "van",
    ):  # "van" is first built with events in place
        expected = oracle(n, rows, profile, events)
        got = graph.travel_time_matrix(nodes, nodes, profile=profile)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        # more sources than targets: answered on the transposed graph, which events update too
        column = graph.travel_time_matrix(nodes, [n - 1], profile=profile)
        np.testing.assert_allclose(column, expected[:, [n - 1]], rtol=1e-12, atol=1e-12)
    moment = T0 + timedelta(hours=data.draw(st.sampled_from([-1, 0, 1.5, 2, 4.99, 5, 12])))
    active = [e for e in events if e.in_force_at(moment)]
    got = graph.travel_time_matrix(nodes, nodes, profile="public_truck", at=moment)
    np.testing.assert_allclose(
        got, oracle(n, rows, "public_truck", active), rtol=1e-12, atol=1e-12
    )
    for event in data.draw(st.permutations(events)):
        graph.remove_event(event.id)
    for profile, matrix in before.items():
        assert np.array_equal(graph.travel_time_matrix(nodes, nodes, profile=profile), matrix)
        column = graph.travel_time_matrix(nodes, [n - 1], profile=profile)
        assert np.array_equal(column, before_column[profile])
    assert graph.events == []


@pytest.fixture
def ladder() -> RoadGraph:
    """Two parallel roads from 0 to 3: a fast national road 0-1-3 and a slower county road 0-2-3."""
    nodes = io.StringIO(
        "id,lat,lng\n0,33.60,117.00\n1,33.65,117.10\n2,33.55,117.10\n3,33.60,117.20\n"
    )
    edges = io.StringIO(
        "id,u,v,length_m,road_class,speed_kmh,ref\n"
        "10,0,1,10000,national,60,G343\n11,1,3,10000,national,60,G343\n"
        "20,0,2,12000,county,60,X101\n21,2,3,12000,county,60,X101\n"
    )
    return RoadGraph.from_csv(nodes, edges)


def test_closure_stops_everyone_traffic_control_only_the_public(ladder):
    fast, slow = 20 / 60, 24 / 50
    control = ladder.apply_event(RoadEvent("traffic_control", edge_ids=(11,)))
    relief = ladder.route(0, 3, profile="relief_truck")
    assert relief.eta_hours == pytest.approx(fast)
    assert "green_channel.passes_traffic_control" in relief.rules_applied
    assert ladder.route(0, 3, profile="public_truck").eta_hours == pytest.approx(slow)
    ladder.remove_event(control.id)
    ladder.apply_event(RoadEvent("closure", edge_ids=(11,), cause="flooded"))
    assert ladder.route(0, 3, profile="relief_truck").eta_hours == pytest.approx(slow)
    ladder.apply_event(RoadEvent("repair", edge_ids=(20,), ends_at=T0 + timedelta(days=2)))
    with pytest.raises(NoRouteError):
        ladder.route(0, 3, profile="relief_truck")
    assert ladder.travel_time_matrix([0], [3])[0, 0] == np.inf


def test_slowdown_is_reported_on_the_route(ladder):
    event = ladder.apply_event(RoadEvent("slowdown", edge_ids=(10,), speed_factor=0.9))
    route = ladder.route(0, 3)
    assert [leg.edge_id for leg in route.legs] == [10, 11]
    assert route.legs[0].speed_kmh == pytest.approx(54) and route.legs[0].event_ids == (event.id,)
    assert route.eta_hours == pytest.approx(10 / 54 + 10 / 60)
    assert f"slowdown:{event.id}" in route.rules_applied


def test_validity_window_is_half_open(ladder):
    start, end = T0, T0 + timedelta(hours=6)
    ladder.apply_event(RoadEvent("closure", edge_ids=(10,), starts_at=start, ends_at=end))
    eta = {
        label: ladder.travel_time_matrix([0], [3], at=moment)[0, 0]
        for label, moment in [
            ("before", start - timedelta(seconds=1)),
            ("start", start),
            ("inside", start + timedelta(hours=3)),
            ("end", end),
        ]
    }
    assert eta["before"] == eta["end"] == pytest.approx(20 / 60)
    assert eta["start"] == eta["inside"] == pytest.approx(24 / 50)
    assert ladder.route(0, 3, at="2026-07-10T08:00:00+00:00").eta_hours == pytest.approx(24 / 50)
    assert ladder.travel_time_matrix([0], [3])[0, 0] == pytest.approx(
        24 / 50
    )  # at=None: all events


def test_area_event_covers_exactly_the_edges_crossing_it(ladder):
    area = {
        "type": "Polygon",
        "coordinates": [
            [[117.04, 33.50], [117.06, 33.50], [117.06, 33.61], [117.04, 33.61], [117.04, 33.50]]
        ],
    }
    polygon = shape(area)
    expected = sorted(
        edge_id
        for edge_id in (10, 11, 20, 21)
        for e in [ladder.edge(edge_id)]
        if LineString(
            [ladder.node_latlng(e["u"])[::-1], ladder.node_latlng(e["v"])[::-1]]
        ).intersects(polygon)
    )
    event = ladder.apply_event(RoadEvent("closure", area=area))
    assert ladder.event_edge_ids(event.id) == expected == [20]
    assert ladder.route(0, 3, profile="public_truck").eta_hours == pytest.approx(20 / 60)


def test_multipolygon_areas_cover_every_part(ladder):
    def square(lng: float, lat: float) -> list:
        d = 0.004
        return [
            [
                [lng - d, lat - d],
                [lng + d, lat - d],
                [lng + d, lat + d],
                [lng - d, lat + d],
                [lng - d, lat - d],
            ]
        ]

    area = {"type": "MultiPolygon", "coordinates": [square(117.05, 33.575), square(117.15, 33.625)]}
    event = ladder.apply_event(RoadEvent("traffic_control", area=area))
    assert ladder.event_edge_ids(event.id) == [11, 20]
    assert ladder.travel_time_matrix([0], [3], profile="public_truck")[0, 0] == np.inf
    assert ladder.travel_time_matrix([0], [3], profile="relief_truck")[0, 0] == pytest.approx(
        20 / 60
    )


def test_an_area_that_closes_nothing_is_an_error(ladder):
    far = {"type": "Polygon", "coordinates": [[[118, 34], [118.1, 34], [118.1, 34.1], [118, 34]]]}
    with pytest.raises(RoadEventError) as error:
        ladder.apply_event(RoadEvent("closure", area=far))
    assert error.value.field == "area"
    assert ladder.events == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "closure", "edge_ids": (1,), "starts_at": T0, "ends_at": T0}, "ends_at"),
        (
            {
                "kind": "closure",
                "edge_ids": (1,),
                "starts_at": T0,
                "ends_at": T0 - timedelta(hours=1),
            },
            "ends_at",
        ),
        ({"kind": "repair", "edge_ids": (1,)}, "ends_at"),
        ({"kind": "slowdown", "edge_ids": (1,), "speed_factor": 0}, "speed_factor"),
        ({"kind": "slowdown", "edge_ids": (1,), "speed_factor": 1.5}, "speed_factor"),
        ({"kind": "slowdown", "edge_ids": (1,)}, "speed_factor"),
        ({"kind": "closure", "edge_ids": (1,), "speed_factor": 0.5}, "speed_factor"),
        ({"kind": "landslide", "edge_ids": (1,)}, "kind"),
        ({"kind": "closure"}, "edge_ids"),
        ({"kind": "closure", "area": {"type": "Point", "coordinates": [117, 33]}}, "area"),
        (
            {
                "kind": "closure",
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                },
            },
            "area",
        ),
        ({"kind": "closure", "edge_ids": (1,), "starts_at": "yesterday"}, "starts_at"),
    ],
)
def test_invalid_events_are_rejected(fields, field):
    with pytest.raises(RoadEventError) as error:
        RoadEvent(**fields)
    assert error.value.field == field


def test_unknown_edges_and_event_ids_are_rejected(ladder):
    with pytest.raises(RoadEventError) as error:
        ladder.apply_event(RoadEvent("closure", edge_ids=(10, 999)))
    assert error.value.field == "edge_ids" and ladder.events == []
    with pytest.raises(RoadEventError):
        ladder.remove_event("no-such-event")
    event = ladder.apply_event(RoadEvent("closure", edge_ids=(10,)))
    with pytest.raises(RoadEventError):
        ladder.apply_event(event)


def test_event_dict_round_trip():
    event = RoadEvent(
        "slowdown",
        edge_ids=(3, 4),
        starts_at="2026-07-10T14:00:00",  # Asia/Shanghai wall clock = T0
        ends_at=T0 + timedelta(hours=2),
        speed_factor=0.5,
        cause="heavy rain",
    )
    again = RoadEvent.from_dict(event.to_dict())
    assert again == event and again.starts_at == T0
    with pytest.raises(RoadEventError) as error:
        RoadEvent.from_dict({"kind": "closure", "edge_ids": [1], "colour": "red"})
    assert error.value.field == "colour"


# -- roads as they will be: events by the time each leg is driven ------------------------------


def test_a_closure_that_starts_after_arrival_does_not_block_the_leg(ladder):
    """Closing the fast road from +2 h: a leg leaving now (20 min) keeps it, one leaving at
    +1 h 50 min would still be on it at +2 h and takes the county road."""
    ladder.apply_event(RoadEvent("closure", edge_ids=(11,), starts_at=T0 + timedelta(hours=2)))
    fast, slow = 20 / 60, 24 / 50
    assert ladder.leg_hours([0], [3], depart=T0)[0, 0] == pytest.approx(fast)
    assert ladder.leg_hours([0], [3], depart=T0 + timedelta(hours=1, minutes=50))[0, 0] == (
        pytest.approx(slow)
    )
    assert ladder.leg_hours([0], [3], depart=T0 + timedelta(hours=5))[0, 0] == pytest.approx(slow)
    driven = ladder.route(0, 3, at=T0, as_driven=True)
    assert [leg.edge_id for leg in driven.legs] == [10, 11]
    later = ladder.route(0, 3, at=T0 + timedelta(hours=1, minutes=50), as_driven=True)
    assert [leg.edge_id for leg in later.legs] == [20, 21]
    assert later.eta_hours == pytest.approx(slow)


def test_a_repair_is_usable_once_it_reopens(ladder):
    """Both roads under repair until +3 h: unreachable before, the fast road after."""
    for edge in (10, 20):
        ladder.apply_event(RoadEvent("repair", edge_ids=(edge,), ends_at=T0 + timedelta(hours=3)))
    assert ladder.leg_hours([0], [3], depart=T0 + timedelta(hours=1))[0, 0] == np.inf
    assert ladder.leg_hours([0], [3], depart=T0 + timedelta(hours=3))[0, 0] == pytest.approx(20 / 60)
    with pytest.raises(NoRouteError):
        ladder.route(0, 3, at=T0 + timedelta(hours=2), as_driven=True)


def test_an_event_met_halfway_lengthens_the_leg(ladder):
    """A slowdown on the second half of the fast road from +15 min meets a truck leaving at 0."""
    ladder.apply_event(
        RoadEvent("slowdown", edge_ids=(11,), speed_factor=0.5, starts_at=T0 + timedelta(minutes=15))
    )
    assert ladder.travel_time_matrix([0], [3], at=T0)[0, 0] == pytest.approx(20 / 60)
    assert ladder.leg_hours([0], [3], depart=T0)[0, 0] == pytest.approx(24 / 50)


@SETTINGS
@given(case=networks_with_events(), depart=st.sampled_from([0.0, 1.5, 2.5, 4.0, 7.0]))
def test_leg_hours_meet_exactly_the_events_of_their_own_drive(case, depart):
    """Each leg's hours equal the oracle's under the events in force during that very drive,
    and are never shorter than the snapshot at departure."""
    n, rows, graph, events = case
    for event in events:
        graph.apply_event(event)
    leave = T0 + timedelta(hours=depart)
    hours = graph.leg_hours(list(range(n)), list(range(n)), depart=leave)
    snapshot = graph.travel_time_matrix(list(range(n)), list(range(n)), at=leave)
    assert np.all(hours >= snapshot - 1e-9)
    for s in range(n):
        for t in range(n):
            if not np.isfinite(hours[s, t]):
                continue
            during = [e for e in events if e.in_force_during(leave, leave + timedelta(hours=hours[s, t]))]
            expected = oracle(n, rows, "relief_truck", during)[s, t]
            assert hours[s, t] == pytest.approx(expected, abs=1e-9)


def test_times_without_a_zone_are_read_in_the_service_time_zone():
    assert as_utc("2026-07-10T14:00:00") == datetime(2026, 7, 10, 6, 0, tzinfo=UTC)
    assert as_utc("2026-07-10T14:00:00+00:00") == datetime(2026, 7, 10, 14, 0, tzinfo=UTC)
    event = RoadEvent("closure", edge_ids=(1,), starts_at="2026-07-10T08:00:00")
    assert event.starts_at == datetime(2026, 7, 10, 0, 0, tzinfo=UTC)
    try:
        set_local_zone("UTC")
        assert as_utc("2026-07-10T14:00:00") == datetime(2026, 7, 10, 14, 0, tzinfo=UTC)
    finally:
        set_local_zone(DEFAULT_TIME_ZONE)
    with pytest.raises(RoadEventError):
        set_local_zone("Mars/Olympus")

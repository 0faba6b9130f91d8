"""The committed 宿州 seed road network: every township reachable, named corridors present,
answers equal NetworkX on the real file, and the files are what the generator produces."""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import yaml

from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.policy import DEFAULT_POLICY_PATH

REPO = Path(__file__).resolve().parents[2]
ROADS = REPO / "seed_data" / "roads"
REGIONS = REPO / "seed_data" / "regions.csv"


@pytest.fixture(scope="module")
def seed_graph() -> RoadGraph:
    """The seed network as shipped in seed_data/roads."""
    return RoadGraph.from_directory(ROADS)


@pytest.fixture(scope="module")
def regions() -> list[dict[str, str]]:
    with open(REGIONS, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def seat_nodes() -> dict[str, int]:
    """adcode → node id of the seat nodes in nodes.csv."""
    with open(ROADS / "nodes.csv", encoding="utf-8", newline="") as handle:
        return {row["adcode"]: int(row["id"]) for row in csv.DictReader(handle) if row["adcode"]}


def test_every_township_has_a_seat_node_at_its_coordinates(seed_graph, regions, seat_nodes):
    townships = [r for r in regions if r["level"] == "township"]
    assert len(townships) >= 100
    for town in townships:
        lat, lng = seed_graph.node_latlng(seat_nodes[town["adcode"]])
        assert (lat, lng) == pytest.approx((float(town["lat"]), float(town["lng"])), abs=1e-6)
        assert seed_graph.snap(lat, lng).node == seat_nodes[town["adcode"]]


@pytest.mark.parametrize("profile", ["relief_truck", "heavy_truck", "public_truck", "van"])
def test_every_township_is_reachable_from_the_city_and_county_seats_within_10_hours(
    seed_graph, regions, seat_nodes, profile
):
    origins = [seat_nodes[r["adcode"]] for r in regions if r["level"] in ("city", "county")]
    towns = [seat_nodes[r["adcode"]] for r in regions if r["level"] == "township"]
    hours = seed_graph.travel_time_matrix(origins, towns, profile=profile)
    assert np.isfinite(hours).all()
    assert hours.max() < 10


def test_named_corridors_are_present_and_expressways_tolled(seed_graph):
    edges = [seed_graph.edge(e) for e in seed_graph.edge_ids]
    refs = {e["ref"] for e in edges}
    assert {"G3", "G30", "S07", "G343", "G206", "S101", "S302", "S303", "S305"} <= refs
    names = {e["name"] for e in edges}
    assert {"泗许高速", "徐淮阜高速", "宿萧砀快速通道"} <= names
    carriageways = [
        e
        for e in edges
        if e["road_class"] == "expressway"
        and not e["toll_plaza"]
        and not e["name"].endswith("枢纽")
    ]
    assert carriageways and all(e["toll"] for e in carriageways)
    assert any(e["toll_plaza"] for e in edges)
    assert all(e["lanes"] == 6 and e["speed_kmh"] == 80 for e in edges if e["ref"] == "G343")
    assert any(e["bridge"] and e["max_weight_t"] for e in edges)


def test_size_and_scale(seed_graph):
    total = sum(p.stat().st_size for p in ROADS.iterdir())
    assert total < 15_000_000
    assert 10_000 <= seed_graph.edge_count <= 200_000


def test_city_to_townships_equals_networkx_on_the_seed_file(seed_graph, regions, seat_nodes):
    """An independent oracle on the real file: networkx Dijkstra over edges.csv rows."""
    spec = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))["profiles"][
        "public_truck"
    ]
    oracle = nx.MultiDiGraph()
    with open(ROADS / "edges.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["max_weight_t"] and float(row["max_weight_t"]) < spec["weight_t"]:
                continue
            speed = min(float(row["speed_kmh"]), spec["speed_kmh"][row["road_class"]])
            hours = float(row["length_m"]) / 1000 / speed
            hours += spec["toll_plaza_queue_minutes"] / 60 if row["toll_plaza"] == "1" else 0
            oracle.add_edge(int(row["u"]), int(row["v"]), hours=hours)
            oracle.add_edge(int(row["v"]), int(row["u"]), hours=hours)
    city = seat_nodes[next(r["adcode"] for r in regions if r["level"] == "city")]
    towns = [seat_nodes[r["adcode"]] for r in regions if r["level"] == "township"]
    expected = nx.single_source_dijkstra_path_length(oracle, city, weight="hours")
    got = seed_graph.travel_time_matrix([city], towns, profile="public_truck")[0]
    assert got == pytest.approx([expected.get(t, math.inf) for t in towns], rel=1e-9)


def test_the_files_are_what_the_generator_makes(capsys, monkeypatch):
    path = REPO / "scripts" / "make_road_network.py"
    spec = importlib.util.spec_from_file_location("make_road_network", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, capsys.readouterr().out

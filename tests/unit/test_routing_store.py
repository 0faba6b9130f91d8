"""The memory-mapped network store: what is loaded back is the network that was saved."""

from __future__ import annotations

import numpy as np

from reserve_service.config import PROJECT_ROOT
from reserve_service.routing import loaders, store
from reserve_service.routing.graph import RoadGraph

SEED = PROJECT_ROOT / "seed_data" / "roads"


def test_the_seed_network_round_trips_and_answers_the_same(tmp_path):
    tables = loaders.read_csv(SEED / "nodes.csv", SEED / "edges.csv")
    built = RoadGraph(tables)
    folder = store.save(tmp_path / "uid-1", tables, built.arc_arrays())
    loaded = store.load(folder)
    assert isinstance(loaded.length_m, np.memmap) and not loaded.length_m.flags.writeable
    assert loaded.node_ids == tables.node_ids and loaded.name == tables.name and loaded.ref == tables.ref
    for column in store.ARRAYS:
        assert np.array_equal(getattr(loaded, column), getattr(tables, column)), column
    mapped = RoadGraph(loaded, arcs=store.load_arcs(folder))
    assert isinstance(mapped._slot_to, np.memmap)
    nodes = tables.node_ids[::1500]
    assert np.array_equal(built.travel_time_matrix(nodes, nodes), mapped.travel_time_matrix(nodes, nodes))
    a, b = nodes[0], nodes[-1]
    assert built.route(a, b).legs == mapped.route(a, b).legs


def test_curved_edges_keep_their_vertices_and_a_second_save_is_a_no_op(tmp_path):
    tables = loaders.read_geojson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"road_class": "county", "speed_kmh": 50, "name": "X1"},
         "geometry": {"type": "LineString", "coordinates": [[117.0, 33.6], [117.01, 33.61], [117.02, 33.6]]}},
        {"type": "Feature", "properties": {"road_class": "county", "speed_kmh": 50},
         "geometry": {"type": "LineString", "coordinates": [[117.02, 33.6], [117.03, 33.6]]}}]})
    folder = store.save(tmp_path / "uid-2", tables)
    assert store.load(folder).geometry == tables.geometry
    assert store.save(folder, tables) == folder and sorted(p.name for p in tmp_path.iterdir()) == ["uid-2"]

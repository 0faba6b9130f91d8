"""The load-roads command: CSV folders, GeoJSON and OSM files become the active network."""

from __future__ import annotations

import json

from sqlalchemy import select

from reserve_service.routing.service import road_graph
from reserve_service.routing.tables import RoadNetwork

OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="33.60" lon="116.90"/>
  <node id="2" lat="33.61" lon="116.91"/>
  <node id="3" lat="33.62" lon="116.92"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/><tag k="ref" v="G343"/></way>
  <way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
</osm>
"""


def _active(db) -> RoadNetwork:
    return db.scalar(select(RoadNetwork).where(RoadNetwork.active.is_(True)))


def test_load_geojson_then_osm_switches_the_active_network(app, db, tmp_path):
    runner = app.test_cli_runner()
    geojson = tmp_path / "roads.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[116.9, 33.6], [117.0, 33.6]]},
         "properties": {"road_class": "national", "speed_kmh": 60, "ref": "G343"}}]}), encoding="utf-8")
    result = runner.invoke(args=["load-roads", "--geojson", str(geojson), "--name", "g"])
    assert result.exit_code == 0, result.output
    assert (_active(db).name, _active(db).edge_count) == ("g", 1)

    osm = tmp_path / "roads.osm"
    osm.write_text(OSM, encoding="utf-8")
    result = runner.invoke(args=["load-roads", "--osm", str(osm), "--name", "o"])
    assert result.exit_code == 0, result.output
    assert _active(db).name == "o"
    graph, _ = road_graph(db)
    first, last = graph.node_ids[0], graph.node_ids[-1]  # OSM nodes 1 and 3
    hours = graph.travel_time_matrix([first, last], [last, first])
    assert hours[0, 0] < float("inf") and hours[1, 1] == float("inf")  # residential way is one-way


def test_bad_files_are_refused_and_the_old_network_stays(app, db, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["load-roads", "--name", "seed"]).exit_code == 0
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    result = runner.invoke(args=["load-roads", "--geojson", str(broken)])
    assert result.exit_code != 0
    assert _active(db).name == "seed" and _active(db).edge_count > 30_000
    again = runner.invoke(args=["load-roads", "--if-empty"])
    assert "left as is" in again.output

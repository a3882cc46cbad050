"""County populations in the shipped regions table are the 2020 census, not an equal split.

Checked against the census file itself (shipped beside it as census_county_2020.csv, a copy of
shared/data/census-2020), so a rebuild that drifts from the census fails here.
"""

from collections import Counter, defaultdict

import pytest

from nrmc.data import read_csv

ROWS = read_csv("regions.csv")
BY_CODE = {r["code"]: r for r in ROWS}
LEAVES = [r for r in ROWS if r["leaf"] == "1" and r["level"] != "province"]


@pytest.fixture(scope="module")
def census() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in read_csv("census_county_2020.csv")}


def test_the_shipped_census_file_sums_to_the_national_figure(census):
    provinces = [r for r in census.values() if r["level"] == "province"]
    assert len(provinces) == 31
    assert sum(int(r["population"]) for r in provinces) == 1_409_778_724


def test_every_census_covered_county_carries_its_census_figure(census):
    covered = [r for r in LEAVES if r["population_method"] == "census"]
    assert len(covered) > 2500
    for row in covered:
        assert int(row["population"]) == int(census[row["code"]]["population"]), row["code"]
        assert row["population_estimated"] == "0"


def test_a_unit_that_took_zone_population_keeps_its_own_census_figure_beside_it(census):
    folded = [r for r in LEAVES if r["population_method"].endswith(("+zone_folded", "+rescaled"))]
    assert folded
    for row in folded:
        if row["population_method"].startswith("census+"):
            assert int(row["population_census"]) == int(census[row["code"]]["population"])
        if row["population_census"]:  # the census figure of the unit's territory (merges summed)
            assert int(row["population"]) > int(row["population_census"])
        assert row["population_estimated"] == "1"
    chengguan = BY_CODE["620102"]  # 兰州 城关区 takes part of 兰州新区 and the other Lanzhou zones
    assert chengguan["population_method"] == "census+zone_folded"
    assert int(chengguan["population_census"]) == 1_484_016


def test_each_gansu_prefecture_sums_to_its_census_figure(census):
    sums: dict[str, int] = defaultdict(int)
    for row in LEAVES:
        if row["code"].startswith("62"):
            parent = BY_CODE[row["parent_code"]]
            sums[parent["code"] if parent["level"] == "prefecture" else row["code"]] += int(
                row["population"])
    prefectures = [c for c, r in census.items() if r["level"] == "prefecture" and c[:2] == "62"]
    assert len(prefectures) == 14
    for code in prefectures:
        assert sums[code] == pytest.approx(int(census[code]["population"]), rel=0.005), code
    assert sums["620100"] == 4_359_446  # 兰州市, development zones (288,200 people) included


def test_all_counties_sum_to_the_national_census_total():
    total = sum(int(r["population"]) for r in LEAVES)
    assert total == pytest.approx(1_409_778_724, rel=0.001)


def test_no_county_takes_an_equal_split():
    methods = Counter(r["population_method"].split(":")[0].split("+")[0] for r in LEAVES)
    assert set(methods) <= {"census", "census_code", "merged", "split_from", "zone",
                            "not_enumerated"}
    # The old table gave every county of a province the same figure; now siblings differ.
    for province in {r["code"][:2] for r in LEAVES}:
        figures = [int(r["population"]) for r in LEAVES if r["code"][:2] == province
                   and not r["population_method"].startswith("not_enumerated")]
        assert len(set(figures)) > len(figures) // 2, province


def test_jiangbei_and_yubei_are_chongqing_districts_and_liangjiang_is_not_a_county(census):
    for code, name in (("500105", "江北区"), ("500112", "渝北区")):
        row = BY_CODE[code]
        assert (row["name_zh"], row["parent_code"], row["level"]) == (name, "500000", "county")
        assert int(row["population"]) == int(census[code]["population"])
    assert "500157" not in BY_CODE


def test_xiongan_administers_its_three_counties_at_their_census_figures(census):
    counties = ["130629", "130632", "130638"]
    assert all(BY_CODE[c]["parent_code"] == "133100" for c in counties)
    assert BY_CODE["133100"]["leaf"] == "0"
    assert int(BY_CODE["133100"]["population"]) == sum(int(census[c]["population"]) for c in counties)
    baoding = [r for r in LEAVES if r["parent_code"] == "130600"]
    assert sum(int(r["population"]) for r in baoding) + int(BY_CODE["133100"]["population"]) == \
        int(census["130600"]["population"])


def test_units_split_after_2020_are_estimated_from_their_predecessor_and_say_how():
    linping, yuhang = BY_CODE["330113"], BY_CODE["330110"]
    assert linping["population_method"] == "split_from:330110(8/20 townships)"
    assert yuhang["population_method"] == "split_from:330110(12/20 townships)"
    assert linping["population_estimated"] == yuhang["population_estimated"] == "1"
    assert int(linping["population"]) + int(yuhang["population"]) == 2_402_514  # 余杭区 in 2020
    assert linping["population_census"] == ""
    gongshu = BY_CODE["330105"]  # 拱墅区 absorbed 下城区 whole: exact, not estimated
    assert gongshu["population_method"] == "merged:330105&330103"
    assert gongshu["population_estimated"] == "0" and int(gongshu["population"]) == 635_136 + 485_849
    renamed = BY_CODE["450181"]  # 横县 → 横州市
    assert renamed["population_method"] == "census_code:450127"


def test_units_with_no_census_figure_of_their_own_say_where_their_people_are_counted():
    xinxing = BY_CODE["659011"]
    assert xinxing["population"] == "0"
    assert xinxing["population_method"] == "not_enumerated:counted_in_650500"


def test_urban_rural_and_aged_share_columns_are_consistent(census):
    for row in LEAVES:
        if row["population"] == "0":
            continue
        assert int(row["urban"]) + int(row["rural"]) == int(row["population"]), row["code"]
        assert 0 < float(row["share_65_plus"]) < 40, row["code"]
    jinta = BY_CODE["620921"]
    assert int(jinta["urban"]) == int(census["620921"]["urban"])
    assert float(jinta["share_65_plus"]) == pytest.approx(
        float(census["620921"]["share_65_plus_pct"]), abs=0.01)

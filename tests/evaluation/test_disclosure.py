"""What an evaluation publishes: small cells withheld, with what would give them back."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from nrmc.evaluation import charts
from nrmc.evaluation.disclosure import publish_before_after, publish_kpis, publish_origins
from nrmc.evaluation.impact import before_after
from nrmc.evaluation.kpis import Kpi


def _level4(first: int = 3) -> pd.DataFrame:
    """2016: ``first`` of 40 surgeries; 2017: 2 of 7; 2018–2019 large."""
    return pd.DataFrame({"year": [2016, 2017, 2018, 2019], "level4": [first, 2, 140, 160],
                         "surgeries": [40, 7, 1100, 1150]})


def _result(first: int = 3, baseline: int = 2018):  # type: ignore[no-untyped-def]
    return before_after(_level4(first), metric="level4_share", baseline_year=baseline,
                        numerator="level4", denominator="surgeries")


def test_a_small_numerator_withholds_itself_and_its_share_but_not_a_large_base():
    row = publish_before_after(_result(), 10).table.set_index("year").loc[2016]
    assert row["numerator_withheld"] and math.isnan(row["numerator"])
    assert row["value_withheld"] and math.isnan(row["value"])
    assert not row["denominator_withheld"] and row["denominator"] == 40


def test_a_small_base_withholds_the_whole_year():
    row = publish_before_after(_result(), 10).table.set_index("year").loc[2017]
    assert row["numerator_withheld"] and row["denominator_withheld"] and row["value_withheld"]
    assert math.isnan(row["numerator"]) and math.isnan(row["denominator"])


def test_a_change_is_withheld_when_either_of_its_shares_is():
    table = publish_before_after(_result(), 10).table.set_index("year")
    assert table.loc[2016, "change_withheld"] and math.isnan(table.loc[2016, "change_pct"])
    # 2018 is large, but its year-on-year change would give 2017's share back
    assert table.loc[2018, "yoy_withheld"] and math.isnan(table.loc[2018, "yoy_change_pct"])
    assert not table.loc[2019, "yoy_withheld"]
    assert table.loc[2019, "yoy_change_pct"] == pytest.approx((160 / 1150) / (140 / 1100) - 1)


def test_large_cells_and_the_headline_are_published_exactly():
    published = publish_before_after(_result(), 10)
    row = published.table.set_index("year").loc[2019]
    assert (row["numerator"], row["denominator"]) == (160, 1150)
    assert row["value"] == pytest.approx(160 / 1150)
    assert published.withheld == frozenset()
    assert published.before == pytest.approx(140 / 1100)
    assert published.after == pytest.approx(160 / 1150)


def test_a_withheld_baseline_withholds_every_change_and_the_headline_before():
    published = publish_before_after(_result(baseline=2016), 10)
    assert published.withheld == {"before", "change_pct"}
    assert math.isnan(published.before) and math.isnan(published.change_pct)
    assert published.table["change_withheld"].all()
    assert published.after == pytest.approx(160 / 1150)


def test_threshold_one_publishes_every_count():
    published = publish_before_after(_result(), 1)
    assert not published.table.filter(like="_withheld").to_numpy().any()
    assert published.table.loc[0, "numerator"] == 3


def test_a_higher_threshold_withholds_more():
    table = publish_before_after(_result(), 50).table.set_index("year")
    assert table.loc[2016, "denominator_withheld"]  # 40 surgeries < 50
    assert not table.loc[2019, "value_withheld"]


def test_the_before_after_chart_does_not_depend_on_a_withheld_value():
    def svg(first: int, min_cell: int) -> str:
        return charts.before_after_svg(publish_before_after(_result(first), min_cell),
                                       title="t", unit="%", source="s", opening_year=2019)

    assert svg(3, 10) == svg(6, 10)
    assert svg(3, 1) != svg(6, 1)  # the comparison can tell them apart


ORIGINS = pd.DataFrame({"origin": ["620900", "620100", "620200", "620300", "410200", "410300"],
                        "origin_name": ["酒泉市", "兰州市", "嘉峪关市", "金昌市", "开封市", "洛阳市"],
                        "discharges": [900, 120, 80, 40, 30, 3]})


def test_a_lone_small_origin_is_withheld_with_the_next_smallest():
    shown = publish_origins(ORIGINS, city="620900", min_cell=10).table.set_index("origin_name")
    assert list(shown.index[shown["withheld"]]) == ["开封市", "洛阳市"]
    assert list(shown.index[shown["small"]]) == ["洛阳市"]  # 开封市's 30 is marked, not "<10"
    assert shown.loc[["开封市", "洛阳市"], ["discharges", "share"]].isna().all().all()
    assert shown.loc["兰州市", "discharges"] == 120
    assert shown.loc["兰州市", "share"] == pytest.approx(120 / 1173)


def test_the_outside_share_is_published_unless_it_reveals_a_small_count():
    assert publish_origins(ORIGINS, city="620900", min_cell=10).outside_share == pytest.approx(
        273 / 1173)
    only_host = ORIGINS.assign(discharges=[900, 4, 0, 0, 0, 0])
    assert publish_origins(only_host, city="620900", min_cell=10).outside_withheld
    small_host = ORIGINS.assign(discharges=[5, 120, 80, 40, 30, 20])
    shown = publish_origins(small_host, city="620900", min_cell=10)
    assert shown.outside_share is None and shown.outside_withheld


def test_a_small_total_withholds_every_origin():
    tiny = ORIGINS.assign(discharges=[4, 2, 1, 0, 0, 1])
    shown = publish_origins(tiny, city="620900", min_cell=10)
    assert shown.table.loc[shown.table["discharges"].isna(), "origin_name"].tolist() == [
        "酒泉市", "兰州市", "嘉峪关市", "洛阳市"]
    assert shown.outside_withheld


def test_origins_threshold_one_shows_everything():
    shown = publish_origins(ORIGINS, city="620900", min_cell=1)
    assert not shown.any_withheld and shown.table["discharges"].tolist() == [900, 120, 80, 40, 30, 3]


def test_the_origins_map_does_not_depend_on_withheld_counts_that_keep_their_sum():
    regions = pd.DataFrame({"code": ORIGINS["origin"], "level": "prefecture",
                            "lon": [98.5, 103.8, 98.3, 102.2, 114.3, 112.4],
                            "lat": [39.7, 36.1, 39.8, 38.5, 34.8, 34.6]})

    def svg(pair: tuple[int, int], min_cell: int) -> str:
        origins = ORIGINS.assign(discharges=[900, 120, 80, 40, *pair])
        table = publish_origins(origins, city="620900", min_cell=min_cell).table
        return charts.origins_map_svg(table, regions, site=(98.5, 39.7), title="t", source="s")

    assert svg((30, 3), 10) == svg((28, 5), 10)
    assert svg((30, 3), 1) != svg((28, 5), 1)


def test_kpis_withhold_small_patient_counts_and_shares_but_not_staff_counts():
    kpis = [
        Kpi("Surgeries by visiting experts", 4, "count", None, "ops", patients=True),
        Kpi("Local staff trained", 4, "count", None, "ops"),
        Kpi("Grade-3/4 share", 3 / 40, "%", None, "ops", numerator=3, denominator=40),
        Kpi("Outflow rate", 0.2, "%", 2024, "flows", numerator=200, denominator=1000),
    ]
    surgeries, trainees, share, outflow = publish_kpis(kpis, 10)
    assert surgeries.value is None and surgeries.display == "<10"
    assert trainees.display == "4"
    assert share.value is None and share.display == "—"
    assert outflow.display == "20.0%"
    assert [k.display for k in publish_kpis(kpis, 1)] == ["4", "4", "7.5%", "20.0%"]

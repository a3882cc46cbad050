"""Flow metrics on the hand-checkable fixture (conftest._CASES), values worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from nrmc.flows.engine import (
    run_demand,
    run_level4,
    run_matrix,
    run_outflow,
    run_reach,
    run_transfers,
    run_within_county,
)

from .conftest import REGIONS


def _row(frame: pd.DataFrame, **where: object) -> dict:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column].isna() if value is None else frame[column] == value
    found = frame[mask]
    assert len(found) == 1, f"expected one row for {where}, got {len(found)}"
    return found.iloc[0].to_dict()


def test_province_outflow_matches_hand_count(loaded_dataset):
    """Anhui 2023: rows 1–8 are Anhui residents; 3 and 7 went to Beijing, 5 and 6 to
    Shanghai → 4 of 8 outside; Beijing and Shanghai tie at 2, the smaller code wins."""
    frame = run_outflow(loaded_dataset, REGIONS, level="province")
    anhui = _row(frame, region="340000", year=2023)
    assert anhui["region_name"] == "安徽省"
    assert anhui["specialty"] is None
    assert (anhui["discharges"], anhui["treated_outside"]) == (8, 4)
    assert anhui["outflow_rate"] == 0.5
    assert anhui["top_destination"] == "110000"
    assert anhui["top_destination_share"] == 0.5
    beijing = _row(frame, region="110000", year=2023)
    assert (beijing["discharges"], beijing["treated_outside"], beijing["outflow_rate"]) == (2, 0, 0)
    assert beijing["top_destination"] is None and math.isnan(beijing["top_destination_share"])
    anhui_2022 = _row(frame, region="340000", year=2022)
    assert (anhui_2022["discharges"], anhui_2022["top_destination"]) == (1, "310000")
    assert anhui_2022["top_destination_share"] == 1.0
    assert len(frame) == 4  # Anhui 2022 and 2023, Beijing 2023, Guangdong 2023


def test_outflow_by_specialty_splits_each_unit(loaded_dataset):
    """Anhui oncology 2023: rows 3, 4, 5, 7 (C codes); 3 and 7 to Beijing, 5 to Shanghai."""
    frame = run_outflow(loaded_dataset, REGIONS, level="province", by_specialty=True,
                        years=[2023])
    onc = _row(frame, region="340000", specialty="oncology")
    assert (onc["discharges"], onc["treated_outside"]) == (4, 3)
    assert onc["top_destination"] == "110000"
    assert onc["top_destination_share"] == pytest.approx(2 / 3)
    cardio = _row(frame, region="340000", specialty="cardiovascular")
    # rows 1, 2, 6, 8 (I21, I20, I25, I10); only 6 (Shanghai) left Anhui
    assert (cardio["discharges"], cardio["treated_outside"], cardio["top_destination"]) == (
        4, 1, "310000")
    assert set(frame["year"]) == {2023}


def test_prefecture_outflow_treats_municipal_districts_as_units(loaded_dataset):
    """At prefecture level Hefei lost only row 3; Fuyang lost 5, 6 (Xuhui) and 7 (Haidian);
    a Chaoyang resident treated in Haidian left his prefecture-level unit; Dongguan (a
    county-less city) is its own unit."""
    frame = run_outflow(loaded_dataset, REGIONS, level="prefecture", years=[2023])
    hefei = _row(frame, region="340100")
    assert (hefei["discharges"], hefei["treated_outside"], hefei["top_destination"]) == (
        4, 1, "110105")
    fuyang = _row(frame, region="341200")
    assert (fuyang["discharges"], fuyang["treated_outside"], fuyang["top_destination"]) == (
        4, 3, "310104")
    assert fuyang["top_destination_share"] == pytest.approx(2 / 3)
    chaoyang = _row(frame, region="110105")
    assert (chaoyang["treated_outside"], chaoyang["top_destination"]) == (1, "110108")
    assert _row(frame, region="441900")["treated_outside"] == 0


def test_within_county_rate(loaded_dataset):
    """Changfeng: 1 of rows 1–3 in the county; Linquan: 1 of rows 4–7. Urban units (瑶海区,
    the Beijing districts, 东莞 without counties) are not counties: left out by default."""
    frame = run_within_county(loaded_dataset, REGIONS, years=[2023])
    assert _row(frame, region="340121")["within_rate"] == pytest.approx(1 / 3)
    assert _row(frame, region="341221")["within_rate"] == 0.25
    assert _row(frame, region="340121")["region_name"] == "长丰县"
    assert _row(frame, region="340121")["county_kind"] == "county"
    assert set(frame["region"]) == {"340121", "341221"}


def test_within_county_lists_districts_apart_when_asked(loaded_dataset):
    """Row 8: a 瑶海区 resident treated in 瑶海区; row 11: a Dongguan resident in Dongguan."""
    frame = run_within_county(loaded_dataset, REGIONS, years=[2023], include_districts=True)
    assert _row(frame, region="340102")["county_kind"] == "district"
    assert _row(frame, region="340102")["within_rate"] == 1.0
    assert _row(frame, region="441900")["county_kind"] == "city"
    assert _row(frame, region="110105")["within_rate"] == 0.0


def test_pooled_within_county_rate_counts_counties_only(loaded_dataset):
    """Anhui 2023 pooled over its two counties: (1 + 1) of (3 + 4) = 2/7. Counting 瑶海区 as a
    county (the old definition) gave 3/8, a city's own residents inflating the rate."""
    frame = run_within_county(loaded_dataset, REGIONS, years=[2023], level="province")
    anhui = _row(frame, region="340000")
    assert (anhui["discharges"], anhui["treated_within"]) == (7, 2)
    assert anhui["within_rate"] == pytest.approx(2 / 7)
    assert "110000" not in set(frame["region"])  # a municipality has districts only


def test_county_kind_is_read_from_the_official_name():
    from nrmc.flows.geo import county_kind

    names = pd.Series(["长丰县", "界首市", "瑶海区", "神农架林区", "六枝特区", "阿荣旗", "东莞市", "安徽省"])
    levels = pd.Series(["county"] * 6 + ["prefecture", "province"])
    assert county_kind(names, levels).tolist() == [
        "county", "county_city", "district", "county", "county", "county", "city", None]

def test_reach_counts_patients_from_outside_city_and_province(loaded_dataset):
    """H_BJ2 2023 treats rows 7 (Anhui), 9 (Chaoyang) and 10 (Haidian): one from outside
    Beijing, which is one city; H_SH treats rows 5 and 6, both from Anhui."""
    frame = run_reach(loaded_dataset, REGIONS, years=[2023])
    bj2 = _row(frame, hospital_code="H_BJ2")
    assert (bj2["discharges"], bj2["from_outside_city"], bj2["from_outside_province"]) == (
        3, 1, 1)
    assert bj2["outside_city_share"] == pytest.approx(1 / 3)
    sh = _row(frame, hospital_code="H_SH")
    assert (sh["outside_city_share"], sh["outside_province_share"]) == (1.0, 1.0)
    hf = _row(frame, hospital_code="H_HF")
    assert (hf["discharges"], hf["from_outside_city"]) == (2, 0)
    only = run_reach(loaded_dataset, REGIONS, hospitals=["H_SH"])
    assert set(only["hospital_code"]) == {"H_SH"} and set(only["year"]) == {2022, 2023}


def test_level4_share_by_hospital_and_province(loaded_dataset):
    """Surgeries 2023: row 2 (H_HF, 3), 3 (H_BJ, 4), 5 (H_SH, 4), 6 (H_SH, 2)."""
    frame = run_level4(loaded_dataset, REGIONS, years=[2023])
    assert _row(frame, unit="H_SH")["level4_share"] == 0.5
    assert _row(frame, unit="H_BJ")["level4_share"] == 1.0
    assert _row(frame, unit="H_HF")["level4_share"] == 0.0
    assert math.isnan(_row(frame, unit="H_CF")["level4_share"])
    prov = run_level4(loaded_dataset, REGIONS, by="province", years=[2023])
    anhui = _row(prov, unit="340000")
    assert (anhui["discharges"], anhui["surgeries"], anhui["level4"]) == (4, 1, 0)
    assert _row(prov, unit="110000")["level4"] == 1


def test_matrix_counts_pairs_across_levels(loaded_dataset):
    frame = run_matrix(loaded_dataset, REGIONS, origin_level="county",
                       destination_level="province", years=[2023])
    linquan_sh = _row(frame, origin="341221", destination="310000")
    assert linquan_sh["discharges"] == 2 and linquan_sh["destination_name"] == "上海市"
    assert frame["discharges"].sum() == 11


def test_transfers_and_demand(loaded_dataset):
    transfers = run_transfers(loaded_dataset, REGIONS, level="province", years=[2023])
    assert _row(transfers, region="340000")["transferred_out"] == 0
    demand = run_demand(loaded_dataset, REGIONS, years=[2023])
    linquan_onc = _row(demand, region="341221", specialty="oncology")
    # rows 4, 5, 7: three stays of three days each
    assert (linquan_onc["discharges"], linquan_onc["bed_days"]) == (3, 9)
    assert linquan_onc["mean_stay"] == 3.0


def test_unknown_level_is_refused(loaded_dataset):
    with pytest.raises(ValueError, match="level must be one of"):
        run_outflow(loaded_dataset, REGIONS, level="township")


def test_a_loaded_dataset_describes_itself_by_its_files(loaded_dataset):
    """Chart and report source lines come from the manifest, never a fixed caption."""
    from nrmc.flows.store import describe

    line = describe(loaded_dataset)
    assert line.startswith("discharge records loaded from discharges.csv")
    assert "12 discharges 2022–2023" in line and "synthetic" not in line

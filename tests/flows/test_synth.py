"""The synthetic generator: calibration targets, programme effect, layout shared with ingest."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from nrmc.flows import store, synth, synth_truth
from nrmc.flows.engine import run_matrix, run_outflow
from nrmc.flows.schema import STORED_SCHEMA, derive_specialty

from .conftest import KEY

ANHUI, HEFEI_TERTIARY = "340000", "T34010200"


@pytest.fixture(scope="module")
def generated(tmp_path_factory, national):
    """400k rows over 2022–2023; an Anhui oncology centre opens in 2023.

    The truth is made loud and clean here (30% kept at once, no province-year shocks) so one
    small dataset shows the mechanism; the default truth (``synth_truth``) is checked by the
    evaluation's coverage study and demo tests."""
    regions, hospitals = national
    assert HEFEI_TERTIARY in set(hospitals["code"])
    projects = pd.DataFrame([{
        "id": 1, "batch": 1, "province_code": ANHUI, "city_code": "340100",
        "specialty": "oncology", "project_hospital_code": HEFEI_TERTIARY,
        "output_hospital_code": None, "opening_year": 2023,
    }])
    root = tmp_path_factory.mktemp("synth") / "flows"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synth_truth, "FULL_RETENTION", {2023: 0.30})
        patch.setattr(synth_truth, "BUILD_UP_YEARS", 1)
        patch.setattr(synth_truth, "SHOCK_SD", 0.0)
        summary = synth.write_synthetic_dataset(
            root, regions=regions, hospitals=hospitals, projects=projects, rows=400_000,
            years=[2022, 2023], seed=11, pseudonym_key=KEY)
    return root, regions, summary


def test_summary_meets_calibration_targets(generated):
    _, _, summary = generated
    assert summary["rows"] == 400_000
    assert 0.42 <= summary["tertiary_share"] <= 0.58  # ≈ 48 % of hospital discharges (2019)
    assert 0.02 <= summary["cross_province_share"] <= 0.06  # "a few percent"
    assert 8.5 <= summary["mean_stay_days"] <= 10.0  # 9.2 days (2022)
    assert 9_000 <= summary["mean_cost_yuan"] <= 13_000  # 10,860.6 yuan (2022)
    assert set(summary["top_source_provinces"]) == {"340000", "410000", "130000", "320000"}
    assert set(summary["top_destination_provinces"]) == {"110000", "310000"}


def test_dataset_has_ingest_layout_and_schema(generated):
    root, _, _ = generated
    manifest = store.read_manifest(root)
    assert manifest.rows == 400_000 and manifest.years == [2022, 2023]
    for path in store.dataset_files(root):
        assert path.parent.name == f"year={path.parent.name[5:]}"
        assert pq.read_schema(path).remove_metadata().equals(STORED_SCHEMA)
    files = [str(p) for p in store.dataset_files(root)]
    sample = duckdb.sql(f"SELECT * FROM read_parquet({files}) USING SAMPLE 20000 ROWS").df()
    assert sample["patient_id"].str.fullmatch(r"[0-9a-f]{32}").all()  # 128-bit pseudonyms
    assert (sample["discharge_date"] >= sample["admission_date"]).all()
    derived = derive_specialty(sample["principal_diagnosis"], sample["age"])
    not_tcm = sample["specialty"] != "tcm"
    assert (derived[not_tcm] == sample.loc[not_tcm, "specialty"]).all()


def test_programme_centre_cuts_outflow_in_its_specialty(generated):
    """Anhui oncology outflow rate falls by about 30 % once the centre opens; cardiology,
    without a centre, does not."""
    root, regions, _ = generated
    frame = run_outflow(root, regions, level="province", by_specialty=True)
    anhui = frame[frame["region"] == ANHUI].set_index(["specialty", "year"])["outflow_rate"]
    onc = anhui[("oncology", 2023)] / anhui[("oncology", 2022)]
    cardio = anhui[("cardiovascular", 2023)] / anhui[("cardiovascular", 2022)]
    assert 0.55 <= onc <= 0.85
    assert 0.85 <= cardio <= 1.15


def test_distance_decay_neighbours_receive_more(generated):
    root, regions, _ = generated
    m = run_matrix(root, regions, origin_level="province", destination_level="province")
    from_anhui = m[m["origin"] == ANHUI].groupby("destination")["discharges"].sum()
    near = from_anhui.get("320000", 0) + from_anhui.get("330000", 0)  # Jiangsu, Zhejiang
    far = from_anhui.get("650000", 0) + from_anhui.get("530000", 0)  # Xinjiang, Yunnan
    assert near > 5 * max(far, 1)


def test_chunks_stream_to_many_files_and_replace_previous_data(tmp_path, national, monkeypatch):
    regions, hospitals = national
    monkeypatch.setattr(synth, "CHUNK_ROWS", 1_000)
    root = tmp_path / "flows"
    kwargs = dict(regions=regions, hospitals=hospitals, projects=pd.DataFrame(),
                  years=[2019, 2020], seed=1, pseudonym_key=KEY)
    synth.write_synthetic_dataset(root, rows=5_000, **kwargs)
    assert len(store.dataset_files(root)) >= 5
    ticks: list[int] = []
    summary = synth.write_synthetic_dataset(root, rows=3_000, progress=lambda d, t: ticks.append(d),
                                            **kwargs)
    assert store.read_manifest(root).rows == 3_000 == summary["rows"]
    assert ticks[-1] == 3_000 and ticks == sorted(ticks)


def test_same_seed_same_data(tmp_path, national):
    regions, hospitals = national
    kwargs = dict(regions=regions, hospitals=hospitals, projects=pd.DataFrame(), rows=2_000,
                  years=[2021], seed=5, pseudonym_key=KEY)
    a = synth.write_synthetic_dataset(tmp_path / "a", **kwargs)
    b = synth.write_synthetic_dataset(tmp_path / "b", **kwargs)
    ta = pq.read_table(store.dataset_files(tmp_path / "a")[0])
    tb = pq.read_table(store.dataset_files(tmp_path / "b")[0])
    assert ta.equals(tb) and a["tertiary_share"] == b["tertiary_share"]


def test_a_tertiary_hospital_without_a_bed_count_pulls_like_a_typical_tertiary_one():
    """Real grade-3A hospitals carry no beds; they must not pull patients like a 100-bed clinic."""
    from nrmc.flows.geo import units_table
    from nrmc.flows.synth_model import BEDS_IF_UNKNOWN, World

    from .conftest import HOSPITALS, REGIONS

    regions = REGIONS.assign(parent_code=REGIONS["parent_code"].fillna(""))
    no_projects = pd.DataFrame(columns=["id", "batch", "province_code", "city_code", "specialty",
                                        "project_hospital_code", "output_hospital_code",
                                        "opening_year"])

    def destination_weights(hospitals: pd.DataFrame):  # type: ignore[no-untyped-def]
        world = World.build(regions, hospitals, no_projects, units_table(regions),
                            rows_per_year=1000)
        return list(world.dest.cum)  # destination-province gravity (tertiary pull by province)

    sized = HOSPITALS.assign(beds=[BEDS_IF_UNKNOWN.get(t, 100.0) if c == "H_SH" else b for c, t, b
                                   in zip(HOSPITALS["code"], HOSPITALS["tier"], HOSPITALS["beds"],
                                          strict=True)])
    unknown = sized.assign(beds=[None if c == "H_SH" else b
                                 for c, b in zip(sized["code"], sized["beds"], strict=True)])
    assert destination_weights(unknown) == destination_weights(sized)
    clinic = sized.assign(beds=[100 if c == "H_SH" else b
                                for c, b in zip(sized["code"], sized["beds"], strict=True)])
    assert destination_weights(clinic) != destination_weights(sized)  # the old fill of 100 beds


def test_truth_builds_up_and_differs_by_cohort() -> None:
    """The default truth: a third, two thirds, then all of 9% kept; 2022's centres keep none."""
    kept = synth_truth.retention(np.array([2020, 2020, 2020, 2020, 2022, 0]),
                                 np.array([2019, 2020, 2021, 2023, 2024, 2024]))
    assert kept == pytest.approx([0.0, 0.03, 0.06, 0.09, 0.0, 0.0])


def test_province_year_shocks_are_shared_by_all_specialties_and_seeded() -> None:
    cohorts = {("A", "x"): 2021}
    kwargs = dict(provinces=["A", "B"], specialties=["x", "y"], years=[2020, 2021], seed=3)
    one = synth_truth.synthetic_outflow_panel(cohorts, **kwargs)  # type: ignore[arg-type]
    again = synth_truth.synthetic_outflow_panel(cohorts, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(one, again)
    assert one["synthetic"].all()
    shocks = synth_truth.province_shocks(["A", "B"], [2020, 2021], seed=3)
    assert len(set(shocks.values())) == 4

"""Ingestion: every bad row reported, rejects kept, keys deduplicated, pseudonyms, atomicity."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from nrmc.core.errors import ImportRejected
from nrmc.flows import store
from nrmc.flows.ingest import ingest
from nrmc.flows.pseudonym import pseudonymise_one
from nrmc.flows.schema import STORED_SCHEMA

from .conftest import HOSPITALS, KEY, REGIONS, fixture_rows, write_csv

SRC = Path(__file__).resolve().parents[2] / "src"


def _load(paths, root, **kw):
    return ingest(paths, root, regions=REGIONS, hospitals=HOSPITALS, pseudonym_key=KEY, **kw)


def _stored(root: Path) -> list[tuple]:
    files = [str(p) for p in store.dataset_files(root)]
    if not files:
        return []
    return duckdb.sql(
        f"SELECT * FROM read_parquet({files}) ORDER BY record_id, hospital_code").fetchall()


def _bad_rows() -> list[dict[str, str]]:
    rows = fixture_rows()[:6]
    rows[1]["residence_code"] = "999999"
    rows[2]["hospital_code"] = "NOPE"
    rows[2]["principal_diagnosis"] = "heart"
    rows[3]["admission_date"] = "2023-06-20"  # after its discharge (2023-06-10)
    rows[4]["sex"] = "3"
    rows[4]["age"] = "-1"
    rows[5]["discharge_date"] = "10/07/2023"
    return rows


def test_good_file_lands_with_derived_columns(tmp_path, fixture_csv):
    summary = _load([fixture_csv], tmp_path / "flows")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (12, 12, 0)
    assert summary.years == [2022, 2023]
    path = store.dataset_files(tmp_path / "flows", years=[2023])[0]
    assert pq.read_schema(path).remove_metadata().equals(STORED_SCHEMA)
    row = next(r for r in pq.read_table(path).to_pylist() if r["record_id"] == "R3")
    assert row["specialty"] == "oncology" and row["hospital_region_code"] == "110105"
    assert row["year"] == 2023 and str(row["admission_date"]) == "2023-05-07"
    assert sorted(p.parent.name for p in (tmp_path / "flows" / "data").rglob("*.parquet")) == [
        "year=2022", "year=2023"]


def test_raw_patient_id_is_never_written(tmp_path, fixture_csv):
    root = tmp_path / "flows"
    _load([fixture_csv], root)
    raw = fixture_rows()[0]["patient_id"]
    stored = {r[1] for r in _stored(root)}
    assert pseudonymise_one(raw, KEY) in stored and raw not in stored
    for path in root.rglob("*"):
        if path.is_file():
            assert raw.encode() not in path.read_bytes(), path


def test_bad_file_is_refused_and_every_bad_row_reported(tmp_path):
    source = write_csv(tmp_path / "bad.csv", _bad_rows())
    with pytest.raises(ImportRejected) as caught:
        _load([source], tmp_path / "flows")
    found = {(p.row, p.field) for p in caught.value.problems}
    assert found == {
        (2, "residence_code"), (3, "hospital_code"), (3, "principal_diagnosis"),
        (4, "discharge_date"), (5, "sex"), (5, "age"), (6, "discharge_date"),
    }
    assert all(p.file == str(source) for p in caught.value.problems)
    assert "nothing was stored" in str(caught.value)
    assert _stored(tmp_path / "flows") == []


def test_reject_file_keeps_bad_rows_and_good_rows_land(tmp_path):
    source = write_csv(tmp_path / "bad.csv", _bad_rows())
    rejects = tmp_path / "rejects.csv"
    summary = _load([source], tmp_path / "flows", reject_file=rejects)
    assert (summary.rows_loaded, summary.rows_rejected) == (1, 5)
    with rejects.open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    assert [int(r["row"]) for r in lines] == [2, 3, 4, 5, 6]
    assert lines[1]["fields"] == "hospital_code;principal_diagnosis"
    assert "is not a registered hospital" in lines[1]["reasons"]
    assert lines[0]["residence_code"] == "999999"  # the row as given, to fix and reload
    assert [r[0] for r in _stored(tmp_path / "flows")] == ["R1"]


def test_reloading_a_file_does_not_duplicate(tmp_path, fixture_csv):
    root = tmp_path / "flows"
    _load([fixture_csv], root)
    again = _load([fixture_csv], root)
    assert (again.rows_loaded, again.already_stored) == (0, 12)
    assert len(_stored(root)) == 12
    more = fixture_rows() + [{**fixture_rows()[0], "record_id": "R99"}]
    third = _load([write_csv(tmp_path / "more.csv", more)], root)
    assert (third.rows_loaded, third.already_stored) == (1, 12)
    assert len(_stored(root)) == 13


def test_same_key_twice_in_one_load_is_a_bad_row(tmp_path):
    rows = fixture_rows()[:3]
    rows.append(dict(rows[0]))
    source = write_csv(tmp_path / "dup.csv", rows)
    with pytest.raises(ImportRejected) as caught:
        _load([source], tmp_path / "flows")
    (problem,) = caught.value.problems
    assert (problem.row, problem.field) == (4, "record_id")
    assert "duplicates row 1" in problem.reason


def test_parquet_input_and_missing_column(tmp_path):
    import pyarrow as pa

    rows = fixture_rows()
    for r in rows:
        r.pop("specialty")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    assert _load([tmp_path / "in.parquet"], tmp_path / "flows").rows_loaded == 12
    for r in rows:
        r.pop("total_cost")
    write_csv_rows = [dict(r, specialty="", total_cost="") for r in rows]
    source = write_csv(tmp_path / "nocost.csv", write_csv_rows)
    text = source.read_text().replace(",total_cost", "").replace(",\n", "\n")
    source.write_text(text)
    with pytest.raises(ImportRejected, match="required column"):
        _load([source], tmp_path / "flows2")


_KILLER = """
import os, signal, sys
import pandas as pd
from nrmc.flows import ingest, store
stage = sys.argv[1]
def checkpoint(name):
    if name == stage:
        os.kill(os.getpid(), signal.SIGKILL)
store._checkpoint = checkpoint
regions = pd.read_csv(sys.argv[3], dtype=str)
hospitals = pd.read_csv(sys.argv[4], dtype=str)
ingest.ingest([sys.argv[2]], sys.argv[5], regions=regions, hospitals=hospitals,
              pseudonym_key="test-pseudonym-key")
"""


@pytest.mark.parametrize("stage", ["validated", "file-moved", "before-manifest-swap"])
def test_killed_ingest_leaves_dataset_exactly_as_before(tmp_path, fixture_csv, stage):
    root = tmp_path / "flows"
    _load([fixture_csv], root)
    before_manifest = (root / "manifest.json").read_bytes()
    before_rows = _stored(root)
    new_rows = [{**r, "record_id": f"N{i}"} for i, r in enumerate(fixture_rows())]
    source = write_csv(tmp_path / "new.csv", new_rows)
    REGIONS.to_csv(tmp_path / "regions.csv", index=False)
    HOSPITALS.to_csv(tmp_path / "hospitals.csv", index=False)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, stage, str(source), str(tmp_path / "regions.csv"),
         str(tmp_path / "hospitals.csv"), str(root)],
        env=env, capture_output=True, timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    assert (root / "manifest.json").read_bytes() == before_manifest
    assert _stored(root) == before_rows
    # the next load cleans up after the dead one and lands normally
    summary = _load([source], root)
    assert summary.rows_loaded == 12 and len(_stored(root)) == 24
    referenced = {(root / p).resolve() for p in store.dataset_files(root)}
    assert set(p.resolve() for p in (root / "data").rglob("*.parquet")) == referenced
    assert not (root / "staging").exists() or not any((root / "staging").iterdir())


@pytest.mark.slow
def test_ingest_killed_while_writing_a_large_file(tmp_path, fixture_csv):
    """No hook: SIGKILL lands while a 300k-row load is busy writing its staging files."""
    import signal
    import time

    import pandas as pd

    root = tmp_path / "flows"
    _load([fixture_csv], root)
    before_manifest = (root / "manifest.json").read_bytes()
    base = pd.DataFrame(fixture_rows())
    big = base.loc[base.index.repeat(25_000)].reset_index(drop=True)
    big["record_id"] = [f"B{i}" for i in range(len(big))]
    source = tmp_path / "big.csv"
    big.to_csv(source, index=False)
    REGIONS.to_csv(tmp_path / "regions.csv", index=False)
    HOSPITALS.to_csv(tmp_path / "hospitals.csv", index=False)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLER, "never", str(source), str(tmp_path / "regions.csv"),
         str(tmp_path / "hospitals.csv"), str(root)],
        env={**os.environ, "PYTHONPATH": str(SRC)}, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not any((root / "staging").rglob("*.parquet")):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -9
    assert (root / "manifest.json").read_bytes() == before_manifest
    assert len(_stored(root)) == 12


def test_tcm_is_taken_from_a_tcm_hospital_or_a_gbt15657_code_and_the_rule_is_named(tmp_path):
    """A diagnoses-only file still yields TCM figures: stays in a TCM hospital, or carrying a TCM
    disease/syndrome code, are TCM; the dataset's source line says which rule found them."""
    from nrmc.flows.ingest import ingest
    from nrmc.flows.store import describe

    from .conftest import HOSPITALS, KEY, REGIONS, fixture_rows, write_csv

    hospitals = HOSPITALS.copy()
    hospitals["name_zh"] = ["合肥医院", "长丰县中医院", "临泉县人民医院", "北京医院", "北京医院二",
                            "上海医院", "东莞医院"]
    rows = fixture_rows()
    for row in rows:
        row["tcm_diagnosis"] = ""
    rows[3]["tcm_diagnosis"] = "BNG010"  # row 4: Linquan resident at H_FY, a TCM disease code
    root = tmp_path / "flows"
    summary = ingest([write_csv(tmp_path / "d.csv", rows)], root, regions=REGIONS,
                     hospitals=hospitals, pseudonym_key=KEY)
    # row 1 treated at 长丰县中医院 (H_CF) → tcm_hospital; row 4 → tcm_code; nobody stated TCM
    assert summary.specialty_rules == {"tcm_code": 1, "tcm_hospital": 1}
    import duckdb

    files = [str(p) for p in root.rglob("*.parquet")]
    tcm = duckdb.sql(f"SELECT record_id FROM read_parquet({files}) WHERE specialty = 'tcm' "
                     "ORDER BY 1").fetchall()
    assert tcm == [("R1",), ("R4",)]
    line = describe(root)
    assert "TCM stays recognised by GB/T 15657 TCM code 1, TCM hospital (by name) 1" in line


def test_a_malformed_tcm_code_is_a_bad_row(tmp_path):
    from nrmc.core.errors import ImportRejected
    from nrmc.flows.ingest import ingest

    from .conftest import HOSPITALS, KEY, REGIONS, fixture_rows, write_csv

    rows = fixture_rows()
    for row in rows:
        row["tcm_diagnosis"] = ""
    rows[0]["tcm_diagnosis"] = "I21.0"
    with pytest.raises(ImportRejected) as info:
        ingest([write_csv(tmp_path / "d.csv", rows)], tmp_path / "flows", regions=REGIONS,
               hospitals=HOSPITALS, pseudonym_key=KEY)
    assert [(p.row, p.field) for p in info.value.problems] == [(1, "tcm_diagnosis")]


def test_pseudonyms_keep_128_bits_and_extend_the_old_64_bit_ones(tmp_path):
    """Full-width enough for national linkage; a 64-bit pseudonym of an older store is the
    prefix of the new one, so old and new loads still link."""
    import hmac

    from nrmc.flows.pseudonym import pseudonymise

    new = pseudonymise(["110101195001010001"], KEY)[0]
    assert len(new) == 32 and int(new, 16) >= 0
    old = hmac.digest(KEY.encode(), b"110101195001010001", "sha256")[:8].hex()
    assert new.startswith(old)

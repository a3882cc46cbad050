"""Streaming ingest: the rules hold across batch boundaries, pseudonyms equal the reference
HMAC whichever path computes them, and progress is reported (and silent without a terminal)."""

from __future__ import annotations

import hmac

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from nrmc.core.errors import ImportRejected
from nrmc.flows import ingest as ingest_module
from nrmc.flows import store
from nrmc.flows.ingest import ingest
from nrmc.flows.pseudonym import PseudonymProcess, pseudonymise_arrow, pseudonymise_one

from .conftest import HOSPITALS, KEY, REGIONS, fixture_rows, write_csv


def _rows(n: int) -> list[dict[str, str]]:
    """``n`` good rows with distinct keys, cycling through the fixture's cases."""
    base = fixture_rows()
    return [{**base[i % len(base)], "record_id": f"S{i}", "patient_id": f"P{i % 97}"}
            for i in range(n)]


def _stored(root) -> list[tuple]:
    files = [str(p) for p in store.dataset_files(root)]
    if not files:
        return []
    return duckdb.sql(f"SELECT * FROM read_parquet({files}) ORDER BY record_id").fetchall()


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of a few dozen rows, so a 600-row file spans many of them."""
    monkeypatch.setattr(ingest_module, "BATCH_BYTES", 4096)
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 50)


def test_a_bad_row_in_a_later_batch_refuses_the_whole_load(tmp_path, small_batches):
    rows = _rows(600)
    rows[517]["age"] = "-3"
    root = tmp_path / "flows"
    with pytest.raises(ImportRejected) as caught:
        ingest([write_csv(tmp_path / "d.csv", rows)], root, regions=REGIONS,
               hospitals=HOSPITALS, pseudonym_key=KEY)
    assert [(p.row, p.field) for p in caught.value.problems] == [(518, "age")]
    assert _stored(root) == [] and store.read_manifest(root).version == 0


def test_a_key_repeated_batches_apart_is_reported_at_its_row(tmp_path, small_batches):
    rows = _rows(600)
    rows[590] = dict(rows[3])  # row 591 repeats row 4, hundreds of rows (many batches) later
    root = tmp_path / "flows"
    with pytest.raises(ImportRejected) as caught:
        ingest([write_csv(tmp_path / "d.csv", rows)], root, regions=REGIONS,
               hospitals=HOSPITALS, pseudonym_key=KEY)
    (problem,) = caught.value.problems
    assert (problem.row, problem.field) == (591, "record_id")
    assert "duplicates row 4 of" in problem.reason
    assert _stored(root) == []


def test_a_key_repeated_across_files_is_reported_in_the_later_file(tmp_path, small_batches):
    first, second = _rows(300), _rows(300)
    for i, row in enumerate(second):
        row["record_id"] = f"T{i}"
    second[250] = dict(first[7])  # the key (S7, H_HF) of row 8 of the first file
    paths = [write_csv(tmp_path / "a.csv", first), write_csv(tmp_path / "b.csv", second)]
    with pytest.raises(ImportRejected) as caught:
        ingest(paths, tmp_path / "flows", regions=REGIONS, hospitals=HOSPITALS, pseudonym_key=KEY)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row) == (str(paths[1]), 251)
    assert f"duplicates row 8 of {paths[0]}" in problem.reason


def test_many_batches_store_what_one_batch_stores(tmp_path, monkeypatch):
    rows = _rows(600)
    source = write_csv(tmp_path / "d.csv", rows)
    ingest([source], tmp_path / "one", regions=REGIONS, hospitals=HOSPITALS, pseudonym_key=KEY)
    monkeypatch.setattr(ingest_module, "BATCH_BYTES", 4096)
    summary = ingest([source], tmp_path / "many", regions=REGIONS, hospitals=HOSPITALS,
                     pseudonym_key=KEY)
    assert summary.rows_loaded == 600
    assert _stored(tmp_path / "many") == _stored(tmp_path / "one")
    # a year's small parts are compacted: one file per year, as a one-batch load has
    assert len(store.dataset_files(tmp_path / "many")) == len(store.read_manifest(
        tmp_path / "one").years)


def test_rejects_and_reloads_across_batches(tmp_path, small_batches):
    rows = _rows(400)
    rows[10]["sex"] = "7"
    rows[333]["residence_code"] = "000001"
    rows[350] = dict(rows[20])
    root, rejects = tmp_path / "flows", tmp_path / "rejects.csv"
    source = write_csv(tmp_path / "d.csv", rows)
    summary = ingest([source], root, regions=REGIONS, hospitals=HOSPITALS, pseudonym_key=KEY,
                     reject_file=rejects)
    assert (summary.rows_loaded, summary.rows_rejected) == (397, 3)
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == ["11", "334", "351"]
    again = ingest([source], root, regions=REGIONS, hospitals=HOSPITALS, pseudonym_key=KEY,
                   reject_file=tmp_path / "again.csv")
    assert (again.rows_loaded, again.already_stored) == (0, 397)
    assert len(_stored(root)) == 397


def test_pseudonyms_equal_the_reference_hmac_on_every_path():
    ids = ["110101195001010001", "", "患者-1", "x" * 64, " spaced ", "ß" * 10]
    expected = [pseudonymise_one(i, KEY) for i in ids]
    assert expected[0] == hmac.digest(KEY.encode(), ids[0].encode(), "sha256")[:16].hex()
    array = pa.array(["pad", *ids], pa.string()).slice(1)  # an offset into the buffers
    assert pseudonymise_arrow(array, KEY).to_pylist() == expected
    chunked = pa.chunked_array([ids[:2], ids[2:]], pa.string())
    assert pseudonymise_arrow(chunked, KEY).to_pylist() == expected
    assert pseudonymise_arrow(pa.array(ids, pa.large_string()), KEY).to_pylist() == expected
    long_key = "k" * 100  # longer than a SHA-256 block: hashed first, as HMAC says
    assert pseudonymise_arrow(pa.array(ids), long_key).to_pylist() == [
        hmac.digest(long_key.encode(), i.encode(), "sha256")[:16].hex() for i in ids]
    helper = PseudonymProcess(KEY)
    try:
        assert helper.pseudonymise(pa.array(ids)).to_pylist() == expected
        assert helper.pseudonymise(chunked).to_pylist() == expected  # a second batch, in order
    finally:
        helper.close()


def test_pseudonyms_equal_the_reference_hmac_across_slices():
    """Ids are hashed a slice at a time: every id of a long column, non-ASCII ones and ids
    on both sides of a slice boundary, equals the standard library's HMAC."""
    from nrmc.flows.pseudonym import _SLICE

    ids = [f"{i:018d}" if i % 3 else f"患者{i}ß" for i in range(2 * _SLICE + 5)]
    array = pa.array(["pad", *ids], pa.string()).slice(1)
    expected = [hmac.digest(KEY.encode(), i.encode(), "sha256")[:16].hex() for i in ids]
    assert pseudonymise_arrow(array, KEY).to_pylist() == expected


def test_pseudonyms_split_over_helpers_come_back_in_order():
    """A batch is sliced over the helper processes; the answer is every id's pseudonym in
    order, also for batches with fewer ids than helpers, and batch after batch."""
    from nrmc.flows.pseudonym import PseudonymPool

    ids = ["110101195001010001", "", "患者-1", "x" * 64, " spaced ", "ß" * 10, "7"]
    expected = [hmac.digest(KEY.encode(), i.encode(), "sha256")[:16].hex() for i in ids]
    pool = PseudonymPool(KEY, 3)
    try:
        for n in (7, 1, 2, 3, 5, 7):
            chunked = pa.chunked_array([ids[:1], ids[1:n]], pa.string())
            assert pool.pseudonymise(chunked).to_pylist() == expected[:n]
    finally:
        pool.close()


def test_progress_is_reported_per_batch(tmp_path, small_batches):
    seen: list[tuple[int, int | None]] = []
    source = write_csv(tmp_path / "d.csv", _rows(300))
    ingest([source], tmp_path / "flows", regions=REGIONS, hospitals=HOSPITALS,
           pseudonym_key=KEY, progress=lambda name, done, total: seen.append((done, total)))
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(done) > 3 and seen[-1] == (300, 300)


def test_cli_ingest_without_a_terminal_prints_no_progress_bar(tmp_path, monkeypatch):
    from nrmc.cli import context
    from nrmc.cli import flows as flows_cli
    from nrmc.cli.main import app

    monkeypatch.setenv("NRMC_HOME", str(tmp_path / "home"))
    context.settings.cache_clear()
    monkeypatch.setattr(flows_cli, "_regions", lambda: REGIONS.copy())
    monkeypatch.setattr(flows_cli, "_hospitals", lambda: HOSPITALS.copy())
    try:
        result = CliRunner().invoke(app, ["flows", "ingest",
                                          str(write_csv(tmp_path / "d.csv", _rows(50)))])
    finally:
        context.settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "rows/s" not in result.output and "━" not in result.output
    assert "loaded 50 of 50 rows" in result.output
    monkeypatch.setenv("CI", "true")
    assert flows_cli._quiet()


def test_typed_parquet_columns_load_as_their_text_would(tmp_path):
    """A Parquet file with integer, date and float columns stores what the same rows as text
    store; a null reads as blank (and is a bad row where a value is required)."""
    import datetime as dt

    import pyarrow.parquet as pq

    rows = _rows(24)
    root_csv, root_pq = tmp_path / "csv", tmp_path / "pq"
    ingest([write_csv(tmp_path / "d.csv", rows)], root_csv, regions=REGIONS,
           hospitals=HOSPITALS, pseudonym_key=KEY)
    typed = {c: [r[c] for r in rows] for c in rows[0]}
    for c in ("age", "sex", "surgery_level", "admission_route", "discharge_route"):
        typed[c] = pa.array([int(v) for v in typed[c]], pa.int64())
    for c in ("admission_date", "discharge_date"):
        typed[c] = pa.array([dt.date.fromisoformat(v) for v in typed[c]], pa.date32())
    typed["total_cost"] = pa.array([float(v) for v in typed["total_cost"]], pa.float64())
    pq.write_table(pa.table(typed), tmp_path / "d.parquet")
    ingest([tmp_path / "d.parquet"], root_pq, regions=REGIONS, hospitals=HOSPITALS,
           pseudonym_key=KEY)
    assert _stored(root_pq) == _stored(root_csv)
    typed["age"] = pa.array([None, *typed["age"].to_pylist()[1:]], pa.int64())
    pq.write_table(pa.table(typed), tmp_path / "nulls.parquet")
    with pytest.raises(ImportRejected) as caught:
        ingest([tmp_path / "nulls.parquet"], tmp_path / "nulls", regions=REGIONS,
               hospitals=HOSPITALS, pseudonym_key=KEY)
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "age")]


def test_a_batch_splits_by_year_keeping_file_order_within_each():
    from nrmc.flows.publish import _by_year

    batch = pa.table({"year": pa.array([2021, 2019, 2021, 2020, 2019, 2021], pa.int16()),
                      "_row": pa.array([1, 2, 3, 4, 5, 6])})
    split = {year: rows["_row"].to_pylist() for year, rows in _by_year(batch)}
    assert split == {2019: [2, 5], 2020: [4], 2021: [1, 3, 6]}
    one = pa.table({"year": pa.array([2020, 2020], pa.int16()), "_row": pa.array([1, 2])})
    assert [(y, t["_row"].to_pylist()) for y, t in _by_year(one)] == [(2020, [1, 2])]

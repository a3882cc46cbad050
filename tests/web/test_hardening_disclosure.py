"""Small-cell suppression is stable across releases (issue 14, item 8): a cell withheld before a
load stays withheld after it, so differencing two releases gives nothing back.

Release 1 is test_privacy_suppression's SCENARIO: Jiuquan's 2024 oncology count (5) is withheld,
and Jiuquan's respiratory (80) with it as the complement. A load then adds 7 oncology discharges
for Jinta residents in 2024 (oncology 12). Published without memory, release 2 shows oncology 12
and respiratory 80 again; Jiuquan's all-specialties row went 385 → 392, so anyone comparing the
releases learns that the load added 7 oncology cases and that release 1 withheld 12 − 7 = 5."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nrmc.core.privacy import WithheldLedger, ledger_problem
from nrmc.evaluation.disclosure import publish_all
from nrmc.evaluation.impact import before_after
from nrmc.flows import store
from nrmc.flows.engine import connect, run_outflow
from nrmc.flows.geo import LEVELS
from nrmc.flows.schema import STORED_SCHEMA
from nrmc.web.outflow import ALL, WITHHELD_LEDGER, OutflowCache, publish

from .test_privacy_suppression import (
    JINTA,
    JIUQUAN,
    ONC,
    REGIONS,
    RESP,
    SCENARIO,
    UNITS,
    assert_nothing_comes_back_by_subtraction,
    cell,
)

LOAD = [(2024, JINTA, JINTA, ONC, 7)]


def _write(root: Path, scenario: list[tuple]) -> None:
    rows = [(year, home, there, spec) for year, home, there, spec, n in scenario for _ in range(n)]
    n, day = len(rows), date(2024, 6, 1)
    table = pa.table({
        "record_id": [str(i) for i in range(n)], "patient_id": [f"p{i}" for i in range(n)],
        "residence_code": [r[1] for r in rows], "hospital_code": ["H"] * n,
        "admission_date": [day] * n, "discharge_date": [day] * n, "age": [50] * n,
        "sex": [1] * n, "principal_diagnosis": ["I10"] * n, "specialty": [r[3] for r in rows],
        "surgery_level": [0] * n, "admission_route": [2] * n, "discharge_route": [1] * n,
        "total_cost": [1.0] * n, "hospital_region_code": [r[2] for r in rows],
        "year": [r[0] for r in rows],
    }, schema=STORED_SCHEMA)
    with store.writing(root) as load:
        path = load.new_file(2024)
        pq.write_table(table, path)
        load.add(path, year=2024, rows=n)
        load.commit(replace=True)


def _frames(root: Path):  # type: ignore[no-untyped-def]
    backend = connect("duckdb")
    return {(lv, by): run_outflow(root, REGIONS, level=lv, by_specialty=by, backend=backend)
            for lv in LEVELS for by in (False, True)}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("releases")
    _write(base / "before", SCENARIO)
    _write(base / "after", SCENARIO + LOAD)
    return _frames(base / "before"), _frames(base / "after")


def _withheld(out: dict) -> set[tuple]:
    return {(lv, r["region"], r["year"], spec, name)
            for lv, sliced in out.items() for (spec, _), rows in sliced.items() for r in rows
            for name in ("discharges", "treated_outside") if r[name] is None}


def test_without_memory_the_second_release_gives_the_withheld_count_back(releases):
    before, after = releases
    first, second = publish(before, UNITS, 10), publish(after, UNITS, 10)
    assert cell(first, "prefecture", JIUQUAN, 2024, ONC)["discharges"] is None
    # The attack the ledger prevents: all-row difference minus the oncology growth.
    grew = (cell(second, "prefecture", JIUQUAN, 2024)["discharges"]
            - cell(first, "prefecture", JIUQUAN, 2024)["discharges"])
    assert cell(second, "prefecture", JIUQUAN, 2024, ONC)["discharges"] - grew == 5


def test_a_cell_withheld_once_stays_withheld_after_a_load(releases, tmp_path):
    before, after = releases
    ledger = WithheldLedger(tmp_path / WITHHELD_LEDGER)
    first = publish(before, UNITS, 10, ledger=ledger)
    second = publish(after, UNITS, 10, ledger=ledger)
    assert cell(second, "prefecture", JIUQUAN, 2024, ONC)["discharges"] is None
    assert cell(second, "prefecture", JIUQUAN, 2024, RESP)["discharges"] is None
    assert _withheld(first) <= _withheld(second)
    # The union still leaves no group with a single withheld figure.
    assert_nothing_comes_back_by_subtraction(
        {lv: [r for rows in sliced.values() for r in rows] for lv, sliced in second.items()})
    # Figures never withheld stay exact.
    assert cell(second, "prefecture", JIUQUAN, 2024)["discharges"] == 392
    assert cell(second, "province", "620000", 2024, ALL)["discharges"] is not None


def test_the_ledger_survives_a_restart_and_concurrent_writers_only_add(tmp_path):
    path = tmp_path / WITHHELD_LEDGER
    WithheldLedger(path).remember({"a": {"discharges"}, "b": set()})
    WithheldLedger(path).remember({"a": {"treated_outside"}, "c": {"discharges"}})
    assert WithheldLedger(path).read() == {"a": frozenset({"discharges", "treated_outside"}),
                                           "c": frozenset({"discharges"})}


def test_a_damaged_ledger_stops_publication_rather_than_forgetting(tmp_path):
    path = tmp_path / WITHHELD_LEDGER
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(RuntimeError, match="withheld-cells ledger"):
        WithheldLedger(path).read()


def test_the_web_workers_whole_ledger_check_tells_a_damaged_file_from_a_whole_one(tmp_path):
    """Web workers check the whole ledger in a child process (parsing it would stall their
    requests); the child's verdict is the same as reading it here."""
    path = tmp_path / WITHHELD_LEDGER
    WithheldLedger(path).remember({"a": {"discharges"}})
    assert ledger_problem(path) is None
    path.write_text('{"cells": {"a": ["discharges"]', encoding="utf-8")  # cut short
    problem = ledger_problem(path)
    assert problem is not None and "withheld-cells ledger" in problem and str(path) in problem


def test_the_pages_cache_keeps_its_ledger_beside_the_dataset(db, tmp_path):
    root = tmp_path / "flows"
    _write(root, SCENARIO)
    OutflowCache(root, min_cell=10).sliced(db, level="province")
    remembered = WithheldLedger(root / WITHHELD_LEDGER).read()
    assert remembered[f"prefecture|{JIUQUAN}|2024|{ONC}"] >= {"discharges"}


def _level4(first: int) -> pd.DataFrame:
    return pd.DataFrame({"year": [2016, 2017, 2018], "level4": [first, 140, 150],
                         "surgeries": [40, 1100, 1150]})


def _before_after(first: int):  # type: ignore[no-untyped-def]
    return {"level4_share": before_after(_level4(first), metric="level4_share", baseline_year=2017,
                                         numerator="level4", denominator="surgeries")}


def test_an_evaluation_numerator_withheld_once_stays_withheld_after_a_load(tmp_path):
    """2016 had 5 level-4 surgeries (withheld); a load adds 7 (12): published without memory,
    12 minus what the load added gives the 5 back."""
    assert publish_all(_before_after(12), 10)["level4_share"].table.loc[0, "numerator"] == 12
    ledger = WithheldLedger(tmp_path / WITHHELD_LEDGER)
    first = publish_all(_before_after(5), 10, ledger=ledger, prefix="project:31")
    second = publish_all(_before_after(12), 10, ledger=ledger, prefix="project:31")
    for published in (first, second):
        row = published["level4_share"].table.set_index("year").loc[2016]
        assert row["numerator_withheld"] and math.isnan(row["numerator"]) and math.isnan(row["value"])
        assert row["denominator"] == 40
    # Another project's table is not affected by this one's history.
    other = publish_all(_before_after(12), 10, ledger=ledger, prefix="project:32")
    assert other["level4_share"].table.loc[0, "numerator"] == 12

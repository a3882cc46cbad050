"""The vectorised row checks give the pandas checks' answers: same problems, same stored values."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nrmc.flows import checks
from nrmc.flows.ingest import Reference, _problems
from nrmc.flows.schema import _RULES, INPUT_COLUMNS, derive_specialty, specialty_sql

from .conftest import HOSPITALS, REGIONS
from .pandas_reference import validate

NAMED = HOSPITALS.assign(name_zh=["合肥医院", "长丰县中医院", "临泉县人民医院", "北京医院",
                                  "北京医院二", "上海医院", "东莞医院"])
REF = Reference.build(REGIONS, NAMED)
ARRAYS = checks.Reference.of(REF.residences, REF.hospital_region, REF.tcm_hospitals)

NUMBERS = ["1", "2", "0", "9", "1.0", " 2 ", "+1", "-1", "1e1", "1E0", ".5e1", "nan", "NaN", "inf",
           "-inf", "Infinity", "1_0", "+-1", "", "abc", "120", "121", "60", "5", "1.5", "00012",
           "0x1", "1,0", "\u30003\u3000", "1e400", "３"]
VALUES = {
    "record_id": ["R1", " R2 ", "", "x" * 64, "x" * 65, "\u3000R3", "ß", "\t", "R1"],
    "patient_id": ["110101195001010001", " 11 ", "", "p" * 65, "患者", "\x1c7\x1f"],
    "residence_code": ["340121", " 340102 ", "999999", "340000", "", "441900", "34012１"],
    "hospital_code": ["H_HF", " H_CF\t", "H_SH", "NOPE", "h_hf", "", "H_DG"],
    "admission_date": ["2023-03-07", "2023-3-7", "2023-02-30", "23-01-01", "2023/01/01", "",
                       " 2023-01-05 ", "9999-12-31", "2023-01-05T00:00", "1600-01-01",
                       "02023-01-05", "2023-03-10", "2023-12-31", "+2023-01-01", "2023-1-05 "],
    "discharge_date": ["2023-03-10", "2023-3-10", "2022-12-31", "2023-03-07", "", "x",
                       "2024-02-29", "2023-02-29", "10/07/2023", " 2023-03-10\u3000"],
    "age": NUMBERS, "sex": NUMBERS, "surgery_level": NUMBERS, "admission_route": NUMBERS,
    "discharge_route": NUMBERS,
    "principal_diagnosis": ["I21.0", "i21.0", " C34.9 ", "O80", "Z51.1", "Z510", "heart", "",
                            "I21.ß", "ı21.0", "C34.900x001", "A00", "K35.8", "R69",
                            "I21.ﬁ", "I2", "C34.9\n"],
    "specialty": ["", "oncology", "ONCOLOGY", " tcm ", "bogus", "pediatrics"],
    "total_cost": ["10000", "1e3", "-1", "nan", "inf", "", "abc", "0", " 12.5 ", "1_000",
                   "-0", "+.5", "5."],
    "tcm_diagnosis": ["", "BNG010", "bng010", "A03.06.01", "I21.0", " ZBMN10 ", "B01.02.", "ß"],
}
GOOD = {"record_id": "R1", "patient_id": "110101195001010001", "residence_code": "340121",
        "hospital_code": "H_HF", "admission_date": "2023-03-07", "discharge_date": "2023-03-10",
        "age": "60", "sex": "1", "principal_diagnosis": "I21.0", "specialty": "",
        "surgery_level": "0", "admission_route": "2", "discharge_route": "1",
        "total_cost": "10000", "tcm_diagnosis": ""}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    checks.prepare(con)
    return con


def _new(con: duckdb.DuckDBPyConnection, rows: list[dict[str, str]]):
    batch = pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in rows[0]})
    checked = checks.check_batch(con, batch, ARRAYS)
    problems = [(p.row, p.field, p.reason) for p in
                _problems(batch, checked.bad, file="f", first_row=1, rejected={})]
    if not checked.good.num_rows:
        return problems, []
    good = checked.good.drop_columns(["patient_id", "year"]).to_pylist()
    return problems, [{**r, "_rule": str(r["_rule"])} for r in good]


def _old(rows: list[dict[str, str]]):
    return validate(pd.DataFrame(rows), REF.residences, REF.hospital_region, REF.tcm_hospitals)


row_strategy = st.fixed_dictionaries(
    {c: st.one_of(st.just(GOOD[c]), st.sampled_from(v)) for c, v in VALUES.items()})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row_strategy, min_size=1, max_size=25))
def test_vectorised_checks_report_and_store_what_pandas_did(con, rows):
    problems, good = _new(con, rows)
    old_problems, old_good = _old(rows)
    assert problems == old_problems
    assert good == old_good


def test_every_tricky_value_alone_is_judged_as_pandas_judged_it(con):
    """Each value of the corpus in an otherwise good row (one row per value, one batch)."""
    rows = [{**GOOD, column: value} for column, values in VALUES.items() for value in values]
    assert _new(con, rows) == _old(rows)


def test_missing_optional_columns_read_blank(con):
    rows = [{c: v for c, v in GOOD.items() if c not in ("specialty", "tcm_diagnosis")}]
    problems, good = _new(con, rows)
    assert problems == [] and good[0]["specialty"] == "cardiovascular"
    assert good[0]["_rule"] == "icd10"


def test_specialty_sql_follows_the_icd10_rules_for_every_category(con):
    """Every three-character category the rules name (and its neighbours), adult and child."""
    codes = sorted({f"{chr(c)}{n:02d}" for lo, hi, _ in _RULES for c in range(ord(lo[0]),
                    ord(hi[0]) + 1) for n in range(100)} | {"Z51.0", "Z511", "Z52", "R69"})
    frame = pd.DataFrame({"dx": codes})
    for age in (60, 3):
        got = con.execute(f"SELECT {specialty_sql('dx', str(age))} FROM frame").fetchall()
        expected = derive_specialty(frame["dx"], pd.Series([age] * len(codes)))
        assert [g for (g,) in got] == expected.tolist(), age


def test_input_columns_are_all_checked():
    assert {c.column for c in checks.CHECKS} == set(INPUT_COLUMNS)


def test_plain_amounts_read_as_pandas_reads_them(con):
    """Plain decimals take Arrow's cast (the rest the pandas-rule macro): the same doubles as
    ``pandas.to_numeric`` for many digits, long fractions and halfway cases."""
    import numpy as np

    rng = np.random.default_rng(17)
    amounts = ([f"{i}.{f:0{w}d}" for i, f, w in zip(rng.integers(0, 10**12, 3000),
                                                   rng.integers(0, 10**6, 3000),
                                                   rng.integers(1, 7, 3000), strict=True)]
               + [str(i) for i in rng.integers(0, 2**62, 1000)]
               + [repr(float(x)) for x in rng.random(1000) * 1e6]
               + ["0.1", "0.3", "2.675", "9007199254740993", "1" * 40, "0." + "9" * 30])
    batch = pa.table({"total_cost": pa.array(amounts)})
    expected = pd.to_numeric(pd.Series(amounts)).to_numpy()
    assert (checks._cost(con, batch) == expected).all()
    mixed = pa.table({"total_cost": pa.array(["12.5", "1e3", " 7 ", "abc", "+.5", "3"])})
    got = checks._cost(con, mixed)
    assert got[:3].tolist() == [12.5, 1000.0, 7.0] and np.isnan(got[3])
    assert got[4:].tolist() == [0.5, 3.0]

"""Every row check of a discharge file, vectorised over an Arrow batch.

The checks, their order and their wording are the contract of ``nrmc flows ingest``
(docs/flows.md): a row fails a check when the condition holds, and a bad row is reported once
per failed check, in :data:`CHECKS` order. They used to run in pandas, column by column, on
Python strings. Here most columns hold few distinct values (dates, ages, codes), so each
column is dictionary-encoded by Arrow and each *distinct* value is parsed once — by DuckDB
macros that follow the pandas rules — and the verdicts are gathered back to the rows with
NumPy. Only ``record_id``, ``patient_id`` and ``total_cost`` are handled row by row.

The text rules follow the pandas ones they replace (compared in tests/flows/test_checks.py):

* values are stripped and codes upper-cased by the Arrow kernels pandas itself called on its
  Arrow-backed strings (``utf8_trim_whitespace``, ``utf8_upper``: Unicode whitespace such as
  the ideographic space U+3000 goes; ß stays one letter);
* a number is what ``pandas.to_numeric`` reads: optional sign, digits with at most one point, an
  optional exponent, or inf/infinity; not ``nan``, ``1_000`` or ``+-1``, which DuckDB alone accepts;
* a date is ``YYYY-M-D`` with a four-digit year (one or two digits for month and day, as
  ``pandas.to_datetime(format="%Y-%m-%d")`` reads it), from year 1 on (pandas also read year 0
  and negative years, on which the old ingest then crashed; they are now bad dates).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .schema import (
    ADMISSION_ROUTES,
    DISCHARGE_ROUTES,
    ICD10_PATTERN,
    MAX_AGE,
    SEX_CODES,
    SPECIALTIES,
    STORED_SCHEMA,
    SURGERY_LEVELS,
    TCM_CODE_PATTERN,
    SpecialtyRule,
    specialty_sql,
)

_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?i:inf|infinity)"


MACROS = f"""
CREATE OR REPLACE MACRO py_number(s) AS CASE
    WHEN s[1] BETWEEN '0' AND '9' AND s[-1] BETWEEN '0' AND '9' AND NOT contains(s, '_')
    THEN TRY_CAST(s AS DOUBLE)
    WHEN regexp_full_match(s, '{_NUMBER}') THEN TRY_CAST(s AS DOUBLE) END;
CREATE OR REPLACE MACRO py_date(s) AS CASE
    WHEN s[5] = '-' AND s[1] BETWEEN '0' AND '9' AND strlen(s) <= 10
    THEN TRY_STRPTIME(s, '%Y-%m-%d')::DATE END;
"""


@dataclass(frozen=True)
class Check:
    column: str
    reason: str


def _one_of(values: frozenset[int]) -> str:
    return f"is not one of {sorted(values)}"


CHECKS: tuple[Check, ...] = (
    Check("record_id", "is empty"),
    Check("record_id", "is longer than 64 characters"),
    Check("patient_id", "is empty"),
    Check("patient_id", "is longer than 64 characters"),
    Check("residence_code", "is not a known county (finest division) code"),
    Check("hospital_code", "is not a registered hospital with a known division"),
    Check("admission_date", "is not an ISO date (YYYY-MM-DD)"),
    Check("discharge_date", "is not an ISO date (YYYY-MM-DD)"),
    Check("discharge_date", "is before admission_date"),
    Check("age", f"is not a whole number of years 0–{MAX_AGE}"),
    Check("sex", _one_of(SEX_CODES)),
    Check("surgery_level", _one_of(SURGERY_LEVELS)),
    Check("admission_route", _one_of(ADMISSION_ROUTES)),
    Check("discharge_route", _one_of(DISCHARGE_ROUTES)),
    Check("principal_diagnosis", "is not an ICD-10 code (e.g. I21.0)"),
    Check("specialty", "is not a known specialty"),
    Check("tcm_diagnosis",
          "is not a GB/T 15657 TCM disease or syndrome code (e.g. BNG010, A03.06.01)"),
    Check("total_cost", "is not a non-negative amount in yuan"),
)
#: Columns with few distinct values, which the CSV reader hands over dictionary-encoded.
FEW_VALUES = frozenset({"residence_code", "hospital_code", "admission_date", "discharge_date",
                        "age", "sex", "principal_diagnosis", "specialty", "surgery_level",
                        "admission_route", "discharge_route", "tcm_diagnosis"})
_WHOLE = {"age": None, "sex": SEX_CODES, "surgery_level": SURGERY_LEVELS,
          "admission_route": ADMISSION_ROUTES, "discharge_route": DISCHARGE_ROUTES}
RULES = (SpecialtyRule.stated, SpecialtyRule.tcm_code, SpecialtyRule.tcm_hospital,
         SpecialtyRule.icd10)
_EPOCH_NAT = np.iinfo(np.int32).min  # "no date" in day numbers


def failed(bits: int) -> list[Check]:
    """The checks a row's bits name, in check order."""
    return [c for i, c in enumerate(CHECKS) if bits >> i & 1]


@dataclass(frozen=True)
class Reference:
    """The registry a batch is checked against, as Arrow arrays for ``index_in``."""

    residences: pa.Array
    hospital_codes: pa.Array
    hospital_regions: pa.Array
    tcm_hospital: np.ndarray

    @classmethod
    def of(cls, residences: frozenset[str], hospital_region: dict[str, str],
           tcm_hospitals: frozenset[str]) -> Reference:
        codes = sorted(hospital_region)
        return cls(pa.array(sorted(residences), pa.string()), pa.array(codes, pa.string()),
                   pa.array([hospital_region[c] for c in codes], pa.string()),
                   np.array([c in tcm_hospitals for c in codes] + [False]))


@dataclass
class Column:
    """One input column of a batch: its distinct (stripped) values and each row's index."""

    values: pa.Array
    index: np.ndarray

    @classmethod
    def of(cls, batch: pa.Table, name: str) -> Column:
        if name not in batch.column_names:
            return cls(pa.array([""], pa.string()), np.zeros(batch.num_rows, np.int32))
        column = batch[name].combine_chunks()
        if pa.types.is_dictionary(column.type) and not column.null_count:  # CSV reader encoded it
            return cls(strip(column.dictionary),
                       pc.fill_null(column.indices, 0).to_numpy(zero_copy_only=False))
        encoded = pc.dictionary_encode(strip(column))
        return cls(encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False))

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        return per_value[self.index]


def strip(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Text as pandas' ``.str.strip()`` left it (on Arrow strings it *is* this Arrow kernel);
    nulls (Parquet) read as blank."""
    return pc.utf8_trim_whitespace(pc.fill_null(column, ""))


#: What each distinct value of a dictionary-encoded column parses to (one query per batch).
_VALUE_SQL = f"""SELECT
    coalesce(CASE WHEN year(py_date(v)) >= 1 THEN (py_date(v) - DATE '1970-01-01')::INTEGER END,
             {_EPOCH_NAT}) AS day,
    coalesce(CASE WHEN py_number(v) = floor(py_number(v)) THEN py_number(v) END,
             'nan'::DOUBLE) AS whole,
    u AS upper,
    coalesce(regexp_matches(u, '{ICD10_PATTERN.pattern}'), FALSE) AS icd10,
    {specialty_sql("u", "60")} AS adult,
    {specialty_sql("u", "0")} AS child,
    coalesce(regexp_matches(u, '{TCM_CODE_PATTERN.pattern}'), FALSE) AS tcm
FROM value_list"""


def _query(con: duckdb.DuckDBPyConnection, sql: str, values: pa.Array) -> dict[str, np.ndarray]:
    # upper-cased by Arrow, as pandas' .str.upper() did (DuckDB's upper differs on a few letters)
    con.register("value_list", pa.table({"v": values, "u": pc.utf8_upper(values)}))
    try:
        out = con.sql(sql).to_arrow_table()
    finally:
        con.unregister("value_list")
    return {name: out[name].to_numpy() for name in out.column_names}


def _parse_values(con: duckdb.DuckDBPyConnection,
                  columns: dict[str, Column]) -> dict[str, dict[str, np.ndarray]]:
    """Every parse of every distinct value of ``columns``, split back per column."""
    values = [c.values for c in columns.values()]
    parsed = _query(con, _VALUE_SQL, pa.concat_arrays(values))
    out, start = {}, 0
    for name, column in columns.items():
        stop = start + len(column.values)
        out[name] = {k: v[start:stop] for k, v in parsed.items()}
        start = stop
    return out


@dataclass
class Checked:
    """A checked batch: each row's failed-check bits and, for the good rows, the stored
    columns (``patient_id`` still raw) with ``_rule``."""

    bad: np.ndarray
    good: pa.Table


def check_batch(con: duckdb.DuckDBPyConnection, batch: pa.Table, ref: Reference) -> Checked:
    """Run every check on ``batch`` (all-text input columns) and type its good rows."""
    n = batch.num_rows
    col = {name: Column.of(batch, name) for name in (
        "residence_code", "hospital_code", "admission_date", "discharge_date", *_WHOLE,
        "principal_diagnosis", "specialty", "tcm_diagnosis")}
    ids = {name: strip(batch[name]) if name in batch.column_names else pa.nulls(n, pa.string())
           for name in ("record_id", "patient_id")}
    bits = np.zeros(n, np.int32)

    def fail(i: int, mask: np.ndarray) -> None:
        bits[mask] |= 1 << i

    for i, name in ((0, "record_id"), (2, "patient_id")):
        length = pc.utf8_length(pc.fill_null(ids[name], "")).to_numpy(zero_copy_only=False)
        fail(i, length == 0)
        fail(i + 1, length > 64)
    residence = col["residence_code"]
    fail(4, residence.rows(~pc.is_in(residence.values, value_set=ref.residences)
                            .to_numpy(zero_copy_only=False)))
    hospital = col["hospital_code"]
    at = pc.index_in(hospital.values, value_set=ref.hospital_codes)
    hospital_known = at.is_valid().to_numpy(zero_copy_only=False)
    fail(5, ~hospital.rows(hospital_known))
    parsed = _parse_values(con, {k: v for k, v in col.items()
                                 if k not in ("residence_code", "hospital_code", "specialty")})
    days = {}
    for i, name in ((6, "admission_date"), (7, "discharge_date")):
        days[name] = col[name].rows(parsed[name]["day"].astype(np.int32))
        fail(i, days[name] == _EPOCH_NAT)
    dated = (days["admission_date"] != _EPOCH_NAT) & (days["discharge_date"] != _EPOCH_NAT)
    fail(8, dated & (days["discharge_date"] < days["admission_date"]))
    whole = {}
    for i, (name, allowed) in enumerate(_WHOLE.items(), start=9):
        value = parsed[name]["whole"]
        ok = (value >= 0) & (value <= MAX_AGE) if allowed is None else np.isin(value, list(allowed))
        fail(i, col[name].rows(~ok))
        whole[name] = col[name].rows(np.nan_to_num(value, nan=-1.0, posinf=-1.0, neginf=-1.0))
    dx = col["principal_diagnosis"]
    codes = parsed["principal_diagnosis"]
    fail(14, dx.rows(~codes["icd10"]))
    stated = col["specialty"]
    stated_text = stated.values.to_numpy(zero_copy_only=False).astype(object)
    stated_ok = np.array([v == "" or v in SPECIALTIES for v in stated_text], dtype=bool)
    fail(15, stated.rows(~stated_ok))
    tcm = col["tcm_diagnosis"]
    tcm_codes = parsed["tcm_diagnosis"]
    tcm_codes["blank"] = tcm_codes["upper"] == ""
    fail(16, tcm.rows(~(tcm_codes["blank"] | tcm_codes["tcm"])))
    cost = _cost(con, batch)
    fail(17, ~(cost >= 0))

    good = bits == 0
    if not good.any():
        return Checked(bits, pa.table({}))  # no columns: nothing to stage
    # every row good (the usual batch): views, not copies, of the per-row arrays
    take: slice | np.ndarray = slice(None) if good.all() else np.flatnonzero(good)
    rule = np.select(
        [stated.rows(stated_text != "")[take], tcm.rows(~tcm_codes["blank"])[take],
         hospital.rows(ref.tcm_hospital[at.fill_null(len(ref.hospital_codes)).to_numpy()])[take]],
        [0, 1, 2], 3).astype(np.int8)
    specialty = _specialty(rule, young=whole["age"][take] < 15, stated=stated, dx=dx,
                           codes=codes, take=take)

    def coded(column: Column, values: pa.Array) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(column.index[take]), values)

    def date(name: str) -> pa.Array:
        return pa.array(days[name][take], pa.int32()).cast(pa.date32())

    discharged = date("discharge_date")
    regions = pa.DictionaryArray.from_arrays(
        pa.array(at.fill_null(0).to_numpy()[hospital.index[take]]), ref.hospital_regions)
    columns = {
        "record_id": _kept(ids["record_id"], take),
        "patient_id": _kept(ids["patient_id"], take),
        "residence_code": coded(residence, residence.values),
        "hospital_code": coded(hospital, hospital.values),
        "admission_date": date("admission_date"),
        "discharge_date": discharged,
        "age": pa.array(whole["age"][take].astype(np.int16)),
        "sex": pa.array(whole["sex"][take].astype(np.int8)),
        "principal_diagnosis": coded(dx, pa.array(codes["upper"], pa.string())),
        "specialty": specialty,
        "surgery_level": pa.array(whole["surgery_level"][take].astype(np.int8)),
        "admission_route": pa.array(whole["admission_route"][take].astype(np.int8)),
        "discharge_route": pa.array(whole["discharge_route"][take].astype(np.int8)),
        "total_cost": pa.array(cost[take]),
        "hospital_region_code": regions,
        "year": pc.year(discharged).cast(pa.int16()),
        "_rule": pa.DictionaryArray.from_arrays(pa.array(rule), pa.array(RULES, pa.string())),
    }
    assert list(columns)[:-1] == STORED_SCHEMA.names
    return Checked(bits, pa.table(columns))


def _kept(column: pa.Array | pa.ChunkedArray, take: slice | np.ndarray) -> pa.Array:
    return column if isinstance(take, slice) else column.take(take)


def _specialty(rule: np.ndarray, *, young: np.ndarray, stated: Column, dx: Column,
               codes: dict[str, np.ndarray], take: slice | np.ndarray) -> pa.Array:
    """Each good row's specialty: as stated (rule 0), ``tcm`` (rules 1–2) or derived from the
    diagnosis and age (rule 3). Chosen as indices into the few distinct answers and decoded
    once by Arrow, rather than as a row-by-row array of Python strings."""
    k1, k2 = len(stated.values), len(dx.values)
    values = pa.concat_arrays([stated.values.cast(pa.string()),
                               pa.array(codes["adult"], pa.string()),
                               pa.array(codes["child"], pa.string()), pa.array(["tcm"])])
    derived = k1 + dx.index[take].astype(np.int32) + np.where(young, k2, 0).astype(np.int32)
    index = np.where(rule == 0, stated.index[take],
                     np.where(rule == 3, derived, k1 + 2 * k2)).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(index), values).dictionary_decode()


def _cost(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> np.ndarray:
    """``total_cost`` row by row (amounts are nearly all distinct); NaN where unreadable.
    Plain decimals (digits, at most one point inside), nearly every amount, are parsed by
    Arrow's cast, which rounds as DuckDB's and pandas' parsers do (all three correctly); the
    rest by the ``py_number`` macro."""
    if "total_cost" not in batch.column_names:
        return np.full(batch.num_rows, np.nan)
    text = strip(batch["total_cost"]).combine_chunks()
    plain = pc.match_substring_regex(text, _PLAIN_AMOUNT)
    if pc.all(plain).as_py():
        return text.cast(pa.float64()).to_numpy(zero_copy_only=False)
    amounts = np.full(len(text), np.nan)
    at = plain.to_numpy(zero_copy_only=False)
    amounts[at] = text.filter(plain).cast(pa.float64()).to_numpy(zero_copy_only=False)
    amounts[~at] = _query(con, "SELECT coalesce(py_number(v), 'nan'::DOUBLE) AS x "
                               "FROM value_list", text.filter(pc.invert(plain)))["x"]
    return amounts


_PLAIN_AMOUNT = r"^[0-9]+(\.[0-9]+)?$"


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Define the parsing macros on ``con``."""
    con.execute(MACROS)

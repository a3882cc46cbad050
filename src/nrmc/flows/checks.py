"""Every row check of a discharge file as one DuckDB query over an Arrow batch.

The checks, their order and their wording are the contract of ``nrmc flows ingest``
(docs/flows.md): a row fails a check when the condition below holds, a bad row is reported once
per failed check, in this order. They used to run in pandas column by column; as SQL they run
vectorised on every core, and the typed, stored form of each good row comes out of the same
query. The text rules follow the pandas ones they replace, character for character (tested
against them in tests/flows/test_checks.py):

* every value is stripped of what Python's ``str.strip`` removes (29 whitespace characters, the
  ideographic space U+3000 among them), not only ASCII spaces;
* a number is what ``pandas.to_numeric`` reads: optional sign, digits with at most one point, an
  optional exponent, or inf/infinity; not ``nan``, ``1_000`` or ``+-1``, which DuckDB alone accepts;
* a date is ``YYYY-M-D`` with a four-digit year (one or two digits for month and day, as
  ``pandas.to_datetime(format="%Y-%m-%d")`` reads it) from year 1 on;
* codes are upper-cased as ``str.upper`` does, including the characters it expands (ß → SS,
  ligatures such as ﬁ → FI), which DuckDB's ``upper`` keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from .schema import (
    ADMISSION_ROUTES,
    DISCHARGE_ROUTES,
    ICD10_PATTERN,
    INPUT_COLUMNS,
    MAX_AGE,
    SEX_CODES,
    SPECIALTIES,
    SURGERY_LEVELS,
    TCM_CODE_PATTERN,
    SpecialtyRule,
    specialty_sql,
)

#: What ``str.strip()`` removes, as DuckDB ``chr()`` calls (some are control characters).
PY_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
#: Non-ASCII characters whose ``str.upper()`` is plain ASCII (DuckDB's ``upper`` leaves them).
_ASCII_UPPER = {c: c.upper() for c in map(chr, range(128, 0x10000))
                if c.upper() != c and c.upper().isascii()}
_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?i:inf|infinity)"


def _literal(text: str) -> str:
    return "(" + " || ".join(f"chr({ord(c)})" for c in text) + ")"


def _set(values: frozenset[int] | frozenset[str]) -> str:
    return ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in sorted(values))


MACROS = f"""
CREATE OR REPLACE MACRO py_strip(s) AS trim(coalesce(s, ''), {_literal(PY_WHITESPACE)});
CREATE OR REPLACE MACRO py_upper(s) AS CASE WHEN strlen(s) = length(s) THEN upper(s) ELSE upper(
    {"".join("replace(" for _ in _ASCII_UPPER)}s{"".join(
        f", {_literal(k)}, '{v}')" for k, v in _ASCII_UPPER.items())}) END;
CREATE OR REPLACE MACRO py_number(s) AS CASE
    WHEN ltrim(s, '0123456789.') = '' THEN TRY_CAST(s AS DOUBLE)
    WHEN regexp_full_match(s, '{_NUMBER}') THEN TRY_CAST(s AS DOUBLE) END;
CREATE OR REPLACE MACRO py_whole(v) AS CASE WHEN v = floor(v) THEN v END;
CREATE OR REPLACE MACRO py_date(s) AS CASE
    WHEN s[5] = '-' AND s[1] BETWEEN '0' AND '9' AND strlen(s) <= 10
    THEN TRY_STRPTIME(s, '%Y-%m-%d')::DATE END;
CREATE OR REPLACE MACRO after_year_0(d) AS CASE WHEN year(d) >= 1 THEN d END;
"""


@dataclass(frozen=True)
class Check:
    column: str
    reason: str
    fails: str  # SQL over the parsed columns, TRUE when the row fails


def _not(ok: str) -> str:
    return f"NOT coalesce({ok}, FALSE)"


CHECKS: tuple[Check, ...] = (
    Check("record_id", "is empty", "record_id = ''"),
    Check("record_id", "is longer than 64 characters", "length(record_id) > 64"),
    Check("patient_id", "is empty", "patient_id = ''"),
    Check("patient_id", "is longer than 64 characters", "length(patient_id) > 64"),
    Check("residence_code", "is not a known county (finest division) code", "NOT _residence"),
    Check("hospital_code", "is not a registered hospital with a known division",
          "hospital_region_code IS NULL"),
    Check("admission_date", "is not an ISO date (YYYY-MM-DD)", "admission_date IS NULL"),
    Check("discharge_date", "is not an ISO date (YYYY-MM-DD)", "discharge_date IS NULL"),
    Check("discharge_date", "is before admission_date",
          "coalesce(discharge_date < admission_date, FALSE)"),
    Check("age", f"is not a whole number of years 0–{MAX_AGE}", _not(f"age BETWEEN 0 AND {MAX_AGE}")),
    *(Check(column, f"is not one of {sorted(allowed)}", _not(f"{column} IN ({_set(allowed)})"))
      for column, allowed in (("sex", SEX_CODES), ("surgery_level", SURGERY_LEVELS),
                              ("admission_route", ADMISSION_ROUTES),
                              ("discharge_route", DISCHARGE_ROUTES))),
    Check("principal_diagnosis", "is not an ICD-10 code (e.g. I21.0)",
          _not(f"regexp_matches(principal_diagnosis, '{ICD10_PATTERN.pattern}')")),
    Check("specialty", "is not a known specialty",
          f"specialty <> '' AND specialty NOT IN ({_set(SPECIALTIES)})"),
    Check("tcm_diagnosis",
          "is not a GB/T 15657 TCM disease or syndrome code (e.g. BNG010, A03.06.01)",
          f"tcm_diagnosis <> '' AND NOT regexp_matches(tcm_diagnosis, '{TCM_CODE_PATTERN.pattern}')"),
    Check("total_cost", "is not a non-negative amount in yuan", _not("total_cost >= 0")),
)

_TEXT = ("record_id", "patient_id", "residence_code", "hospital_code", "specialty")
_CODES = ("principal_diagnosis", "tcm_diagnosis")
_WHOLE = ("age", "sex", "surgery_level", "admission_route", "discharge_route")


def _parsed(present: set[str]) -> str:
    """The columns of ``batch`` stripped and parsed (a missing optional column reads blank)."""
    def raw(column: str) -> str:
        return f'py_strip("{column}")' if column in present else "''"

    cols = [f"{raw(c)} AS {c}" for c in _TEXT]
    cols += [f"py_upper({raw(c)}) AS {c}" for c in _CODES]
    cols += [f"py_date({raw(c)}) AS {c}" for c in ("admission_date", "discharge_date")]
    cols += [f"py_whole(py_number({raw(c)})) AS {c}" for c in _WHOLE]
    cols.append(f"py_number({raw('total_cost')}) AS total_cost")
    return ", ".join(["_row", *cols])


def check_query(present: set[str]) -> str:
    """SELECT over the registered Arrow batch ``batch`` (input columns as text plus ``_row``)
    and the reference tables: ``_row``, the stored columns, ``_bad`` (bit i set when
    ``CHECKS[i]`` fails) and ``_rule`` (how the specialty was decided)."""
    bits = " | ".join(f"(CASE WHEN {c.fails} THEN {1 << i} ELSE 0 END)"
                      for i, c in enumerate(CHECKS))
    rule = (f"CASE WHEN specialty <> '' THEN '{SpecialtyRule.stated}' "
            f"WHEN tcm_diagnosis <> '' THEN '{SpecialtyRule.tcm_code}' "
            f"WHEN _tcm_hospital THEN '{SpecialtyRule.tcm_hospital}' "
            f"ELSE '{SpecialtyRule.icd10}' END")
    return f"""
    WITH parsed AS (SELECT {_parsed(present)} FROM batch),
    joined AS (
        SELECT p.* REPLACE (after_year_0(admission_date) AS admission_date,
                            after_year_0(discharge_date) AS discharge_date),
            h.region AS hospital_region_code, coalesce(h.tcm, FALSE) AS _tcm_hospital,
            r.code IS NOT NULL AS _residence
        FROM parsed p
        LEFT JOIN ref_hospital h ON h.code = p.hospital_code
        LEFT JOIN ref_residence r ON r.code = p.residence_code
    ),
    flagged AS (SELECT *, {bits} AS _bad, {rule} AS _rule FROM joined)
    SELECT _row, _bad, _rule,
        record_id, patient_id, residence_code, hospital_code, admission_date, discharge_date,
        TRY_CAST(age AS SMALLINT) AS age, TRY_CAST(sex AS TINYINT) AS sex,
        principal_diagnosis,
        CASE _rule WHEN '{SpecialtyRule.stated}' THEN specialty
            WHEN '{SpecialtyRule.icd10}' THEN {specialty_sql("principal_diagnosis", "age")}
            ELSE 'tcm' END AS specialty,
        TRY_CAST(surgery_level AS TINYINT) AS surgery_level,
        TRY_CAST(admission_route AS TINYINT) AS admission_route,
        TRY_CAST(discharge_route AS TINYINT) AS discharge_route,
        total_cost, hospital_region_code,
        TRY_CAST(year(discharge_date) AS SMALLINT) AS year
    FROM flagged
    """


def prepare(con: duckdb.DuckDBPyConnection, residences: frozenset[str],
            hospital_region: dict[str, str], tcm_hospitals: frozenset[str]) -> None:
    """Define the parsing macros and load the reference tables a batch is checked against."""
    con.execute(MACROS)
    codes = sorted(hospital_region)
    tables = {
        "ref_hospital": pa.table({"code": pa.array(codes, pa.string()),
                                  "region": pa.array([hospital_region[c] for c in codes], pa.string()),
                                  "tcm": pa.array([c in tcm_hospitals for c in codes], pa.bool_())}),
        "ref_residence": pa.table({"code": pa.array(sorted(residences), pa.string())}),
    }
    for name, table in tables.items():
        con.register("_ref", table)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _ref")
        con.unregister("_ref")


def failed(bits: int) -> list[Check]:
    """The checks a row's ``_bad`` bits name, in check order."""
    return [c for i, c in enumerate(CHECKS) if bits >> i & 1]


assert {c.column for c in CHECKS} <= set(INPUT_COLUMNS)

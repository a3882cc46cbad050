"""The row checks as they ran before ingest streamed (pandas, column by column), kept as the
oracle the vectorised checks (``nrmc.flows.checks``) are compared with.

Same rules, order and wording as ``nrmc.flows.ingest.validate`` at commit 286921c; it returns
plain values so a test can compare them with what the new code stores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nrmc.flows.schema import (
    ADMISSION_ROUTES,
    DISCHARGE_ROUTES,
    ICD10_PATTERN,
    INPUT_COLUMNS,
    MAX_AGE,
    SEX_CODES,
    SPECIALTIES,
    SURGERY_LEVELS,
    TCM_CODE_PATTERN,
    resolve_specialty,
)


def _number(text: pd.Series) -> pd.Series:
    num = pd.to_numeric(text.str.strip(), errors="coerce")
    return pd.Series(num.to_numpy(dtype="float64", na_value=np.nan), index=text.index)


def _integer(text: pd.Series) -> pd.Series:
    num = _number(text)
    return num.where(num == np.floor(num))


def _date(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text.str.strip(), format="%Y-%m-%d", errors="coerce")


def validate(frame: pd.DataFrame, residences: frozenset[str], hospital_region: dict[str, str],
             tcm_hospitals: frozenset[str]) -> tuple[list[tuple[int, str, str]], list[dict]]:
    """(problems as (1-based row, field, reason), good rows as stored values)."""
    f = frame.reindex(columns=INPUT_COLUMNS).fillna("").astype("string")
    checks: list[tuple[str, str, np.ndarray]] = []

    def bad(column: str, reason: str, mask: pd.Series | np.ndarray) -> None:
        checks.append((column, reason, np.asarray(mask, dtype=bool)))

    for column in ("record_id", "patient_id"):
        text = f[column].str.strip()
        bad(column, "is empty", text == "")
        bad(column, "is longer than 64 characters", text.str.len() > 64)
    residence = f["residence_code"].str.strip()
    bad("residence_code", "is not a known county (finest division) code",
        ~residence.isin(residences))
    hospital = f["hospital_code"].str.strip()
    bad("hospital_code", "is not a registered hospital with a known division",
        ~hospital.isin(hospital_region))
    admitted, discharged = _date(f["admission_date"]), _date(f["discharge_date"])
    bad("admission_date", "is not an ISO date (YYYY-MM-DD)", admitted.isna())
    bad("discharge_date", "is not an ISO date (YYYY-MM-DD)", discharged.isna())
    bad("discharge_date", "is before admission_date", discharged < admitted)
    age = _integer(f["age"])
    bad("age", f"is not a whole number of years 0–{MAX_AGE}", ~age.between(0, MAX_AGE))
    for column, allowed in (("sex", SEX_CODES), ("surgery_level", SURGERY_LEVELS),
                            ("admission_route", ADMISSION_ROUTES),
                            ("discharge_route", DISCHARGE_ROUTES)):
        bad(column, f"is not one of {sorted(allowed)}", ~_integer(f[column]).isin(allowed))
    diagnosis = f["principal_diagnosis"].str.strip().str.upper()
    bad("principal_diagnosis", "is not an ICD-10 code (e.g. I21.0)",
        ~diagnosis.str.match(ICD10_PATTERN).fillna(False))
    specialty = f["specialty"].str.strip()
    bad("specialty", "is not a known specialty", (specialty != "") & ~specialty.isin(SPECIALTIES))
    tcm_code = f["tcm_diagnosis"].str.strip().str.upper()
    bad("tcm_diagnosis", "is not a GB/T 15657 TCM disease or syndrome code (e.g. BNG010, A03.06.01)",
        (tcm_code != "") & ~tcm_code.str.match(TCM_CODE_PATTERN).fillna(False))
    cost = _number(f["total_cost"])
    bad("total_cost", "is not a non-negative amount in yuan", ~(cost >= 0))

    problems = []
    any_bad = np.zeros(len(f), dtype=bool)
    for column, reason, mask in checks:
        any_bad |= mask
        problems += [(int(i) + 1, column, f"{f[column].iloc[i]!r} {reason}")
                     for i in np.flatnonzero(mask)]
    problems.sort(key=lambda p: p[0])
    good = ~any_bad
    resolved, rule = resolve_specialty(specialty[good], tcm_code[good],
                                       hospital[good].isin(tcm_hospitals), diagnosis[good],
                                       age[good])
    rows = pd.DataFrame({
        "record_id": f["record_id"].str.strip()[good],
        "residence_code": residence[good],
        "hospital_code": hospital[good],
        "admission_date": admitted[good].dt.date,
        "discharge_date": discharged[good].dt.date,
        "age": age[good].astype(int),
        "sex": _integer(f["sex"])[good].astype(int),
        "principal_diagnosis": diagnosis[good],
        "specialty": resolved,
        "surgery_level": _integer(f["surgery_level"])[good].astype(int),
        "admission_route": _integer(f["admission_route"])[good].astype(int),
        "discharge_route": _integer(f["discharge_route"])[good].astype(int),
        "total_cost": cost[good],
        "hospital_region_code": hospital[good].map(hospital_region),
        "_rule": rule,
    })
    return problems, [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                      for r in rows.to_dict("records")]

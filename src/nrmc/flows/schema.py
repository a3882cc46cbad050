"""The canonical discharge record and the ICD-10 → specialty mapping.

Every path into the flows dataset (``ingest`` from hospital files, ``synth`` for demos and
benchmarks) produces exactly :data:`STORED_SCHEMA`, so metrics never guess at column types.
Two columns are derived on the way in and are not part of the input contract:

* ``hospital_region_code`` – the division of the treating hospital *at load time*, copied from
  the registry so that flow metrics need no join with the hospital registry (and keep the
  place of treatment as it was when the patient was treated, even if a hospital later moves);
* ``year`` – the calendar year of ``discharge_date``; the dataset is partitioned by it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa

from ..core.enums import AdmissionRoute, DischargeRoute, Sex, Specialty, SurgeryLevel

#: Input columns, in order. ``specialty`` may be blank in input files.
INPUT_COLUMNS: tuple[str, ...] = (
    "record_id",
    "patient_id",
    "residence_code",
    "hospital_code",
    "admission_date",
    "discharge_date",
    "age",
    "sex",
    "principal_diagnosis",
    "specialty",
    "surgery_level",
    "admission_route",
    "discharge_route",
    "total_cost",
    "tcm_diagnosis",
)
OPTIONAL_INPUT_COLUMNS = frozenset({"specialty", "tcm_diagnosis"})

# Every stored column is required (nullable=False): validation refuses blanks, the
# generator never makes them, and DuckDB writes them so.
STORED_SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("patient_id", pa.string(), nullable=False),
        pa.field("residence_code", pa.string(), nullable=False),
        pa.field("hospital_code", pa.string(), nullable=False),
        pa.field("admission_date", pa.date32(), nullable=False),
        pa.field("discharge_date", pa.date32(), nullable=False),
        pa.field("age", pa.int16(), nullable=False),
        pa.field("sex", pa.int8(), nullable=False),
        pa.field("principal_diagnosis", pa.string(), nullable=False),
        pa.field("specialty", pa.string(), nullable=False),
        pa.field("surgery_level", pa.int8(), nullable=False),
        pa.field("admission_route", pa.int8(), nullable=False),
        pa.field("discharge_route", pa.int8(), nullable=False),
        pa.field("total_cost", pa.float64(), nullable=False),
        pa.field("hospital_region_code", pa.string(), nullable=False),
        pa.field("year", pa.int16(), nullable=False),
    ]
)
STORED_COLUMNS: tuple[str, ...] = tuple(STORED_SCHEMA.names)
KEY_COLUMNS = ("record_id", "hospital_code")

SEX_CODES = frozenset(int(v) for v in Sex)
SURGERY_LEVELS = frozenset(int(v) for v in SurgeryLevel)
ADMISSION_ROUTES = frozenset(int(v) for v in AdmissionRoute)
DISCHARGE_ROUTES = frozenset(int(v) for v in DischargeRoute)
SPECIALTIES = frozenset(s.value for s in Specialty)
MAX_AGE = 120

#: ICD-10 shape: a chapter letter, two digits, then optionally a 4th character and a dotted
#: extension of up to 8 letters/digits. Accepts WHO (``I21.0``), undotted (``I210``) and the
#: Chinese national clinical extension (``C34.900x001`` → letters allowed after the dot).
ICD10_PATTERN = re.compile(r"^[A-Z][0-9]{2}[0-9A-Z]?(\.[0-9A-Za-z]{1,8})?$")

# Ordered rules on the 3-character category (letter + two digits), first match wins. The
# bounds are inclusive and compared on a single integer: ord(letter) * 100 + number.
_RULES: tuple[tuple[str, str, Specialty], ...] = (
    ("O00", "O99", Specialty.obstetrics_gynecology),
    ("C00", "D09", Specialty.oncology),
    ("D37", "D48", Specialty.oncology),
    ("D25", "D28", Specialty.obstetrics_gynecology),
    ("N70", "N98", Specialty.obstetrics_gynecology),
    ("I60", "I69", Specialty.neurology),
    ("I00", "I99", Specialty.cardiovascular),
    ("G00", "G99", Specialty.neurology),
    ("J00", "J99", Specialty.respiratory),
    ("S00", "T14", Specialty.trauma_orthopedics),
    ("M00", "M99", Specialty.trauma_orthopedics),
    ("A00", "B99", Specialty.infectious),
    ("U07", "U07", Specialty.infectious),
    ("F00", "F99", Specialty.psychiatry),
    ("K00", "K14", Specialty.stomatology),
    ("K35", "K46", Specialty.general_surgery),
    ("K80", "K87", Specialty.general_surgery),
    ("K20", "K93", Specialty.internal_medicine),
    ("E00", "E90", Specialty.internal_medicine),
    ("D50", "D89", Specialty.internal_medicine),
    ("N00", "N39", Specialty.internal_medicine),
)
#: A TCM disease or syndrome code (GB/T 15657 中医病证分类与代码), checked by shape only: the
#: 1995 edition's letter codes (``BNG010`` a disease, ``ZBMN10`` a syndrome) or the 2021
#: edition's dotted ones (``A03.06.01.03`` a disease, ``B01.02.01`` a syndrome).
TCM_CODE_PATTERN = re.compile(r"^(?:[A-Z]{2,5}[0-9]{2,3}|[AB][0-9]{2}(?:\.[0-9]{2}){1,4})\.?$")
#: Hospitals whose name says they practise TCM or an ethnic medicine (中医院, 中西医结合医院,
#: 蒙医/藏医/维吾尔医/傣医/壮医/苗医/民族医医院): every stay there is a TCM stay.
TCM_HOSPITAL_PATTERN = re.compile(r"中医|中西医|蒙医|藏医|维吾尔医|维医|傣医|壮医|苗医|民族医")


class SpecialtyRule:
    """How a stored row's specialty was decided (counted per load, named in TCM figures)."""

    stated = "stated"  # the source file gave it
    tcm_code = "tcm_code"  # a GB/T 15657 TCM disease/syndrome code on the record
    tcm_hospital = "tcm_hospital"  # treated in a TCM (or integrated / ethnic medicine) hospital
    icd10 = "icd10"  # derived from the ICD-10 principal diagnosis and age

    LABELS = {"stated": "stated in the source file", "tcm_code": "GB/T 15657 TCM code",
              "tcm_hospital": "TCM hospital (by name)", "icd10": "ICD-10 diagnosis"}


PEDIATRIC_AGE_LIMIT = 15  # under 15 years: 儿科 by the national age cut-off for paediatrics


def _category_number(text: str) -> int:
    return ord(text[0]) * 100 + int(text[1:3])


def derive_specialty(diagnosis: pd.Series, age: pd.Series) -> pd.Series:
    """Specialty from ICD-10 principal diagnosis and age (vectorised; documented in docs/flows.md).

    1. Pregnancy and childbirth (O00–O99) → obstetrics_gynecology at any age.
    2. Otherwise a patient younger than 15 → pediatrics (Chinese paediatric wards admit by age).
    3. Otherwise the first matching range of :data:`_RULES` (Z51.0/Z51.1 radio-/chemotherapy
       sessions → oncology); anything else → other. ``tcm`` and ``comprehensive`` cannot be
       told from ICD-10: ingest takes TCM from the file, a GB/T 15657 code or the hospital's
       kind before it falls back to this (``resolve_specialty``).
    """
    dx = diagnosis.astype("string").str.upper().fillna("")
    valid = dx.str.match(r"^[A-Z][0-9]{2}")
    letters = dx.str.slice(0, 1).where(valid, "A").to_numpy(dtype=object).astype("S1")
    digits = dx.str.slice(1, 3).where(valid, "00")
    num = letters.view(np.uint8).astype(np.int64) * 100 + pd.to_numeric(
        digits, errors="coerce"
    ).fillna(0).to_numpy(dtype=np.int64)
    out = np.full(len(dx), Specialty.other.value, dtype=object)
    decided = np.zeros(len(dx), dtype=bool)
    for lo, hi, spec in _RULES:
        hit = ~decided & (num >= _category_number(lo)) & (num <= _category_number(hi))
        out[hit] = spec.value
        decided |= hit
    chemo = dx.str.match(r"^Z51\.?[01]").to_numpy(dtype=bool)
    out[~decided & chemo] = Specialty.oncology.value
    young = pd.to_numeric(age, errors="coerce").fillna(999).to_numpy() < PEDIATRIC_AGE_LIMIT
    obstetric = out == Specialty.obstetrics_gynecology.value
    pregnancy = (num >= _category_number("O00")) & (num <= _category_number("O99"))
    out[young & ~(obstetric & pregnancy)] = Specialty.pediatrics.value
    out[~valid.to_numpy(dtype=bool)] = Specialty.other.value
    return pd.Series(out, index=diagnosis.index, dtype=object)


def specialty_sql(diagnosis: str, age: str) -> str:
    """:func:`derive_specialty` as one SQL CASE (DuckDB) over an upper-cased diagnosis and a
    numeric age, for ingest's checks query; the same rules in the same order."""
    number = f"(ascii({diagnosis}[1]) * 100 + TRY_CAST({diagnosis}[2:3] AS INTEGER))"
    ranges = " ".join(
        f"WHEN {number} BETWEEN {_category_number(lo)} AND {_category_number(hi)} "
        f"THEN '{spec.value}'" for lo, hi, spec in _RULES)
    pregnancy = f"{number} BETWEEN {_category_number('O00')} AND {_category_number('O99')}"
    return (f"(CASE WHEN NOT regexp_matches({diagnosis}, '^[A-Z][0-9]{{2}}') "
            f"THEN '{Specialty.other.value}' "
            f"WHEN {pregnancy} THEN '{Specialty.obstetrics_gynecology.value}' "
            f"WHEN coalesce({age}, 999) < {PEDIATRIC_AGE_LIMIT} THEN '{Specialty.pediatrics.value}' "
            f"{ranges} WHEN regexp_matches({diagnosis}, '^Z51\\.?[01]') "
            f"THEN '{Specialty.oncology.value}' ELSE '{Specialty.other.value}' END)")


def specialty_of(diagnosis: str, age: int) -> str:
    """Scalar convenience wrapper around :func:`derive_specialty` (tests, docs)."""
    return str(derive_specialty(pd.Series([diagnosis]), pd.Series([age])).iloc[0])


def resolve_specialty(stated: pd.Series, tcm_code: pd.Series, tcm_hospital: pd.Series,
                      diagnosis: pd.Series, age: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(specialty, rule) per row, first rule that applies wins:

    1. the specialty stated in the file;
    2. ``tcm`` when the record carries a GB/T 15657 TCM disease or syndrome code;
    3. ``tcm`` when the treating hospital is a TCM hospital (``TCM_HOSPITAL_PATTERN``);
    4. the ICD-10 rules of :func:`derive_specialty`.
    """
    derived = derive_specialty(diagnosis, age)
    stated = stated.astype("string").fillna("").str.strip()
    has_code = tcm_code.astype("string").fillna("").str.strip() != ""
    at_tcm = tcm_hospital.astype(bool)
    rule = np.select(
        [(stated != "").to_numpy(dtype=bool), has_code.to_numpy(dtype=bool), at_tcm.to_numpy()],
        [SpecialtyRule.stated, SpecialtyRule.tcm_code, SpecialtyRule.tcm_hospital],
        SpecialtyRule.icd10).astype(object)
    specialty = np.where(rule == SpecialtyRule.stated, stated.to_numpy(dtype=object),
                         np.where(rule == SpecialtyRule.icd10, derived.to_numpy(dtype=object),
                                  Specialty.tcm.value))
    return (pd.Series(specialty, index=diagnosis.index, dtype=object),
            pd.Series(rule, index=diagnosis.index, dtype=object))

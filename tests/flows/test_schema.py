"""The ICD-10 → specialty mapping and the ICD-10 shape check."""

from __future__ import annotations

import pandas as pd
import pytest

from nrmc.flows.schema import ICD10_PATTERN, derive_specialty, specialty_of


@pytest.mark.parametrize(
    ("diagnosis", "age", "expected"),
    [
        ("I21.0", 60, "cardiovascular"),
        ("I63.9", 70, "neurology"),  # cerebrovascular disease goes to neurology, not cardiology
        ("G40.9", 30, "neurology"),
        ("J18.9", 40, "respiratory"),
        ("J18.9", 5, "pediatrics"),  # under 15: paediatrics whatever the organ
        ("O80", 14, "obstetrics_gynecology"),  # childbirth stays obstetric at any age
        ("N80.9", 35, "obstetrics_gynecology"),
        ("C34.900x001", 62, "oncology"),  # Chinese national extension code
        ("D45", 70, "oncology"),
        ("Z51.1", 55, "oncology"),  # chemotherapy session
        ("S72.0", 80, "trauma_orthopedics"),
        ("M17.9", 66, "trauma_orthopedics"),
        ("K35.8", 20, "general_surgery"),
        ("K29.7", 50, "internal_medicine"),
        ("E11.9", 50, "internal_medicine"),
        ("A15.0", 30, "infectious"),
        ("U07.1", 30, "infectious"),
        ("F20.9", 30, "psychiatry"),
        ("K02.9", 30, "stomatology"),
        ("H25.9", 70, "other"),
        ("i10", 50, "cardiovascular"),  # lower case accepted
    ],
)
def test_specialty_from_diagnosis_and_age(diagnosis, age, expected):
    assert specialty_of(diagnosis, age) == expected


def test_derive_specialty_is_vectorised_and_keeps_index():
    dx = pd.Series(["I10", "J18.9", "bad"], index=[10, 11, 12])
    out = derive_specialty(dx, pd.Series([70, 3, 40], index=[10, 11, 12]))
    assert out.to_dict() == {10: "cardiovascular", 11: "pediatrics", 12: "other"}


@pytest.mark.parametrize("code", ["I21.0", "I210", "C34.900x001", "O80", "U07.1", "Z51.1"])
def test_icd10_shape_accepts(code):
    assert ICD10_PATTERN.match(code)


@pytest.mark.parametrize("code", ["", "I2", "121.0", "II21", "I21.", "I21.0.1", "I21 0"])
def test_icd10_shape_refuses(code):
    assert not ICD10_PATTERN.match(code)

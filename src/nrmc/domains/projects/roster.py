"""Load the programme roster shipped from shared/data (77 of the 125 projects, never invented).

Project hospitals are placed in their real cities (nrmc_project_city_adcodes.csv); where the
roster gives no city, at the provincial capital, and the hospital's `source` says so. Output
hospitals are placed by their public address (output_hospitals.csv). Hospital codes are stable:
NRMC-P### for the roster row, NRMC-O### for the output-hospital row.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import Specialty, Tier
from ...data import read_csv
from ..hospitals import service as hospitals
from ..regions.models import Region
from .models import Project
from .schemas import BATCH_OPENING_YEAR, cohort_year

_KEYWORDS = [
    ("tcm", Specialty.tcm), ("women & children", Specialty.obstetrics_gynecology),
    ("pediatric", Specialty.pediatrics), ("oncology", Specialty.oncology),
    ("neuro", Specialty.neurology), ("encephalopathy", Specialty.neurology),
    ("cardio", Specialty.cardiovascular), ("respiratory", Specialty.respiratory),
    ("trauma", Specialty.trauma_orthopedics), ("orthop", Specialty.trauma_orthopedics),
    ("infectious", Specialty.infectious), ("psychiatr", Specialty.psychiatry),
    ("stomatology", Specialty.stomatology),
]


def parse_specialty(text: str) -> tuple[Specialty, list[str]]:
    """Main specialty and the full list named in a roster cell such as 'TCM (oncology)'."""
    lower = text.lower().strip()
    found: list[Specialty] = []
    for keyword, specialty in _KEYWORDS:
        if keyword in lower and specialty not in found:
            found.append(specialty)
    if lower.startswith("comprehensive") or not lower:
        main = Specialty.comprehensive
    else:
        main = found[0] if found else Specialty.other
    specialties = [main.value] + [s.value for s in found if s != main]
    return main, specialties


def _seat(session: Session, city: Region) -> Region:
    """The unit a city's hospital is filed under: the city itself if it is a leaf, else its
    lowest-coded district (the roster names cities, not districts)."""
    if city.leaf:
        return city
    child = session.scalars(
        select(Region).where(Region.parent_code == city.code).order_by(Region.code).limit(1)
    ).first()
    return child or city


def _capital(session: Session, province_code: str) -> Region:
    prefecture = session.get(Region, province_code[:2] + "0100")
    if prefecture is None:  # municipalities: first district
        prefecture = session.scalars(select(Region).where(
            Region.parent_code == province_code).order_by(Region.code).limit(1)).one()
    return prefecture


def seed(*, session: Session) -> int:
    """Load the roster (idempotent: existing projects are left as the user may have edited them)."""
    if session.scalar(select(Project.id).limit(1)) is not None:
        return 0
    output_rows = read_csv("output_hospitals.csv")
    outputs: dict[str, str] = {}
    hospital_rows: list[dict[str, Any]] = []
    for i, row in enumerate(output_rows, start=1):
        region = session.get(Region, row["region_code"])
        assert region is not None, row
        code = f"NRMC-O{i:03d}"
        outputs[row["name_zh"]] = code
        hospital_rows.append({
            "code": code, "name_zh": row["name_zh"], "name_en": row["name_en"],
            "region_code": region.code, "tier": Tier.tertiary.value, "grade": "a", "beds": None,
            "lon": region.lon, "lat": region.lat, "synthetic": False,
            "specialties": [], "source": f"programme output hospital; {row['source']}",
        })
    roster = read_csv("nrmc_projects.csv")
    cities = read_csv("nrmc_project_city_adcodes.csv")
    projects: list[Project] = []
    for i, (row, city_row) in enumerate(zip(roster, cities, strict=True), start=1):
        province_code = city_row["province_adcode2"] + "0000"
        city = session.get(Region, city_row["city_adcode6"]) if city_row["city_adcode6"] else None
        note = "placed in its roster city"
        if city is None:
            city = _capital(session, province_code)
            note = "roster gives no city; placed at the provincial capital"
        seat = _seat(session, city)
        main, specialties = parse_specialty(row["specialty"])
        code = f"NRMC-P{i:03d}"
        hospital_rows.append({
            "code": code, "name_zh": row["project_hospital_zh"],
            "name_en": row["project_hospital_en"], "region_code": seat.code,
            "tier": Tier.tertiary.value, "grade": "a", "beds": None,
            "lon": city.lon, "lat": city.lat, "synthetic": False, "specialties": specialties,
            "source": f"programme roster row {i}; {note}",
        })
        batch = int(row["batch"]) if row["batch"].strip() else None
        # the shipped roster has no opening dates yet; a column `opened_on` would be used
        opened_text = (row.get("opened_on") or "").strip()
        opened_on = date.fromisoformat(opened_text) if opened_text else None
        projects.append(Project(
            batch=batch, output_hospital_code=outputs[row["output_hospital_zh"]],
            project_hospital_code=code, province_code=province_code,
            city_code=city.code if city_row["city_adcode6"] else None,
            specialty=main.value, specialties=specialties,
            specialty_note=row["specialty"], planned_beds=None, status="approved",
            opening_year=(cohort_year(opened_on) if opened_on
                          else BATCH_OPENING_YEAR.get(batch) if batch else None),
            opened_on=opened_on,
            opening_source="roster" if opened_on else "batch" if batch else "",
            verification=(row["verification"].strip()[:1] or "U"),
            source=row["source"], notes=_notes(row),
        ))
    hospitals.upsert(session=session, rows=hospital_rows)
    session.add_all(projects)
    session.flush()
    return len(projects)


def _notes(row: dict[str, str]) -> str:
    parts = [row["verification"].strip(), row["notes"].strip()]
    return re.sub(r"\s+", " ", " | ".join(p for p in parts if p))

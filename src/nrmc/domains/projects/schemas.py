from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from ..hospitals.schemas import HospitalRef

IMPORT_COLUMNS = ("batch", "output_hospital_code", "project_hospital_code", "specialty", "status",
                  "planned_beds", "opening_year", "verification", "source", "notes", "opened_on")
REQUIRED_COLUMNS = ("output_hospital_code", "project_hospital_code", "specialty")

# Approval month of each batch (shared/data/README.md) and the year we take a centre to open:
# the first batch was "all put into use by mid-2021"; later ones take about a year to open.
BATCH_APPROVED = {1: "2019-11", 2: "2021", 3: "2022-05", 4: "2022-10", 5: "2023-07"}
BATCH_OPENING_YEAR = {1: 2020, 2: 2022, 3: 2023, 4: 2023, 5: 2024}
OPENING_SOURCES = ("roster", "import", "page", "batch")  # "batch": the batch's year, estimated


def cohort_year(opened_on: date) -> int:
    """The first year a centre counts as open in yearly data: its opening year if it opened in
    the first half, else the next (a centre opened in October barely touches that year)."""
    return opened_on.year if opened_on.month <= 6 else opened_on.year + 1


class ProjectOut(BaseModel):
    """A project as listed (the JSON shape of `nrmc projects list`)."""

    id: int
    batch: int | None
    output_hospital: HospitalRef
    project_hospital: HospitalRef
    province_code: str
    city_code: str | None
    specialties: list[str]
    status: str
    verification: str


class ProjectDetail(ProjectOut):
    specialty: str
    specialty_note: str
    planned_beds: int | None
    opening_year: int | None
    opened_on: date | None = None
    opening_source: str = ""  # roster | import | page | batch (the batch's year: an estimate)
    source: str
    notes: str

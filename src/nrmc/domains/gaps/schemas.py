"""Gap inputs (one form row, one API body, one spreadsheet row alike) and outputs."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from ...core.enums import GapLevel, Specialty
from ...core.inputs import RecordDate, Text

COLUMNS = ["region_code", "level", "name", "specialty", "identified_on", "source"]
REQUIRED = ["region_code", "level", "name", "identified_on", "source"]


class GapIn(BaseModel):
    """A technology or service not available at `level` in the place `region_code` (a
    province, prefecture or county code), with the document that says so."""

    region_code: str = Field(pattern=r"^\d{6}$")
    level: GapLevel
    name: Text = Field(min_length=1)
    specialty: Specialty = Specialty.other
    identified_on: RecordDate
    source: Text = Field(min_length=1)


class GapOut(BaseModel):
    id: int
    province_code: str
    region_code: str
    level: str
    name: str
    specialty: str
    identified_on: date
    source: str
    synthetic: bool
    filled_by: int  # technologies linked to it


class LinkIn(BaseModel):
    technology_id: int = Field(ge=1, le=2**31 - 1)
    gap_id: int = Field(ge=1, le=2**31 - 1)


class FillSummary(BaseModel):
    """"N technologies filling M gaps" for a province or a project."""

    code: str
    name: str
    technologies: int
    gaps_filled: int
    gaps_open: int | None = None

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ...core.enums import Grade, Tier

IMPORT_COLUMNS = ("code", "name_zh", "name_en", "region_code", "tier", "grade", "beds", "lon", "lat")
REQUIRED_COLUMNS = ("code", "name_zh", "region_code", "tier", "grade")


class HospitalOut(BaseModel):
    """A hospital as listed: the import columns plus the synthetic flag."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str
    region_code: str
    tier: Tier
    grade: Grade
    beds: int | None
    lon: float
    lat: float
    synthetic: bool


class HospitalDetail(HospitalOut):
    specialties: list[str]
    source: str


class HospitalRef(BaseModel):
    """How other objects (projects, referrals) name a hospital."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from ..hospitals.schemas import HospitalRef


class MemberOut(BaseModel):
    hospital: HospitalRef
    tier: str
    role: str
    valid_from: date
    valid_to: date | None


class AllianceOut(BaseModel):
    id: int
    name_zh: str
    name_en: str
    kind: str
    kind_zh: str
    lead_hospital: HospitalRef
    region_code: str
    project_id: int | None
    synthetic: bool
    members: list[MemberOut]

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, field_validator

from ...core.enums import Specialty, Urgency
from ...core.inputs import LongText, RecordInstant, ShortText
from ..hospitals.schemas import HospitalRef

# ICD-10 category with an optional subdivision; the Chinese national edition (GB/T 14396)
# extends subdivisions to up to four characters, e.g. I21.001.
ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")


def normalize_icd10(code: str) -> str:
    """Upper-case and check an ICD-10 code; raises ValueError naming the bad code."""
    value = code.strip().upper()
    if not ICD10.match(value):
        raise ValueError(f"{code!r} is not an ICD-10 code (expected e.g. I21 or I21.001)")
    return value


class ReferralCreate(BaseModel):
    """What a sending hospital fills in; direction is derived, never given."""

    from_hospital: str
    to_hospital: str
    specialty: Specialty
    diagnosis: str
    urgency: Urgency = Urgency.routine
    patient_pseudonym: ShortText = ""
    reason: LongText = ""

    @field_validator("diagnosis")
    @classmethod
    def _icd10(cls, value: str) -> str:
        return normalize_icd10(value)


class ReferralOut(BaseModel):
    """A referral as shown (the JSON shape of `nrmc referrals show/create --format json`)."""

    id: int
    status: str
    version: int
    direction: str
    from_hospital: HospitalRef
    to_hospital: HospitalRef
    patient_pseudonym: str
    specialty: str
    diagnosis: str
    urgency: str
    reason: str
    requested_at: datetime
    responded_at: datetime | None
    scheduled_for: datetime | None
    updated_at: datetime
    overdue: bool
    idempotency_key: str | None


class TransitionIn(BaseModel):
    """A move requested by a user: the version they saw, and why."""

    version: int
    reason: LongText = ""
    # An appointment: inside the recordable window; a time without offset is Beijing time.
    scheduled_for: RecordInstant | None = None

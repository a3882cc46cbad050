from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ValidationInfo, field_validator

from ...core.enums import Sex, Specialty, Urgency
from ...core.inputs import MESSAGES, LongText, RecordInstant, ShortText, input_error
from ..hospitals.schemas import HospitalRef

# The referral rules' messages, in the one catalogue (core/inputs.py) so pages and API agree.
MESSAGES.update({
    "record_no_format": ("病案号只能包含字母、数字和 - _ . /，最多 {max_length} 个字符",
                         "record number may hold letters, digits and - _ . / only, at most "
                         "{max_length} characters"),
    "record_no_and_pseudonym": ("病案号与患者假名只能填一个",
                                "give the record number or the pseudonym, not both"),
    "hospital_unknown": ("找不到医院“{text}”，请输入代码、名称或拼音首字母",
                         "no hospital matches '{text}'; type its code, name or pinyin initials"),
    "hospital_ambiguous": ("“{text}”对应多家医院（{names}），请选择一家或输入代码",
                           "'{text}' matches several hospitals ({names}); pick one or type its code"),
    "hospital_same": ("转出与转入医院不能相同", "the two hospitals must differ"),
    "scheduled_before_accepted": ("预约时间不能早于接收时间 {accepted}",
                                  "the appointment must not be before the acceptance ({accepted})"),
    "scheduled_missing": ("请填写预约时间", "give the appointment time"),
})
RECORD_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")


class AgeBand(StrEnum):
    """Age bands on a referral: the paediatric cut-off (under 15) and the usual adult bands."""

    child = "0-14"
    young = "15-44"
    middle = "45-64"
    older = "65-79"
    oldest = "80+"


AGE_BAND_ZH = {"0-14": "0–14 岁", "15-44": "15–44 岁", "45-64": "45–64 岁", "65-79": "65–79 岁",
               "80+": "80 岁及以上"}
SEX_ZH = {"1": "男 male", "2": "女 female", "9": "未说明 unknown"}


def _record_no(value: str) -> str:
    if value and not RECORD_NO.match(value):
        raise input_error("record_no_format", max_length=40)
    return value


RecordNo = Annotated[ShortText, AfterValidator(_record_no)]

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
    # The sending hospital's record number (病案号/住院号): pseudonymised on entry, never stored.
    patient_record_no: RecordNo = ""
    patient_pseudonym: ShortText = ""
    patient_sex: Sex = Sex.unknown
    age_band: AgeBand | None = None
    reason: LongText = ""

    @field_validator("diagnosis")
    @classmethod
    def _icd10(cls, value: str) -> str:
        return normalize_icd10(value)

    @field_validator("age_band", mode="before")
    @classmethod
    def _blank_band(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("patient_pseudonym")
    @classmethod
    def _one_patient_id(cls, value: str, info: ValidationInfo) -> str:
        if value and info.data.get("patient_record_no"):
            raise input_error("record_no_and_pseudonym")
        return value

    def __repr__(self) -> str:
        """Never show the record number (logs, tracebacks)."""
        shown = self.model_dump(exclude={"patient_record_no"})
        return f"ReferralCreate({shown!r})"

    __str__ = __repr__


class ReferralOut(BaseModel):
    """A referral as shown (the JSON shape of `nrmc referrals show/create --format json`)."""

    id: int
    status: str
    version: int
    direction: str
    from_hospital: HospitalRef
    to_hospital: HospitalRef
    patient_pseudonym: str
    patient_sex: str
    age_band: str
    specialty: str
    diagnosis: str
    urgency: str
    reason: str
    reply_note: str
    requested_at: datetime
    responded_at: datetime | None
    scheduled_for: datetime | None
    updated_at: datetime
    due_at: datetime
    overdue: bool
    idempotency_key: str | None
    returned_from_id: int | None
    returned_as_id: int | None


class TransitionIn(BaseModel):
    """A move requested by a user: the version they saw, and why."""

    version: int
    reason: LongText = ""
    # An appointment: inside the recordable window; a time without offset is Beijing time.
    scheduled_for: RecordInstant | None = None

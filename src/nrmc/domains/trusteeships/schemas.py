"""Trusteeship inputs and outputs, and the hospital grade ladder an upgrade goal climbs."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, field_validator

from ...core.inputs import (
    MESSAGES,
    Count,
    LongText,
    RecordDate,
    ShortText,
    YesNo,
    bounded_count,
    input_error,
)

# Rules checked against the store (hospitals, scope, projects, duplicates), in both languages.
MESSAGES.update({
    "hospital_not_found": ("没有代码为“{text}”的医院", "no hospital has the code '{text}'"),
    "goal_not_after_start": ("目标期限须晚于起始日期", "the goal deadline must be after the start date"),
    "trusteeship_out_of_scope": ("托管医院与被托管医院至少一家须在您的管辖范围内",
                                 "the managing or the managed hospital must be within your scope"),
    "trusteeship_recorded": ("该托管已登记（编号 {id}）",
                             "this trusteeship is already recorded (#{id})"),
    "trusteeship_repeated": ("与本文件第 {row} 行重复", "repeats row {row} of this file"),
    "project_unknown": ("没有编号为 {id} 的项目（或不在您的范围内）",
                        "no project #{id} within your scope"),
})


class Grade(StrEnum):
    """The ladder of hospital grades (等级) a trusteeship's upgrade goal climbs, lowest first;
    "two grades in five years" means two steps up this ladder."""

    ungraded = "ungraded"
    primary = "primary"
    secondary_b = "secondary_b"
    secondary_a = "secondary_a"
    tertiary_b = "tertiary_b"
    tertiary_a = "tertiary_a"

    @property
    def rank(self) -> int:
        return list(Grade).index(self)

    @property
    def label_zh(self) -> str:
        return {"ungraded": "未定级", "primary": "一级", "secondary_b": "二级乙等",
                "secondary_a": "二级甲等", "tertiary_b": "三级乙等", "tertiary_a": "三级甲等"}[self.value]


LADDER = [f"{g.label_zh}" for g in Grade]
_BY_LABEL = {g.label_zh: g.value for g in Grade}


def _grade(value: Any) -> Any:
    """A grade as staff write it in a sheet: 二级乙等 as well as secondary_b."""
    if isinstance(value, str):
        text = value.strip()
        return _BY_LABEL.get(text, text)
    return value


GradeIn = Annotated[Grade, BeforeValidator(_grade)]


class TrusteeshipIn(BaseModel):
    """One arrangement as typed. The cross-field rules are field validators, so a refusal
    names the field it is about (shown beside it on the form, named in an upload's problems)."""

    managing_hospital_code: ShortText
    managed_hospital_code: ShortText
    project_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    start_date: RecordDate
    term_years: bounded_count(30)  # type: ignore[valid-type]
    separated: YesNo = True
    start_grade: GradeIn
    target_grade: GradeIn
    goal_deadline: date
    posts_planned: Count = 0
    departments_planned: Count = 0
    note: LongText = ""

    @field_validator("managed_hospital_code")
    @classmethod
    def _not_itself(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("managing_hospital_code"):
            raise ValueError("a hospital cannot manage itself")
        return value

    @field_validator("term_years")
    @classmethod
    def _a_year_at_least(cls, value: int) -> int:
        if value < 1:
            raise ValueError("the term is at least one year")
        return value

    @field_validator("target_grade")
    @classmethod
    def _climbs(cls, value: Grade, info: ValidationInfo) -> Grade:
        start = info.data.get("start_grade")
        if start is not None and value.rank <= start.rank:
            raise ValueError("the target grade must be above the start grade")
        return value

    @field_validator("goal_deadline")
    @classmethod
    def _after_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start_date")
        if start is not None and value <= start:
            raise input_error("goal_not_after_start")
        return value


class ReportIn(BaseModel):
    """The managed hospital's position on a date (posts, departments and technologies are
    running totals; outpatients and surgeries are the month's)."""

    reported_on: RecordDate
    grade: Grade
    posts_filled: Count = 0
    departments_opened: Count = 0
    technologies: Count = 0
    outpatients: Count = 0
    surgeries: Count = 0


class ReportOut(BaseModel):
    reported_on: date
    grade: str
    posts_filled: int
    departments_opened: int
    technologies: int
    outpatients: int
    surgeries: int


class Progress(BaseModel):
    """Where a trusteeship stands on `as_of` against a straight path from its start grade to
    the target grade by the deadline; `behind` lists each way it is behind (bilingual)."""

    as_of: date
    elapsed: float  # share of the way from start to the goal deadline
    grade: str
    expected_rank: float
    posts_filled: int
    posts_expected: int
    departments_opened: int
    departments_expected: int
    last_report: date | None
    behind: list[str]


class TrusteeshipOut(BaseModel):
    id: int
    managing_hospital_code: str
    managing_hospital: str
    managed_hospital_code: str
    managed_hospital: str
    province_code: str
    project_id: int | None
    start_date: date
    term_years: int
    end_date: date
    separated: bool
    start_grade: str
    target_grade: str
    goal_deadline: date
    posts_planned: int
    departments_planned: int
    note: str
    synthetic: bool
    progress: Progress


class TrusteeshipDetail(TrusteeshipOut):
    reports: list[ReportOut]

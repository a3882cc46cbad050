"""Trusteeship inputs and outputs, and the hospital grade ladder an upgrade goal climbs."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, model_validator

from ...core.inputs import Count, LongText, RecordDate, ShortText, bounded_count


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


class TrusteeshipIn(BaseModel):
    managing_hospital_code: ShortText
    managed_hospital_code: ShortText
    project_id: int | None = None
    start_date: RecordDate
    term_years: bounded_count(30)  # type: ignore[valid-type]
    separated: bool = True
    start_grade: Grade
    target_grade: Grade
    goal_deadline: date
    posts_planned: Count = 0
    departments_planned: Count = 0
    note: LongText = ""

    @model_validator(mode="after")
    def _goal(self) -> TrusteeshipIn:
        if self.managing_hospital_code == self.managed_hospital_code:
            raise ValueError("a hospital cannot manage itself")
        if self.target_grade.rank <= self.start_grade.rank:
            raise ValueError("the target grade must be above the start grade")
        if self.goal_deadline <= self.start_date:
            raise ValueError("end_date is before start_date")
        if self.term_years < 1:
            raise ValueError("the term is at least one year")
        return self


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

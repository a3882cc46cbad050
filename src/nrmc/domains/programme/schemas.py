"""The programme dashboard's indicator catalogue, its JSON shapes and the target inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from ...core.inputs import LongText, RecordDate, bounded_number, ordered


class Direction(StrEnum):
    at_least = "at_least"
    at_most = "at_most"


@dataclass(frozen=True)
class Definition:
    key: str
    label_zh: str
    label_en: str
    unit: str
    source: str  # which rows the value is computed from


INDICATORS: list[Definition] = [
    Definition("projects_approved", "已批复项目", "projects approved", "projects",
               "projects; milestones (approval reached by the date), else the registry status"),
    Definition("projects_under_construction", "在建项目", "projects under construction",
               "projects", "milestones: construction started, not yet opened"),
    Definition("projects_opened", "已开诊项目", "projects opened", "projects",
               "milestones: opened (first patient) by the date"),
    Definition("provinces_covered", "覆盖省份", "provinces covered", "provinces",
               "distinct provinces of approved projects"),
    Definition("planned_beds", "规划床位", "planned beds", "beds",
               "projects.planned_beds of approved projects"),
    Definition("co_directors", "双主任在岗", "co-director posts held", "posts",
               "dispatches with role dual_director covering the date"),
    Definition("staff_trained", "培训本地人员", "local staff trained", "people",
               "trainees trained by the date (cumulative)"),
    Definition("outpatients", "门诊人次", "outpatients", "visits",
               "activities of kind outpatient in the period (sum of count)"),
    Definition("surgeries", "手术台次", "surgeries", "operations",
               "activities of kind surgery in the period (sum of count)"),
    Definition("grade4_share", "四级手术占比", "grade-4 surgery share", "share",
               "activities of kind surgery: grade 4 / all grades, in the period"),
    Definition("rare_disease_cases", "罕见病病例", "rare-disease cases", "cases",
               "activities of kind rare_disease in the period (sum of count)"),
    Definition("new_technologies", "新技术", "new technologies", "technologies",
               "technologies with a first case by the date (cumulative)"),
    Definition("gaps_filled", "填补空白", "gaps filled", "gaps",
               "distinct gaps linked (technology_gaps) to a technology with a first case by the date"),
    Definition("outflow_change", "患者外流变化", "outflow change vs baseline", "change",
               "flows: province outflow rate (all specialties), compare year against the baseline "
               "year, averaged over covered provinces; suppressed cells left out"),
]
BY_KEY = {d.key: d for d in INDICATORS}


class IndicatorRow(BaseModel):
    key: str
    label_zh: str
    label_en: str
    value: int | float | None
    unit: str
    target: int | float | None
    target_direction: str | None = None
    target_source: str = ""
    met: bool | None = None
    projects_reporting: int
    projects_expected: int
    as_of: date | None
    previous: int | float | None = None
    change: float | None = None
    breakdown: dict[str, float] = {}
    source: str = ""
    trend: list[tuple[str, float]] = []


class NotReported(BaseModel):
    project_id: int
    name: str
    province_code: str
    batch: int | None
    last_reported: date | None


class BatchTimeline(BaseModel):
    batch: int | None
    approved: int
    under_construction: int
    opened: int
    planned_beds: int


class ProvinceCovered(BaseModel):
    code: str
    name: str
    projects: int


class Dashboard(BaseModel):
    """What `/api/v1/metrics/programme` answers (the older project counts are kept:
    `projects`, `by_batch`, `by_province`)."""

    as_of: date
    period_start: date
    period_end: date
    baseline_year: int
    province: str | None
    batch: int | None
    national: bool = True  # whole programme in view: rows are judged against the targets
    synthetic: bool = False  # rows in view include the demo's synthetic rows
    newest_data: date | None
    indicators: list[IndicatorRow]
    batches: list[BatchTimeline]
    provinces: list[ProvinceCovered]
    not_reported: list[NotReported]
    not_reported_month: str
    projects: int = 0
    by_batch: list[Any] = []
    by_province: list[Any] = []


class DashboardQuery(BaseModel):
    """The dashboard's filters as typed into the page's form (blank means default)."""

    as_of: RecordDate | None = None
    province: str | None = Field(default=None, pattern=r"^\d{2}(\d{4})?$")
    batch: int | None = Field(default=None, ge=1, le=5)
    period_start: RecordDate | None = None
    period_end: RecordDate | None = None
    baseline_year: int = Field(default=2019, ge=2015, le=2100)

    @model_validator(mode="after")
    def _period(self) -> DashboardQuery:
        ordered(self.period_start, self.period_end, end_field="period_end")
        return self


class TargetOut(BaseModel):
    key: str
    label_zh: str
    label_en: str
    unit: str
    target: float
    direction: str
    source: str
    verification: str
    note: str
    updated_by: str


class TargetIn(BaseModel):
    """A target a national admin sets for one indicator."""

    target: bounded_number(-1e9, 1e9)  # type: ignore[valid-type]
    direction: Direction = Direction.at_least
    source: LongText
    verification: str = "U"
    note: LongText = ""

    @model_validator(mode="after")
    def _verification(self) -> TargetIn:
        if self.verification not in {"V", "P", "U"}:
            raise ValueError("verification must be V, P or U")
        if not self.source.strip():
            raise ValueError("a target needs its source")
        return self

"""Milestone kinds, inputs and the timeline rows the pages and the API show."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator

from ...core.inputs import LongText, RecordDate, bounded_count


class MilestoneKind(StrEnum):
    """Construction milestones in the order a project passes them."""

    approval = "approval"
    site_visit = "site_visit"
    construction_start = "construction_start"
    building_completed = "building_completed"
    opened = "opened"
    acceptance = "acceptance"

    @property
    def label_zh(self) -> str:
        return {"approval": "批复", "site_visit": "现场考察", "construction_start": "开工",
                "building_completed": "主体完工", "opened": "开诊（首例患者）",
                "acceptance": "验收"}[self.value]

    @property
    def label(self) -> str:
        return f"{self.label_zh} {self.value.replace('_', ' ')}"


ORDER = list(MilestoneKind)

# The project status a milestone reached on time implies (ProjectStatus values).
STATUS_AFTER = {MilestoneKind.approval: "approved", MilestoneKind.site_visit: "approved",
                MilestoneKind.construction_start: "under_construction",
                MilestoneKind.building_completed: "under_construction",
                MilestoneKind.opened: "operating", MilestoneKind.acceptance: "operating"}


class MilestoneIn(BaseModel):
    """A milestone of one project: planned date, and the actual date once it happened."""

    kind: MilestoneKind
    seq: bounded_count(20) = 1  # type: ignore[valid-type]
    planned_on: RecordDate
    actual_on: RecordDate | None = None
    note: LongText = ""


class MilestoneUpdate(BaseModel):
    actual_on: RecordDate | None = None
    planned_on: RecordDate | None = None
    note: LongText | None = None

    @model_validator(mode="after")
    def _something(self) -> MilestoneUpdate:
        if self.actual_on is None and self.planned_on is None and self.note is None:
            raise ValueError("give actual_on, planned_on or note")
        return self


class MilestoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    kind: str
    label: str
    seq: int
    planned_on: date
    actual_on: date | None
    late: bool
    days_late: int | None
    note: str
    synthetic: bool


class ProjectTimeline(BaseModel):
    project_id: int
    province_code: str
    batch: int | None
    name: str
    status: str
    status_source: str
    late: int
    milestones: list[MilestoneOut]

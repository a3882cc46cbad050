"""Inputs and outputs of the collaboration slice (dispatch, ledger, visits, KPIs)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...core.enums import ActionStatus, ActivityKind, DispatchRole, GapLevel
from ...core.inputs import Count, Hours, RecordDate

COMPLEX_KINDS = frozenset({ActivityKind.consultation, ActivityKind.teleconsultation})


class DispatchIn(BaseModel):
    """One expert sent to a project. `team` names the group dispatched together (created on
    first use within the project); without it the expert counts as a one-person team."""

    project_id: int
    name: str = Field(min_length=1, max_length=100)
    department: str = ""
    title: str = ""
    home_hospital: str
    role: DispatchRole = DispatchRole.visiting_expert
    start_date: date
    end_date: date
    team: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DispatchIn:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class DispatchOut(BaseModel):
    id: int
    project_id: int
    expert_id: int
    name: str
    department: str
    title: str
    home_hospital: str
    role: str
    team_id: int | None
    team: str | None
    start_date: date
    end_date: date
    days: int


class ActivityIn(BaseModel):
    """One ledger line. Give a dispatch (the project follows) or a project-level entry.

    `count` is operations (surgery), patients seen (outpatient, ward round), cases
    (consultation, teleconsultation) or attendees (lecture, training)."""

    occurred_on: RecordDate
    kind: ActivityKind
    project_id: int | None = None
    dispatch_id: int | None = None
    count: Count = 1
    surgery_grade: int | None = Field(default=None, ge=1, le=4)
    complex_case: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> ActivityIn:
        if self.project_id is None and self.dispatch_id is None:
            raise ValueError("give a project_id or a dispatch_id")
        if self.kind == ActivityKind.surgery and self.surgery_grade is None:
            raise ValueError("a surgery needs a grade 1-4")
        if self.kind != ActivityKind.surgery and self.surgery_grade is not None:
            raise ValueError("only surgeries have a grade")
        if self.complex_case and self.kind not in COMPLEX_KINDS:
            raise ValueError("only consultations can be flagged as complex cases")
        return self


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    dispatch_id: int | None
    occurred_on: date
    kind: str
    count: int
    surgery_grade: int | None
    complex_case: bool
    note: str


class TechnologyIn(BaseModel):
    project_id: int
    name: str = Field(min_length=1, max_length=200)
    department: str = ""
    first_case_on: date
    cases_since: Count = 0
    gap_level: GapLevel


class TechnologyOut(TechnologyIn):
    model_config = ConfigDict(from_attributes=True)

    id: int


class TraineeIn(BaseModel):
    project_id: int
    name: str = Field(min_length=1, max_length=100)
    programme: str = Field(min_length=1, max_length=200)
    hours: Hours = 0.0
    trained_on: date


class TraineeOut(TraineeIn):
    model_config = ConfigDict(from_attributes=True)

    id: int


class ActionIn(BaseModel):
    description: str = Field(min_length=1)
    due_on: date


class ActionOut(ActionIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: ActionStatus
    closed_on: date | None
    overdue: bool = False


class SiteVisitIn(BaseModel):
    project_id: int
    visited_on: RecordDate
    lead: str = Field(min_length=1, max_length=100)
    members: list[str] = []
    findings: str = ""
    score: float | None = Field(default=None, ge=0, le=100)
    actions: list[ActionIn] = []


class SiteVisitOut(BaseModel):
    id: int
    project_id: int
    visited_on: date
    lead: str
    members: list[str]
    findings: str
    score: float | None
    actions: list[ActionOut]


class ProjectKpis(BaseModel):
    """A project's figures for a period, computed from the individual ledger rows.

    Period bounds are inclusive dates; None means all time. Dispatches count when they overlap
    the period (expert-days only for the days inside it); activities, technologies (first
    case), trainees and referrals (request time) when dated inside it."""

    project_id: int
    period_start: date | None
    period_end: date | None
    expert_teams: int
    experts: int
    dispatches: int
    expert_days: int
    surgeries: int
    surgeries_by_grade: dict[str, int]
    surgeries_grade34_share: float | None
    outpatients: int
    consultations: int
    complex_cases: int
    teleconsultations: int
    ward_rounds: int
    lectures: int
    training_sessions: int
    training_attendees: int
    technologies: int
    technologies_by_gap: dict[str, int]
    trainees: int
    trainee_hours: float
    referrals_up: int
    referrals_down: int
    referrals_lateral: int
    down_up_ratio: float | None
    median_hours_to_accept: float | None
    referrals_overdue: int

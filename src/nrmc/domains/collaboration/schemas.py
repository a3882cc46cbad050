"""Inputs and outputs of the collaboration slice (dispatch, ledger, visits, KPIs)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ...core.enums import ActionStatus, ActivityKind, DispatchRole, GapLevel
from ...core.inputs import (
    MAX_LIST_ITEMS,
    Count,
    Hours,
    LongText,
    PlannedDate,
    RecordDate,
    RequiredShortText,
    RequiredText,
    ShortText,
    Text,
    YesNo,
    check_number,
    ordered,
)

COMPLEX_KINDS = frozenset({ActivityKind.consultation, ActivityKind.teleconsultation})
# A site-visit score 0–100 (finite), or none.
Score = Annotated[float, AfterValidator(lambda v: check_number(v, minimum=0, maximum=100))]


class DispatchFields(BaseModel):
    """One expert sent to a project. `team` names the group dispatched together (created on
    first use within the project); without it the expert counts as a one-person team."""

    name: RequiredShortText
    department: ShortText = ""
    title: ShortText = ""
    home_hospital: RequiredShortText
    role: DispatchRole = DispatchRole.visiting_expert
    team: ShortText | None = None
    start_date: RecordDate
    end_date: PlannedDate

    @field_validator("team")
    @classmethod
    def _no_blank_team(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("end_date")
    @classmethod
    def _ordered(cls, value: date, info: ValidationInfo) -> date:
        ordered(info.data.get("start_date"), value)
        return value


class DispatchIn(DispatchFields):
    project_id: int


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


SurgeryGrade = Annotated[int | None, Field(ge=1, le=4)]


class ActivityFields(BaseModel):
    """One ledger line, for the project in the path or of the dispatch given.

    `count` is operations (surgery), patients seen (outpatient, ward round), cases
    (consultation, teleconsultation, rare disease), attendees (lecture, training) or sessions
    (teaching); at most MAX_COUNT_PER_ROW in one line."""

    occurred_on: RecordDate
    kind: ActivityKind
    dispatch_id: int | None = None
    department: ShortText = ""
    count: Count = 1
    surgery_grade: SurgeryGrade = Field(default=None, validate_default=True)
    complex_case: YesNo = Field(default=False, validate_default=True)
    note: Text = ""

    @field_validator("surgery_grade")
    @classmethod
    def _grade(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("kind")
        if kind == ActivityKind.surgery and value is None:
            raise ValueError("a surgery needs a grade 1-4")
        if kind is not None and kind != ActivityKind.surgery and value is not None:
            raise ValueError("only surgeries have a grade")
        return value

    @field_validator("complex_case")
    @classmethod
    def _complex(cls, value: bool, info: ValidationInfo) -> bool:
        kind = info.data.get("kind")
        if value and kind is not None and kind not in COMPLEX_KINDS:
            raise ValueError("only consultations can be flagged as complex cases")
        return value


class ActivityIn(ActivityFields):
    """A ledger line naming its project (CLI, imports): a dispatch, a project or both."""

    project_id: int | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> ActivityIn:
        if self.project_id is None and self.dispatch_id is None:
            raise ValueError("give a project_id or a dispatch_id")
        return self


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    dispatch_id: int | None
    occurred_on: date
    kind: str
    department: str
    count: int
    surgery_grade: int | None
    complex_case: bool
    note: str


class TechnologyFields(BaseModel):
    name: RequiredText
    department: ShortText = ""
    first_case_on: RecordDate
    cases_since: Count = 0
    gap_level: GapLevel


class TechnologyIn(TechnologyFields):
    project_id: int


class TechnologyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    name: str
    department: str
    first_case_on: date
    cases_since: int
    gap_level: GapLevel


class TraineeFields(BaseModel):
    """A local clinician trained under the project: `trained_on` is the start of the training."""

    name: RequiredShortText
    home_hospital: Text = ""
    county: ShortText = ""
    programme: RequiredText
    trained_on: RecordDate
    end_date: PlannedDate | None = None
    completed: YesNo = False
    hours: Hours = 0.0

    @field_validator("end_date")
    @classmethod
    def _ordered(cls, value: date | None, info: ValidationInfo) -> date | None:
        ordered(info.data.get("trained_on"), value)
        return value


class TraineeIn(TraineeFields):
    project_id: int


class TraineeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    name: str
    home_hospital: str
    county: str
    programme: str
    trained_on: date
    end_date: date | None
    completed: bool
    hours: float


class ActionIn(BaseModel):
    description: RequiredText
    owner: ShortText = ""
    due_on: PlannedDate
    done: YesNo = False


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    description: str
    owner: str = ""
    due_on: date
    status: ActionStatus
    closed_on: date | None
    overdue: bool = False


class SiteVisitFields(BaseModel):
    visited_on: RecordDate
    lead: RequiredShortText
    members: list[RequiredShortText] = Field(default=[], max_length=MAX_LIST_ITEMS)
    findings: LongText = ""
    score: Score | None = None
    actions: list[ActionIn] = Field(default=[], max_length=MAX_LIST_ITEMS)


class SiteVisitIn(SiteVisitFields):
    project_id: int


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
    teaching_sessions: int
    rare_disease_cases: int
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

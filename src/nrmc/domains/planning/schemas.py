from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...core.enums import Specialty
from ...core.inputs import ShortText, bounded_count, bounded_number

if TYPE_CHECKING:  # the validators are runtime Annotated types; mypy sees the plain type
    Minutes = float
    NewSites = int
else:
    Minutes = bounded_number(10.0, 1440.0)
    NewSites = bounded_count(20)


class ScenarioIn(BaseModel):
    """A siting scenario as a planner states it (page form, API body, CLI options)."""

    name: ShortText = Field(default="", description="名称 name shown when comparing")
    province: str = Field(pattern=r"^[0-9]{2}([0-9]{4})?$", description="province code")
    specialty: Specialty = Specialty.comprehensive
    p: NewSites = Field(default=3, ge=1, description="new sites to open (existing centres come "
                                                     "on top)")
    objective: Literal["coverage", "median"] = "coverage"
    radius_min: Minutes = Field(default=120.0, description="coverage radius, minutes")
    candidates: Literal["registry", "greenfield", "upload"] = "registry"
    include_existing: bool = Field(default=True, description="keep opened centres of this "
                                                             "specialty open")
    demand: Literal["auto", "population", "flows"] = "auto"
    year: int | None = Field(default=None, ge=2000, le=2100, description="discharge year of flows")


class ScenarioSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    owner: str
    province_code: str
    specialty: str
    created_at: datetime


class ScenarioOut(ScenarioSummary):
    inputs: dict[str, Any]
    results: dict[str, Any]


class CompareOut(BaseModel):
    scenarios: list[ScenarioSummary]
    rows: list[dict[str, Any]]
    summary_en: list[str]
    summary_zh: list[str]


class ScaleOut(BaseModel):
    project_id: int
    specialty: str
    planned_beds: int | None
    beds_needed: int
    difference: int | None
    verdict: str
    admissions_per_year: float
    mean_los_days: float
    occupancy_target: float
    occupancy_at_needed: float
    occupancy_at_planned: float | None
    capture_share: float
    catchment_counties: int
    catchment_population: float
    demand: dict[str, Any]
    note_en: str
    note_zh: str

"""Planning workspace: run a siting scenario on a province and size beds, as pages and API.

The glue here reads the registry (counties with population, tertiary hospitals as candidate
sites) and hands plain arrays to `nrmc.planning`, which never reads anything itself — the same
split the `nrmc plan` command uses. Travel times are the planning module's road model (great
circle × circuity at a mean speed). A run is saved as a scenario file and audited, except for
read-only roles, who may run models but not save them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, BeforeValidator, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.enums import Role, Specialty
from ..core.errors import NrmcError
from ..core.inputs import finite
from ..domains.audit import service as audit
from ..domains.hospitals.models import Hospital
from ..domains.regions import service as regions
from ..domains.regions.models import Region
from ..domains.users.scope import Scope
from ..planning import beds as bedsmod
from ..planning import scenarios
from ..planning.siting import MCLP, PMedian
from ..planning.travel import travel_minutes
from .deps import ApiScope, PageUser, SessionDep, SourceDep
from .render import render
from .tables import Limit, Offset, Page

api = APIRouter(prefix="/api/v1/planning", tags=["planning"])
pages = APIRouter(include_in_schema=False)


class Objective(StrEnum):
    coverage = "coverage"
    median = "median"


class SitingIn(BaseModel):
    province: str = Field(pattern=r"^[0-9]{2}([0-9]{4})?$", description="province code")
    specialty: Specialty = Specialty.comprehensive
    p: int = Field(ge=1, le=20, description="sites to open")
    radius_min: Annotated[float, BeforeValidator(finite)] = Field(
        default=120.0, gt=0, le=1440, description="coverage radius, minutes")
    objective: Objective = Objective.coverage


class Site(BaseModel):
    code: str
    name_zh: str
    lon: float
    lat: float
    counties_served: int
    population_served: float


class CountyCover(BaseModel):
    code: str
    name_zh: str
    lon: float
    lat: float
    population: int
    covered: bool
    minutes: float


class SitingOut(BaseModel):
    scenario: str | None
    province: str
    model: str
    covered_share: float | None
    mean_minutes: float
    total_population: float
    sites: list[Site]
    counties: list[CountyCover]


class BedsIn(BaseModel):
    admissions_per_year: Annotated[float, BeforeValidator(finite), Field(gt=0, le=10_000_000)]
    mean_los_days: Annotated[float, BeforeValidator(finite), Field(gt=0, le=365)]
    target: Annotated[float, BeforeValidator(finite), Field(gt=0, lt=1)] = 0.05
    kind: str = Field(default="block", pattern="^(block|wait)$")

    @model_validator(mode="after")
    def _sizable(self) -> BedsIn:
        try:
            bedsmod.offered_load(self.admissions_per_year, self.mean_los_days)
        except NrmcError as exc:
            raise ValueError(str(exc)) from exc
        return self


class BedsOut(BaseModel):
    beds: int
    load: float
    occupancy: float
    wait_probability: float
    block_probability: float
    within_85_rule: bool
    target: str
    target_value: float


class ScenarioOut(BaseModel):
    id: str
    created_at: str
    kind: str
    name: str
    objective: float | None
    covered_weight: float | None
    selected: str


def run_siting(session: Session, scope: Scope, data: SitingIn, *, settings: Any,
               source: str = "") -> SitingOut:
    province = regions.get_visible(session=session, scope=scope, code=data.province)
    counties = list(session.scalars(select(Region).where(
        Region.level == "county", Region.code.like(province.code[:2] + "%")).order_by(Region.code)))
    candidates = list(session.scalars(select(Hospital).where(
        Hospital.tier == "tertiary", Hospital.region_code.like(province.code[:2] + "%"))
        .order_by(Hospital.code)))
    if not counties or not candidates:
        raise NrmcError(f"{province.name_en} has no counties or no tertiary hospital to site at")
    if data.p > len(candidates):
        raise NrmcError(f"only {len(candidates)} candidate sites in {province.name_en}")
    cost = travel_minutes(np.array([[c.lon, c.lat] for c in counties]),
                          np.array([[h.lon, h.lat] for h in candidates]))
    weights = np.array([c.population for c in counties], dtype=float)
    if data.objective == Objective.median:
        result = PMedian.from_cost_matrix(cost, weights, data.p).solve()
    else:
        result = MCLP.from_cost_matrix(cost, weights, data.radius_min, data.p).solve()
    selected = [int(j) for j in result.selected]
    nearest = cost[:, selected].min(axis=1)
    sites = []
    for j in selected:
        served = result.assignment == j
        h = candidates[j]
        sites.append(Site(code=h.code, name_zh=h.name_zh, lon=h.lon, lat=h.lat,
                          counties_served=int(served.sum()),
                          population_served=float(weights[served].sum())))
    covered = nearest <= data.radius_min
    out_counties = [CountyCover(code=c.code, name_zh=c.name_zh, lon=c.lon, lat=c.lat,
                                population=c.population, covered=bool(covered[i]),
                                minutes=round(float(nearest[i]), 1))
                    for i, c in enumerate(counties)]
    share = float(weights[covered].sum() / weights.sum()) if weights.sum() else None
    out = SitingOut(scenario=None, province=province.code, model=result.model,
                    covered_share=share, mean_minutes=float((nearest * weights).sum()
                                                            / max(weights.sum(), 1.0)),
                    total_population=float(weights.sum()), sites=sites, counties=out_counties)
    if scope.role != Role.national_analyst:
        saved = scenarios.save_scenario(
            settings.scenarios_dir, kind="site", name=f"web:{province.code}:{data.specialty}",
            inputs=data.model_dump(mode="json") | {"candidates": "tertiary", "by": scope.actor},
            results={"objective": result.objective, "covered_weight": result.covered_weight,
                     "selected_codes": [s.code for s in sites], "covered_share": share})
        audit.record(session=session, actor=scope.actor, action="scenario.create",
                     object_type="scenario", object_id=saved.id,
                     after={"province": province.code, "p": data.p,
                            "selected": [s.code for s in sites]}, source=source)
        out.scenario = saved.id
    return out


def size_beds(data: BedsIn) -> BedsOut:
    fn = bedsmod.beds_for_block if data.kind == "block" else bedsmod.beds_for_wait
    return BedsOut.model_validate(fn(data.admissions_per_year, data.mean_los_days, data.target).as_dict())


@api.post("/site", response_model=SitingOut)
def api_site(body: SitingIn, request: Request, session: SessionDep, scope: ApiScope,
             source: SourceDep) -> SitingOut:
    """Choose sites among the province's tertiary hospitals to cover its counties' population
    (MCLP) or minimise population-weighted travel time (p-median); saved as a scenario."""
    out = run_siting(session, scope, body, settings=request.app.state.settings, source=source)
    session.commit()
    return out


@api.post("/beds", response_model=BedsOut)
def api_beds(body: BedsIn, scope: ApiScope) -> BedsOut:
    """Beds for a target probability of turning a patient away (Erlang B) or of waiting
    (Erlang C), with occupancy against the 85 % rule."""
    return size_beds(body)


@api.get("/scenarios", response_model=Page[ScenarioOut])
def api_scenarios(request: Request, scope: ApiScope, limit: Limit = 50,
                  offset: Offset = 0) -> Page[ScenarioOut]:
    found = scenarios.list_scenarios(request.app.state.settings.scenarios_dir)[::-1]
    items = [ScenarioOut(**s.summary()) for s in found[offset:offset + limit]]
    return Page(items=items, total=len(found), limit=limit, offset=offset)


@pages.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    scope = Scope.for_user(user)
    provinces, _ = regions.list_visible(session=session, scope=scope, level="province")
    return render(request, "planning/workspace.html", user, provinces=provinces,
                  specialties=list(Specialty))


@pages.post("/planning/site", response_class=HTMLResponse)
def planning_site(
    request: Request, session: SessionDep, user: PageUser, source: SourceDep,
    province: Annotated[str, Form(max_length=6)], p: Annotated[int, Form(ge=1, le=20)],
    radius_min: Annotated[float, Form(gt=0, le=1440)] = 120.0,
    objective: Annotated[Objective, Form()] = Objective.coverage,
    specialty: Annotated[Specialty, Form()] = Specialty.comprehensive,
) -> HTMLResponse:
    scope = Scope.for_user(user)
    try:
        data = SitingIn(province=province, p=p, radius_min=radius_min, objective=objective,
                        specialty=specialty)
        result = run_siting(session, scope, data, settings=request.app.state.settings,
                            source=source)
        session.commit()
    except (NrmcError, ValueError) as exc:
        return render(request, "planning/_site.html", user, error=str(exc), result=None)
    return render(request, "planning/_site.html", user, error=None, result=result,
                  data=result.model_dump(mode="json"))


@pages.post("/planning/beds", response_class=HTMLResponse)
def planning_beds(
    request: Request, user: PageUser, admissions_per_year: Annotated[float, Form(gt=0)],
    mean_los_days: Annotated[float, Form(gt=0)], target: Annotated[float, Form(gt=0, lt=1)] = 0.05,
    kind: Annotated[str, Form(pattern="^(block|wait)$")] = "block",
) -> HTMLResponse:
    try:
        sizing = size_beds(BedsIn(admissions_per_year=admissions_per_year,
                                  mean_los_days=mean_los_days, target=target, kind=kind))
    except (NrmcError, ValueError) as exc:
        return render(request, "planning/_beds.html", user, error=str(exc), sizing=None)
    return render(request, "planning/_beds.html", user, error=None, sizing=sizing)

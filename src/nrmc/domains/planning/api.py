"""Planning JSON API: run and save siting scenarios, compare and export them, size beds, check
a project's scale. Every route is scoped (``service.require_planner``): hospital roles get 403."""

from __future__ import annotations

import json
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError, model_validator

from ...core.enums import Role
from ...core.errors import ImportRejected, NrmcError, RowProblem
from ...core.inputs import explain
from ...planning import beds as bedsmod
from ...web.deps import ApiScope, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.tables import DbId, Limit, Offset, Page
from . import report, scale, service, sites
from .demand import FlowsInput
from .models import PlanningScenario
from .schemas import CompareOut, ScaleOut, ScenarioIn, ScenarioOut, ScenarioSummary

router = APIRouter(prefix="/api/v1/planning", tags=["planning"])
projects_router = APIRouter(prefix="/api/v1/projects", tags=["planning"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD_BYTES = 2_000_000
IdValue = Annotated[int, Field(ge=1, le=2**31 - 1)]
Ids = Annotated[list[IdValue], Query(min_length=1, max_length=4, description="scenario ids")]


class BedsIn(BaseModel):
    admissions_per_year: float = Field(gt=0, le=10_000_000, allow_inf_nan=False)
    mean_los_days: float = Field(gt=0, le=365, allow_inf_nan=False)
    target: float = Field(default=0.05, gt=0, lt=1, allow_inf_nan=False)
    kind: str = Field(default="block", pattern="^(block|wait)$")

    @model_validator(mode="after")
    def _sizable(self) -> BedsIn:
        """Refuse loads no ward has (the Erlang recursion would run for hours), as a 422."""
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


class RunOut(BaseModel):
    """A run: ``id`` is set when it was saved (named, by a role that may write)."""

    id: int | None
    name: str
    inputs: dict
    results: dict


def flows_input(request: Request, session: SessionDep) -> FlowsInput:
    from ..regions import service as regions

    cfg = request.app.state.settings
    return FlowsInput(cfg.flows_dir, regions.region_table(session=session), cfg.engine,
                      cfg.spark_master)


def size_beds(data: BedsIn) -> BedsOut:
    fn = bedsmod.beds_for_block if data.kind == "block" else bedsmod.beds_for_wait
    return BedsOut.model_validate(fn(data.admissions_per_year, data.mean_los_days,
                                     data.target).as_dict())


def run_and_save(*, request: Request, session: SessionDep, scope: ApiScope, source: str,
                 data: ScenarioIn, upload: pd.DataFrame | None = None) -> RunOut:
    """Run; save when the scenario is named and the caller may write (the analyst may not)."""
    done = service.run(session=session, scope=scope, data=data,
                       flows=flows_input(request, session), upload=upload)
    saved_id = None
    if data.name and scope.role != Role.national_analyst:
        saved = service.save(session=session, scope=scope, done=done, name=data.name, source=source)
        session.commit()
        saved_id = saved.id
    return RunOut(id=saved_id, name=data.name, inputs=done.inputs, results=done.results)


@router.post("/site", response_model=RunOut)
def api_site(body: ScenarioIn, request: Request, session: SessionDep, scope: ApiScope,
             source: SourceDep) -> RunOut:
    """Open ``p`` new centres in a province (MCLP coverage or p-median), existing centres of the
    specialty kept open; demand, candidates and travel model are named in ``results``. A named
    run is saved as a scenario (not for the read-only analyst)."""
    return run_and_save(request=request, session=session, scope=scope, source=source, data=body)


@router.post("/site/upload", response_model=RunOut)
async def api_site_upload(request: Request, session: SessionDep, scope: ApiScope,
                          source: SourceDep, scenario: Annotated[str, Form(max_length=4000)],
                          file: Annotated[UploadFile, File()]) -> RunOut:
    """Like ``/site`` with the planner's own candidates: ``scenario`` is the JSON body of
    ``/site`` and ``file`` a CSV or XLSX with ``code, name_zh, lon, lat``."""
    service.require_planner(scope)
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    name = file.filename or "candidates"
    if len(content) > MAX_UPLOAD_BYTES:
        raise ImportRejected(name, [RowProblem(name, 0, "file", "larger than 2 MB")])
    try:
        data = ScenarioIn.model_validate(json.loads(scenario) | {"candidates": "upload"})
    except (ValueError, ValidationError, TypeError) as exc:
        detail = (explain(exc) if isinstance(exc, ValidationError) else [])
        raise ImportRejected("scenario", [RowProblem("scenario", 0, f.field, f.message_en)
                                          for f in detail] or
                             [RowProblem("scenario", 0, "scenario", "not a JSON object")]) from None
    upload = sites.read_candidates(content, name)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(run_and_save, request=request, session=session, scope=scope,
                                   source=source, data=data, upload=upload)


@router.get("/scenarios", response_model=Page[ScenarioSummary])
@cached_read
def api_scenarios(session: SessionDep, scope: ApiScope, limit: Limit = 50,
                  offset: Offset = 0) -> Page[ScenarioSummary]:
    """Saved scenarios the caller may see (own province, or all for national roles)."""
    items, total = service.list_visible(session=session, scope=scope, limit=limit, offset=offset)
    return Page(items=[ScenarioSummary.model_validate(s) for s in items], total=total,
                limit=limit, offset=offset)


@router.get("/scenarios/{scenario_id}", response_model=ScenarioOut)
@cached_read
def api_scenario(scenario_id: DbId, session: SessionDep, scope: ApiScope) -> ScenarioOut:
    return ScenarioOut.model_validate(service.get_visible(session=session, scope=scope,
                                                          scenario_id=scenario_id))


def _many(session: SessionDep, scope: ApiScope, ids: list[int]) -> list[PlanningScenario]:
    return [service.get_visible(session=session, scope=scope, scenario_id=i) for i in ids]


@router.get("/compare", response_model=CompareOut)
def api_compare(ids: Ids, session: SessionDep, scope: ApiScope) -> CompareOut:
    """Scenarios side by side, with a plain-language summary in Chinese and English."""
    found = _many(session, scope, ids)
    en, zh = report.summary(found)
    return CompareOut(scenarios=[ScenarioSummary.model_validate(s) for s in found],
                      rows=report.rows(found), summary_en=en, summary_zh=zh)


@router.get("/compare.xlsx")
def api_compare_xlsx(ids: Ids, session: SessionDep, scope: ApiScope) -> Response:
    """The comparison as an Excel workbook (compare, summary, sites, uncovered, sources)."""
    found = _many(session, scope, ids)
    name = "scenarios-" + "-".join(str(s.id) for s in found)
    return Response(report.xlsx(found), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@router.post("/beds", response_model=BedsOut)
def api_beds(body: BedsIn, scope: ApiScope) -> BedsOut:
    """Beds for a target probability of turning a patient away (Erlang B) or of waiting
    (Erlang C), with occupancy against the 85 % rule."""
    return size_beds(body)


@projects_router.get("/{project_id}/scale", response_model=ScaleOut)
def api_project_scale(
    project_id: DbId, request: Request, session: SessionDep, scope: ApiScope,
    occupancy: Annotated[float, Query(gt=0, lt=1, allow_inf_nan=False)] = bedsmod.OCCUPANCY_RULE,
    capture_share: Annotated[float, Query(gt=0, le=1, allow_inf_nan=False)] = scale.TERTIARY_SHARE,
) -> ScaleOut:
    """Planned beds against the beds the catchment needs (Erlang B, occupancy target)."""
    return scale.project_scale(session=session, scope=scope, project_id=project_id,
                               flows=flows_input(request, session), occupancy=occupancy,
                               capture_share=capture_share)

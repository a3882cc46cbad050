"""Planning pages: the workspace (run a named scenario, list saved ones), the side-by-side
comparison with its XLSX export, bed sizing, and a project's scale fragment. Hospital roles get
the 403 page (``service.require_planner``). Charts are drawn by /static/planning.js from data
attributes: the pages carry no inline script."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from ...core.enums import Role, Specialty
from ...core.errors import Forbidden, ImportRejected, NotFound, NrmcError, RowProblem
from ...core.inputs import explain
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.render import render
from ...web.tables import DbId
from ..regions import service as regions
from ..users.scope import Scope
from . import api, report, scale, service, sites
from .models import PlanningScenario
from .schemas import ScenarioIn

router = APIRouter(include_in_schema=False)

SPECIALTIES = list(Specialty)


def map_json(province: str, results: dict) -> str:
    """What /static/planning.js draws: counties coloured by site, sites by kind."""
    return json.dumps({
        "province": province[:2] + "0000",
        "units": [{k: u[k] for k in ("name_zh", "lon", "lat", "minutes", "site")}
                  for u in results["units"]],
        "sites": [{k: s[k] for k in ("rank", "code", "name_zh", "lon", "lat", "existing")}
                  for s in results["sites"]]}, ensure_ascii=False)


def _scenarios(session: SessionDep, scope: Scope) -> list[PlanningScenario]:
    found, _ = service.list_visible(session=session, scope=scope, limit=50)
    return found


@router.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    scope = Scope.for_user(user)
    service.require_planner(scope)
    provinces, _ = regions.list_visible(session=session, scope=scope, level="province")
    default = scope.province + "0000" if scope.province else "620000"
    return render(request, "planning/workspace.html", user, provinces=provinces,
                  specialties=SPECIALTIES, default_province=default,
                  scenarios=_scenarios(session, scope), can_save=scope.role != Role.national_analyst)


@router.post("/planning/site", response_class=HTMLResponse)
async def planning_site(
    request: Request, session: SessionDep, user: PageUser, source: SourceDep,
    province: Annotated[str, Form(max_length=6)],
    p: Annotated[str, Form(max_length=8)] = "3",
    name: Annotated[str, Form(max_length=400)] = "",
    radius_min: Annotated[str, Form(max_length=12)] = "120",
    objective: Annotated[str, Form(max_length=16)] = "coverage",
    specialty: Annotated[str, Form(max_length=32)] = Specialty.comprehensive.value,
    candidates: Annotated[Literal["registry", "greenfield", "upload"], Form()] = "registry",
    include_existing: Annotated[str, Form(max_length=8)] = "",
    demand: Annotated[str, Form(max_length=16)] = "auto",
    candidates_file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Run a scenario from the form; errors come back field by field beside the form (which
    htmx leaves as typed)."""
    scope = Scope.for_user(user)
    service.require_planner(scope)
    raw = {"name": name, "province": province, "p": p, "radius_min": radius_min,
           "objective": objective, "specialty": specialty, "candidates": candidates,
           "include_existing": include_existing in {"on", "true", "1"}, "demand": demand}
    try:
        data = ScenarioIn.model_validate(raw)
    except ValidationError as exc:
        return render(request, "planning/_site.html", user, result=None,
                      field_errors=explain(exc), error=None)
    try:
        upload = None
        if data.candidates == "upload":
            if candidates_file is None or not candidates_file.filename:
                raise ImportRejected("candidates", [RowProblem("candidates", 0, "file",
                                                               "choose a CSV or XLSX file")])
            content = await candidates_file.read(api.MAX_UPLOAD_BYTES + 1)
            if len(content) > api.MAX_UPLOAD_BYTES:
                raise ImportRejected(candidates_file.filename, [RowProblem(
                    candidates_file.filename, 0, "file", "larger than 2 MB")])
            upload = sites.read_candidates(content, candidates_file.filename)
        out = await run_in_threadpool(api.run_and_save, request=request, session=session,
                                      scope=scope, source=source, data=data, upload=upload)
    except ImportRejected as exc:
        return render(request, "planning/_site.html", user, result=None, field_errors=None,
                      error=str(exc.file) + ": " + "; ".join(str(p) for p in exc.problems))
    except NrmcError as exc:
        if isinstance(exc, Forbidden | NotFound):
            raise
        return render(request, "planning/_site.html", user, result=None, field_errors=None,
                      error=str(exc))
    return render(request, "planning/_site.html", user, result=out.results, run=out,
                  map_json=map_json(data.province, out.results), field_errors=None, error=None,
                  scenarios=_scenarios(session, scope))


@router.get("/planning/compare", response_class=HTMLResponse)
def planning_compare(request: Request, session: SessionDep, user: PageUser,
                     ids: api.Ids) -> HTMLResponse:
    scope = Scope.for_user(user)
    # oldest first: the summary compares every later scenario with the first
    found = [service.get_visible(session=session, scope=scope, scenario_id=i)
             for i in sorted(set(ids))]
    en, zh = report.summary(found)
    return render(request, "planning/compare.html", user, scenarios=found,
                  rows=report.rows(found), summary=list(zip(zh, en, strict=True)),
                  maps=[map_json(s.province_code, s.results) for s in found],
                  ids="&".join(f"ids={s.id}" for s in found))


@router.get("/planning/compare.xlsx")
def planning_compare_xlsx(session: SessionDep, user: PageUser,
                          ids: api.Ids) -> Response:
    scope = Scope.for_user(user)
    found = [service.get_visible(session=session, scope=scope, scenario_id=i)
             for i in sorted(set(ids))]
    name = "scenarios-" + "-".join(str(s.id) for s in found)
    return Response(report.xlsx(found), media_type=api.XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@router.post("/planning/beds", response_class=HTMLResponse)
def planning_beds(
    request: Request, user: PageUser, admissions_per_year: Annotated[str, Form(max_length=20)],
    mean_los_days: Annotated[str, Form(max_length=20)],
    target: Annotated[str, Form(max_length=20)] = "0.05",
    kind: Annotated[str, Form(max_length=8)] = "block",
) -> HTMLResponse:
    service.require_planner(Scope.for_user(user))
    try:
        data = api.BedsIn.model_validate({"admissions_per_year": admissions_per_year,
                                          "mean_los_days": mean_los_days, "target": target,
                                          "kind": kind})
    except ValidationError as exc:
        return render(request, "planning/_beds.html", user, sizing=None, error=None,
                      field_errors=explain(exc))
    try:
        sizing = api.size_beds(data)
    except NrmcError as exc:
        return render(request, "planning/_beds.html", user, error=str(exc), sizing=None,
                      field_errors=None)
    return render(request, "planning/_beds.html", user, error=None, sizing=sizing,
                  field_errors=None)


@router.get("/planning/projects/{project_id}/scale", response_class=HTMLResponse)
def project_scale(project_id: DbId, request: Request, session: SessionDep,
                  user: PageUser) -> HTMLResponse:
    """The project page's scale fragment (loaded by htmx)."""
    scope = Scope.for_user(user)
    try:
        check = scale.project_scale(session=session, scope=scope, project_id=project_id,
                                    flows=api.flows_input(request, session))
    except NrmcError as exc:
        if isinstance(exc, Forbidden | NotFound):
            raise
        return render(request, "planning/_scale.html", user, check=None, error=str(exc))
    return render(request, "planning/_scale.html", user, check=check, error=None)

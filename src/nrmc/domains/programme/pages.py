"""Pages of the programme office: the dashboard, its printable report, the targets table
(editable by national admins) and the province × specialty coverage matrix."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from ...core.enums import Role
from ...core.inputs import explain
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.render import render
from ..users.scope import Scope
from . import service, targets
from .api import build
from .schemas import Dashboard, DashboardQuery, TargetIn

router = APIRouter(include_in_schema=False)


def _query(made: Dashboard) -> str:
    parts = [f"as_of={made.as_of}", f"period_start={made.period_start}",
             f"period_end={made.period_end}", f"baseline_year={made.baseline_year}"]
    if made.province:
        parts.append(f"province={made.province}")
    if made.batch:
        parts.append(f"batch={made.batch}")
    return "&".join(parts)


def _chart_data(made: Dashboard) -> dict[str, Any]:
    return {
        "batches": [b.model_dump() for b in made.batches],
        "provinces": [{"code": p.code, "name": p.name, "value": p.projects} for p in made.provinces],
        "trends": {r.key: r.trend for r in made.indicators if r.trend},
    }


Typed = Annotated[str, Query(max_length=20)]


def _page(request: Request, session: SessionDep, user: PageUser, template: str,
          typed: dict[str, str]) -> HTMLResponse:
    """Validate the form's filters with the shared rules; a refused value is shown beside its
    field (status 422) with what was typed kept."""
    scope = Scope.for_user(user)
    try:
        query = DashboardQuery.model_validate({k: v for k, v in typed.items() if v.strip()})
    except ValidationError as exc:
        errors = {e.field.split(".")[-1] if e.field != "__root__" else "period_end": e.message
                  for e in explain(exc)}
        return render(request, "programme/dashboard.html", user, status_code=422, made=None,
                      errors=errors, filters=typed, provincial=scope.province is not None)
    made = build(request, session, scope, **query.model_dump())
    return render(request, template, user, made=made, data=_chart_data(made), query=_query(made),
                  filters=typed, errors={}, provincial=scope.province is not None,
                  can_edit=scope.role == Role.national_admin)


@router.get("/programme", response_class=HTMLResponse)
@cached_read
def dashboard(request: Request, session: SessionDep, user: PageUser, as_of: Typed = "",
              province: Typed = "", batch: Typed = "", period_start: Typed = "",
              period_end: Typed = "", baseline_year: Typed = "") -> HTMLResponse:
    return _page(request, session, user, "programme/dashboard.html", {
        "as_of": as_of, "province": province, "batch": batch, "period_start": period_start,
        "period_end": period_end, "baseline_year": baseline_year})


@router.get("/programme/report", response_class=HTMLResponse)
@cached_read
def report(request: Request, session: SessionDep, user: PageUser, as_of: Typed = "",
           province: Typed = "", batch: Typed = "", period_start: Typed = "",
           period_end: Typed = "", baseline_year: Typed = "") -> HTMLResponse:
    """The same figures laid out for printing (A4, no navigation or charts)."""
    return _page(request, session, user, "programme/report.html", {
        "as_of": as_of, "province": province, "batch": batch, "period_start": period_start,
        "period_end": period_end, "baseline_year": baseline_year})


@router.get("/programme/targets", response_class=HTMLResponse)
@cached_read
def target_list(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    scope = Scope.for_user(user)
    return render(request, "programme/targets.html", user,
                  targets=targets.list_targets(session=session),
                  can_edit=scope.role == Role.national_admin, errors={}, typed={})


@router.post("/programme/targets/{key}", response_class=HTMLResponse)
def target_edit(key: str, request: Request, session: SessionDep, user: PageUser,
                source_dep: SourceDep, target: Annotated[str, Form()],
                direction: Annotated[str, Form()], source: Annotated[str, Form()],
                verification: Annotated[str, Form()] = "U", note: Annotated[str, Form()] = ""
                ) -> HTMLResponse:
    """Form post of one target; a refused value is shown beside its field with what was typed."""
    scope = Scope.for_user(user)
    typed = {"key": key, "target": target, "direction": direction, "source": source,
             "verification": verification, "note": note}
    try:
        data = TargetIn.model_validate({k: v for k, v in typed.items() if k != "key"})
    except ValidationError as exc:
        errors = {e.field: e.message for e in explain(exc)}
        return render(request, "programme/targets.html", user, status_code=422,
                      targets=targets.list_targets(session=session),
                      can_edit=scope.role == Role.national_admin, errors=errors, typed=typed)
    targets.set_target(session=session, scope=scope, key=key[:64], data=data, source=source_dep)
    session.commit()
    return render(request, "programme/targets.html", user, saved=key,
                  targets=targets.list_targets(session=session),
                  can_edit=scope.role == Role.national_admin, errors={}, typed={})


@router.get("/programme/coverage", response_class=HTMLResponse)
@cached_read
def coverage(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    matrix = service.coverage(session=session, scope=Scope.for_user(user))
    return render(request, "programme/coverage.html", user, matrix=matrix)

"""Pages: the project list and the project dashboard (status form via htmx, audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from ...core.enums import ProjectStatus, Role
from ...core.errors import Conflict, Forbidden
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.render import render
from ...web.tables import DbId
from ..alliances import service as alliances
from ..audit import service as audit
from ..collaboration import api as ops_api
from ..collaboration import kpis, ledger, visits
from ..collaboration import service as collaboration
from ..collaboration.access import may_record
from ..hospitals import service as hospitals
from ..referrals.deadlines import DEFAULT_SLA, Sla
from ..users.scope import Scope
from . import service
from . import status as status_rule

router = APIRouter(include_in_schema=False)


def _can_write(scope: Scope) -> bool:
    return scope.role not in (Role.national_analyst, Role.clinician)


@router.get("/projects", response_class=HTMLResponse)
@cached_read
def project_list(request: Request, session: SessionDep, user: PageUser,
                 batch: Annotated[int | None, Query(ge=1, le=5)] = None) -> HTMLResponse:
    scope = Scope.for_user(user)
    found, total = service.list_visible(session=session, scope=scope, batch=batch)
    _loaded = service.prefetch_hospitals(session=session, projects=found)
    return render(request, "projects/list.html", user, batch=batch, total=total,
                  projects=[service.to_out(session, p) for p in found])


def _dashboard_context(session: SessionDep, scope: Scope, project_id: int,
                       sla: Sla = DEFAULT_SLA) -> dict:
    project = service.get_visible(session=session, scope=scope, project_id=project_id)
    detail = service.to_detail(session, project)
    linked, _ = alliances.list_visible(session=session, scope=scope, project_id=project.id)
    history, _ = audit.list_visible(session=session, scope=scope, object_type="project",
                                    object_id=str(project.id), limit=20)
    host = hospitals.get(session=session, code=project.project_hospital_code)
    return {"project": detail, "host": host, "history": history,
            **_operations(session, scope, project.id, sla),
            "alliances": alliances.to_outs(session, linked),
            "statuses": list(ProjectStatus), "can_write": _can_write(scope),
            "status_targets": status_rule.allowed_targets(session, scope, project),
            "status_visits": visits.list_visits(session=session, scope=scope, project_id=project.id),
            "can_record": may_record(session, scope, project)}


KPI_CARDS = [  # (field, label) shown as cards with year-on-year change
    ("expert_teams", "专家团队 expert teams"), ("experts", "派驻专家 experts"),
    ("expert_days", "驻点人日 expert-days"), ("surgeries", "手术 surgeries"),
    ("surgeries_grade34_share", "三四级手术占比 grade 3-4 share"),
    ("outpatients", "门诊 outpatients"), ("complex_cases", "疑难病例 complex cases"),
    ("technologies", "新技术 new technologies"), ("trainees", "进修培训 trainees"),
    ("referrals_up", "上转 referrals up"), ("referrals_down", "下转 referrals down"),
    ("median_hours_to_accept", "接收中位时长(时) median hours to accept"),
]
TREND_SERIES = [("surgeries", "手术 surgeries"), ("outpatients", "门诊/10 outpatients÷10"),
                ("complex_cases", "疑难病例 complex cases"), ("referrals_up", "上转 up"),
                ("referrals_down", "下转 down")]


def _operations(session: SessionDep, scope: Scope, project_id: int,
                sla: Sla = DEFAULT_SLA) -> dict:
    """The operations panels: KPIs of the latest active year with year on year, yearly
    trends, experts on site per month, recent dispatches, technologies and site visits."""
    dispatches = collaboration.dispatch_dates(session=session, scope=scope, project_id=project_id)
    years = ops_api.active_years(session, scope, project_id, dispatches)
    if not years:
        return {"ops": None}
    year = years[-1]
    # One KPI computation per year serves the trend and the year-on-year cards.
    wanted = sorted({*years, year - 1})
    by_year = kpis.project_kpis_by_year(session=session, scope=scope, project_id=project_id,
                                        years=wanted, sla_hours=sla)
    trend = [by_year[y] for y in years]
    series = [{"name": label, "data": [
        (getattr(k, field) or 0) / (10 if field == "outpatients" else 1) for k in trend]}
        for field, label in TREND_SERIES]
    report = ops_api.KpiReport(year=year, kpis=by_year[year],
                               year_on_year=ops_api.change(by_year[year], by_year[year - 1]))
    return {"ops": {
        "year": year, "report": report,
        "cards": KPI_CARDS, "years": years, "series": series,
        "timeline": ops_api.on_site_by_month(session, scope, project_id, dispatches),
        "dispatches": [collaboration.to_out(session, d) for d in collaboration.latest_dispatches(
            session=session, scope=scope, project_id=project_id, limit=12)],
        "dispatch_total": len(dispatches),
        "technologies": ledger.list_technologies(session=session, scope=scope,
                                                 project_id=project_id),
        "visits": [visits.to_out(v) for v in visits.list_visits(
            session=session, scope=scope, project_id=project_id)],
    }}


@router.get("/projects/{project_id}", response_class=HTMLResponse)
@cached_read
def dashboard(project_id: DbId, request: Request, session: SessionDep,
              user: PageUser) -> HTMLResponse:
    context = _dashboard_context(session, Scope.for_user(user), project_id,
                                 request.app.state.settings.referral_sla)
    return render(request, "projects/dashboard.html", user, **context)


@router.post("/projects/{project_id}/status", response_class=HTMLResponse)
def change_status(
    project_id: DbId, request: Request, session: SessionDep, user: PageUser, source: SourceDep,
    status: Annotated[ProjectStatus, Form()], planned_beds: Annotated[str, Form()] = "",
    visit_id: Annotated[str, Form()] = "", reason: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """htmx form: answers the refreshed status panel (the write is audited). A move the
    status rule refuses is shown in the panel, and nothing is stored."""
    scope = Scope.for_user(user)
    changes: dict[str, object] = {"status": status}
    if planned_beds.strip().isdigit():
        changes["planned_beds"] = int(planned_beds)
    visit = int(visit_id) if visit_id.strip().isdigit() else None
    try:
        service.update(session=session, scope=scope, project_id=project_id, changes=changes,
                       source=source, visit_id=visit, reason=reason.strip())
    except (Forbidden, Conflict) as exc:
        session.rollback()
        context = _dashboard_context(session, scope, project_id, request.app.state.settings.referral_sla)
        # htmx swaps only 2xx answers: the panel with the refusal comes back as 200 to htmx.
        code = 409 if isinstance(exc, Conflict) else 403
        return render(request, "projects/_status.html", user, status_error=str(exc),
                      status_code=200 if request.headers.get("hx-request") else code, **context)
    session.commit()
    context = _dashboard_context(session, scope, project_id, request.app.state.settings.referral_sla)
    return render(request, "projects/_status.html", user, saved=True, **context)

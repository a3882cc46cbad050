"""Pages: trusteeships with alerts, one trusteeship's progress, and county medical
communities' within-county rate against the 90 % goal."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from ...core.enums import Role
from ...core.inputs import explain, today_beijing
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.render import render
from ...web.tables import DbId
from ..users.scope import Scope
from . import communities, service
from .schemas import LADDER, Grade, ReportIn, TrusteeshipDetail

router = APIRouter(include_in_schema=False)


@router.get("/trusteeships", response_class=HTMLResponse)
@cached_read
def index(request: Request, session: SessionDep, user: PageUser,
          behind_only: Annotated[bool, Query()] = False,
          created: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
          imported: Annotated[int | None, Query(ge=0, le=100_000)] = None) -> HTMLResponse:
    """The list; `created` and `imported` confirm what the entry pages just stored."""
    scope = Scope.for_user(user)
    day = today_beijing()
    found = service.list_visible(session=session, scope=scope, as_of=day, behind_only=behind_only)
    settings = request.app.state.settings
    rates = communities.community_rates(session=session, scope=scope,
                                        flows_dir=settings.flows_dir, engine=settings.engine,
                                        min_cell=settings.min_cell_size)
    return render(request, "trusteeships/index.html", user, trusteeships=found, as_of=day,
                  behind_only=behind_only, rates=rates, grade_zh={g.value: g.label_zh for g in Grade},
                  behind=sum(1 for t in found if t.progress.behind),
                  can_create=service.may_create(scope), created=created, imported=imported)


def chart_data(t: TrusteeshipDetail) -> dict[str, Any]:
    rank = {g.value: g.rank for g in Grade}
    return {
        "ladder": LADDER,
        "path": [[t.start_date, rank[t.start_grade]], [t.goal_deadline, rank[t.target_grade]]],
        "grades": [[r.reported_on, rank[r.grade]] for r in t.reports],
        "posts": [[r.reported_on, r.posts_filled] for r in t.reports],
        "departments": [[r.reported_on, r.departments_opened] for r in t.reports],
        "technologies": [[r.reported_on, r.technologies] for r in t.reports],
        "months": [f"{r.reported_on:%Y-%m}" for r in t.reports],
        "outpatients": [r.outpatients for r in t.reports],
        "surgeries": [r.surgeries for r in t.reports],
    }


def _progress(request: Request, session: SessionDep, user: PageUser, trusteeship_id: int,
              status_code: int = 200, **extra: Any) -> HTMLResponse:
    scope = Scope.for_user(user)
    day: date = today_beijing()
    t = service.detail(session=session, scope=scope, trusteeship_id=trusteeship_id, as_of=day)
    extra.setdefault("errors", {})
    extra.setdefault("typed", {})
    return render(request, "trusteeships/progress.html", user, status_code=status_code, t=t,
                  data=chart_data(t), grade_zh={g.value: g.label_zh for g in Grade},
                  grades=list(Grade), today=day,
                  can_write=scope.role not in (Role.national_analyst, Role.clinician), **extra)


@router.get("/trusteeships/{trusteeship_id}", response_class=HTMLResponse)
@cached_read
def progress_page(trusteeship_id: DbId, request: Request, session: SessionDep,
                  user: PageUser) -> HTMLResponse:
    return _progress(request, session, user, trusteeship_id)


REPORT_FIELDS = ("reported_on", "grade", "posts_filled", "departments_opened", "technologies",
                 "outpatients", "surgeries")


@router.post("/trusteeships/{trusteeship_id}/reports", response_class=HTMLResponse)
async def report_form(trusteeship_id: DbId, request: Request, session: SessionDep,
                      user: PageUser, source: SourceDep) -> HTMLResponse:
    """Form post of one progress report: refused values are shown beside their fields and what
    was typed is kept; a stored report is audited."""
    form = await request.form()
    typed = {k: str(form.get(k, ""))[:40] for k in REPORT_FIELDS}
    try:
        data = ReportIn.model_validate({k: v for k, v in typed.items() if v.strip()})
    except ValidationError as exc:
        return _progress(request, session, user, trusteeship_id, status_code=422, typed=typed,
                         errors={e.field: e.message for e in explain(exc)})
    service.add_report(session=session, scope=Scope.for_user(user), trusteeship_id=trusteeship_id,
                       data=data, source=source)
    session.commit()
    return _progress(request, session, user, trusteeship_id, saved=data.reported_on)

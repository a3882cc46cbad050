"""Pages: trusteeships with alerts, one trusteeship's progress, and county medical
communities' within-county rate against the 90 % goal."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ...core.inputs import today_beijing
from ...web.deps import PageUser, SessionDep
from ...web.read_cache import cached_read
from ...web.render import render
from ...web.tables import DbId
from ..users.scope import Scope
from . import communities, service
from .schemas import LADDER, Grade, TrusteeshipDetail

router = APIRouter(include_in_schema=False)


@router.get("/trusteeships", response_class=HTMLResponse)
@cached_read
def index(request: Request, session: SessionDep, user: PageUser,
          behind_only: Annotated[bool, Query()] = False) -> HTMLResponse:
    scope = Scope.for_user(user)
    day = today_beijing()
    found = service.list_visible(session=session, scope=scope, as_of=day, behind_only=behind_only)
    settings = request.app.state.settings
    rates = communities.community_rates(session=session, scope=scope,
                                        flows_dir=settings.flows_dir, engine=settings.engine,
                                        min_cell=settings.min_cell_size)
    return render(request, "trusteeships/index.html", user, trusteeships=found, as_of=day,
                  behind_only=behind_only, rates=rates, grade_zh={g.value: g.label_zh for g in Grade},
                  behind=sum(1 for t in found if t.progress.behind))


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


@router.get("/trusteeships/{trusteeship_id}", response_class=HTMLResponse)
@cached_read
def progress_page(trusteeship_id: DbId, request: Request, session: SessionDep,
                  user: PageUser) -> HTMLResponse:
    day: date = today_beijing()
    t = service.detail(session=session, scope=Scope.for_user(user), trusteeship_id=trusteeship_id,
                       as_of=day)
    return render(request, "trusteeships/progress.html", user, t=t, data=chart_data(t),
                  grade_zh={g.value: g.label_zh for g in Grade})

"""The KPI page of a project for a chosen period (month, quarter, year, custom range), beside
the same period a year before, with the review state of each month in it."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ...core.errors import Conflict
from ...core.inputs import today_beijing
from ...web.deps import PageUser, SessionDep
from ...web.read_cache import cached_read
from ...web.render import render
from ...web.tables import DbId
from ..users.scope import Scope
from . import api, entry, periods, review
from .access import may_record, visible_project
from .periods import PeriodKind

router = APIRouter(include_in_schema=False)
ROWS = [  # (field, label) in the comparison table
    ("expert_teams", "专家团队 expert teams"), ("experts", "派驻专家 experts"),
    ("expert_days", "驻点人日 expert-days"), ("surgeries", "手术 surgeries"),
    ("surgeries_grade34_share", "三四级手术占比 grade 3–4 share"),
    ("outpatients", "门诊 outpatients"), ("consultations", "会诊 consultations"),
    ("complex_cases", "疑难病例 complex cases"), ("teleconsultations", "远程会诊 remote consultations"),
    ("teaching_sessions", "教学次数 teaching sessions"),
    ("rare_disease_cases", "罕见病例 rare-disease cases"),
    ("technologies", "新技术 new technologies"), ("trainees", "进修培训 trainees"),
    ("referrals_up", "上转 referrals up"), ("referrals_down", "下转 referrals down"),
]


@router.get("/projects/{project_id}/kpis", response_class=HTMLResponse)
@cached_read
def kpi_page(
    project_id: DbId, request: Request, session: SessionDep, user: PageUser,
    period: PeriodKind = PeriodKind.year, year: Annotated[int | None, Query(ge=2019, le=2100)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
    start: date | None = None, end: date | None = None,
) -> HTMLResponse:
    scope = Scope.for_user(user)
    project = visible_project(session, scope, project_id)
    problem = ""
    try:
        chosen = periods.resolve(period, year=year, month=month, quarter=quarter, start=start, end=end)
    except Conflict as exc:
        problem, chosen = str(exc), periods.resolve(PeriodKind.year)
    report = api.period_report(session, scope, project_id, chosen,
                               request.app.state.settings.referral_sla)
    return render(request, "ledger/kpis.html", user, project=project, report=report, rows=ROWS,
                  problem=problem, choice={"period": chosen.kind.value, "year": chosen.start.year,
                                           "month": chosen.start.month,
                                           "quarter": (chosen.start.month - 1) // 3 + 1,
                                           "start": chosen.start, "end": chosen.end},
                  years=list(range(today_beijing().year, 2018, -1)), kinds=entry.KINDS,
                  can_record=may_record(session, scope, project),
                  can_review=review.may_review(session, scope, project))

"""JSON API for a project's operations: KPIs (with year on year and a yearly trend),
expert dispatches, technologies and site visits. Visibility is the project's."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from ...core.enums import MonthStatus
from ...core.inputs import today_beijing
from ...web.deps import ApiScope, SessionDep, SlaDep
from ...web.read_cache import cached_read
from ...web.tables import DOWNLOADS, DbId, FormatQuery, Limit, Offset, Page, TableFormat, download
from ..referrals.deadlines import DEFAULT_SLA, Sla
from ..users.scope import Scope
from . import kpis, ledger, periods, review, service, visits
from .periods import PeriodKind
from .schemas import DispatchOut, ProjectKpis, SiteVisitOut, TechnologyOut

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["operations"])
Year = Annotated[int | None, Query(ge=2000, le=2100)]


class YearOnYear(BaseModel):
    value: float | None
    previous: float | None
    change: float | None
    change_pct: float | None


class KpiReport(BaseModel):
    """KPIs for a year (or all time), with the change against the year before."""

    year: int | None
    kpis: ProjectKpis
    year_on_year: dict[str, YearOnYear] | None = None


class MonthOnSite(BaseModel):
    month: str
    experts: int


def active_years(session: Session, scope: Scope, project_id: int,
                 found: list | None = None) -> list[int]:
    """Calendar years with any dispatch on site (the range the trend charts cover)."""
    if found is None:
        found = service.dispatch_dates(session=session, scope=scope, project_id=project_id)
    if not found:
        return []
    first = min(d.start_date for d in found).year
    last = max(d.end_date for d in found).year
    return list(range(first, min(last, today_beijing().year) + 1))


def kpi_report(session: Session, scope: Scope, project_id: int, year: int | None,
               sla: Sla = DEFAULT_SLA) -> KpiReport:
    if year is None:
        figures = kpis.project_kpis(session=session, scope=scope, project_id=project_id,
                                    sla_hours=sla)
        return KpiReport(year=None, kpis=figures, year_on_year=None)
    both = kpis.project_kpis_by_year(session=session, scope=scope, project_id=project_id,
                                     years=(year - 1, year), sla_hours=sla)
    return KpiReport(year=year, kpis=both[year], year_on_year=change(both[year], both[year - 1]))


def change(this: ProjectKpis, last: ProjectKpis) -> dict[str, YearOnYear]:
    """Year on year from two periods' KPIs (for callers that already hold both years)."""
    return {key: YearOnYear(**figures) for key, figures in kpis.compare(this, last).items()}


def on_site_by_month(session: Session, scope: Scope, project_id: int,
                     found: list | None = None) -> list[MonthOnSite]:
    """Experts on site per month (a dispatch counts in every month it overlaps): the dispatch
    timeline the dashboard draws."""
    counts: Counter[str] = Counter()
    if found is None:
        found = service.dispatch_dates(session=session, scope=scope, project_id=project_id)
    for d in found:
        y, m = d.start_date.year, d.start_date.month
        while (y, m) <= (d.end_date.year, d.end_date.month):
            counts[f"{y:04d}-{m:02d}"] += 1
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return [MonthOnSite(month=k, experts=v) for k, v in sorted(counts.items())]


@router.get("/kpis", response_model=KpiReport)
@cached_read
def get_kpis(project_id: DbId, session: SessionDep, scope: ApiScope, sla: SlaDep,
             year: Year = None) -> KpiReport:
    """KPIs for `year` with year on year, or for all time without `year`."""
    return kpi_report(session, scope, project_id, year, sla)


class MonthState(BaseModel):
    month: str
    status: MonthStatus


class PeriodReport(BaseModel):
    """KPIs of a month, quarter, year or custom range, beside the same period a year before,
    with each month's review state (which figures the province has reviewed)."""

    period: str
    kind: PeriodKind
    start: date
    end: date
    previous_start: date
    previous_end: date
    kpis: ProjectKpis
    previous: ProjectKpis
    year_on_year: dict[str, YearOnYear]
    months: list[MonthState]
    reviewed_months: int


def period_report(session: Session, scope: Scope, project_id: int, period: periods.Period,
                  sla: Sla = DEFAULT_SLA) -> PeriodReport:
    before = period.year_before()
    rows = kpis.load_ledger(session=session, scope=scope, project_id=project_id,
                            start=before.start, end=period.end)
    now_kpis = kpis.kpis_of(rows, project_id, period.start, period.end, sla_hours=sla)
    then_kpis = kpis.kpis_of(rows, project_id, before.start, before.end, sla_hours=sla)
    states = review.states(session, project_id, review.months_between(period.start, period.end)[:240])
    months = [MonthState(month=s.month, status=s.status) for s in states.values()]
    return PeriodReport(
        period=period.label, kind=period.kind, start=period.start, end=period.end,
        previous_start=before.start, previous_end=before.end, kpis=now_kpis, previous=then_kpis,
        year_on_year=change(now_kpis, then_kpis), months=months,
        reviewed_months=sum(m.status == MonthStatus.reviewed for m in months))


@router.get("/kpis/period", response_model=PeriodReport,
            responses={409: {"description": "the parameters do not make a period"}})
@cached_read
def get_kpis_for_period(
    project_id: DbId, session: SessionDep, scope: ApiScope, sla: SlaDep,
    period: PeriodKind = PeriodKind.year, year: Annotated[int | None, Query(ge=2019, le=2100)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
    start: date | None = None, end: date | None = None,
) -> PeriodReport:
    """KPIs for a month (`year`, `month`), quarter (`year`, `quarter`), year (`year`) or custom
    range (`start`, `end`), compared with the same dates a year before; `months` says which
    months of the period the province has reviewed."""
    chosen = periods.resolve(period, year=year, month=month, quarter=quarter, start=start, end=end)
    return period_report(session, scope, project_id, chosen, sla)


@router.get("/kpis/trend", response_model=list[ProjectKpis])
@cached_read
def get_kpi_trend(project_id: DbId, session: SessionDep, scope: ApiScope,
                  sla: SlaDep) -> list[ProjectKpis]:
    """KPIs for each calendar year the project had experts on site."""
    by_year = kpis.project_kpis_by_year(session=session, scope=scope, project_id=project_id,
                                        years=active_years(session, scope, project_id),
                                        sla_hours=sla)
    return list(by_year.values())


@router.get("/dispatches", response_model=Page[DispatchOut], responses=DOWNLOADS)
@cached_read
def list_dispatches(project_id: DbId, session: SessionDep, scope: ApiScope,
                    on: date | None = None, limit: Limit = 50, offset: Offset = 0,
                    fmt: FormatQuery = TableFormat.json) -> Page[DispatchOut] | Response:
    if fmt != TableFormat.json:
        found = service.list_dispatches(session=session, scope=scope, project_id=project_id,
                                        on=on)
        return download([service.to_out(session, d) for d in found], fmt, "dispatches",
                        columns=list(DispatchOut.model_fields))
    shown, total = service.page_dispatches(session=session, scope=scope, project_id=project_id,
                                           on=on, limit=limit, offset=offset)
    return Page(items=[service.to_out(session, d) for d in shown], total=total, limit=limit,
                offset=offset)


@router.get("/dispatches/by-month", response_model=list[MonthOnSite])
@cached_read
def dispatch_timeline(project_id: DbId, session: SessionDep, scope: ApiScope) -> list[MonthOnSite]:
    return on_site_by_month(session, scope, project_id)


@router.get("/technologies", response_model=list[TechnologyOut], responses=DOWNLOADS)
@cached_read
def list_technologies(project_id: DbId, session: SessionDep, scope: ApiScope,
                      fmt: FormatQuery = TableFormat.json) -> list[TechnologyOut] | Response:
    out = [TechnologyOut.model_validate(t, from_attributes=True) for t in
           ledger.list_technologies(session=session, scope=scope, project_id=project_id)]
    if fmt != TableFormat.json:
        return download(out, fmt, "technologies", columns=list(TechnologyOut.model_fields))
    return out


@router.get("/visits", response_model=list[SiteVisitOut], responses=DOWNLOADS)
@cached_read
def list_visits(project_id: DbId, session: SessionDep, scope: ApiScope,
                fmt: FormatQuery = TableFormat.json) -> list[SiteVisitOut] | Response:
    out = [visits.to_out(v) for v in
           visits.list_visits(session=session, scope=scope, project_id=project_id)]
    if fmt != TableFormat.json:
        rows = [v.model_dump(mode="json") | {"actions": len(v.actions)} for v in out]
        return download(rows, fmt, "site-visits", columns=list(SiteVisitOut.model_fields))
    return out

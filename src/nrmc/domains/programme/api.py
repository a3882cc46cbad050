"""JSON API of the programme office: the national indicators on any date, and their targets."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ...core.inputs import RecordDate
from ...web import outflow
from ...web.deps import ApiScope, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.tables import DOWNLOADS, FormatQuery, TableFormat, download
from ..projects.api import programme_summary
from ..users.scope import Scope
from . import service, targets
from .schemas import Dashboard, TargetIn, TargetOut

router = APIRouter(tags=["programme"])

AsOf = Annotated[RecordDate | None, Query(description="the date figures are computed for "
                                                      "(default: newest data in view)")]
ProvinceQuery = Annotated[str | None, Query(pattern=r"^\d{2}(\d{4})?$",
                                            description="province code (2 or 6 digits)")]
BatchQuery = Annotated[int | None, Query(ge=1, le=5)]
PeriodDate = Annotated[RecordDate | None, Query()]
BaselineYear = Annotated[int, Query(ge=2015, le=2100, description="outflow baseline year")]
EXPORT_COLUMNS = ["key", "label_zh", "label_en", "value", "unit", "target", "target_direction",
                  "met", "projects_reporting", "projects_expected", "as_of", "previous",
                  "change", "source", "target_source"]


def check_period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise RequestValidationError([{
            "type": "end_before_start", "loc": ("query", "period_end"),
            "msg": "end date is before the start date", "ctx": {"end_field": "period_end"}}])


def build(request: Request, session: Session, scope: Scope, *, as_of: date | None,
          province: str | None, batch: int | None, period_start: date | None,
          period_end: date | None, baseline_year: int) -> Dashboard:
    """The dashboard for the API, the page and the report (one computation)."""
    check_period(period_start, period_end)
    view = service.resolve_view(session=session, scope=scope, as_of=as_of, province=province,
                                batch=batch, period_start=period_start, period_end=period_end,
                                baseline_year=baseline_year)
    rows = outflow.rows(request.app.state.outflow, session, scope, level="province")
    made = service.dashboard(session=session, scope=scope, view=view, outflow_rows=rows)
    summary = programme_summary(session, scope)
    made.projects, made.by_batch, made.by_province = (
        summary.projects, [b.model_dump() for b in summary.by_batch],
        [p.model_dump() for p in summary.by_province])
    return made


def export_rows(made: Dashboard) -> list[dict[str, Any]]:
    return [{c: row.model_dump(mode="json").get(c) for c in EXPORT_COLUMNS}
            for row in made.indicators]


@router.get("/api/v1/metrics/programme", response_model=Dashboard, responses=DOWNLOADS,
            tags=["metrics"])
@cached_read
def get_programme(
    request: Request, session: SessionDep, scope: ApiScope, as_of: AsOf = None,
    province: ProvinceQuery = None, batch: BatchQuery = None, period_start: PeriodDate = None,
    period_end: PeriodDate = None, baseline_year: BaselineYear = service.DEFAULT_BASELINE,
    fmt: FormatQuery = TableFormat.json,
) -> Dashboard | Response:
    """The programme's national indicators for the nation, a province or a batch on a date:
    each computed from ledger, registry, milestone and flows rows, with its target and source,
    projects reporting against those expected, and the newest data date. `?format=csv|xlsx`
    downloads the indicator table. Also keeps the project counts by batch and province."""
    made = build(request, session, scope, as_of=as_of, province=province, batch=batch,
                 period_start=period_start, period_end=period_end, baseline_year=baseline_year)
    if fmt != TableFormat.json:
        return download(export_rows(made), fmt, f"programme-{made.as_of}", columns=EXPORT_COLUMNS)
    return made


@router.get("/api/v1/programme/targets", response_model=list[TargetOut])
@cached_read
def list_targets(session: SessionDep, scope: ApiScope) -> list[TargetOut]:
    """Every indicator's target with its source (readable by every signed-in role)."""
    return targets.list_targets(session=session)


@router.put("/api/v1/programme/targets/{key}", response_model=TargetOut,
            responses={403: {"description": "not a national administrator"},
                       404: {"description": "no such indicator"}})
def put_target(key: Annotated[str, Path(max_length=64)], body: TargetIn,
               session: SessionDep, scope: ApiScope, source: SourceDep) -> TargetOut:
    """Set one indicator's target and its source (national administrators; audited)."""
    row = targets.set_target(session=session, scope=scope, key=key, data=body,
                             source=source)
    out = targets.to_out(row)
    session.commit()
    return out


@router.get("/api/v1/programme/coverage")
@cached_read
def get_coverage(session: SessionDep, scope: ApiScope) -> dict[str, Any]:
    """Province × specialty matrix of centres (zero cells are the gaps in the programme's map)."""
    return service.coverage(session=session, scope=scope)

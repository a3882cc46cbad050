"""JSON API of trusteeships (托管) and county medical communities' within-county rate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from ...core.errors import ImportRejected
from ...core.inputs import RecordDate, today_beijing
from ...web.deps import ApiScope, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.tables import DOWNLOADS, DbId, FormatQuery, TableFormat, download
from . import communities, entry, excel, service
from .schemas import ReportIn, TrusteeshipDetail, TrusteeshipIn, TrusteeshipOut

router = APIRouter(tags=["trusteeships"])
AsOf = Annotated[RecordDate | None, Query(description="date progress is judged on (default today)")]


@router.get("/api/v1/trusteeships", response_model=list[TrusteeshipOut], responses=DOWNLOADS)
@cached_read
def list_trusteeships(
    session: SessionDep, scope: ApiScope, as_of: AsOf = None,
    province: Annotated[str | None, Query(pattern=r"^\d{2}(\d{4})?$")] = None,
    behind_only: bool = False, fmt: FormatQuery = TableFormat.json,
) -> list[TrusteeshipOut] | Response:
    """Visible trusteeships with their progress; `behind_only` keeps those behind their path."""
    found = service.list_visible(session=session, scope=scope, as_of=as_of or today_beijing(),
                                 province=province, behind_only=behind_only)
    if fmt != TableFormat.json:
        rows = [{**t.model_dump(exclude={"progress"}), "grade": t.progress.grade,
                 "behind": "; ".join(t.progress.behind)} for t in found]
        return download(rows, fmt, "trusteeships", columns=list(TrusteeshipOut.model_fields))
    return found


@router.get("/api/v1/trusteeships/{trusteeship_id}", response_model=TrusteeshipDetail)
@cached_read
def get_trusteeship(trusteeship_id: DbId, session: SessionDep, scope: ApiScope,
                    as_of: AsOf = None) -> TrusteeshipDetail:
    return service.detail(session=session, scope=scope, trusteeship_id=trusteeship_id,
                          as_of=as_of or today_beijing())


@router.post("/api/v1/trusteeships", response_model=TrusteeshipDetail, status_code=201)
def create_trusteeship(body: TrusteeshipIn, session: SessionDep, scope: ApiScope,
                       source: SourceDep) -> TrusteeshipDetail:
    row = service.create(session=session, scope=scope, data=body, source=source)
    out = service.detail(session=session, scope=scope, trusteeship_id=row.id, as_of=today_beijing())
    session.commit()
    return out


@router.post("/api/v1/trusteeships/upload", status_code=201,
             responses={422: {"description": "rows refused (file, row, field, message); "
                                             "nothing stored"}})
def upload_trusteeships(
    session: SessionDep, scope: ApiScope, source: SourceDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX with columns " + ", ".join(entry.NAMES)
                                     + " (hospitals by code or full name; grades as 二级乙等 or "
                                       "secondary_b)")],
) -> Response:
    """Many trusteeships at once: all rows or none; a refusal names file, row and field."""
    try:
        ids = excel.import_upload(session=session, scope=scope, filename=file.filename or "upload.csv",
                                  content=file.file.read(excel.MAX_BYTES + 1), source=source)
    except ImportRejected as exc:
        session.rollback()
        return JSONResponse(status_code=422, content={"detail": [
            {"file": p.file, "row": p.row, "field": p.field, "message": p.reason}
            for p in exc.problems]})
    session.commit()
    return JSONResponse(status_code=201, content={"added": len(ids), "ids": ids})


@router.post("/api/v1/trusteeships/{trusteeship_id}/reports", response_model=TrusteeshipDetail,
             status_code=201)
def add_report(trusteeship_id: DbId, body: ReportIn, session: SessionDep, scope: ApiScope,
               source: SourceDep) -> TrusteeshipDetail:
    """Report the managed hospital's grade, posts, departments, technologies and volumes."""
    service.add_report(session=session, scope=scope, trusteeship_id=trusteeship_id, data=body,
                       source=source)
    out = service.detail(session=session, scope=scope, trusteeship_id=trusteeship_id,
                         as_of=today_beijing())
    session.commit()
    return out


@router.get("/api/v1/metrics/within-county")
@cached_read
def within_county(request: Request, session: SessionDep, scope: ApiScope) -> list[dict[str, Any]]:
    """County medical communities: their county's latest 县域内就诊率 against the 90 % goal
    (small cells withheld)."""
    settings = request.app.state.settings
    return communities.community_rates(session=session, scope=scope, flows_dir=settings.flows_dir,
                                       engine=settings.engine, min_cell=settings.min_cell_size)

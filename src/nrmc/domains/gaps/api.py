"""JSON API of gaps: list, add, import a spreadsheet, link a technology, and the counts of
technologies filling gaps per province and project."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from ...core.enums import GapLevel
from ...core.errors import ImportRejected
from ...web.deps import ApiScope, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.tables import DOWNLOADS, FormatQuery, TableFormat, download
from . import service, upload
from .schemas import COLUMNS, FillSummary, GapIn, GapOut, LinkIn

router = APIRouter(tags=["gaps"])


@router.get("/api/v1/gaps", response_model=list[GapOut], responses=DOWNLOADS)
@cached_read
def list_gaps(session: SessionDep, scope: ApiScope,
              province: Annotated[str | None, Query(pattern=r"^\d{2}(\d{4})?$")] = None,
              level: GapLevel | None = None, open_only: bool = False,
              fmt: FormatQuery = TableFormat.json) -> list[GapOut] | Response:
    """Gaps with how many technologies fill each; `?format=csv|xlsx` gives a file that
    imports back unchanged."""
    found = service.list_gaps(session=session, scope=scope, province=province,
                              level=level.value if level else None, open_only=open_only)
    if fmt != TableFormat.json:
        return download(found, fmt, "gaps", columns=[*COLUMNS, "filled_by"])
    return found


@router.post("/api/v1/gaps", response_model=GapOut, status_code=201)
def add_gap(body: GapIn, session: SessionDep, scope: ApiScope, source: SourceDep) -> GapOut:
    gap = service.create(session=session, scope=scope, data=body, source=source)
    session.commit()
    return GapOut(id=gap.id, province_code=gap.province_code, region_code=gap.region_code,
                  level=gap.level, name=gap.name, specialty=gap.specialty,
                  identified_on=gap.identified_on, source=gap.source, synthetic=gap.synthetic,
                  filled_by=0)


@router.post("/api/v1/gaps/import", responses={422: {"description": "rows refused; nothing stored"}})
def import_gaps(session: SessionDep, scope: ApiScope, source: SourceDep,
                file: Annotated[UploadFile, File(description="CSV or XLSX with columns "
                                                 + ", ".join(COLUMNS))]) -> Response:
    """All or nothing: one bad row refuses the file, and the answer names file, row and field."""
    try:
        with upload.saved(file) as (path, name):
            added, updated = service.import_file(session=session, scope=scope, path=path,
                                                 label=name, source=source)
    except ImportRejected as exc:
        session.rollback()
        return JSONResponse(status_code=422, content={"detail": [
            {"file": p.file, "row": p.row, "field": p.field, "message": p.reason}
            for p in exc.problems]})
    except ValueError as exc:
        return JSONResponse(status_code=413, content={"detail": str(exc)})
    session.commit()
    return JSONResponse({"added": added, "updated": updated})


@router.post("/api/v1/gaps/links", status_code=201)
def link_technology(body: LinkIn, session: SessionDep, scope: ApiScope,
                    source: SourceDep) -> dict[str, int]:
    """Record that a technology (collaboration ledger) fills a gap."""
    service.link(session=session, scope=scope, technology_id=body.technology_id,
                 gap_id=body.gap_id, source=source)
    session.commit()
    return {"technology_id": body.technology_id, "gap_id": body.gap_id}


@router.get("/api/v1/gaps/summary", response_model=dict[str, list[FillSummary]])
@cached_read
def summary(session: SessionDep, scope: ApiScope) -> dict[str, list[FillSummary]]:
    """"N technologies filling M gaps" by province and by project."""
    return {"provinces": service.by_province(session=session, scope=scope),
            "projects": service.by_project(session=session, scope=scope)}

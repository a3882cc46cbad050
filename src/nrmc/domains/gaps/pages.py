"""Pages: gaps per province with the technologies filling them, and the spreadsheet import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from ...core.enums import GapLevel, Role
from ...core.errors import ImportRejected
from ...core.inputs import explain
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.render import render
from ..users.scope import Scope
from . import service, upload
from .schemas import COLUMNS, LinkIn

router = APIRouter(include_in_schema=False)


def _context(session: SessionDep, scope: Scope, province: str | None, level: str | None) -> dict:
    where = province or (scope.province + "0000" if scope.province else None)
    can_link = where is not None and scope.role in (Role.national_admin, Role.provincial_officer,
                                                    Role.hospital_manager)
    return {"gaps": service.list_gaps(session=session, scope=scope, province=province, level=level),
            "technologies": service.technologies_in(session=session, scope=scope, province=where)
            if can_link and where is not None else [],
            "link_gaps": service.list_gaps(session=session, scope=scope, province=where)
            if can_link else [],
            "provinces": service.by_province(session=session, scope=scope),
            "projects": service.by_project(session=session, scope=scope),
            "province": province, "level": level, "levels": list(GapLevel), "columns": COLUMNS,
            "can_import": scope.role in (Role.national_admin, Role.provincial_officer)}


@router.get("/gaps", response_class=HTMLResponse)
@cached_read
def gaps_page(request: Request, session: SessionDep, user: PageUser,
              province: Annotated[str | None, Query(pattern=r"^(\d{2}(\d{4})?)?$")] = None,
              level: GapLevel | None = None) -> HTMLResponse:
    scope = Scope.for_user(user)
    return render(request, "gaps/index.html", user, problems=[],
                  **_context(session, scope, province or None, level.value if level else None))


@router.post("/gaps/import", response_class=HTMLResponse)
def import_page(request: Request, session: SessionDep, user: PageUser, source: SourceDep,
                file: Annotated[UploadFile, File()]) -> HTMLResponse:
    """Upload: all rows stored, or none with each problem listed by file, row and field."""
    scope = Scope.for_user(user)
    try:
        with upload.saved(file) as (path, name):
            added, updated = service.import_file(session=session, scope=scope, path=path,
                                                 label=name, source=source)
    except ImportRejected as exc:
        session.rollback()
        return render(request, "gaps/index.html", user, status_code=422,
                      problems=exc.problems, **_context(session, scope, None, None))
    except ValueError as exc:
        return render(request, "gaps/index.html", user, status_code=413,
                      problems=[str(exc)], **_context(session, scope, None, None))
    session.commit()
    return render(request, "gaps/index.html", user, problems=[], imported=(added, updated),
                  **_context(session, scope, None, None))


@router.post("/gaps/links", response_class=HTMLResponse)
def link_page(request: Request, session: SessionDep, user: PageUser, source: SourceDep,
              technology_id: Annotated[str, Form()], gap_id: Annotated[str, Form()],
              province: Annotated[str, Form()] = "") -> HTMLResponse:
    """Form post: record that a technology fills a gap (audited)."""
    scope = Scope.for_user(user)
    try:
        data = LinkIn.model_validate({"technology_id": technology_id, "gap_id": gap_id})
    except ValidationError as exc:
        return render(request, "gaps/index.html", user, status_code=422,
                      problems=[f"{e.field}: {e.message}" for e in explain(exc)],
                      **_context(session, scope, province or None, None))
    service.link(session=session, scope=scope, technology_id=data.technology_id,
                 gap_id=data.gap_id, source=source)
    session.commit()
    return render(request, "gaps/index.html", user, problems=[], linked=True,
                  **_context(session, scope, province or None, None))

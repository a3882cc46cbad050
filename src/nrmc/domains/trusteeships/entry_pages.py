"""Pages that record trusteeships: the new-trusteeship form, the spreadsheet upload and its
template. Offered to the callers the API lets create (`service.may_create`); registered before
`pages.router`, whose `/trusteeships/{id}` would otherwise take `/trusteeships/new`."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from pydantic import Field as Bounded
from sqlalchemy import select

from ...core.errors import ImportRejected, RowProblem
from ...core.inputs import today_beijing
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.render import render
from ..hospitals.models import Hospital
from ..projects import service as projects
from ..referrals import service as referrals
from ..users.scope import Scope
from ..users.service import Refused
from . import entry, excel, service
from .schemas import Grade

router = APIRouter(include_in_schema=False)


class Typed(BaseModel):
    """The form as typed: text only, bounded (the parser judges it; see entry.FIELDS)."""

    managed_hospital_code: str = Bounded("", max_length=200)
    managing_hospital_code: str = Bounded("", max_length=200)
    start_date: str = Bounded("", max_length=40)
    term_years: str = Bounded("", max_length=40)
    separated: str = Bounded("", max_length=40)
    start_grade: str = Bounded("", max_length=40)
    target_grade: str = Bounded("", max_length=40)
    goal_deadline: str = Bounded("", max_length=40)
    posts_planned: str = Bounded("", max_length=40)
    departments_planned: str = Bounded("", max_length=40)
    project_id: str = Bounded("", max_length=40)
    note: str = Bounded("", max_length=4000)


def _writer(user: Any) -> Scope:
    scope = Scope.for_user(user)
    service.require_create(scope)
    return scope


def _offered(session: SessionDep, scope: Scope) -> list[tuple[str, str]]:
    """Hospitals offered before anything is typed: a hospital's own and its alliance and project
    partners (the picker searches every hospital the caller may pick)."""
    if scope.hospital is None:
        return []
    wanted = {scope.hospital, *referrals.partner_codes(session, scope.hospital)}
    return [(c, n) for c, n in session.execute(select(Hospital.code, Hospital.name_zh)
                                               .where(Hospital.code.in_(wanted)).order_by(Hospital.code))]


def _projects(session: SessionDep, scope: Scope) -> list[tuple[int, str]]:
    found, _ = projects.list_visible(session=session, scope=scope)
    names = dict(session.execute(select(Hospital.code, Hospital.name_zh).where(
        Hospital.code.in_({p.project_hospital_code for p in found}))).all())
    return [(p.id, f"#{p.id} {names.get(p.project_hospital_code, p.project_hospital_code)}"
                   f"{f' · 第{p.batch}批' if p.batch else ''}") for p in found]


def _page(request: Request, session: SessionDep, user: Any, scope: Scope, *, status_code: int = 200,
          typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          problems: list[RowProblem] | None = None, upload_name: str = "") -> HTMLResponse:
    return render(request, "trusteeships/new.html", user, status_code=status_code,
                  fields={f.name: f for f in entry.FIELDS}, grades=list(Grade),
                  offered=_offered(session, scope), projects=_projects(session, scope),
                  typed=typed or {"start_date": str(today_beijing()), "separated": "是"},
                  errors=errors or {}, problems=problems or [], upload_name=upload_name,
                  max_rows=excel.MAX_ROWS)


@router.get("/trusteeships/new", response_class=HTMLResponse)
def new_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    return _page(request, session, user, _writer(user))


@router.post("/trusteeships/new", response_class=HTMLResponse, response_model=None)
def create_form(request: Request, session: SessionDep, user: PageUser, source: SourceDep,
                form: Annotated[Typed, Form()]) -> Response:
    """Form post: each refused value is shown beside its field in Chinese and English, what was
    typed is kept, and nothing is stored; a stored trusteeship is audited and listed."""
    scope = _writer(user)
    typed = entry.typed_values(form.model_dump())
    data, errors = entry.parse(session=session, scope=scope, raw=typed)
    if data is not None:
        try:
            made = service.create(session=session, scope=scope, data=data, source=source)
        except Refused as exc:
            session.rollback()
            errors = exc.problems
        else:
            session.commit()
            return RedirectResponse(f"/trusteeships?created={made.id}#trusteeship-{made.id}",
                                    status_code=303)
    return _page(request, session, user, scope, status_code=422, typed=typed,
                 errors={e.field: e.message for e in errors})


@router.post("/trusteeships/upload", response_class=HTMLResponse, response_model=None)
def upload(request: Request, session: SessionDep, user: PageUser, source: SourceDep,
           file: Annotated[UploadFile, File()]) -> Response:
    """Spreadsheet upload: every row stored, or none with each problem listed by file, row and
    field."""
    scope = _writer(user)
    filename = file.filename or "upload.xlsx"
    try:
        ids = excel.import_upload(session=session, scope=scope, filename=filename,
                                  content=file.file.read(excel.MAX_BYTES + 1), source=source)
    except ImportRejected as exc:
        session.rollback()
        return _page(request, session, user, scope, status_code=422, problems=exc.problems,
                     upload_name=exc.file)
    session.commit()
    return RedirectResponse(f"/trusteeships?imported={len(ids)}", status_code=303)


@router.get("/trusteeships/template.xlsx")
def template(user: PageUser) -> Response:
    _writer(user)
    name = quote("nrmc-trusteeships-template.xlsx")
    return Response(excel.template(), media_type=excel.XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})

"""Pages for a project's staff: record each kind of ledger row, the weekly sheet, Excel
template / upload / preview / confirm, and the monthly review.

Plain HTML forms (no script needed). A refused form comes back with the message beside each
field and the typed values kept (422; 409 for a locked month or a clash); nothing is stored.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from ...core.enums import MonthStatus
from ...core.errors import Conflict, Forbidden, ImportRejected, NotFound
from ...core.inputs import explain, today_beijing
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.render import render
from ...web.tables import DbId
from ..projects.models import Project
from ..users.scope import Scope
from . import entry, excel, review, week
from .access import may_record, visible_project
from .forms import SHEETS, form_values

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTION_ROWS = 3


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as text fields (async: reading the body needs the event loop)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def _context(session: Session, scope: Scope, project_id: int) -> dict[str, Any]:
    project = visible_project(session, scope, project_id)
    return {"project": project, "kinds": entry.KINDS, "sheets": SHEETS,
            "can_record": may_record(session, scope, project),
            "can_review": review.may_review(session, scope, project)}


def _rows(session: Session, scope: Scope, project: Project, kind: str, page: int) -> dict[str, Any]:
    spec = entry.KINDS[kind]
    rows, total = entry.list_rows(session=session, scope=scope, project_id=project.id, kind=spec,
                                  limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    shown = [entry.out(session, spec, r) for r in rows]
    months = {review.month_of(d) for d in (spec.record_date(r) for r in rows) if d is not None}
    states = review.states(session, project.id, months)
    for item, row in zip(shown, rows, strict=True):
        day = spec.record_date(row)
        item["_locked"] = day is not None and \
            states[review.month_of(day)].status == MonthStatus.reviewed
    return {"rows": shown, "total": total, "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)}


@router.get("/projects/{project_id}/ledger", response_class=HTMLResponse)
def ledger_page(project_id: DbId, request: Request, session: SessionDep, user: PageUser,
                kind: Annotated[str, Query(max_length=20)] = "dispatches",
                page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                saved: Annotated[int, Query(ge=0, le=10_000)] = -1,
                edit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> HTMLResponse:
    """The kind's form and its rows; `edit` fills the form with one row to change it."""
    scope = Scope.for_user(user)
    spec = entry.kind_of(kind)
    context = _context(session, scope, project_id)
    values: dict[str, str] = {}
    if edit is not None and context["can_record"]:
        values = _as_form(entry.fields_of(session, spec, entry.get_row(session, scope, project_id,
                                                                        spec, edit)))
    return render(request, "ledger/entry.html", user, kind=kind, values=values, errors={},
                  saved=saved, editing=edit if values else None, action_rows=_action_rows(values),
                  **context, **_rows(session, scope, context["project"], kind, page))


def _as_form(fields: dict[str, Any]) -> dict[str, str]:
    """A stored row as the form shows it (是/否 for yes/no, 、 between list items)."""
    out: dict[str, str] = {}
    for key, value in fields.items():
        if key == "actions":
            for i, action in enumerate(value):
                for name in ("description", "owner", "due_on"):
                    out[f"actions-{i}-{name}"] = str(action[name] or "")
                if action["done"]:
                    out[f"actions-{i}-done"] = "on"
        elif isinstance(value, bool):
            out[key] = "是" if value else "否"
        elif isinstance(value, list):
            out[key] = "、".join(value)
        else:
            out[key] = "" if value is None else str(getattr(value, "value", value))
    return out


def _action_rows(values: dict[str, str]) -> int:
    """Follow-up action lines on the visit form: every stored one, and one free."""
    stored = {k.split("-")[1] for k in values if k.startswith("actions-")}
    return max(ACTION_ROWS, len(stored) + 1)


def _refuse(request: Request, session: Session, user: Any, scope: Scope, project_id: int,
            kind: str, values: dict[str, str], errors: dict[str, str], problem: str,
            status: int, editing: int | None = None) -> HTMLResponse:
    session.rollback()
    context = _context(session, scope, project_id)
    return render(request, "ledger/entry.html", user, status_code=status, kind=kind,
                  values=values, errors=errors, problem=problem, saved=-1, editing=editing,
                  action_rows=_action_rows(values), **context,
                  **_rows(session, scope, context["project"], kind, 1))


def _visit_actions(form: dict[str, str]) -> list[dict[str, Any]]:
    actions = []
    for i in range(_action_rows(form)):
        cells = {k: form.get(f"actions-{i}-{k}", "").strip()
                 for k in ("description", "owner", "due_on")}
        if any(cells.values()):
            actions.append({**cells, "done": form.get(f"actions-{i}-done") == "on"})
    return actions


# The weekly sheet is declared before /ledger/{kind} so that "week" is not read as a kind.
@router.get("/projects/{project_id}/ledger/week", response_class=HTMLResponse)
def week_page(project_id: DbId, request: Request, session: SessionDep, user: PageUser,
              start: Annotated[str, Query(max_length=10)] = "",
              saved: Annotated[int, Query(ge=0, le=10_000)] = -1) -> HTMLResponse:
    scope = Scope.for_user(user)
    context = _context(session, scope, project_id)
    day, errors = week.check_week(start) if start else (week.monday(today_beijing()), [])
    day = day or week.monday(today_beijing())
    grid = week.load(session=session, scope=scope, project_id=project_id, week=day)
    values: dict[str, str] = {}
    for i, (department, cells) in enumerate(sorted(grid.items())):
        values[f"dept-{i}"] = department
        for key, line in cells.items():
            values[f"{i}-{key}"] = str(line.count)
    locked = review.states(session, project_id, [review.month_of(day)])[review.month_of(day)]
    return render(request, "ledger/week.html", user, week=day, values=values,
                  errors={e.field: e.message for e in errors}, saved=saved,
                  figures=week.FIGURES, rows=week.ROWS, month_state=locked,
                  previous=day - timedelta(days=7), next=day + timedelta(days=7), **context)


@router.post("/projects/{project_id}/ledger/week", response_class=HTMLResponse, response_model=None)
def week_save(project_id: DbId, request: Request, session: SessionDep, user: PageUser,
              source: SourceDep, form: FormFields) -> Response:
    scope = Scope.for_user(user)
    context = _context(session, scope, project_id)
    day, week_errors = week.check_week(form.get("week", ""))
    sheet, errors = week.parse(form)
    errors = week_errors + errors
    problem, status = "", 422
    if not errors and day is not None:
        try:
            changed = week.save(session=session, scope=scope, project_id=project_id, week=day,
                                sheet=sheet, source=source)
            session.commit()
            return RedirectResponse(f"/projects/{project_id}/ledger/week?start={day}&saved={changed}",
                                    status_code=303)
        except (Conflict, Forbidden, NotFound) as exc:
            session.rollback()
            problem, status = str(exc), 409 if isinstance(exc, Conflict) else 403
    shown = day or week.monday(today_beijing())
    state = review.states(session, project_id, [review.month_of(shown)])[review.month_of(shown)]
    return render(request, "ledger/week.html", user, status_code=status, week=shown,
                  values=form, errors={e.field: e.message for e in errors}, problem=problem,
                  saved=-1, figures=week.FIGURES, rows=week.ROWS, month_state=state,
                  previous=shown - timedelta(days=7), next=shown + timedelta(days=7), **context)


@router.post("/projects/{project_id}/ledger/{kind}", response_class=HTMLResponse, response_model=None)
def create_row(project_id: DbId, kind: str, request: Request, session: SessionDep,
               user: PageUser, source: SourceDep, form: FormFields) -> Response:
    """Add one row from the page's form."""
    return _save(request, session, user, source, form, project_id, kind, None)


@router.post("/projects/{project_id}/ledger/{kind}/{row_id}/edit", response_class=HTMLResponse,
             response_model=None)
def update_row(project_id: DbId, kind: str, row_id: DbId, request: Request, session: SessionDep,
               user: PageUser, source: SourceDep, form: FormFields) -> Response:
    """Change one row from the page's form (the whole row is checked again)."""
    return _save(request, session, user, source, form, project_id, kind, row_id)


def _save(request: Request, session: Session, user: Any, source: str, form: dict[str, str],
          project_id: int, kind: str, row_id: int | None) -> Response:
    scope = Scope.for_user(user)
    spec = entry.kind_of(kind)
    values = form_values(kind, form)
    if kind == "visits":
        values["actions"] = _visit_actions(form)
    try:
        data = spec.fields.model_validate(values)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in explain(exc):
            parts = error.field.split(".")
            key = f"actions-{parts[1]}-{parts[2]}" if parts[0] == "actions" and len(parts) > 2 \
                else parts[0]
            errors.setdefault(key, error.message)
        return _refuse(request, session, user, scope, project_id, kind, form, errors, "", 422,
                       row_id)
    try:
        if row_id is None:
            entry.create(session=session, scope=scope, project_id=project_id, kind=spec,
                         data=data, source=source)
        else:
            entry.update(session=session, scope=scope, project_id=project_id, kind=spec,
                         row_id=row_id, data=data, source=source)
    except (Conflict, Forbidden) as exc:
        return _refuse(request, session, user, scope, project_id, kind, form, {}, str(exc),
                       409 if isinstance(exc, Conflict) else 403, row_id)
    session.commit()
    return RedirectResponse(f"/projects/{project_id}/ledger?kind={kind}&saved=1", status_code=303)


@router.post("/projects/{project_id}/ledger/{kind}/{row_id}/delete", response_class=HTMLResponse,
             response_model=None)
def delete_row(project_id: DbId, kind: str, row_id: DbId, request: Request, session: SessionDep,
               user: PageUser, source: SourceDep) -> Response:
    scope = Scope.for_user(user)
    try:
        entry.delete(session=session, scope=scope, project_id=project_id,
                     kind=entry.kind_of(kind), row_id=row_id, source=source)
    except Conflict as exc:
        return _refuse(request, session, user, scope, project_id, kind, {}, {}, str(exc), 409)
    session.commit()
    return RedirectResponse(f"/projects/{project_id}/ledger?kind={kind}&saved=0", status_code=303)


# --- Excel ----------------------------------------------------------------------------------

@router.get("/projects/{project_id}/ledger/{kind}/template.xlsx")
def download_template(project_id: DbId, kind: str, session: SessionDep, user: PageUser) -> Response:
    visible_project(session, Scope.for_user(user), project_id)
    entry.kind_of(kind)
    name = quote(f"nrmc-{kind}-template.xlsx")
    return Response(excel.template(kind), media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


@router.post("/projects/{project_id}/ledger/{kind}/upload", response_class=HTMLResponse)
def upload(project_id: DbId, kind: str, request: Request, session: SessionDep, user: PageUser,
           file: Annotated[UploadFile, File()]) -> HTMLResponse:
    """Check an uploaded sheet and show the preview; nothing is stored yet."""
    scope = Scope.for_user(user)
    entry.kind_of(kind)
    content = file.file.read(excel.MAX_UPLOAD_BYTES + 1)
    filename = (file.filename or "upload.xlsx")[-200:]
    checked = excel.preview(session=session, scope=scope, project_id=project_id, kind=kind,
                            filename=filename, content=content)
    session.rollback()
    return render(request, "ledger/preview.html", user, kind=kind, preview=checked,
                  status_code=200 if checked.ok else 422,
                  content=base64.b64encode(content).decode() if checked.ok else "",
                  **_context(session, scope, project_id))


@router.post("/projects/{project_id}/ledger/{kind}/confirm", response_class=HTMLResponse,
             response_model=None)
def confirm(project_id: DbId, kind: str, request: Request, session: SessionDep, user: PageUser,
            source: SourceDep, content: Annotated[str, Form(max_length=3_000_000)],
            filename: Annotated[str, Form(max_length=200)]) -> Response:
    """Store the previewed rows, all or none (the rows are checked again)."""
    scope = Scope.for_user(user)
    entry.kind_of(kind)
    try:
        raw = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    try:
        added = excel.confirm(session=session, scope=scope, project_id=project_id, kind=kind,
                              filename=filename, content=raw, source=source)
    except ImportRejected:
        session.rollback()
        checked = excel.preview(session=session, scope=scope, project_id=project_id, kind=kind,
                                filename=filename, content=raw)
        session.rollback()
        return render(request, "ledger/preview.html", user, kind=kind, preview=checked,
                      status_code=422, content="", **_context(session, scope, project_id))
    session.commit()
    return RedirectResponse(f"/projects/{project_id}/ledger?kind={kind}&saved={added}",
                            status_code=303)


# --- monthly review -------------------------------------------------------------------------

def _recent_months(count: int = 12) -> list[str]:
    today = today_beijing()
    start = date(today.year - (1 if today.month <= count - 1 else 0), 1, 1)
    months = review.months_between(start, today)
    return months[-count:][::-1]


@router.get("/projects/{project_id}/months", response_class=HTMLResponse)
def months_page(project_id: DbId, request: Request, session: SessionDep, user: PageUser,
                problem: Annotated[str, Query(max_length=300)] = "") -> HTMLResponse:
    scope = Scope.for_user(user)
    context = _context(session, scope, project_id)
    states = review.states(session, project_id, _recent_months())
    return render(request, "ledger/months.html", user, states=sorted(states.values(),
                  key=lambda s: s.month, reverse=True), problem=problem, **context)


@router.post("/projects/{project_id}/months/{month}", response_class=HTMLResponse,
             response_model=None)
def move_month(project_id: DbId, month: str, request: Request, session: SessionDep,
               user: PageUser, source: SourceDep,
               action: Annotated[str, Form(pattern="^(submit|reviewed|returned|open)$")],
               comment: Annotated[str, Form(max_length=2000)] = "",
               back: Annotated[str, Form(max_length=200)] = "") -> Response:
    scope = Scope.for_user(user)
    try:
        if action == "submit":
            review.submit(session=session, scope=scope, project_id=project_id, month=month,
                          source=source)
        else:
            review.decide(session=session, scope=scope, project_id=project_id, month=month,
                          status=action, comment=comment, source=source)
    except (Conflict, Forbidden) as exc:
        session.rollback()
        return RedirectResponse(f"/projects/{project_id}/months?problem={quote(str(exc)[:290])}",
                                status_code=303)
    session.commit()
    target = back if back.startswith("/reviews") else f"/projects/{project_id}/months"
    return RedirectResponse(target, status_code=303)


@router.get("/reviews", response_class=HTMLResponse)
def reviews_page(request: Request, session: SessionDep, user: PageUser,
                 month: Annotated[str, Query(max_length=7)] = "") -> HTMLResponse:
    """A reviewer's month: every project it reviews, with the month's state and row counts."""
    scope = Scope.for_user(user)
    chosen = month or _recent_months(2)[1]
    try:
        chosen = review.parse_month(chosen)
    except Conflict:
        chosen = _recent_months(2)[1]
    return render(request, "ledger/reviews.html", user, month=chosen,
                  months=_recent_months(), lines=review.overview(session=session, scope=scope, month=chosen))

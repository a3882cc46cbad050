"""Pages: the programme's construction timeline and one project's timeline (add a milestone)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from ...core.enums import Role
from ...core.inputs import explain, today_beijing
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.render import render
from ...web.tables import DbId
from ..hospitals.models import Hospital
from ..projects import service as projects
from ..users.scope import Scope
from . import service
from .api import timelines
from .schemas import ORDER, MilestoneIn, MilestoneKind

router = APIRouter(include_in_schema=False)


@router.get("/milestones", response_class=HTMLResponse)
@cached_read
def programme(request: Request, session: SessionDep, user: PageUser,
              batch: Annotated[int | None, Query(ge=1, le=5)] = None,
              late_only: bool = False) -> HTMLResponse:
    scope = Scope.for_user(user)
    day = today_beijing()
    found = timelines(session, scope, day, None, batch)
    if late_only:
        found = [t for t in found if t.late]
    rows: list[dict[str, Any]] = []
    for t in found:  # one row per project: its opening, planned against actual
        for m in t.milestones:
            if m.kind == "opened" and m.seq == 1:
                rows.append({"row": f"#{t.project_id} {t.name[:12]}", "label": t.name,
                             "planned_on": m.planned_on, "actual_on": m.actual_on, "late": m.late})
    start: date = min((r["planned_on"] for r in rows), default=day)
    return render(request, "milestones/programme.html", user, timelines=found, batch=batch,
                  late_only=late_only, as_of=day,
                  data={"rows": rows, "as_of": day, "start": start, "row_height": 16})


def _project_context(session: SessionDep, scope: Scope, project_id: int) -> dict[str, Any]:
    project = projects.get_visible(session=session, scope=scope, project_id=project_id)
    day = today_beijing()
    rows = service.for_project(session=session, scope=scope, project_id=project_id, as_of=day)
    status, origin = service.derived_status(project, rows, day)
    host = session.get(Hospital, project.project_hospital_code)
    data = {"rows": [{"row": m.label + (f" #{m.seq}" if m.seq > 1 else ""), "label": m.label,
                      "planned_on": m.planned_on, "actual_on": m.actual_on, "late": m.late}
                     for m in rows],
            "as_of": day, "start": min((m.planned_on for m in rows), default=day)}
    return {"project": project, "host": host, "rows": rows, "status": status, "origin": origin,
            "data": data, "as_of": day, "kinds": ORDER,
            "can_write": scope.role not in (Role.national_analyst, Role.clinician)}


@router.get("/milestones/projects/{project_id}", response_class=HTMLResponse)
@cached_read
def project_timeline(project_id: DbId, request: Request, session: SessionDep,
                     user: PageUser) -> HTMLResponse:
    context = _project_context(session, Scope.for_user(user), project_id)
    return render(request, "milestones/project.html", user, errors={}, typed={}, **context)


@router.post("/milestones/projects/{project_id}", response_class=HTMLResponse)
def add(project_id: DbId, request: Request, session: SessionDep, user: PageUser,
        source: SourceDep, kind: Annotated[str, Form()], planned_on: Annotated[str, Form()],
        actual_on: Annotated[str, Form()] = "", seq: Annotated[str, Form()] = "1",
        note: Annotated[str, Form()] = "") -> HTMLResponse:
    """Form post: a refused value is shown beside its field and what was typed is kept."""
    scope = Scope.for_user(user)
    typed = {"kind": kind, "planned_on": planned_on, "actual_on": actual_on, "seq": seq,
             "note": note}
    try:
        data = MilestoneIn.model_validate({**typed, "actual_on": actual_on or None})
    except ValidationError as exc:
        context = _project_context(session, scope, project_id)
        return render(request, "milestones/project.html", user, status_code=422, typed=typed,
                      errors={e.field: e.message for e in explain(exc)}, **context)
    service.record(session=session, scope=scope, project_id=project_id, data=data, source=source)
    session.commit()
    context = _project_context(session, scope, project_id)
    return render(request, "milestones/project.html", user, errors={}, typed={},
                  saved=MilestoneKind(data.kind).label, **context)

"""Pages: the project list and the project dashboard (status form via htmx, audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from ...core.enums import ProjectStatus, Role
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.render import render
from ...web.tables import DbId
from ..alliances import service as alliances
from ..audit import service as audit
from ..hospitals import service as hospitals
from ..users.scope import Scope
from . import service

router = APIRouter(include_in_schema=False)


def _can_write(scope: Scope) -> bool:
    return scope.role not in (Role.national_analyst, Role.clinician)


@router.get("/projects", response_class=HTMLResponse)
def project_list(request: Request, session: SessionDep, user: PageUser,
                 batch: Annotated[int | None, Query(ge=1, le=5)] = None) -> HTMLResponse:
    scope = Scope.for_user(user)
    found, total = service.list_visible(session=session, scope=scope, batch=batch)
    service.prefetch_hospitals(session=session, projects=found)
    return render(request, "projects/list.html", user, batch=batch, total=total,
                  projects=[service.to_out(session, p) for p in found])


def _dashboard_context(session: SessionDep, scope: Scope, project_id: int) -> dict:
    project = service.get_visible(session=session, scope=scope, project_id=project_id)
    detail = service.to_detail(session, project)
    linked, _ = alliances.list_visible(session=session, scope=scope, project_id=project.id)
    history, _ = audit.list_visible(session=session, scope=scope, object_type="project",
                                    object_id=str(project.id), limit=20)
    host = hospitals.get(session=session, code=project.project_hospital_code)
    return {"project": detail, "host": host, "history": history,
            "alliances": [alliances.to_out(session, a) for a in linked],
            "statuses": list(ProjectStatus), "can_write": _can_write(scope)}


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def dashboard(project_id: DbId, request: Request, session: SessionDep,
              user: PageUser) -> HTMLResponse:
    context = _dashboard_context(session, Scope.for_user(user), project_id)
    return render(request, "projects/dashboard.html", user, **context)


@router.post("/projects/{project_id}/status", response_class=HTMLResponse)
def change_status(
    project_id: DbId, request: Request, session: SessionDep, user: PageUser, source: SourceDep,
    status: Annotated[ProjectStatus, Form()], planned_beds: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """htmx form: answers the refreshed status panel (the write is audited)."""
    scope = Scope.for_user(user)
    changes: dict[str, object] = {"status": status}
    if planned_beds.strip().isdigit():
        changes["planned_beds"] = int(planned_beds)
    service.update(session=session, scope=scope, project_id=project_id, changes=changes,
                   source=source)
    session.commit()
    context = _dashboard_context(session, scope, project_id)
    return render(request, "projects/_status.html", user, saved=True, **context)

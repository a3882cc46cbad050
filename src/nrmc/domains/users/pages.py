"""Pages: user administration (/users) for administrators, one's own account for everyone.

Forms post back to the same page: a refused field gets its message beside it and the typed
values stay; a created user or a reset password shows the one-time password once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ...core import keys
from ...core.enums import Role
from ...core.errors import Conflict, Forbidden, NotFound
from ...core.inputs import explain
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.render import render
from . import admin
from .models import User
from .schemas import UserCreate, UserPatch
from .service import Refused

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=400)]


def _grantable(actor: User) -> list[Role]:
    if Role(actor.role) == Role.national_admin:
        return list(Role)
    if Role(actor.role) == Role.provincial_officer:
        return [r for r in Role if admin.RANK[r] <= admin.RANK[Role.provincial_officer]]
    return []


def _messages(exc: Exception, *, default_field: str) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return {e.field: f"{e.message_zh} {e.message_en}" for e in explain(exc)}
    if isinstance(exc, Refused):
        return {p.field: f"{p.message_zh} {p.message_en}" for p in exc.problems}
    if isinstance(exc, NotFound):
        return {"scope_code": f"找不到该范围（省或医院编码） No such province or hospital code: {exc}"}
    if isinstance(exc, Conflict):
        return {default_field: f"已存在或有冲突 {exc}"}
    return {"__form__": f"无权操作 Not allowed: {exc}"}


def _list(request: Request, session: SessionDep, user: User, *, status_code: int = 200,
          **context: Any) -> HTMLResponse:
    settings = request.app.state.settings
    fingerprints = None
    if Role(user.role) == Role.national_admin:
        fingerprints = {"pseudonym": keys.fingerprint(settings.pseudonym_key),
                        "secret": keys.fingerprint(settings.secret_key)}
    context.setdefault("form", {})
    context.setdefault("errors", {})
    return render(request, "users/list.html", user, status_code=status_code,
                  users=admin.visible(session=session, actor=user), roles=_grantable(user),
                  manager=admin.is_manager(user), fingerprints=fingerprints, **context)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    return _list(request, session, user)


@router.post("/users", response_class=HTMLResponse)
def create_user(request: Request, session: SessionDep, user: PageUser, source: SourceDep,
                username: Field = "", display_name: Field = "", role: Field = "",
                scope_code: Field = "") -> HTMLResponse:
    form = {"username": username, "display_name": display_name, "role": role,
            "scope_code": scope_code}
    try:
        data = UserCreate(username=username.strip(), display_name=display_name, role=role,  # type: ignore[arg-type]
                          scope_code=scope_code.strip() or None)
        made, password = admin.create(session=session, actor=user, username=data.username,
                                      role=data.role, scope_code=data.scope_code,
                                      display_name=data.display_name, source=source)
    except (ValidationError, Refused, NotFound, Conflict, Forbidden) as exc:
        session.rollback()
        return _list(request, session, user, status_code=422, form=form,
                     errors=_messages(exc, default_field="username"))
    session.commit()
    return _list(request, session, user, status_code=201, created=made, one_time_password=password)


def _edit(request: Request, session: SessionDep, user: User, target: User, *,
          status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("errors", {})
    context.setdefault("form", admin.snapshot(target))
    return render(request, "users/edit.html", user, status_code=status_code, target=target,
                  can_manage=admin.can_manage(session=session, actor=user, target=target),
                  roles=_grantable(user), **context)


@router.get("/users/{username}", response_class=HTMLResponse)
def user_page(username: str, request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    target = admin.get_visible(session=session, actor=user, username=username)
    return _edit(request, session, user, target)


@router.post("/users/{username}", response_class=HTMLResponse)
def update_user(username: str, request: Request, session: SessionDep, user: PageUser,
                source: SourceDep, display_name: Field = "", role: Field = "",
                scope_code: Field = "", active: Field = "") -> Response:
    target = admin.get_visible(session=session, actor=user, username=username)
    form: dict[str, Any] = {"display_name": display_name, "role": role or target.role,
                            "scope_code": scope_code, "active": active == "on"}
    fields: dict[str, Any] = {"display_name": display_name}
    if admin.can_manage(session=session, actor=user, target=target):
        fields.update(role=role or target.role, scope_code=scope_code.strip() or None,
                      active=active == "on")
    try:
        changes = UserPatch(**fields).model_dump(exclude_unset=True)
        admin.update(session=session, actor=user, username=username, changes=changes,
                     source=source)
    except (ValidationError, Refused, NotFound, Conflict, Forbidden) as exc:
        session.rollback()
        target = admin.get_visible(session=session, actor=user, username=username)
        return _edit(request, session, user, target, status_code=422, form=form,
                     errors=_messages(exc, default_field="display_name"))
    session.commit()
    return RedirectResponse(f"/users/{username}?saved=1", status_code=303)


@router.post("/users/{username}/reset", response_class=HTMLResponse)
def reset_password(username: str, request: Request, session: SessionDep, user: PageUser,
                   source: SourceDep) -> HTMLResponse:
    password = admin.reset_password(session=session, actor=user, username=username, source=source)
    session.commit()
    target = admin.get_visible(session=session, actor=user, username=username)
    return _edit(request, session, user, target, one_time_password=password)

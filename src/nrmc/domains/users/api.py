"""JSON API for users: who am I, my password, and user administration (admin.py's rules)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ...web.deps import CurrentUser, SessionDep, SignedInUser, SourceDep
from ...web.read_cache import cached_read
from ...web.tables import DOWNLOADS, FormatQuery, Limit, Offset, Page, TableFormat, download
from . import admin
from .schemas import PasswordChange, PasswordReset, UserCreate, UserCreated, UserOut, UserPatch

router = APIRouter(prefix="/api/v1/users", tags=["users"])
REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"description": "a field breaks a rule; each is named, in Chinese and English"}}


@router.get("/me", response_model=UserOut)
@cached_read
async def me(user: SignedInUser) -> UserOut:
    """The caller's own account. Async: one attribute copy costs less than a thread hop."""
    return UserOut.model_validate(user)


@router.post("/me/password", status_code=204, responses=REFUSED)
def change_my_password(body: PasswordChange, session: SessionDep, user: SignedInUser,
                       source: SourceDep) -> Response:
    """Change one's own password (the current one is required). Every session and token of
    the user ends, including the one used here: sign in again with the new password."""
    admin.change_own_password(session=session, user=user, old_password=body.old_password,
                              new_password=body.new_password, source=source)
    session.commit()
    return Response(status_code=204)


@router.get("", response_model=Page[UserOut], responses=DOWNLOADS)
def list_users(session: SessionDep, user: CurrentUser, limit: Limit = 50, offset: Offset = 0,
               fmt: FormatQuery = TableFormat.json) -> Page[UserOut] | Response:
    """Every user for a national administrator, the province's for a provincial officer;
    anyone else sees only themselves."""
    out = [UserOut.model_validate(u) for u in admin.visible(session=session, actor=user)]
    if fmt != TableFormat.json:
        return download(out, fmt, "users", columns=list(UserOut.model_fields))
    return Page(items=out[offset:offset + limit], total=len(out), limit=limit, offset=offset)


@router.post("", response_model=UserCreated, status_code=201, responses=REFUSED)
def create_user(body: UserCreate, session: SessionDep, user: CurrentUser,
                source: SourceDep) -> UserCreated:
    """Create an account with a one-time password, answered once: hand it over in person;
    the new user must change it at the first sign-in."""
    made, password = admin.create(session=session, actor=user, username=body.username,
                                  role=body.role, scope_code=body.scope_code,
                                  display_name=body.display_name, source=source)
    session.commit()
    return UserCreated(user=UserOut.model_validate(made), one_time_password=password)


@router.get("/{username}", response_model=UserOut)
def get_user(username: str, session: SessionDep, user: CurrentUser) -> UserOut:
    return UserOut.model_validate(admin.get_visible(session=session, actor=user, username=username))


@router.patch("/{username}", response_model=UserOut, responses=REFUSED)
def update_user(username: str, body: UserPatch, session: SessionDep, user: CurrentUser,
                source: SourceDep) -> UserOut:
    """Change display name, role, scope or active. A new role, scope or activity ends the
    user's sessions and tokens at once."""
    changed = admin.update(session=session, actor=user, username=username,
                           changes=body.model_dump(exclude_unset=True), source=source)
    session.commit()
    return UserOut.model_validate(changed)


@router.post("/{username}/password-reset", response_model=PasswordReset)
def reset_password(username: str, session: SessionDep, user: CurrentUser,
                   source: SourceDep) -> PasswordReset:
    """A new one-time password for a user you manage (answered once); their sessions end."""
    password = admin.reset_password(session=session, actor=user, username=username, source=source)
    session.commit()
    return PasswordReset(one_time_password=password)

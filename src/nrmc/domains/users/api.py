"""JSON API for users: who am I, and (for national administrators) everyone."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ...core.enums import Role
from ...core.errors import NotFound
from ...web.deps import CurrentUser, SessionDep
from ...web.tables import DOWNLOADS, FormatQuery, Limit, Offset, Page, TableFormat, download
from . import service
from .schemas import UserOut

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.get("", response_model=Page[UserOut], responses=DOWNLOADS)
def list_users(session: SessionDep, user: CurrentUser, limit: Limit = 50, offset: Offset = 0,
               fmt: FormatQuery = TableFormat.json) -> Page[UserOut] | Response:
    """Every user for a national administrator; anyone else sees only themselves."""
    everyone = service.list_users(session=session) if user.role == Role.national_admin else [user]
    out = [UserOut.model_validate(u) for u in everyone]
    if fmt != TableFormat.json:
        return download(out, fmt, "users", columns=list(UserOut.model_fields))
    return Page(items=out[offset:offset + limit], total=len(out), limit=limit, offset=offset)


@router.get("/{username}", response_model=UserOut)
def get_user(username: str, session: SessionDep, user: CurrentUser) -> UserOut:
    if user.role != Role.national_admin and username != user.username:
        raise NotFound(f"no user {username!r}")
    return UserOut.model_validate(service.get_by_username(session=session, username=username))

"""Typed dependencies every route uses: the request's session, the caller, its scope, CSRF.

The API accepts a bearer token or the page session cookie; pages accept only the cookie and
send an anonymous visitor to /login. A cookie-authenticated unsafe request must carry the CSRF
token (form field `csrf_token` or header `X-CSRF-Token`, which htmx sends from <body>).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from ..domains.hospitals import service as hospitals
from ..domains.hospitals.models import Hospital
from ..domains.projects import service as projects
from ..domains.projects.models import Project
from ..domains.regions import service as regions
from ..domains.regions.models import Region
from ..domains.users.models import User
from ..domains.users.scope import Scope
from .security import same_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class LoginRequired(Exception):
    """A page was asked for without a signed-in session; the app redirects to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request; routes that write commit explicitly (the caller commits).

    Async on purpose: the teardown (returning the connection to the pool) then runs on the
    event loop. A sync generator's teardown needs a free worker thread, and with every thread
    waiting for a pooled connection that deadlocks until the pool timeout (FastAPI #3205).
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def _active_user(session: Session, user_id: object) -> User | None:
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def _session_user(request: Request, session: Session) -> User | None:
    return _active_user(session, request.session.get("uid"))


async def _check_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if not given and "form" in request.headers.get("content-type", ""):
        given = (await request.form()).get("csrf_token")  # type: ignore[assignment]
    if not same_token(given, expected):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page")


async def _api_caller(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> tuple[User | None, bool]:
    """(user, came with the cookie). Async on purpose: the one primary-key read costs less
    than a hop to a worker thread, and AdmissionLimit guarantees a free pooled connection, so
    it never waits on the event loop."""
    if token:
        return _active_user(session, request.app.state.tokens.user_id(token)), False
    return _session_user(request, session), True


async def api_user(
    request: Request, caller: Annotated[tuple[User | None, bool], Depends(_api_caller)]
) -> User:
    """The caller of a JSON endpoint: bearer token first, else the page session (+ CSRF)."""
    user, via_cookie = caller
    if user is None:
        raise HTTPException(401, "not authenticated", headers={"WWW-Authenticate": "Bearer"})
    if via_cookie:
        await _check_csrf(request)
    return user


async def _page_caller(request: Request, session: SessionDep) -> User | None:
    return _session_user(request, session)


async def page_user(
    request: Request, user: Annotated[User | None, Depends(_page_caller)]
) -> User:
    """The signed-in user of a page; anonymous visitors are sent to the login page."""
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    await _check_csrf(request)
    return user


CurrentUser = Annotated[User, Depends(api_user)]
PageUser = Annotated[User, Depends(page_user)]


# The small dependencies below are async on purpose: each sync one costs a hop to a worker
# thread (and back), more than the work it does. The scoped lookups are single primary-key
# reads, and AdmissionLimit guarantees them a free pooled connection, so they never wait.

async def api_scope(user: CurrentUser) -> Scope:
    return Scope.for_user(user)


async def page_scope(user: PageUser) -> Scope:
    return Scope.for_user(user)


ApiScope = Annotated[Scope, Depends(api_scope)]
PageScope = Annotated[Scope, Depends(page_scope)]


async def client_source(request: Request) -> str:
    """Where a write came from, for the audit log: client address and user agent."""
    host = request.client.host if request.client else "unknown"
    agent = request.headers.get("user-agent", "")[:80]
    return f"{host} {agent}".strip()


SourceDep = Annotated[str, Depends(client_source)]


# --- scoped lookups: the object in the path, or 404 when missing or outside the scope ----------

async def current_project(project_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep,
                    scope: ApiScope) -> Project:
    return projects.get_visible(session=session, scope=scope, project_id=project_id)


async def current_hospital(code: Annotated[str, Path(max_length=32)], session: SessionDep,
                     scope: ApiScope) -> Hospital:
    return hospitals.get_visible(session=session, scope=scope, code=code)


async def current_region(code: Annotated[str, Path(max_length=12)], session: SessionDep,
                   scope: ApiScope) -> Region:
    return regions.get_visible(session=session, scope=scope, code=code)


CurrentProject = Annotated[Project, Depends(current_project)]
CurrentHospital = Annotated[Hospital, Depends(current_hospital)]
CurrentRegion = Annotated[Region, Depends(current_region)]

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
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..domains.hospitals import service as hospitals
from ..domains.hospitals.models import Hospital
from ..domains.projects import service as projects
from ..domains.projects.models import Project
from ..domains.regions import service as regions
from ..domains.regions.models import Region
from ..domains.users.models import User
from ..domains.users.scope import Scope
from .security import client_address, same_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class PasswordChangeRequired(Exception):
    """A signed-in user still holds a one-time password; the app sends them to change it."""


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
    kept: list[object] = []  # see _keep_loaded
    session.info[_KEPT] = kept
    event.listen(session, "loaded_as_persistent", _keep_loaded)
    try:
        yield session
    finally:
        session.close()
        kept.clear()


_KEPT = "nrmc_kept"


def _keep_loaded(session: Session, instance: object) -> None:
    """Hold every object the request loads until it ends. The identity map holds objects
    weakly, so a project or hospital dropped between two lookups of one request (the scope
    check, then the dashboard panels) was read again from the store; now `session.get` of
    an object this request already loaded costs no query."""
    session.info[_KEPT].append(instance)


SessionDep = Annotated[Session, Depends(get_session)]


def _active_user(session: Session, user_id: object, version: object) -> User | None:
    """The user a credential names, if still active and the credential is of the user's current
    session version (sign-out, a password change, disabling or a new role raise it)."""
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def _session_user(request: Request, session: Session) -> User | None:
    return _active_user(session, request.session.get("uid"), request.session.get("sv"))


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
        checked = request.app.state.tokens.check(token)
        if checked is None:
            return None, False
        return _active_user(session, checked.user_id, checked.version), False
    return _session_user(request, session), True


async def signed_in_api_user(
    request: Request, caller: Annotated[tuple[User | None, bool], Depends(_api_caller)]
) -> User:
    """The caller of a JSON endpoint, even one who must still change a one-time password
    (only the endpoints that let them do so use this directly)."""
    user, via_cookie = caller
    if user is None:
        raise HTTPException(401, "not authenticated", headers={"WWW-Authenticate": "Bearer"})
    if via_cookie:
        await _check_csrf(request)
    return user


async def api_user(user: Annotated[User, Depends(signed_in_api_user)]) -> User:
    """The caller of a JSON endpoint: bearer token first, else the page session (+ CSRF).
    A user holding a one-time password gets 403 until they change it."""
    if user.must_change_password:
        raise HTTPException(403, "change your one-time password first: "
                                 "POST /api/v1/users/me/password")
    return user


async def _page_caller(request: Request, session: SessionDep) -> User | None:
    return _session_user(request, session)


async def signed_in_page_user(
    request: Request, user: Annotated[User | None, Depends(_page_caller)]
) -> User:
    """The signed-in user of a page, even one who must still change a one-time password;
    anonymous visitors are sent to the login page."""
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    await _check_csrf(request)
    return user


async def page_user(user: Annotated[User, Depends(signed_in_page_user)]) -> User:
    """The signed-in user of a page; one holding a one-time password is sent to change it."""
    if user.must_change_password:
        raise PasswordChangeRequired()
    return user


CurrentUser = Annotated[User, Depends(api_user)]
PageUser = Annotated[User, Depends(page_user)]
SignedInUser = Annotated[User, Depends(signed_in_api_user)]
SignedInPageUser = Annotated[User, Depends(signed_in_page_user)]


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
    host = client_address(request)
    agent = request.headers.get("user-agent", "")[:80]
    return f"{host} {agent}".strip()


SourceDep = Annotated[str, Depends(client_source)]


async def referral_sla(request: Request) -> dict[str, float]:
    """Answer deadlines by urgency, hours (NRMC_REFERRAL_SLA_HOURS), for KPIs and inboxes."""
    sla: dict[str, float] = request.app.state.settings.referral_sla
    return sla


SlaDep = Annotated[dict[str, float], Depends(referral_sla)]


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

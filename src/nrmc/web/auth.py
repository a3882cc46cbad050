"""Sign-in and sign-out: the login page (session cookie + CSRF), the OAuth2 password token
endpoint, and the forced change of a one-time password.

Both sign-in paths share the login throttle in the store (domains/users/throttle.py): more
attempts than allowed for an account or from a client address answer 429 with Retry-After,
before any password is checked. Signing out (page or API) raises the user's session version:
every cookie and token of that user ends, on every device.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from ..domains.users import admin, throttle
from ..domains.users import service as users
from ..domains.users.models import User
from .deps import SessionDep, SignedInPageUser, SignedInUser, SourceDep
from .render import render
from .security import TOKEN_MAX_AGE, client_address, new_csrf_token, same_token

router = APIRouter()


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = TOKEN_MAX_AGE
    must_change_password: bool = False


def _keys(request: Request, username: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()}", f"ip:{client_address(request)}"


def _check(request: Request, session: SessionDep, username: str, password: str) -> User | None:
    """Take a throttle slot (committed at once), then check the password."""
    settings = request.app.state.settings
    account, address = _keys(request, username)
    wait = throttle.take(session=session, window=settings.login_window_seconds, limits=[
        throttle.Limit(account, settings.login_attempts_per_account),
        throttle.Limit(address, settings.login_attempts_per_address)])
    session.commit()
    if wait:
        raise HTTPException(429, "too many failed logins; try again later",
                            headers={"Retry-After": str(wait)})
    user = users.authenticate(session=session, username=username, password=password)
    if user is not None:
        throttle.succeeded(session=session, account_key=account, address_key=address)
        session.commit()
    return user


@router.post("/api/v1/auth/token", response_model=Token, tags=["auth"],
             responses={401: {"description": "wrong username or password"},
                        429: {"description": "too many failed logins"}})
def issue_token(request: Request, session: SessionDep,
                form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password (OAuth2 password form) for a bearer token. A user
    holding a one-time password gets a token that serves only POST /api/v1/users/me/password."""
    user = _check(request, session, form.username, form.password)
    if user is None:
        raise HTTPException(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    return Token(access_token=request.app.state.tokens.issue(user.id, user.session_version),
                 must_change_password=user.must_change_password)


@router.post("/api/v1/auth/logout", status_code=204, tags=["auth"])
def api_logout(session: SessionDep, user: SignedInUser, source: SourceDep) -> Response:
    """End every session and token of the caller, on every device."""
    admin.sign_out_everywhere(session=session, user=user, source=source)
    session.commit()
    return Response(status_code=204)


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def start_session(request: Request, user: User) -> None:
    request.session.clear()
    request.session.update({"uid": user.id, "sv": user.session_version, "csrf": new_csrf_token()})


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    request.session.setdefault("csrf", new_csrf_token())
    return request.app.state.templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "user": None})


@router.post("/login", include_in_schema=False)
def login(
    request: Request, session: SessionDep, username: Annotated[str, Form()],
    password: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    templates = request.app.state.templates
    if not same_token(csrf_token, request.session.get("csrf")):
        request.session["csrf"] = new_csrf_token()
        return templates.TemplateResponse(
            request, "login.html", {"next": _safe_next(next), "user": None,
                                    "error": "表单已过期，请重试 The form expired; please try again"},
            status_code=403)
    try:
        user = _check(request, session, username, password)
    except HTTPException as exc:
        return templates.TemplateResponse(
            request, "login.html", {"next": _safe_next(next), "user": None,
                                    "error": "尝试次数过多，请稍后再试 Too many attempts; wait"},
            status_code=exc.status_code, headers=exc.headers)
    if user is None:
        return templates.TemplateResponse(
            request, "login.html", {"next": _safe_next(next), "user": None,
                                    "error": "用户名或密码错误 Wrong username or password"},
            status_code=401)
    start_session(request, user)
    if user.must_change_password:
        return RedirectResponse("/account/password", status_code=303)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep, user: SignedInPageUser,
           source: SourceDep) -> Response:
    admin.sign_out_everywhere(session=session, user=user, source=source)
    session.commit()
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password", response_class=HTMLResponse, include_in_schema=False)
def password_page(request: Request, user: SignedInPageUser) -> Response:
    return render(request, "account/password.html", user, errors={})


@router.post("/account/password", response_class=HTMLResponse, include_in_schema=False)
def change_password(
    request: Request, session: SessionDep, user: SignedInPageUser, source: SourceDep,
    old_password: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=200)] = "",
    repeat_password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Change one's own password; the new one must be typed twice. This session goes on under
    the new session version; every other session and token of the user ends."""
    if new_password != repeat_password:
        errors = {"repeat_password": "两次输入的新密码不一致 The two new passwords differ"}
        return render(request, "account/password.html", user, status_code=422, errors=errors)
    try:
        admin.change_own_password(session=session, user=user, old_password=old_password,
                                  new_password=new_password, source=source)
    except users.Refused as exc:
        session.rollback()
        errors = {p.field: f"{p.message_zh} {p.message_en}" for p in exc.problems}
        return render(request, "account/password.html", user, status_code=422, errors=errors)
    session.commit()
    start_session(request, user)
    return RedirectResponse("/?password=changed", status_code=303)

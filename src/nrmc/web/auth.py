"""Sign-in: the login page (session cookie + CSRF) and the OAuth2 password token endpoint.

Both share one rate limiter (see security.LoginLimiter): too many failures from an address or
for a username answer 429 with Retry-After, before any password is checked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from ..domains.users import service as users
from ..domains.users.models import User
from .deps import PageUser, SessionDep
from .security import TOKEN_MAX_AGE, new_csrf_token, same_token

router = APIRouter()


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = TOKEN_MAX_AGE


def _keys(request: Request, username: str) -> tuple[str, str]:
    host = request.client.host if request.client else "unknown"
    return f"ip:{host}", f"user:{username.lower()}"


def _check(request: Request, session: SessionDep, username: str, password: str) -> User | None:
    limiter = request.app.state.limiter
    keys = _keys(request, username)
    wait = limiter.retry_after(*keys)
    if wait:
        raise HTTPException(429, "too many failed logins; try again later",
                            headers={"Retry-After": str(wait)})
    user = users.authenticate(session=session, username=username, password=password)
    if user is None:
        limiter.failed(*keys)
    else:
        limiter.succeeded(keys[1])
    return user


@router.post("/api/v1/auth/token", response_model=Token, tags=["auth"],
             responses={401: {"description": "wrong username or password"},
                        429: {"description": "too many failed logins"}})
def issue_token(request: Request, session: SessionDep,
                form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password (OAuth2 password form) for a bearer token."""
    user = _check(request, session, form.username, form.password)
    if user is None:
        raise HTTPException(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    return Token(access_token=request.app.state.tokens.issue(user.id))


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


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
    request.session.clear()
    request.session.update({"uid": user.id, "csrf": new_csrf_token()})
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, user: PageUser) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)

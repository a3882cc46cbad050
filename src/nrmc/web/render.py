"""Render a page with what every layout needs: the user, the CSRF token, the request."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from ..domains.users.models import User
from .security import new_csrf_token


def render(request: Request, name: str, user: User | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    csrf = request.session.get("csrf")
    if user is not None and not csrf:
        csrf = request.session["csrf"] = new_csrf_token()
    return request.app.state.templates.TemplateResponse(
        request, name, {"user": user, "csrf": csrf, **context}, status_code=status_code)

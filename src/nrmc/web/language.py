"""The page language: 中文, English, or both (the default), remembered in a cookie.

The layout's strings go through `tr(zh, en)` (templating.py), which reads the cookie; pages
that still write "中文 English" inline show both whatever the choice. The read cache keys
page entries on this cookie (read_cache.py), so a cached page never comes back in the wrong
language.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .templating import LANGUAGE_COOKIE

router = APIRouter(include_in_schema=False)
LANGUAGES = ("zh", "en", "both")
ONE_YEAR = 365 * 24 * 3600


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "both")
    return chosen if chosen in LANGUAGES else "both"


def _same_site(target: str) -> str:
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/language/{choice}")
def choose_language(choice: str, next: str = "/") -> Response:
    """Remember the choice for a year and go back to the page the visitor was on."""
    response = RedirectResponse(_same_site(next), status_code=303)
    if choice in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, choice, max_age=ONE_YEAR, httponly=True,
                            samesite="lax")
    return response

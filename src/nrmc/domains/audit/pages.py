"""Page: the audit log, filtered by user, object and time (scope as in the audit service)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...web.deps import PageUser, SessionDep
from ...web.render import render
from ...web.tables import Offset
from ..users.scope import Scope
from . import service

router = APIRouter(include_in_schema=False)
PAGE = 100


def _when(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, session: SessionDep, user: PageUser, actor: str = "",
              object_type: str = "", object_id: str = "", since: str = "", until: str = "",
              offset: Offset = 0) -> HTMLResponse:
    scope = Scope.for_user(user)
    entries, total = service.list_visible(
        session=session, scope=scope, actor=actor or None, object_type=object_type or None,
        object_id=object_id or None, since=_when(since), until=_when(until), limit=PAGE,
        offset=max(offset, 0))
    filters = {"actor": actor, "object_type": object_type, "object_id": object_id,
               "since": since, "until": until}
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    name = "audit/_rows.html" if request.headers.get("hx-request") else "audit/log.html"
    return render(request, name, user, entries=entries, total=total, filters=filters,
                  query=query, offset=offset, page=PAGE)

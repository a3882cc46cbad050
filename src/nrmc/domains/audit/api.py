"""JSON API for the audit log (national roles read all of it; others their own writes)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response

from ...web.deps import ApiScope, SessionDep
from ...web.tables import DOWNLOADS, EXPORT_LIMIT, FormatQuery, Limit, Offset, Page, TableFormat, download
from . import service
from .schemas import AuditOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=Page[AuditOut], responses=DOWNLOADS)
def list_audit(
    session: SessionDep, scope: ApiScope, actor: str | None = None, object_type: str | None = None,
    object_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
    limit: Limit = 50, offset: Offset = 0, fmt: FormatQuery = TableFormat.json,
) -> Page[AuditOut] | Response:
    """Audit entries, newest first, filtered by user, object and time."""
    if fmt != TableFormat.json:
        limit, offset = EXPORT_LIMIT, 0
    items, total = service.list_visible(session=session, scope=scope, actor=actor,
                                        object_type=object_type, object_id=object_id,
                                        since=since, until=until, limit=limit, offset=offset)
    out = [AuditOut.model_validate(e) for e in items]
    if fmt != TableFormat.json:
        return download(out, fmt, "audit", columns=list(AuditOut.model_fields))
    return Page(items=out, total=total, limit=limit, offset=offset)

"""JSON API for medical alliances and their membership history."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ...web.deps import ApiScope, SessionDep
from ...web.read_cache import cached_read
from ...web.tables import (
    DOWNLOADS,
    EXPORT_LIMIT,
    DbId,
    DbIdQuery,
    FormatQuery,
    Limit,
    Offset,
    Page,
    TableFormat,
    download,
)
from . import service
from .schemas import AllianceOut

router = APIRouter(prefix="/api/v1/alliances", tags=["alliances"])


@router.get("", response_model=Page[AllianceOut], responses=DOWNLOADS)
@cached_read
def list_alliances(
    session: SessionDep, scope: ApiScope, region: str | None = None, project_id: DbIdQuery = None,
    limit: Limit = 50, offset: Offset = 0, fmt: FormatQuery = TableFormat.json,
) -> Page[AllianceOut] | Response:
    if fmt != TableFormat.json:
        limit, offset = EXPORT_LIMIT, 0
    items, total = service.list_visible(session=session, scope=scope, region=region,
                                        project_id=project_id, limit=limit, offset=offset)
    out = service.to_outs(session, items)
    if fmt != TableFormat.json:
        rows = [o.model_dump(mode="json") | {"members": len(o.members)} for o in out]
        return download(rows, fmt, "alliances", columns=list(AllianceOut.model_fields))
    return Page(items=out, total=total, limit=limit, offset=offset)


@router.get("/{alliance_id}", response_model=AllianceOut)
@cached_read
def get_alliance(alliance_id: DbId, session: SessionDep, scope: ApiScope) -> AllianceOut:
    return service.to_out(session, service.get_visible(session=session, scope=scope,
                                                       alliance_id=alliance_id))

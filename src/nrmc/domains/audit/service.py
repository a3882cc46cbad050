"""The audit log: every write is recorded in the same transaction as the write itself."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...db import revision
from ..users.scope import Scope
from .models import AuditEntry, object_part


def record(
    *, session: Session, actor: str | None, action: str, object_type: str, object_id: object,
    before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
    reason: str = "", source: str = "",
) -> AuditEntry:
    entry = AuditEntry(at=datetime.now(UTC), actor=actor, action=action, object_type=object_type,
                       object_id=str(object_id), before=before, after=after, reason=reason,
                       source=source)
    session.add(entry)
    session.flush()
    return entry


def list_entries(
    *, session: Session, actor: str | None = None, object_type: str | None = None,
    object_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
    limit: int = 200, offset: int = 0,
) -> list[AuditEntry]:
    """The whole log, newest first (for system callers; pages and API use list_visible)."""
    entries, _total = list_visible(
        session=session, scope=Scope.system(), actor=actor, object_type=object_type,
        object_id=object_id, since=since, until=until, limit=limit, offset=offset)
    return entries


def list_visible(
    *, session: Session, scope: Scope, actor: str | None = None, object_type: str | None = None,
    object_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
    limit: int = 200, offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Audit entries a caller may read: national roles read the whole log; everyone else
    reads only the writes they made themselves."""
    query = select(AuditEntry)
    if not scope.national:
        query = query.where(AuditEntry.actor == scope.actor)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == str(object_id))
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at <= until)
    # One object's entries lie in its partition: a cached answer built from them survives
    # the entries written about other objects.
    narrowed = (revision.within(AuditEntry.__tablename__, {object_part(object_type, object_id)})
                if object_type and object_id else nullcontext())
    with narrowed:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        return list(session.scalars(query.offset(offset))), total

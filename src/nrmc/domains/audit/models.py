from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...db import revision
from ...db.base import Base
from ...db.types import UTCDateTime


class AuditEntry(Base):
    """One write: who did what to which object, before/after, when, from where, and why."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64), index=True)
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(128), default="")


#: Objects' entries are counted in this many buckets per object type, so the store keeps a
#: bounded number of counters however many objects there are.
BUCKETS = 4096


def object_part(object_type: str, object_id: object) -> str:
    """The partition (db/revision.py) of the entries about one object."""
    return f"{object_type}:{zlib.crc32(str(object_id).encode()) % BUCKETS}"


def _entry_partitions(_connection: Connection, rows: Sequence[Any]) -> set[str]:
    return {object_part(row.object_type, row.object_id) for row in rows}


# Every write is audited: counted per object, a referral's entry leaves the cached history of
# a project (its dashboard page) in place.
revision.partition_by(AuditEntry.__tablename__, AuditEntry, _entry_partitions)

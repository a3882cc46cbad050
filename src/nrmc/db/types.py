"""Column types shared by every slice.

`UTCDateTime` keeps instants aware on both backends. PostgreSQL's `timestamptz` does this by
itself; SQLite stores text and SQLAlchemy's DateTime drops the offset there, so an instant written
as 10:00+08:00 read back as a naive 10:00 and was shown eight hours late. This type converts every
value to UTC before it is written and marks what it reads as UTC, so the same instant comes back
on both stores and pages can show it in Beijing time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant, stored in UTC. A naive value (a filter bound parsed from a query string,
    an old caller) is taken as UTC, the convention of every value nrmc has stored."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        # SQLite keeps the text as given: write it without an offset, always in UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

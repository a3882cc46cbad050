"""The login throttle, kept in the store so every web worker counts against the same rows.

Each sign-in attempt first takes a slot from each of its keys (the account, and the client
address) in one atomic upsert per key; a key holding more than its limit of attempts in the
current window refuses the attempt before any password is checked. A successful sign-in gives
the address its slot back and clears the account's count, so a busy hospital behind one
address is not throttled by its own successful logins.

Windows are fixed: a key's window starts at its first attempt and lasts `window` seconds; the
count starts again after that. The caller commits (at once, so the count holds even when the
request then fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import LoginThrottle


@dataclass(frozen=True)
class Limit:
    key: str
    attempts: int


def take(*, session: Session, limits: list[Limit], window: float,
         now: datetime | None = None) -> int:
    """Count one attempt against every key; the seconds to wait (0 = go ahead)."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=window)
    wait = 0.0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = LoginThrottle.__table__
    assert isinstance(table, Table)
    for limit in limits:
        expired = table.c.window_start <= cutoff
        upsert = insert(table).values(key=limit.key[:200], window_start=now, attempts=1)
        statement = upsert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"attempts": case((expired, 1), else_=table.c.attempts + 1),
                  "window_start": case((expired, now), else_=table.c.window_start)},
        ).returning(table.c.attempts, table.c.window_start)
        attempts, started = session.execute(statement).one()
        if attempts > limit.attempts:
            started = started if started.tzinfo else started.replace(tzinfo=UTC)
            wait = max(wait, (started + timedelta(seconds=window) - now).total_seconds())
    return int(wait) + 1 if wait > 0 else 0


def succeeded(*, session: Session, account_key: str, address_key: str) -> None:
    """A correct password: the account starts afresh, the address gets its slot back."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key[:200]))
    stale = datetime.now(UTC) - timedelta(days=1)  # keys nobody tried for a day: forget them
    session.execute(delete(LoginThrottle).where(LoginThrottle.window_start < stale))
    session.execute(update(LoginThrottle).where(LoginThrottle.key == address_key[:200],
                                                LoginThrottle.attempts > 0)
                    .values(attempts=LoginThrottle.attempts - 1))


def clear(*, session: Session) -> None:
    """Forget every count (the CLI's `nrmc users unblock`, and tests)."""
    session.execute(delete(LoginThrottle))

"""The store's data revision: one counter that every committed write advances.

Caches of derived answers (the web's read cache) key on it, so an answer computed before a
write is never served after it, whichever process made the write (the web workers, a CLI
import, a test). The counter is advanced inside the writing transaction, so it becomes visible
atomically with the data: a reader that reads the revision first and the data second can
never file new data under an old revision's key or old data under a new one.

Writes are noticed at the engine (every INSERT/UPDATE/DELETE cursor execution), not in the
services, so nothing that writes through an engine made by `make_engine` can forget it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Engine, Integer, Table, event

from .base import Base

TABLE = "data_revision"
_WRITE_VERBS = ("insert", "update", "delete", "replace", "merge")
# The counter itself; migrations' bookkeeping; the login throttle (a failed login is not data,
# and counting it would flush every cached answer on each wrong password).
_EXEMPT_TABLES = (TABLE, "alembic_version", "login_throttle")
_FLAG = "nrmc_wrote"

data_revision = Table(
    TABLE, Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)


def track(engine: Engine) -> None:
    """Advance the revision on every commit of a transaction that wrote."""
    event.listen(engine, "before_cursor_execute", _note_write)
    event.listen(engine, "commit", _advance_if_written)
    event.listen(engine, "rollback", _forget)


def current(connection: Connection) -> int | None:
    """The revision now (None when the store predates the counter: nothing may be cached)."""
    return _read(connection.connection.dbapi_connection, connection.dialect.loaded_dbapi.Error)


class RevisionReader:
    """Reads the revision on one dedicated connection kept outside the pool, for a caller that
    asks on every request from one thread (the web's event loop): no pool checkout, and no
    pooled connection taken from the requests that need one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Any = None

    def read(self) -> int | None:
        errors = self.engine.dialect.loaded_dbapi.Error
        try:
            if self._connection is None:
                self._connection = self.engine.raw_connection()
                self._connection.detach()
                if self.engine.dialect.name == "postgresql":
                    self._connection.dbapi_connection.autocommit = True  # no idle transaction
            value = _read(self._connection.dbapi_connection, errors)
        except errors:
            value = None
        if value is None:
            self.close()  # unmigrated store or a broken connection: reconnect next time
        return value

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


def _read(dbapi_connection: Any, errors: type[Exception]) -> int | None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"SELECT value FROM {TABLE} WHERE id = 1")
        row = cursor.fetchone()
    except errors:
        return None  # no such table: a store not yet migrated
    finally:
        cursor.close()
    return int(row[0]) if row else 0


def _is_write(statement: str) -> bool:
    head = statement.lstrip()[:80].lower()
    if not head.startswith(_WRITE_VERBS):
        return False
    return not any(name in head for name in _EXEMPT_TABLES)


def _note_write(conn: Connection, _cursor: Any, statement: str, _parameters: Any,
                _context: Any, _executemany: bool) -> None:
    if _is_write(statement):
        conn.info[_FLAG] = True


def _forget(conn: Connection) -> None:
    conn.info.pop(_FLAG, None)


def _advance_if_written(conn: Connection) -> None:
    # The commit event fires before the driver commits, inside the same transaction; the raw
    # cursor keeps this out of SQLAlchemy's own statement events (it is not itself a "write").
    if not conn.info.pop(_FLAG, False):
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if not _has_table(cursor, conn.dialect.name):
            return  # a store not yet migrated to the counter (migrations themselves)
        cursor.execute(f"UPDATE {TABLE} SET value = value + 1 WHERE id = 1")
        if cursor.rowcount == 0:
            cursor.execute(f"INSERT INTO {TABLE} (id, value) VALUES (1, 1)")
    finally:
        cursor.close()


def _has_table(cursor: Any, dialect: str) -> bool:
    if dialect == "postgresql":
        cursor.execute(f"SELECT to_regclass('{TABLE}') IS NOT NULL")
    else:
        cursor.execute(f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{TABLE}'")
    row = cursor.fetchone()
    return bool(row and row[0])

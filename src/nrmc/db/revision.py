"""The store's data revisions: a counter per table that every committed write to it advances.

Caches of derived answers (the web's read cache) key on them, so an answer computed before a
write is never served after it, whichever process made the write (the web workers, a CLI
import, a test). An answer depends only on the tables it read: the read cache notes which
tables a request's statements named (`reading()`), and a write to `referrals` leaves a cached
project list alone while the KPIs that count referrals are recomputed.

The counters are advanced inside the writing transaction, so they become visible atomically
with the data: a reader that reads the revisions first and the data second can never file new
data under an old revision or old data under a new one. One more row, `*`, advances on every
write whose table could not be told; every answer depends on it. The single counter of
`data_revision` (any write at all) is kept for callers that want "anything changed".

Writes are noticed at the engine (every INSERT/UPDATE/DELETE cursor execution), not in the
services, so nothing that writes through an engine made by `make_engine` can forget it.

Some tables are also counted per partition (`partition_by`): a referral advances `referrals`
and `referrals@62` (the provinces of its two hospitals), and an answer that read referrals only
inside `within("referrals", {"62"})` depends on `referrals@62` and `referrals@?`, so a referral
in Gansu leaves Yunnan's cached KPIs in place. The keys come from the ORM objects a flush
writes; a write to the table made any other way (a bulk insert) advances `referrals@?`, which
every narrowed answer also depends on, so it can never be missed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Engine, Integer, String, Table, event
from sqlalchemy.orm import Session

from .base import Base

TABLE = "data_revision"
TABLES = "table_revisions"
ANY_TABLE = "*"  # a write whose table could not be told apart
_WRITE_VERBS = ("insert", "update", "delete", "replace", "merge")
# The counters themselves; migrations' bookkeeping; the login throttle (a failed login is not
# data, and counting it would flush cached answers on each wrong password).
_EXEMPT_TABLES = frozenset({TABLE, TABLES, "alembic_version", "login_throttle"})
_WRITTEN = re.compile(
    r"^\s*(?:insert(?:\s+or\s+\w+)?\s+into|replace\s+into|merge\s+into|update(?:\s+or\s+\w+)?"
    r"|delete\s+from)\s+(?:\"?\w+\"?\.)?\"?(\w+)\"?", re.IGNORECASE)
_FLAG = "nrmc_written_tables"
_FLUSHING = "nrmc_flush_partitions"  # {table: keys} of the ORM flush running on a connection
UNKNOWN_PART = "?"  # the partition of a write whose keys could not be told

data_revision = Table(
    TABLE, Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)
table_revisions = Table(
    TABLES, Base.metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# The tables named by the statements of the current request, when someone is listening.
_reads: ContextVar[set[str] | None] = ContextVar("nrmc_tables_read", default=None)
# Tables whose reads the current block declared to lie inside some partitions.
_narrowed: ContextVar[dict[str, frozenset[str]] | None] = ContextVar("nrmc_narrowed", default=None)
# Partitioned tables: table → (ORM class of its rows, keys of the partitions some rows lie in).
PartitionKeys = Callable[[Connection, Sequence[Any]], set[str]]
_partitions: dict[str, tuple[type, PartitionKeys]] = {}


def part(table: str, key: str) -> str:
    """The counter of one partition of a table."""
    return f"{table}@{key}"


@dataclass(frozen=True)
class Revisions:
    """The counters at one instant: `store` for any write, `tables` per table."""

    store: int
    tables: dict[str, int] = field(default_factory=dict)

    def of(self, names: frozenset[str]) -> tuple[tuple[str, int], ...]:
        """The counters an answer that read `names` depends on (always with `*`)."""
        return tuple((name, self.tables.get(name, 0))
                     for name in sorted(names | {ANY_TABLE}))

    def still(self, depends: tuple[tuple[str, int], ...]) -> bool:
        """True when none of the counters in `depends` has moved."""
        return all(self.tables.get(name, 0) == value for name, value in depends)


def track(engine: Engine) -> None:
    """Advance the revisions on every commit of a transaction that wrote; note reads."""
    event.listen(engine, "before_cursor_execute", _note)
    event.listen(engine, "commit", _advance_if_written)
    event.listen(engine, "rollback", _forget)
    event.listen(engine, "rollback_savepoint", _end_flush)


def partition_by(table: str, model: type, keys: PartitionKeys) -> None:
    """Count writes to `table` per partition too; `keys(connection, rows)` names the partitions
    the ORM objects `rows` (new, changed or deleted in a flush) lie in ("?" when unsure)."""
    _partitions[table] = (model, keys)
    if not event.contains(Session, "before_flush", _start_flush):
        event.listen(Session, "before_flush", _start_flush)
        event.listen(Session, "after_flush", _after_flush)


@contextmanager
def within(table: str, keys: Collection[str]) -> Iterator[None]:
    """Declare that the reads of `table` inside this block see only rows of these partitions
    (the caller's filter guarantees it): answers built from them depend on those partitions'
    counters instead of the whole table's."""
    current_ = _narrowed.get() or {}
    token = _narrowed.set({**current_, table: frozenset(keys)})
    try:
        yield
    finally:
        _narrowed.reset(token)


@contextmanager
def reading() -> Iterator[set[str]]:
    """Collect the tables the statements run inside this block (and the threads it hands work
    to, which copy the context) name; the set is filled as they run."""
    names: set[str] = set()
    token = _reads.set(names)
    try:
        yield names
    finally:
        _reads.reset(token)


def counters(connection: Connection, names: Collection[str]) -> tuple[tuple[str, int], ...] | None:
    """The counters of these tables (and `*`) now, for a cache of rows below the web's read
    cache; None when the store has no per-table counters (nothing may then be kept)."""
    wanted = sorted(set(names) | {ANY_TABLE})
    marks = ", ".join("?" if connection.dialect.name == "sqlite" else "%s" for _ in wanted)
    try:
        rows = connection.exec_driver_sql(
            f"SELECT name, value FROM {TABLES} WHERE name IN ({marks})", tuple(wanted)).all()
    except connection.dialect.loaded_dbapi.Error:
        return None
    found = {str(name): int(value) for name, value in rows}
    return tuple((name, found.get(name, 0)) for name in wanted)


def written_here(connection: Connection) -> frozenset[str]:
    """The tables this connection's open transaction wrote (flushed, not yet committed): rows
    kept by committed counters do not show them."""
    return frozenset(connection.info.get(_FLAG, ()))


def note_read(names: Collection[str]) -> None:
    """Tell a listening cache that the answer read these tables, though no statement ran (the
    rows came from a cache of rows kept by their counters)."""
    reads = _reads.get()
    if reads is not None:
        reads.update(names)


def current(connection: Connection) -> int | None:
    """The any-write revision now (None when the store predates the counter)."""
    found = _read(connection.connection.dbapi_connection, connection.dialect.loaded_dbapi.Error)
    return None if found is None else found.store


class RevisionReader:
    """Reads the revisions on one dedicated connection kept outside the pool, for a caller that
    asks on every request from one thread (the web's event loop): no pool checkout, and no
    pooled connection taken from the requests that need one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Any = None
        self._last: Revisions | None = None

    def read(self) -> Revisions | None:
        """The counters now. The any-write counter is read first, and the per-table ones (a
        row per table and partition: hundreds) only when it moved."""
        errors = self.engine.dialect.loaded_dbapi.Error
        try:
            if self._connection is None:
                self._connection = self.engine.raw_connection()
                self._connection.detach()
                if self.engine.dialect.name == "postgresql":
                    self._connection.dbapi_connection.autocommit = True  # no idle transaction
                self._last = None
            store = _read_store(self._connection.dbapi_connection, errors)
            if store is not None and self._last is not None and store == self._last.store:
                return self._last
            value = _read(self._connection.dbapi_connection, errors)
        except errors:
            value = None
        self._last = value
        if value is None:
            self.close()  # unmigrated store or a broken connection: reconnect next time
        return value

    def query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
        """Rows of a small read on the same connection (`?` placeholders); None on an error."""
        if self._connection is None and self.read() is None:
            return None
        if self.engine.dialect.name == "postgresql":
            sql = sql.replace("?", "%s")
        errors = self.engine.dialect.loaded_dbapi.Error
        cursor = self._connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, params)
            rows = [tuple(row) for row in cursor.fetchall()]
        except errors:
            rows = None
        finally:
            cursor.close()
        if rows is None:
            self.close()
        return rows

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


def _read_store(dbapi_connection: Any, errors: type[Exception]) -> int | None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"SELECT value FROM {TABLE} WHERE id = 1")
        row = cursor.fetchone()
    except errors:
        return None
    finally:
        cursor.close()
    return None if row is None else int(row[0])


def _read(dbapi_connection: Any, errors: type[Exception]) -> Revisions | None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"SELECT '', value FROM {TABLE} WHERE id = 1 "
                       f"UNION ALL SELECT name, value FROM {TABLES}")
        rows = cursor.fetchall()
    except errors:
        return None  # no such table: a store not yet migrated
    finally:
        cursor.close()
    tables = {str(name): int(value) for name, value in rows if name}
    store = next((int(value) for name, value in rows if not name), 0)
    return Revisions(store, tables)


@lru_cache(maxsize=4096)
def written_table(statement: str) -> str | None:
    """The table a write statement changes (`*` when it cannot be told); None if not a write
    or an exempt table."""
    head = statement.lstrip()[:200]
    if not head[:8].lower().startswith(_WRITE_VERBS):
        return None
    match = _WRITTEN.match(head)
    name = match.group(1).lower() if match else ANY_TABLE
    return None if name in _EXEMPT_TABLES else name


@lru_cache(maxsize=4096)
def tables_named(statement: str) -> frozenset[str]:
    """The known tables a statement names (a column sharing a table's name only over-counts,
    which costs a cache entry, never a stale answer)."""
    return frozenset(match.lower() for match in _known_tables().findall(statement))


@lru_cache(maxsize=1)
def _known_tables() -> re.Pattern[str]:
    from . import models  # noqa: F401  (every table registered on the metadata)

    names = sorted((n for n in Base.metadata.tables if n not in _EXEMPT_TABLES),
                   key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.IGNORECASE)


def _note(conn: Connection, _cursor: Any, statement: str, _parameters: Any,
          _context: Any, _executemany: bool) -> None:
    written = written_table(statement)
    if written is not None:
        names = conn.info.setdefault(_FLAG, set())
        names.add(written)
        if written in _partitions:
            keys = (conn.info.get(_FLUSHING) or {}).get(written) or {UNKNOWN_PART}
            names.update(part(written, key) for key in keys)
        return
    reads = _reads.get()
    if reads is not None:
        named = tables_named(statement)
        narrowed = _narrowed.get()
        if not narrowed:
            reads.update(named)
            return
        for name in named:
            keys = narrowed.get(name)
            if keys is None:
                reads.add(name)
            else:
                reads.update(part(name, key) for key in keys | {UNKNOWN_PART})


def _start_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Before an ORM flush: the partitions its rows of partitioned tables lie in, kept on the
    connection for `_note` to attach to the writes the flush makes."""
    pending = [*session.new, *session.dirty, *session.deleted]
    found: dict[str, set[str]] = {}
    for table, (model, keys) in _partitions.items():
        rows = [row for row in pending if isinstance(row, model)]
        if rows:
            found[table] = keys(session.connection(), rows) or {UNKNOWN_PART}
    if found:
        session.connection().info[_FLUSHING] = found


def _after_flush(session: Session, _context: Any) -> None:
    if _partitions and session.in_transaction():
        session.connection().info.pop(_FLUSHING, None)


def _end_flush(conn: Connection, *_args: Any) -> None:
    conn.info.pop(_FLUSHING, None)


def _forget(conn: Connection) -> None:
    conn.info.pop(_FLAG, None)
    conn.info.pop(_FLUSHING, None)


def _advance_if_written(conn: Connection) -> None:
    # The commit event fires before the driver commits, inside the same transaction; the raw
    # cursor keeps this out of SQLAlchemy's own statement events (it is not itself a "write").
    conn.info.pop(_FLUSHING, None)
    written = conn.info.pop(_FLAG, None)
    if not written:
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        present = _counter_tables(cursor, conn.dialect.name)
        if TABLE not in present:
            return  # a store not yet migrated to the counter (migrations themselves)
        cursor.execute(f"UPDATE {TABLE} SET value = value + 1 WHERE id = 1")
        if cursor.rowcount == 0:
            cursor.execute(f"INSERT INTO {TABLE} (id, value) VALUES (1, 1)")
        if TABLES not in present:
            return  # migrated to the single counter only
        marker = "%s" if conn.dialect.name == "postgresql" else "?"
        for name in sorted(written):  # one order everywhere: no deadlock between writers
            cursor.execute(
                f"INSERT INTO {TABLES} (name, value) VALUES ({marker}, 1) ON CONFLICT (name) "
                f"DO UPDATE SET value = {TABLES}.value + 1", (name,))
    finally:
        cursor.close()


def _counter_tables(cursor: Any, dialect: str) -> set[str]:
    """Which of the two counter tables this store has (one query; migrations add them)."""
    if dialect == "postgresql":
        cursor.execute(f"SELECT to_regclass('{TABLE}')::text, to_regclass('{TABLES}')::text")
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                       f"AND name IN ('{TABLE}', '{TABLES}')")
    return {str(value) for row in cursor.fetchall() for value in row if value}

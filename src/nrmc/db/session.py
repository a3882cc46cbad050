"""Engine and session factory. One unit of work per command or request; the caller commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from . import revision

#: Connections a SQLite engine keeps open (its pool's whole capacity).
SQLITE_POOL = 15


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys on and a busy timeout, its folder created.
    Every engine advances the store's data revision when it commits a write (db/revision.py)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Connections are kept, not opened per burst: a new SQLite connection re-reads the
        # schema on its first statement and re-runs the pragmas (a default pool of 5 + 10
        # overflow closed each overflow connection on return, so a busy web worker opened one
        # every few requests). The capacity, 15, is unchanged (web/guards.pool_capacity).
        database = make_url(url).database
        in_memory = not database or database == ":memory:" or "mode=memory" in url
        pooling = {} if in_memory else {"pool_size": SQLITE_POOL, "max_overflow": 0}
        engine = create_engine(url, connect_args={"timeout": 30}, **pooling)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    else:
        engine = create_engine(url, pool_pre_ping=True)
    revision.track(engine)
    return engine


def sessionmaker_for(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = sessionmaker_for(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

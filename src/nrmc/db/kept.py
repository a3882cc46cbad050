"""Rows kept in memory while the tables they came from stand still.

The web's read cache keeps whole answers; below it, a few inputs are shared by many different
answers (a project's ledger rows, its referral network) and are read again whenever any one of
those answers is rebuilt. Kept here, they are re-read only when a committed write moved the
counter of one of their tables (db/revision.py), from any process. Rows are read after the
counters, so a kept value is never newer than the counters filed with it: a racing write makes
it stale at the next look, never wrong.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from . import revision

T = TypeVar("T")


class KeptByCounters(Generic[T]):
    """At most `size` values, least recently used dropped first, each valid while the counters
    of `tables` stand. A transaction that wrote one of them reads its own rows, uncached."""

    def __init__(self, tables: tuple[str, ...], size: int = 256) -> None:
        self.tables = tables
        self.size = size
        self.kept: OrderedDict[tuple[Any, ...], tuple[Any, T]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, session: Session, key: tuple[Hashable, ...], load: Callable[[], T]) -> T:
        if session.new or session.dirty or session.deleted:
            session.flush()  # as the queries' autoflush would
        connection = session.connection()
        if revision.written_here(connection) & {*self.tables, revision.ANY_TABLE}:
            return load()  # this transaction's own writes
        bind = connection.engine
        full = (id(bind), str(bind.url), *key)
        stand = revision.counters(connection, self.tables)
        with self.lock:
            found = self.kept.get(full)
            if found is not None and stand is not None and found[0] == stand:
                self.kept.move_to_end(full)
                revision.note_read(self.tables)  # the answer depends on them all the same
                return found[1]
        value = load()
        if stand is not None:
            with self.lock:
                self.kept[full] = (stand, value)
                while len(self.kept) > self.size:
                    self.kept.popitem(last=False)
        return value

    def clear(self) -> None:
        with self.lock:
            self.kept.clear()

"""Cached answers shared by the worker processes of one server, in a small SQLite file.

Each worker keeps its own entries in memory (web/read_cache.py); without this, every answer is
computed once per worker. `nrmc serve` with several workers names a fresh file for the run
(NRMC_READ_CACHE_FILE, deleted when the server stops), so workers find what another built.
Nothing here decides whether an answer may be replayed: an entry carries the table revisions it
was built from and the cache checks them exactly as for its own entries. Losing the file loses
nothing but time (no fsync; a locked or broken file is skipped, never waited on).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import warnings
from pathlib import Path
from typing import Any

_SCHEMA = ("CREATE TABLE IF NOT EXISTS entries2 (key TEXT PRIMARY KEY, stored_at REAL NOT NULL, "
           "expires_at REAL NOT NULL, depends TEXT NOT NULL, headers TEXT NOT NULL, "
           "body BLOB NOT NULL)")
Found = tuple[float, float, tuple[tuple[str, int], ...], list[tuple[bytes, bytes]], bytes]


def entry_id(key: tuple[Any, ...]) -> str:
    """A stable name for a key (its parts are str, bytes, int and tuples of them)."""
    return hashlib.sha256(repr(key).encode()).hexdigest()


class SharedEntries:
    """Entries in one SQLite file, written and read by every worker of the server."""

    def __init__(self, path: Path, *, max_entries: int) -> None:
        self.path = path
        self.max_entries = max_entries
        self._stores = 0
        self._db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(path, timeout=0.05, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(_SCHEMA)
            self._db = db
        except sqlite3.Error as exc:  # each worker then keeps only its own entries
            warnings.warn(f"read cache file {path} cannot be used ({exc}); workers will not "
                          "share cached answers", RuntimeWarning, stacklevel=2)

    def get(self, key: tuple[Any, ...]) -> Found | None:
        """(stored_at, expires_at, depends, headers, body) of the entry, or None."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT stored_at, expires_at, depends, headers, body "
                                   "FROM entries2 WHERE key = ?", (entry_id(key),)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        stored_at, expires_at, depends, headers, body = row
        return (float(stored_at), float(expires_at), tuple((str(n), int(v)) for n, v in json.loads(depends)),
                [(k.encode("latin-1"), v.encode("latin-1")) for k, v in json.loads(headers)],
                bytes(body))

    def put(self, key: tuple[Any, ...], stored_at: float, expires_at: float,
            depends: tuple[tuple[str, int], ...], headers: list[tuple[bytes, bytes]],
            body: bytes) -> None:
        if self._db is None:
            return
        encoded = json.dumps([(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers])
        try:
            self._db.execute("INSERT OR REPLACE INTO entries2 VALUES (?, ?, ?, ?, ?, ?)",
                             (entry_id(key), stored_at, expires_at, json.dumps(depends), encoded,
                              body))
            self._stores += 1
            if self._stores % 500 == 0:  # keep the newest max_entries
                self._db.execute(
                    "DELETE FROM entries2 WHERE key NOT IN "
                    "(SELECT key FROM entries2 ORDER BY stored_at DESC LIMIT ?)",
                    (self.max_entries,))
        except sqlite3.Error:
            return  # busy or broken: this worker keeps its own copy; nothing is lost but time

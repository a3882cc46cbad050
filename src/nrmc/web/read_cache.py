"""A per-process cache of the read endpoints whose answer depends only on the data and the caller.

Dashboards are read far more often than the data under them changes, and most of a read's
cost is the framework path (authentication, ORM loading, response validation and JSON
encoding), not the query. Endpoints marked with `@cached_read` have their 200 responses kept
in memory and replayed byte for byte.

An entry is replayed only for the same caller and the same request, at the same data:
- caller: the user id and session version (bearer token or session); for the session, also its
  CSRF token, which pages embed, and the language cookie. Entries are never shared between
  users, so scope cannot leak through the cache.
- request: path, query string and the htmx header (fragments differ from whole pages).
- data: the revisions of the tables the answer read (db/revision.py: the request's statements
  are watched, and every committed write advances its table's counter, from any process), and
  the published flows manifest's stamp (a new discharge load). A write to one table leaves the
  answers that never read it in place.
- day: answers that depend on the date (overdue actions, "this year") change at midnight.
Disabling a user, signing out and anything else that ends a user's sessions raises the user's
session version, a write to `users`, which every authenticated answer read: their entries die,
and the next request goes to the app, which refuses the old credential. Entries also expire
after `ttl` seconds, a bound on anything else that could drift.
"""

from __future__ import annotations

import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.inputs import today_beijing
from ..db import revision
from ..flows.store import MANIFEST
from .security import CheckedToken, TokenSigner
from .templating import LANGUAGE_COOKIE

MARK = "_nrmc_cached_read"
STATUS_HEADER = b"x-nrmc-cache"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def _language(scope: Scope) -> bytes:
    """The page language cookie (pages differ by it; the JSON API does not care)."""
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.split(b";"):
                key, _, chosen = part.strip().partition(b"=")
                if key == LANGUAGE_COOKIE.encode():
                    return chosen[:8]
    return b""


def cached_read(endpoint: Endpoint) -> Endpoint:
    """Mark a GET endpoint whose response is a function of the store, the flows dataset and the
    caller only (no clock, no randomness, no session writes)."""
    setattr(endpoint, MARK, True)
    return endpoint


def cached_paths(routers: Iterable[APIRouter]) -> list[re.Pattern[str]]:
    """Path patterns of the marked GET routes."""
    patterns = []
    for router in routers:
        for route in router.routes:
            if (isinstance(route, APIRoute) and "GET" in (route.methods or ())
                    and getattr(route.endpoint, MARK, False)):
                patterns.append(compile_path(route.path)[0])
    return patterns


@dataclass
class Entry:
    """A 200 response as the application sent it, and the table revisions it was built from."""

    stored_at: float
    headers: list[tuple[bytes, bytes]]
    body: bytes
    depends: tuple[tuple[str, int], ...]


class ReadCache:
    """ASGI middleware; sits inside the session middleware (it reads the decoded session)."""

    def __init__(self, app: ASGIApp, *, engine: Engine, tokens: TokenSigner, flows_dir: Path,
                 paths: list[re.Pattern[str]], max_entries: int = 2000, ttl: float = 300.0,
                 max_body: int = 2 * 1024 * 1024, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.app = app
        self.revision = revision.RevisionReader(engine)
        self.tokens = tokens
        self._checked_tokens: dict[str, CheckedToken] = {}  # token → (user id, version, expiry)
        self.manifest = Path(flows_dir) / MANIFEST
        self.paths = paths
        self.max_entries = max_entries
        self.ttl = ttl
        self.max_body = max_body
        self.max_bytes = max_bytes
        self.entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self.bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope) if self.max_entries > 0 else None
        # Read before the app reads any data: an answer is filed under revisions no newer than
        # the data it saw, so a write racing with it makes the entry stale, never wrong.
        revisions = self.revision.read() if key is not None else None
        if key is None or revisions is None:
            await self.app(scope, receive, send)
            return
        entry = self.entries.get(key)
        if (entry is not None and time.monotonic() - entry.stored_at < self.ttl
                and revisions.still(entry.depends)):
            self.entries.move_to_end(key)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [*entry.headers, (STATUS_HEADER, b"hit")]})
            await send({"type": "http.response.body", "body": entry.body})
            return
        with revision.reading() as tables_read:
            await self.app(scope, receive, self._recording(key, send, revisions, tables_read))

    def _key(self, scope: Scope) -> tuple[Any, ...] | None:
        """The cache key, or None when this request must go to the app."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        path = scope["path"]
        if not any(pattern.match(path) for pattern in self.paths):
            return None
        caller = self._caller(scope)
        if caller is None:
            return None  # anonymous or bad credentials: the app answers (401 or the login page)
        htmx = next((v for k, v in scope["headers"] if k == b"hx-request"), b"")
        return (caller, path, scope.get("query_string", b""), htmx, self._flows_stamp(),
                today_beijing().toordinal())

    def _caller(self, scope: Scope) -> tuple[Any, ...] | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                kind, _, token = value.decode("latin-1").partition(" ")
                if kind.lower() != "bearer":
                    return None
                checked = self._token_user(token.strip())
                return None if checked is None else ("token", checked.user_id, checked.version)
        session = scope.get("session") or {}
        user_id, version, csrf = session.get("uid"), session.get("sv"), session.get("csrf")
        if not isinstance(user_id, int) or not isinstance(version, int) or not csrf:
            return None  # a page rendered now would mint a CSRF token into the session
        return ("session", user_id, version, csrf, _language(scope))

    def _token_user(self, token: str) -> CheckedToken | None:
        """The token's user and version; a verified signature is remembered until it expires."""
        checked = self._checked_tokens.get(token)
        if checked is None:
            checked = self.tokens.check(token)
            if checked is None:
                return None
            if len(self._checked_tokens) >= 10_000:
                self._checked_tokens.clear()
            self._checked_tokens[token] = checked
        return checked if time.time() < checked.expires else None

    def _flows_stamp(self) -> tuple[int, int, int]:
        """Which published discharge dataset is current (a load replaces the manifest)."""
        try:
            stat = os.stat(self.manifest)
        except FileNotFoundError:
            return (0, 0, 0)
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _recording(self, key: tuple[Any, ...], send: Send, revisions: revision.Revisions,
                   tables_read: set[str]) -> Send:
        started: dict[str, Any] = {}
        chunks: list[bytes] = []
        size = 0

        async def send_and_keep(message: MutableMapping[str, Any]) -> None:
            nonlocal size
            if message["type"] == "http.response.start":
                started.update(status=message["status"], headers=list(message.get("headers", [])))
                message["headers"] = [*started["headers"], (STATUS_HEADER, b"miss")]
            elif message["type"] == "http.response.body" and started:
                body = message.get("body", b"")
                size += len(body)
                if size <= self.max_body:
                    chunks.append(body)
                if not message.get("more_body", False):
                    depends = revisions.of(frozenset(tables_read))
                    self._store(key, started, chunks, size, depends)
            await send(message)

        return send_and_keep

    def _store(self, key: tuple[Any, ...], started: dict[str, Any], chunks: list[bytes],
               size: int, depends: tuple[tuple[str, int], ...]) -> None:
        headers: list[tuple[bytes, bytes]] = started["headers"]
        if started["status"] != 200 or size > self.max_body:
            return
        if any(name.lower() == b"set-cookie" for name, _ in headers):
            return
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= len(old.body)
        self.entries[key] = Entry(time.monotonic(), headers, b"".join(chunks), depends)
        self.bytes += size
        while self.entries and (len(self.entries) > self.max_entries or self.bytes > self.max_bytes):
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= len(evicted.body)


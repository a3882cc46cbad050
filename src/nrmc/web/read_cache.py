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
- clock: an answer showing something that turns with the clock alone (a referral's overdue
  flag at its deadline) is kept only until the earliest such instant (core/lifetime.py).
Disabling a user, signing out and anything else that ends a user's sessions raises the user's
session version, a write to `users`, which every authenticated answer read: their entries die,
and the next request goes to the app, which refuses the old credential. Entries also expire
after `ttl` seconds, a bound on anything else that could drift.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from ..core import lifetime
from ..core.inputs import today_beijing
from ..db import revision
from ..flows.store import MANIFEST
from .security import CheckedToken, TokenSigner
from .shared_entries import SharedEntries
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


@dataclass(frozen=True)
class CachedRoute:
    """A GET route as the cache sees it: its path pattern, whether it is marked, and whether
    its answer may be shared by callers of the same role and scope."""

    pattern: re.Pattern[str]
    marked: bool
    shared: bool


def cached_routes(routers: Iterable[APIRouter]) -> list[CachedRoute]:
    """Every GET route in routing order (the first whose pattern matches a path is the one
    that answers it, as in the router), marked or not."""
    found = []
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
                marked = bool(getattr(route.endpoint, MARK, False))
                found.append(CachedRoute(compile_path(route.path)[0], marked,
                                         marked and sees_caller_only_by_scope(route)))
    return found


def sees_caller_only_by_scope(route: APIRoute) -> bool:
    """True for a JSON route whose endpoint learns who calls only through their Scope (role,
    province, hospital) — never the user object — so its answer is the same for every caller
    of that scope and can be shared between them. Pages are never shared: they carry the
    session's CSRF token and the user's name. (Endpoints take the caller from these
    dependencies, never from the raw request.)"""
    from . import deps

    if not route.path.startswith("/api/"):
        return False
    by_scope = {deps.api_scope, deps.current_project, deps.current_hospital, deps.current_region}
    the_user = {deps.api_user, deps.signed_in_api_user, deps.page_user,
                deps.signed_in_page_user, deps.page_scope}

    def clean(dependant: Any) -> bool:
        for sub in dependant.dependencies:
            if sub.call in by_scope:
                continue
            if sub.call in the_user or not clean(sub):
                return False
        return True

    return clean(route.dependant)


@dataclass
class Entry:
    """A 200 response as the application sent it, and the table revisions it was built from."""

    stored_at: float  # wall clock: entries move between worker processes
    expires_at: float  # the ttl, or sooner when something in the answer follows the clock
    depends: tuple[tuple[str, int], ...]
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True)
class Account:
    """What the cache needs of a user to share an answer by scope."""

    version: int
    usable: bool  # active and not holding a one-time password
    scope: tuple[str, str | None, str | None]  # role, province, hospital


class ReadCache:
    """ASGI middleware; sits inside the session middleware (it reads the decoded session)."""

    def __init__(self, app: ASGIApp, *, engine: Engine, tokens: TokenSigner, flows_dir: Path,
                 routes: list[CachedRoute], max_entries: int = 2000, ttl: float = 300.0,
                 max_body: int = 2 * 1024 * 1024, max_bytes: int = 256 * 1024 * 1024,
                 shared_file: Path | None = None) -> None:
        self.app = app
        self.revision = revision.RevisionReader(engine)
        self.tokens = tokens
        self._checked_tokens: dict[str, CheckedToken] = {}  # token → (user id, version, expiry)
        self._accounts: dict[int, Account | None] = {}  # as of `_accounts_at` of users
        self._accounts_at = -1
        self.manifest = Path(flows_dir) / MANIFEST
        self.routes = routes
        self.max_entries = max_entries
        self.ttl = ttl
        self.max_body = max_body
        self.max_bytes = max_bytes
        self.entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self.bytes = 0
        self.shared = SharedEntries(shared_file, max_entries=max_entries) if shared_file else None
        self._building: dict[tuple[Any, ...], asyncio.Event] = {}  # keys being built now
        self.wait_for_build = 10.0  # seconds a caller waits for another's build of its answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route(scope) if self.max_entries > 0 else None
        # Read before the app reads any data: an answer is filed under revisions no newer than
        # the data it saw, so a write racing with it makes the entry stale, never wrong.
        revisions = self.revision.read() if route is not None else None
        key = self._key(scope, route, revisions) if route and revisions else None
        if key is None or revisions is None:
            await self.app(scope, receive, send)
            return
        entry = self._lookup(key, revisions)
        if entry is None and key in self._building:
            # The same answer is being built for another caller of this worker: wait for it
            # rather than build it twice (a crowd arriving at a cold or just-dropped entry).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._building[key].wait(), self.wait_for_build)
            entry = self._lookup(key, revisions)
        if entry is not None:
            self.entries.move_to_end(key)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [*entry.headers, (STATUS_HEADER, b"hit")]})
            await send({"type": "http.response.body", "body": entry.body})
            return
        building = self._building.setdefault(key, asyncio.Event())
        try:
            with revision.reading() as tables_read, lifetime.watching() as clock:
                await self.app(scope, receive,
                               self._recording(key, send, revisions, tables_read, clock))
        finally:
            building.set()
            if self._building.get(key) is building:
                del self._building[key]

    def _lookup(self, key: tuple[Any, ...], revisions: revision.Revisions) -> Entry | None:
        """A replayable entry: this worker's own, else one another worker built."""
        entry = self.entries.get(key)
        if entry is not None and self._fresh(entry, revisions):
            return entry
        found = self.shared.get(key) if self.shared is not None else None
        if found is None:
            return None
        entry = Entry(*found)
        if not self._fresh(entry, revisions):
            return None
        self._keep(key, entry)
        return entry

    def _fresh(self, entry: Entry, revisions: revision.Revisions) -> bool:
        return time.time() < entry.expires_at and revisions.still(entry.depends)

    def _route(self, scope: Scope) -> CachedRoute | None:
        """The marked route that answers this request, or None (not a GET, or not marked)."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        path = scope["path"]
        route = next((r for r in self.routes if r.pattern.match(path)), None)
        return route if route is not None and route.marked else None

    def _key(self, scope: Scope, route: CachedRoute,
             revisions: revision.Revisions) -> tuple[Any, ...] | None:
        """The cache key, or None when this request must go to the app."""
        caller = self._caller(scope)
        if caller is None:
            return None  # anonymous or bad credentials: the app answers (401 or the login page)
        if route.shared:
            account = self._account(caller[1], revisions)
            if account is None or not account.usable or account.version != caller[2]:
                return None  # the app refuses it (401/403); nothing to share
            caller = ("scope", *account.scope)
        htmx = next((v for k, v in scope["headers"] if k == b"hx-request"), b"")
        return (caller, scope["path"], scope.get("query_string", b""), htmx,
                self._flows_stamp(), today_beijing().toordinal())

    def _caller(self, scope: Scope) -> tuple[Any, ...] | None:
        """(kind, user id, session version, …) from the bearer token or the session cookie."""
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

    def _account(self, user_id: int, revisions: revision.Revisions) -> Account | None:
        """The user's role, scope and session version, looked up once per change of `users`."""
        at = revisions.tables.get("users", 0)
        if at != self._accounts_at:
            self._accounts.clear()
            self._accounts_at = at
        if user_id not in self._accounts:
            if len(self._accounts) >= 100_000:
                self._accounts.clear()
            rows = self.revision.query(
                "SELECT session_version, active, must_change_password, role, scope_code "
                "FROM users WHERE id = ?", (user_id,))
            if rows is None:
                return None  # the store could not be asked: not cached, not remembered
            self._accounts[user_id] = _account(rows[0]) if rows else None
        return self._accounts[user_id]

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
                   tables_read: set[str], clock: lifetime.Lifetime) -> Send:
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
                    self._store(key, started, chunks, size, depends, clock.until)
            await send(message)

        return send_and_keep

    def _store(self, key: tuple[Any, ...], started: dict[str, Any], chunks: list[bytes],
               size: int, depends: tuple[tuple[str, int], ...], until: float | None) -> None:
        headers: list[tuple[bytes, bytes]] = started["headers"]
        if started["status"] != 200 or size > self.max_body:
            return
        now = time.time()
        expires_at = now + self.ttl if until is None else min(now + self.ttl, until)
        if expires_at <= now:
            return  # follows the clock too closely to keep
        if any(name.lower() == b"set-cookie" for name, _ in headers):
            return
        entry = Entry(now, expires_at, depends, headers, b"".join(chunks))
        self._keep(key, entry)
        if self.shared is not None:
            self.shared.put(key, entry.stored_at, expires_at, depends, headers, entry.body)

    def _keep(self, key: tuple[Any, ...], entry: Entry) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= len(old.body)
        self.entries[key] = entry
        self.bytes += len(entry.body)
        while self.entries and (len(self.entries) > self.max_entries or self.bytes > self.max_bytes):
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= len(evicted.body)



def _account(row: tuple[Any, ...]) -> Account:
    from ..domains.users.scope import Scope as CallerScope

    version, active, must_change, role, scope_code = row
    seen = CallerScope.for_user(_Row(role=role, username=None, scope_code=scope_code))
    return Account(int(version), bool(active) and not bool(must_change),
                   (str(seen.role.value), seen.province, seen.hospital))


@dataclass
class _Row:
    role: str
    username: str | None
    scope_code: str | None

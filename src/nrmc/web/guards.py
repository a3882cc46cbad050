"""Request guards that run before routing (and before authentication).

- NUL bytes are refused up front: PostgreSQL text cannot hold them, so a path or query carrying
  one (%00) would otherwise reach the driver and fail there as a 500 (found by schemathesis).
- Request bodies are limited (BodyLimit): a declared Content-Length over the limit is refused
  before one byte is read; a streamed (chunked) body is counted as it arrives and refused the
  moment it passes the limit. Either way the answer is 413 and the rest is never read.
- Every response carries the security headers (SecurityHeaders), CSP included.
"""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send


class RefuseNulBytes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            query = scope.get("query_string", b"")
            if b"\x00" in unquote_to_bytes(raw) or b"\x00" in unquote_to_bytes(query):
                body = json.dumps({"detail": "NUL bytes are not allowed in the URL"}).encode()
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _reply(status: int, detail: str) -> tuple[dict[str, Any], dict[str, Any]]:
    body = json.dumps({"detail": detail}).encode()
    return ({"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]},
            {"type": "http.response.body", "body": body})


# Routes that take file uploads (Excel/CSV) end in /upload; they alone get the larger limit.
UPLOAD_PATH = re.compile(r"/upload/?$")


class BodyLimit:
    """413 for a body over `limit` bytes (`upload_limit` on upload routes), without reading it.

    Outermost but for the error middleware: no session decoding, authentication or routing
    happens for a refused body. When a streamed body passes the limit midway, the 413 is sent
    at once and the application is told the client went away, so whatever it does next is
    discarded and the remaining bytes are never read."""

    def __init__(self, app: ASGIApp, *, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = max(upload_limit, limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if UPLOAD_PATH.search(scope["path"]) else self.limit
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server rejects a malformed length itself
            if too_big:
                for message in _reply(413, f"request body larger than {limit} bytes"):
                    await send(message)
                return
        received = 0
        refused = False
        started = False

        async def counting_receive() -> Any:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        for reply in _reply(413, f"request body larger than {limit} bytes"):
                            await send(reply)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise  # a disconnect the app raised on after our 413 is expected; others are not


class AdmissionLimit:
    """At most `slots` interactive requests in flight past this point, and `bulk_slots` file
    uploads and downloads; the rest wait on the event loop, first come first served.

    Each request holds at most one pooled connection, and holds it across hops between worker
    threads (auth lookup, route, response validation). If more requests than connections got
    in, threads could all block on the pool while the connection holders wait for a thread:
    a deadlock until the pool timeout. Admitting no more requests than the pool has
    connections rules that out. Uploads and CSV/XLSX downloads run for seconds on a big file:
    in a lane of their own they never hold up the pages and reads queued behind them. Static
    files bypass the limit (they use no connection).
    """

    def __init__(self, app: ASGIApp, slots: int, bulk_slots: int = 1) -> None:
        self.app = app
        self.slots = max(1, slots)
        self.bulk_slots = max(0, bulk_slots)
        self._lanes: tuple[anyio.Semaphore, anyio.Semaphore] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        if self._lanes is None:
            interactive = anyio.Semaphore(self.slots)
            self._lanes = (interactive, anyio.Semaphore(self.bulk_slots) if self.bulk_slots
                           else interactive)
        interactive, bulk = self._lanes
        async with bulk if is_bulk(scope) else interactive:
            await self.app(scope, receive, send)


_BULK_QUERY = re.compile(rb"(?:^|&)format=(?:csv|xlsx)(?:&|$)")


def is_bulk(scope: Scope) -> bool:
    """A file upload (multipart form) or a table download (?format=csv|xlsx, *.csv, *.xlsx)."""
    path = scope["path"]
    if path.endswith((".csv", ".xlsx")) or _BULK_QUERY.search(scope.get("query_string", b"")):
        return True
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.startswith(b"multipart/form-data")
    return False


#: Interactive requests a worker on SQLite runs at once past the read cache (measured:
#: docs/performance.md, "Session 6").
SQLITE_CONCURRENCY = 1


def admission_slots(engine: Engine, setting: int = 0) -> int:
    """How many interactive requests a web worker runs at once past the read cache (one more
    lane holds an upload or download); the rest wait in arrival order. Together never more than
    the pool's connections (see AdmissionLimit). On SQLite the default is one: its queries run
    in-process, so a request is CPU work under the worker's one GIL, and fifteen at once only
    share the core fifteen ways — every rebuild takes fifteen times as long and the writers'
    commits queue behind readers — while one at a time finishes each in its own time and the
    read cache answers hits meanwhile. A server whose queries wait on the network (PostgreSQL)
    runs one per pooled connection. `setting` (NRMC_WEB_CONCURRENCY) overrides both."""
    room = max(1, pool_capacity(engine) - 1)  # one connection for the bulk lane
    if setting:
        return min(setting, room)
    return min(SQLITE_CONCURRENCY, room) if engine.dialect.name == "sqlite" else room


def pool_capacity(engine: Engine) -> int:
    """Connections the engine's pool can hand out at once (QueuePool: size + overflow)."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    if not callable(size):
        return 15
    return int(size()) + max(int(getattr(pool, "_max_overflow", 0)), 0)


# No inline script anywhere (pages pass data in data-* attributes or JSON blocks that static
# JS reads); inline style attributes stay allowed, since ECharts and htmx set styles at run time.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:", "font-src 'self' data:", "connect-src 'self'",
    "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
])
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Headers every response carries: a Content-Security-Policy without inline script, no MIME
    sniffing, no framing (clickjacking), no referrer leaking paths to other sites; and, when
    served over TLS, Strict-Transport-Security (browsers then refuse plain HTTP to the site)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*SECURITY_HEADERS, HSTS] if scope.get("scheme") == "https" else SECURITY_HEADERS

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""Request guards that run before routing.

NUL bytes are refused up front: PostgreSQL text cannot hold them, so a path or query carrying
one (%00) would otherwise reach the driver and fail there as a 500 (found by schemathesis).
"""

from __future__ import annotations

import json
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


class AdmissionLimit:
    """At most `slots` requests in flight past this point; the rest wait on the event loop.

    Each request holds at most one pooled connection, and holds it across hops between worker
    threads (auth lookup, route, response validation). If more requests than connections got
    in, threads could all block on the pool while the connection holders wait for a thread:
    a deadlock until the pool timeout. Admitting no more requests than the pool has
    connections rules that out. Static files bypass the limit (they use no connection).
    """

    def __init__(self, app: ASGIApp, slots: int) -> None:
        self.app = app
        self.slots = max(1, slots)
        self._semaphore: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.slots)
        async with self._semaphore:
            await self.app(scope, receive, send)


def pool_capacity(engine: Engine) -> int:
    """Connections the engine's pool can hand out at once (QueuePool: size + overflow)."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    if not callable(size):
        return 15
    return int(size()) + max(int(getattr(pool, "_max_overflow", 0)), 0)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Headers every response carries: no MIME sniffing, no framing (clickjacking), no
    referrer leaking paths to other sites. (No CSP yet: pages embed their chart data inline.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

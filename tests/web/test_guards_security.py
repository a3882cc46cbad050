"""The body limit (14.4) and the security headers (14.12), CSP without inline script."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nrmc.web.guards import BodyLimit

from .conftest import login

MB = 1024 * 1024
SRC = Path(__file__).resolve().parents[2] / "src" / "nrmc"


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "headers": [(b"host", b"testserver"), *headers],
            "client": ("203.0.113.9", 5000), "server": ("testserver", 80)}


def _post(app, path: str, *, total: int, declared: bool) -> tuple[int, int]:
    """POST `total` bytes in 1 MB chunks; (status, chunks the server pulled)."""
    pulled = 0
    chunks = total // MB
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        if pulled > chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b"x" * MB, "more_body": pulled < chunks}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    if declared:
        headers.append((b"content-length", str(total).encode()))
    asyncio.run(app(_scope(path, headers), receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], pulled


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/login", "/api/v1/users"])
def test_a_declared_50_mb_body_is_refused_before_one_byte_is_read(app, path):
    status, pulled = _post(app, path, total=50 * MB, declared=True)
    assert (status, pulled) == (413, 0)


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/users/me/password"])
def test_a_streamed_50_mb_body_is_cut_off_just_past_the_limit(app, path):
    status, pulled = _post(app, path, total=50 * MB, declared=False)
    assert status == 413
    assert pulled <= 11  # the 10 MB default, read in 1 MB chunks: never the remaining 39 MB


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/login"])
def test_a_streamed_50_mb_form_is_refused_without_reading_it(app, path):
    status, pulled = _post(app, path, total=50 * MB, declared=False)
    assert status in (400, 413)  # the form parser gives up at its own 1 MB field limit first
    assert pulled <= 11


def test_the_413_carries_the_security_headers(client):
    response = client.post("/api/v1/users", content=b"{}",
                           headers={"Content-Length": str(50 * MB), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_a_body_under_the_limit_reaches_the_app(client):
    response = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "x" * 1000})
    assert response.status_code == 401


def test_upload_routes_alone_get_the_larger_limit():
    async def echo(scope, receive, send):
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})

    guarded = BodyLimit(echo, limit=2 * MB, upload_limit=6 * MB)
    assert _post(guarded, "/api/v1/projects/1/activities/upload", total=5 * MB, declared=False)[0] == 200
    assert _post(guarded, "/api/v1/projects/1/activities/upload", total=8 * MB, declared=True)[0] == 413
    assert _post(guarded, "/api/v1/projects/1/activities", total=5 * MB, declared=False)[0] == 413


# --- headers --------------------------------------------------------------------------------

def _csp(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


def test_every_response_carries_the_security_headers(client):
    for path in ("/login", "/api/v1/openapi.json", "/static/app.css", "/no-such-page"):
        response = client.get(path)
        csp = _csp(response)
        assert csp["script-src"] == "script-src 'self'", path
        assert csp["frame-ancestors"] == "frame-ancestors 'none'"
        assert csp["object-src"] == "object-src 'none'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in response.headers  # plain HTTP here


def test_hsts_is_sent_when_served_over_tls(app):
    with TestClient(app, base_url="https://testserver") as tls:
        hsts = tls.get("/login").headers["strict-transport-security"]
    assert "max-age=31536000" in hsts


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_no_template_has_inline_script_or_event_handlers():
    templates = [p for p in SRC.rglob("templates/**/*.html")]
    assert len(templates) > 10
    offenders = [f"{p.relative_to(SRC)}: {m.group(0)}" for p in templates
                 for m in [*INLINE_SCRIPT.finditer(p.read_text(encoding="utf-8")),
                           *INLINE_HANDLER.finditer(p.read_text(encoding="utf-8"))]]
    assert offenders == []


def test_rendered_pages_have_no_inline_script(app, cast):
    with TestClient(app) as browser:
        login(browser, "admin")
        for path in ("/", "/projects", f"/projects/{cast.jiuquan_project}", "/regions/620000",
                     "/referrals", "/planning", "/audit", "/users", "/api/docs"):
            html = browser.get(path).text
            assert not INLINE_SCRIPT.search(html), path
            assert not INLINE_HANDLER.search(html), path


def test_a_real_server_answers_413_to_a_streamed_50_mb_post_without_reading_it(app):
    """Over a socket to uvicorn, as an attacker would send it: chunked, no Content-Length."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = 0
    reply = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"POST /api/v1/users HTTP/1.1\r\nHost: nrmc\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n" % MB + b"x" * MB + b"\r\n"
            conn.settimeout(0.05)
            try:
                while sent < 50 * MB and not reply:
                    conn.sendall(chunk)
                    sent += MB
                    try:
                        reply = conn.recv(65536)
                    except TimeoutError:
                        pass
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server closed the connection after its 413
            conn.settimeout(10)
            while not reply:
                reply = conn.recv(65536)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert reply.startswith(b"HTTP/1.1 413")
    assert sent < 20 * MB  # refused at the 10 MB limit (plus what sat in socket buffers)

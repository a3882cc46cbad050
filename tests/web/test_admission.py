"""How many requests a web worker runs at once past the read cache, and in what order the rest
wait: on SQLite one at a time (more only share one GIL), first come first served, with uploads
and downloads in a lane of their own."""

from __future__ import annotations

import anyio
import pytest

from nrmc.db import make_engine
from nrmc.web.guards import AdmissionLimit, admission_slots, is_bulk, pool_capacity


def test_sqlite_runs_one_at_once_and_the_setting_overrides_within_the_pool(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert pool_capacity(engine) == 15
    assert admission_slots(engine) == 1
    assert admission_slots(engine, 6) == 6
    assert admission_slots(engine, 100) == 14  # the pool's connections, one kept for bulk


def test_a_networked_database_runs_one_request_per_pooled_connection():
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    assert admission_slots(engine) == pool_capacity(engine) - 1 == 14
    assert admission_slots(engine, 3) == 3


@pytest.mark.parametrize(("path", "query", "content_type", "bulk"), [
    ("/api/v1/projects", b"limit=50", b"application/json", False),
    ("/api/v1/projects", b"limit=50&format=xlsx", None, True),
    ("/api/v1/metrics/outflow", b"format=csv", None, True),
    ("/api/v1/projects", b"informat=csv", None, False),
    ("/trusteeships/template.xlsx", b"", None, True),
    ("/ledger/upload", b"", b"multipart/form-data; boundary=x", True),
    ("/referrals", b"", b"application/x-www-form-urlencoded", False),
])
def test_uploads_and_downloads_are_told_apart(path, query, content_type, bulk):
    headers = [(b"content-type", content_type)] if content_type else []
    assert is_bulk({"type": "http", "path": path, "query_string": query,
                    "headers": headers}) is bulk


@pytest.mark.anyio
async def test_waiting_requests_are_served_in_arrival_order_and_static_files_skip_the_queue():
    order: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        order.append(f"start {scope['path']}")
        await anyio.sleep(0.05 if scope["path"] == "/slow" else 0)
        order.append(f"end {scope['path']}")

    limit = AdmissionLimit(app, slots=1)

    async def call(path: str, after: float) -> None:
        await anyio.sleep(after)
        await limit({"type": "http", "path": path, "query_string": b"",  # type: ignore[arg-type]
                     "headers": []}, None, None)

    async with anyio.create_task_group() as group:
        group.start_soon(call, "/slow", 0)
        group.start_soon(call, "/first", 0.01)
        group.start_soon(call, "/second", 0.02)
        group.start_soon(call, "/static/app.css", 0.03)
        group.start_soon(call, "/export.csv", 0.035)  # the bulk lane: not behind /slow
    assert order == ["start /slow", "start /static/app.css", "end /static/app.css",
                     "start /export.csv", "end /export.csv", "end /slow",
                     "start /first", "end /first", "start /second", "end /second"]

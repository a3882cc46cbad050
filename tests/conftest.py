"""Shared fixtures: real SQLite and real PostgreSQL stores, seeded with the reference data.

Every test that takes `db` or `workspace_url` runs once per backend. PostgreSQL uses the server
named by NRMC_TEST_DATABASE_URL (CI sets it; CI=true also defaults it to the machine's server),
each workspace in its own schema so parallel runs never collide.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from nrmc.db import make_engine
from nrmc.workspace import upgrade_workspace

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_URL = os.environ.get("NRMC_TEST_DATABASE_URL") or (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test" if IN_CI else None
)
_SCHEMAS: list[str] = []


def _pg_reachable() -> str | None:
    """None when the server answers, else the reason (shown on skip)."""
    if not PG_URL:
        return "NRMC_TEST_DATABASE_URL is not set (set it to run the PostgreSQL tests)"
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        return f"PostgreSQL at {PG_URL} is not reachable: {exc.__class__.__name__}"
    return None


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        reason = _pg_reachable()
        if reason:
            if IN_CI:
                pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
            pytest.skip(reason)
    return str(request.param)


def new_pg_schema_url() -> str:
    assert PG_URL
    schema = f"nrmc_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    _SCHEMAS.append(schema)
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "nrmc.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_workspace(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def fresh_workspace_url(backend: str, directory: Path, template: Path) -> str:
    """A migrated store holding the real geography and the roster, private to the caller."""
    if backend == "sqlite":
        target = directory / "nrmc.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url = new_pg_schema_url()
    engine = make_engine(url)
    upgrade_workspace(engine)
    engine.dispose()
    return url


@pytest.fixture
def workspace_url(backend: str, tmp_path: Path, _sqlite_template: Path) -> str:
    return fresh_workspace_url(backend, tmp_path, _sqlite_template)


@pytest.fixture
def engine(workspace_url: str) -> Iterator[Engine]:
    engine = make_engine(workspace_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session on a fresh seeded store; tests commit or flush as the code under test would."""
    session = Session(engine, expire_on_commit=False)
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def nrmc_env(workspace_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the CLI at a fresh workspace (NRMC_HOME + NRMC_DATABASE_URL)."""
    from nrmc.cli import context

    home = tmp_path / "home"
    monkeypatch.setenv("NRMC_HOME", str(home))
    monkeypatch.setenv("NRMC_DATABASE_URL", workspace_url)
    context.reset()
    yield home
    context.reset()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _SCHEMAS or not PG_URL:
        return
    admin = create_engine(PG_URL)
    # One transaction per schema: dropping them all at once takes a lock per table and index
    # of every schema and overruns the server's max_locks_per_transaction.
    for schema in _SCHEMAS:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()

"""Web fixtures: one seeded store with the cast per test module (on SQLite and PostgreSQL),
an app on it, a TestClient, and bearer tokens for every user of the cast."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from nrmc.config import Settings
from nrmc.db import make_engine, session_scope
from nrmc.web import create_app
from tests.conftest import fresh_workspace_url

from . import cast as cast_module
from .cast import PASSWORD, Cast

USERS = ("admin", "analyst", "gansu", "jiuquan", "jinta", "henan")
_DATASETS: dict[str, Path] = {}


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """argon2 with its production cost (64 MiB, 3 passes) makes each of the hundreds of test
    logins slow; the tests check behaviour, not the cost, so they hash cheaply. Hashes carry
    their parameters, so verification is unchanged."""
    from argon2 import PasswordHasher

    from nrmc.domains.users import service as users

    original = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    users._hasher = original
    import shutil

    for made in _DATASETS.values():  # the shared discharge dataset (see with_discharges)
        shutil.rmtree(made.parent, ignore_errors=True)


def make_web(backend: str, directory: Path, template: Path) -> tuple[Engine, Cast]:
    url = fresh_workspace_url(backend, directory, template)
    engine = make_engine(url)
    with session_scope(engine) as session:
        made = cast_module.build(session)
    return engine, made


@pytest.fixture(scope="module")
def web_store(backend: str, tmp_path_factory: pytest.TempPathFactory,
              _sqlite_template: Path) -> Iterator[tuple[Engine, Cast]]:
    engine, made = make_web(backend, tmp_path_factory.mktemp("web"), _sqlite_template)
    yield engine, made
    engine.dispose()


@pytest.fixture(scope="module")
def cast(web_store: tuple[Engine, Cast]) -> Cast:
    return web_store[1]


def with_discharges(engine: Engine, home: Path) -> Settings:
    """Settings for a workspace at `home` holding a small synthetic discharge dataset (made
    once per test session from the cast's registry, then copied: every store is seeded alike)."""
    import shutil
    import tempfile

    from nrmc.domains.hospitals import service as hospitals
    from nrmc.domains.projects import service as projects
    from nrmc.domains.regions import service as regions
    from nrmc.flows.synth import write_synthetic_dataset

    settings = Settings(home=home, env="test")
    if "flows" not in _DATASETS:
        with session_scope(engine) as session:
            tables = {"regions": regions.region_table(session=session),
                      "hospitals": hospitals.hospital_table(session=session),
                      "projects": projects.project_table(session=session)}
        made = Path(tempfile.mkdtemp(prefix="nrmc-web-flows-")) / "flows"
        write_synthetic_dataset(made, **tables, rows=20_000, years=[2023, 2024], seed=5,
                                pseudonym_key=settings.pseudonym_key)
        _DATASETS["flows"] = made
    shutil.copytree(_DATASETS["flows"], settings.flows_dir)
    return settings


@pytest.fixture(scope="module")
def app(web_store: tuple[Engine, Cast], tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings = with_discharges(web_store[0], tmp_path_factory.mktemp("home"))
    return create_app(settings, engine=web_store[0])


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def tokens(client: TestClient) -> dict[str, str]:
    out = {}
    for name in USERS:
        response = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        out[name] = response.json()["access_token"]
    return out


@pytest.fixture(scope="module")
def as_user(client: TestClient, tokens: dict[str, str]):  # type: ignore[no-untyped-def]
    """Call the API as one of the cast: as_user("gansu").get("/api/v1/...")."""

    class Caller:
        def __init__(self, name: str) -> None:
            self.headers = {"Authorization": f"Bearer {tokens[name]}"}

        def get(self, url: str, headers: dict | None = None, **kwargs):  # type: ignore[no-untyped-def]
            return client.get(url, headers=self.headers | (headers or {}), **kwargs)

        def patch(self, url: str, headers: dict | None = None, **kwargs):  # type: ignore[no-untyped-def]
            return client.patch(url, headers=self.headers | (headers or {}), **kwargs)

        def post(self, url: str, headers: dict | None = None, **kwargs):  # type: ignore[no-untyped-def]
            return client.post(url, headers=self.headers | (headers or {}), **kwargs)

    return Caller


@pytest.fixture(scope="module")
def pages(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """One signed-in browser-like client per user (cookies kept per client)."""
    clients: dict[str, TestClient] = {}

    def signed_in(name: str) -> TestClient:
        if name not in clients:
            client = TestClient(app)
            assert login(client, name).status_code == 303
            clients[name] = client
        return clients[name]

    yield signed_in
    for client in clients.values():
        client.close()


def login(client: TestClient, username: str, password: str = PASSWORD, next_url: str = "/"):  # type: ignore[no-untyped-def]
    """Sign in through the login form (fetching its CSRF token first)."""
    client.get("/login")
    csrf = client.cookies.get("nrmc_session") and page_csrf(client, "/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf, "next": next_url},
                       follow_redirects=False)


def page_csrf(client: TestClient, url: str) -> str:
    import re

    html = client.get(url).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF field on {url}"
    return match.group(1)

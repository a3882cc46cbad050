"""The heaviest read endpoints ask the store a fixed number of questions, however many rows
they show: no query per alliance, member, dispatch or region (no N+1). Each endpoint is
asked once, then the store grows (more alliances, members, dispatches) and it is asked again:
the number of SQL statements must not change. A count, not a timing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from nrmc.core.enums import AllianceKind
from nrmc.db import session_scope
from nrmc.domains.alliances import service as alliances
from nrmc.domains.alliances.models import AllianceMember
from nrmc.domains.collaboration import kpis
from nrmc.domains.collaboration import service as collaboration
from nrmc.domains.collaboration.schemas import DispatchIn
from nrmc.domains.hospitals.models import Hospital
from nrmc.domains.projects.models import Project
from nrmc.domains.users.scope import Scope
from nrmc.web import create_app

from .cast import PASSWORD, Cast
from .conftest import login, with_discharges


@pytest.fixture(scope="module")
def uncached(web_store: tuple[Engine, Cast], tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app with the read cache off: every request runs the endpoint."""
    settings = with_discharges(web_store[0], tmp_path_factory.mktemp("home"))
    return create_app(settings.model_copy(update={"read_cache_entries": 0}),
                      engine=web_store[0])


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *_: object) -> None:
        self.n += 1


@pytest.fixture(scope="module")
def clients(uncached: FastAPI) -> Iterator[dict[str, TestClient]]:
    """A signed-in page client per user (pages) and bearer tokens (API) through one app."""
    made: dict[str, TestClient] = {}
    for name in ("admin", "gansu", "jiuquan"):
        client = TestClient(uncached)
        client.__enter__()
        assert login(client, name).status_code == 303
        token = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        made[name] = client
    yield made
    for client in made.values():
        client.__exit__(None, None, None)


def statements(engine: Engine, client: TestClient, path: str) -> int:
    """SQL statements one request runs (it must succeed), with the KPIs' kept ledger rows
    and networks forgotten first: the count is that of a rebuild, whatever ran before."""
    kpis.forget_kept()
    counter = Counter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    assert response.status_code == 200, (path, response.status_code)
    return counter.n


def grow(engine: Engine, cast: Cast) -> None:
    """Three more alliances in Gansu with members, members for the Jiuquan alliance, and a dozen
    more dispatches (each its own expert, in teams) for the Jiuquan project."""
    system = Scope.system()
    with session_scope(engine) as session:
        project = session.get(Project, cast.jiuquan_project)
        assert project is not None
        taken = set(session.scalars(select(AllianceMember.hospital_code)))
        spare = [code for code in session.scalars(select(Hospital.code).where(
            Hospital.region_code.like("62%")).order_by(Hospital.code)) if code not in taken]
        assert len(spare) >= 16
        for i in range(3):
            made = alliances.create(session=session, name_zh=f"联盟{i}", name_en=f"Alliance {i}",
                                    kind=AllianceKind.specialist_alliance,
                                    lead_hospital_code=spare.pop(), valid_from=date(2023, 1, 1))
            for _ in range(3):
                alliances.add_member(session=session, alliance_id=made.id,
                                     hospital_code=spare.pop(), valid_from=date(2023, 6, 1))
        for _ in range(4):
            alliances.add_member(session=session, alliance_id=cast.jiuquan_alliance,
                                 hospital_code=spare.pop(), valid_from=date(2024, 1, 1))
        for i in range(12):
            collaboration.add_dispatch(session=session, scope=system, data=DispatchIn(
                project_id=project.id, name=f"增派专家{i}", department="外科", title="副主任医师",
                home_hospital=project.output_hospital_code, start_date=date(2025, 6, 1 + i),
                end_date=date(2025, 8, 1 + i), team=f"增派第{i % 3}批"))


def test_the_heaviest_reads_ask_a_fixed_number_of_queries_however_many_rows(
        uncached: FastAPI, clients: dict[str, TestClient], web_store: tuple[Engine, Cast],
        cast: Cast) -> None:
    engine = web_store[0]
    project = cast.jiuquan_project
    asked = [
        ("admin", "/api/v1/alliances"),
        ("gansu", f"/api/v1/alliances/{cast.jiuquan_alliance}"),
        ("gansu", f"/api/v1/projects/{project}/dispatches?limit=5"),
        ("jiuquan", f"/api/v1/projects/{project}/kpis?year=2025"),
        ("jiuquan", f"/api/v1/projects/{project}/kpis/trend"),
        ("jiuquan", f"/projects/{project}"),
        ("gansu", f"/projects/{project}"),
        ("gansu", "/regions/620000"),
        ("admin", "/regions/620000"),
        ("gansu", "/api/v1/metrics/outflow?level=county&specialty=each&limit=5"),
        ("admin", "/api/v1/metrics/programme"),
    ]
    for name, path in asked:  # first requests warm the outflow tables and the app
        statements(engine, clients[name], path)
    before = {(name, path): statements(engine, clients[name], path) for name, path in asked}
    listed = clients["admin"].get("/api/v1/alliances").json()["total"]
    sent = clients["gansu"].get(f"/api/v1/projects/{project}/dispatches").json()["total"]

    grow(engine, cast)

    assert clients["admin"].get("/api/v1/alliances").json()["total"] == listed + 3
    assert clients["gansu"].get(f"/api/v1/projects/{project}/dispatches").json()["total"] \
        == sent + 12
    after = {(name, path): statements(engine, clients[name], path) for name, path in asked}
    assert after == before
    # and none of them is a long list of small queries to begin with
    assert max(before.values()) <= 30, before

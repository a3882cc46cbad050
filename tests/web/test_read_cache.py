"""The read cache replays dashboards from memory, but never across users, never after the data
changed (whoever changed it), and never for a caller who is no longer allowed in."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import update

from nrmc.config import Settings
from nrmc.db import make_engine, session_scope
from nrmc.domains.projects.models import Project
from nrmc.domains.referrals import service as referrals
from nrmc.domains.referrals.models import Referral
from nrmc.domains.referrals.schemas import ReferralCreate
from nrmc.domains.users import service as users
from nrmc.domains.users.scope import Scope
from nrmc.flows.store import MANIFEST
from nrmc.web import create_app, read_cache, routes
from nrmc.web.deps import ApiScope, CurrentUser
from nrmc.web.read_cache import cached_read, cached_routes

from .cast import JINTA, PASSWORD
from .conftest import login

CACHE = "x-nrmc-cache"


def test_a_repeated_read_is_replayed_byte_for_byte(as_user, cast):
    path = f"/api/v1/projects/{cast.jiuquan_project}/kpis"
    first, second = as_user("admin").get(path), as_user("admin").get(path)
    assert first.status_code == second.status_code == 200
    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "hit")
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["x-content-type-options"] == "nosniff"  # outer headers still added


def test_query_strings_and_users_get_their_own_answers(as_user):
    admin_all = as_user("admin").get("/api/v1/projects", params={"limit": 500})
    admin_gansu = as_user("admin").get("/api/v1/projects", params={"limit": 500, "province": "62"})
    gansu = as_user("gansu").get("/api/v1/projects", params={"limit": 500})
    assert admin_all.json()["total"] == 77 and admin_gansu.json()["total"] == 4
    assert gansu.headers[CACHE] == "miss"  # the admin's cached list is not the officer's
    assert gansu.json()["total"] == 4
    assert {p["province_code"] for p in gansu.json()["items"]} == {"620000"}
    again = as_user("gansu").get("/api/v1/projects", params={"limit": 500})
    assert again.headers[CACHE] == "hit" and again.json() == gansu.json()


def test_out_of_scope_stays_404_after_an_allowed_user_cached_it(as_user, cast):
    path = f"/api/v1/projects/{cast.henan_project}"
    assert as_user("admin").get(path).status_code == 200
    assert as_user("admin").get(path).headers[CACHE] == "hit"
    for _ in range(2):
        refused = as_user("gansu").get(path)
        assert refused.status_code == 404 and refused.headers.get(CACHE) == "miss"


def test_an_api_write_is_seen_by_the_next_read(as_user, cast):
    path = f"/api/v1/projects/{cast.gansu_other_project}"
    as_user("admin").get(path)
    assert as_user("admin").get(path).headers[CACHE] == "hit"
    assert as_user("gansu").patch(path, json={"planned_beds": 654}).status_code == 200
    after = as_user("admin").get(path)
    assert after.headers[CACHE] == "miss" and after.json()["planned_beds"] == 654


def test_a_write_from_another_process_is_seen_too(as_user, cast, web_store):
    path = f"/api/v1/projects/{cast.jiuquan_project}"
    as_user("admin").get(path)
    assert as_user("admin").get(path).headers[CACHE] == "hit"
    other = make_engine(str(web_store[0].url.render_as_string(hide_password=False)))
    try:  # as a CLI import would: its own engine, its own transaction
        with other.begin() as conn:
            conn.execute(update(Project).where(Project.id == cast.jiuquan_project)
                         .values(notes="changed by an import"))
    finally:
        other.dispose()
    after = as_user("admin").get(path)
    assert after.headers[CACHE] == "miss" and after.json()["notes"] == "changed by an import"


def test_a_disabled_user_is_refused_even_for_a_cached_read(client, web_store, cast):
    with session_scope(web_store[0]) as session:
        users.create(session=session, username="cached", password=PASSWORD,
                     role="national_analyst")
    token = client.post("/api/v1/auth/token",
                        data={"username": "cached", "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/projects/{cast.jiuquan_project}"
    client.get(path, headers=headers)
    assert client.get(path, headers=headers).headers[CACHE] == "hit"
    with session_scope(web_store[0]) as session:
        users.disable(session=session, username="cached")
    assert client.get(path, headers=headers).status_code == 401


def test_a_new_discharge_load_refreshes_the_outflow(as_user, app):
    path = "/api/v1/metrics/outflow?level=province"
    as_user("admin").get(path)
    assert as_user("admin").get(path).headers[CACHE] == "hit"
    manifest = app.state.settings.flows_dir / MANIFEST
    data = json.loads(manifest.read_text(encoding="utf-8"))
    replacement = manifest.with_suffix(".new")
    replacement.write_text(json.dumps(data), encoding="utf-8")
    os.replace(replacement, manifest)  # as a publish does: a new file under the same name
    assert as_user("admin").get(path).headers[CACHE] == "miss"


def test_pages_are_cached_per_session_and_carry_their_own_csrf_token(app):
    with TestClient(app) as gansu, TestClient(app) as jiuquan:
        login(gansu, "gansu")
        login(jiuquan, "jiuquan")
        first, second = gansu.get("/"), gansu.get("/")
        assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "hit")
        other = jiuquan.get("/")
        assert other.headers[CACHE] == "miss" and other.text != first.text
        assert jiuquan.cookies["nrmc_session"] != gansu.cookies["nrmc_session"]


def test_anonymous_callers_and_writes_go_straight_to_the_app(client, as_user, cast):
    assert CACHE not in client.get("/api/v1/projects").headers  # 401, never looked up
    assert CACHE not in as_user("admin").get("/api/v1/users").headers  # not a marked read


def test_a_referral_list_is_kept_only_until_the_next_deadline(as_user, cast, monkeypatch):
    """Overdue flags follow the clock: a list is replayed until the earliest deadline among the
    requests it shows, then rebuilt; a list of overdue requests is never kept."""
    host = as_user("admin").get(f"/api/v1/projects/{cast.jiuquan_project}").json()
    sent = as_user("jinta").post("/api/v1/referrals", json={
        "from_hospital": JINTA, "to_hospital": host["project_hospital"]["code"],
        "specialty": "cardiovascular", "diagnosis": "I21.0", "urgency": "emergency",
        "reason": "STEMI"})
    assert sent.status_code == 201, sent.text
    due = datetime.fromisoformat(sent.json()["due_at"]).timestamp()
    inbox = "/api/v1/referrals?limit=50"
    assert as_user("jinta").get(inbox).headers[CACHE] == "miss"
    assert as_user("jinta").get(inbox).headers[CACHE] == "hit"
    real = time.time
    monkeypatch.setattr(read_cache.time, "time", lambda: max(real(), due) + 1)
    assert as_user("jinta").get(inbox).headers[CACHE] == "miss"  # past the deadline: rebuilt
    monkeypatch.setattr(read_cache.time, "time", real)
    overdue = "/api/v1/referrals?overdue=true"
    as_user("jinta").get(overdue)
    assert as_user("jinta").get(overdue).headers[CACHE] == "miss"


def test_the_cache_is_bounded_and_can_be_switched_off(web_store, tmp_path, tokens):
    engine = web_store[0]
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    small = create_app(Settings(home=tmp_path / "a", env="test", read_cache_entries=2), engine=engine)
    with TestClient(small) as client:
        for code in ("620000", "410000", "110000"):
            client.get(f"/api/v1/regions/{code}", headers=headers)
        assert client.get("/api/v1/regions/110000", headers=headers).headers[CACHE] == "hit"
        assert client.get("/api/v1/regions/620000", headers=headers).headers[CACHE] == "miss"
    off = create_app(Settings(home=tmp_path / "b", env="test", read_cache_entries=0), engine=engine)
    with TestClient(off) as client:
        for _ in range(2):
            response = client.get("/api/v1/regions/620000", headers=headers)
            assert response.status_code == 200 and CACHE not in response.headers


def test_a_write_drops_only_the_answers_that_read_its_table(as_user, cast):
    projects = "/api/v1/projects?limit=500"
    kpis = f"/api/v1/projects/{cast.jiuquan_project}/kpis"
    as_user("admin").get(projects)
    before = as_user("admin").get(kpis).json()
    assert as_user("admin").get(projects).headers[CACHE] == "hit"
    assert as_user("admin").get(kpis).headers[CACHE] == "hit"
    host = as_user("admin").get(f"/api/v1/projects/{cast.jiuquan_project}").json()
    sent = as_user("jinta").post("/api/v1/referrals", json={
        "from_hospital": JINTA, "to_hospital": host["project_hospital"]["code"],
        "specialty": "cardiovascular", "diagnosis": "I21.0", "reason": "chest pain"})
    assert sent.status_code == 201, sent.text
    assert as_user("admin").get(projects).headers[CACHE] == "hit"  # never read referrals
    after = as_user("admin").get(kpis)
    assert after.headers[CACHE] == "miss"
    assert after.json()["kpis"]["referrals_up"] == before["kpis"]["referrals_up"] + 1


def test_a_referral_drops_only_the_answers_of_its_provinces(as_user, cast, web_store):
    """Referrals are counted per province: a Henan referral leaves Gansu's KPIs and a Gansu
    officer's referral list cached; Henan's list, and the national list, are rebuilt."""
    gansu_kpis = f"/api/v1/projects/{cast.jiuquan_project}/kpis"
    henan_kpis = f"/api/v1/projects/{cast.henan_project}/kpis"
    lists = {"gansu": "/api/v1/referrals?limit=50", "henan": "/api/v1/referrals?limit=50",
             "admin": "/api/v1/referrals?limit=50"}
    before = as_user("admin").get(gansu_kpis).json()
    henan_before = as_user("admin").get(henan_kpis).json()
    for name, path in lists.items():
        as_user(name).get(path)
    lateral = as_user("admin").get(f"/api/v1/referrals/{cast.henan_referral}").json()
    with session_scope(web_store[0]) as session:  # another process: a Henan referral
        referrals.create(session=session, scope=Scope.system(), data=ReferralCreate(
            from_hospital=lateral["to_hospital"]["code"],
            to_hospital=lateral["from_hospital"]["code"],
            specialty="oncology", diagnosis="C34.9"))
    kept = as_user("admin").get(gansu_kpis)
    assert kept.headers[CACHE] == "hit" and kept.json() == before
    assert as_user("gansu").get(lists["gansu"]).headers.get(CACHE) == "hit"
    rebuilt = as_user("admin").get(henan_kpis)
    assert rebuilt.headers[CACHE] == "miss"
    assert rebuilt.json() != henan_before
    assert as_user("henan").get(lists["henan"]).headers.get(CACHE) != "hit"
    assert as_user("admin").get(lists["admin"]).headers.get(CACHE) != "hit"
    host = as_user("admin").get(f"/api/v1/projects/{cast.jiuquan_project}").json()
    sent = as_user("jinta").post("/api/v1/referrals", json={
        "from_hospital": JINTA, "to_hospital": host["project_hospital"]["code"],
        "specialty": "cardiovascular", "diagnosis": "I21.0", "reason": "chest pain"})
    assert sent.status_code == 201, sent.text
    after = as_user("admin").get(gansu_kpis)
    assert after.headers[CACHE] == "miss"
    assert after.json()["kpis"]["referrals_up"] == before["kpis"]["referrals_up"] + 1


def test_one_referral_stays_cached_until_it_or_its_return_changes(as_user, cast):
    path = f"/api/v1/referrals/{cast.jinta_referral}"
    first = as_user("admin").get(path).json()
    host = first["to_hospital"]["code"]
    sent = as_user("jinta").post("/api/v1/referrals", json={  # the same two hospitals
        "from_hospital": JINTA, "to_hospital": host, "specialty": "cardiovascular",
        "diagnosis": "I21.0", "reason": "another patient"})
    assert sent.status_code == 201, sent.text
    assert as_user("admin").get(path).headers[CACHE] == "hit"
    moved = as_user("jiuquan").post(f"{path}/accept", json={"version": first["version"]})
    assert moved.status_code == 200, moved.text
    after = as_user("admin").get(path)
    assert after.headers[CACHE] == "miss" and after.json()["status"] == "accepted"


def test_a_bulk_write_to_referrals_drops_every_narrowed_answer(as_user, cast, web_store):
    """A write the ORM did not make (no partition known) drops the answers of every province."""
    kpis = f"/api/v1/projects/{cast.jiuquan_project}/kpis"
    as_user("admin").get(kpis)
    assert as_user("admin").get(kpis).headers[CACHE] == "hit"
    with web_store[0].begin() as conn:
        conn.execute(update(Referral).where(Referral.id == cast.henan_referral)
                     .values(reason="edited in bulk"))
    assert as_user("admin").get(kpis).headers[CACHE] == "miss"


def _token(client, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_callers_of_the_same_scope_share_json_answers_but_never_pages(client, web_store, cast):
    with session_scope(web_store[0]) as session:
        users.create(session=session, username="gansu2", password=PASSWORD,
                     role="provincial_officer", scope_code="620000")
    path = f"/api/v1/projects/{cast.gansu_other_project}/kpis"
    first = client.get(path, headers=_token(client, "gansu"))
    second = client.get(path, headers=_token(client, "gansu2"))  # another officer of Gansu
    assert second.headers[CACHE] == "hit" and second.content == first.content
    henan = client.get(path, headers=_token(client, "henan"))  # another province: own answer
    assert henan.status_code == 404 and henan.headers[CACHE] == "miss"


def test_a_one_time_password_holder_is_refused_though_their_scope_has_an_answer(client, web_store,
                                                                                   cast):
    with session_scope(web_store[0]) as session:
        users.create(session=session, username="newcomer", password=PASSWORD,
                     role="national_analyst", must_change_password=True)
    path = f"/api/v1/projects/{cast.jiuquan_project}"
    analyst = client.get(path, headers=_token(client, "analyst"))
    assert analyst.status_code == 200
    refused = client.get(path, headers=_token(client, "newcomer"))
    assert refused.status_code == 403 and CACHE not in refused.headers


probe = APIRouter()


@probe.get("/api/v1/probe/scope")
@cached_read
def _by_scope(scope: ApiScope) -> dict:
    return {}


@probe.get("/api/v1/probe/user")
@cached_read
def _by_user(user: CurrentUser) -> dict:
    return {}


@probe.get("/probe/page")
@cached_read
def _page(scope: ApiScope) -> dict:
    return {}


def test_only_routes_that_see_the_caller_through_the_scope_are_shared():
    shared = {route.pattern.pattern: route.shared for route in cached_routes([probe])}
    assert shared == {"^/api/v1/probe/scope$": True, "^/api/v1/probe/user$": False,
                      "^/probe/page$": False}
    real = {route.pattern.pattern: route for route in cached_routes(routes.routers())}
    assert real["^/api/v1/projects/(?P<project_id>[^/]+)/kpis$"].shared
    assert not real["^/projects/(?P<project_id>[^/]+)$"].shared  # a page
    assert real["^/api/v1/users/me$"].marked and not real["^/api/v1/users/me$"].shared
    assert not real["^/api/v1/users$"].marked


def test_workers_share_answers_through_the_cache_file_and_drop_them_together(web_store, tmp_path,
                                                                            tokens, cast):
    engine = web_store[0]
    shared = tmp_path / "read-cache.db"
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    path = f"/api/v1/projects/{cast.jiuquan_project}"
    one, two = (create_app(Settings(home=tmp_path / name, env="test", read_cache_file=shared),
                           engine=engine) for name in ("one", "two"))
    with TestClient(one) as first, TestClient(two) as second:
        built = first.get(path, headers=headers)
        assert built.headers[CACHE] == "miss"
        replayed = second.get(path, headers=headers)  # another worker: built by the first
        assert replayed.headers[CACHE] == "hit" and replayed.content == built.content
        with engine.begin() as conn:
            conn.execute(update(Project).where(Project.id == cast.jiuquan_project)
                         .values(notes="seen by both workers"))
        for client in (second, first):
            fresh = client.get(path, headers=headers)
            assert fresh.json()["notes"] == "seen by both workers"


def test_a_crowd_asking_for_the_same_cold_answer_builds_it_once(web_store, tmp_path, tokens, cast):
    import asyncio

    import httpx

    app = create_app(Settings(home=tmp_path / "crowd", env="test"), engine=web_store[0])
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    path = f"/api/v1/projects/{cast.jiuquan_project}/kpis/trend"

    async def crowd() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://nrmc") as client:
            return await asyncio.gather(*(client.get(path, headers=headers) for _ in range(8)))

    answers = asyncio.run(crowd())
    assert [a.status_code for a in answers] == [200] * 8
    assert sorted(a.headers[CACHE] for a in answers) == ["hit"] * 7 + ["miss"]
    assert len({a.content for a in answers}) == 1


def test_a_project_dashboard_page_survives_audit_entries_about_other_objects(app, as_user, cast,
                                                                             web_store):
    """Every write is audited and the dashboard shows the project's own history: a referral
    elsewhere (and its audit entry) leaves the page cached; a change to the project drops it."""
    page = f"/projects/{cast.jiuquan_project}"
    with TestClient(app) as browser:
        login(browser, "admin")
        assert browser.get(page).headers[CACHE] == "miss"
        lateral = as_user("admin").get(f"/api/v1/referrals/{cast.henan_referral}").json()
        sent = as_user("admin").post("/api/v1/referrals", json={
            "from_hospital": lateral["to_hospital"]["code"],
            "to_hospital": lateral["from_hospital"]["code"],
            "specialty": "oncology", "diagnosis": "C34.9", "reason": "second opinion"})
        assert sent.status_code == 201, sent.text
        assert browser.get(page).headers[CACHE] == "hit"
        changed = as_user("admin").patch(f"/api/v1/projects/{cast.jiuquan_project}",
                                         json={"notes": "审计测试 audit check"})
        assert changed.status_code == 200, changed.text
        after = browser.get(page)
        assert after.headers[CACHE] == "miss" and "审计测试 audit check" in after.text

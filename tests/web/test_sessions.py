"""Sessions end when they should (14.5) and the login throttle holds across workers (14.6)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nrmc.config import Settings
from nrmc.db import revision, session_scope
from nrmc.domains.users import service as users
from nrmc.domains.users import throttle
from nrmc.domains.users.models import LoginThrottle
from nrmc.web import create_app
from nrmc.web.security import forwarded_client

from .cast import PASSWORD
from .conftest import login, page_csrf

CACHE = "x-nrmc-cache"


@pytest.fixture
def clean_throttle(web_store):
    yield
    with session_scope(web_store[0]) as session:
        throttle.clear(session=session)


def _make_user(engine, username: str, role: str = "national_analyst") -> None:
    with session_scope(engine) as session:
        users.create(session=session, username=username, password=PASSWORD, role=role)


def _token(client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_signing_out_ends_the_copied_cookie_and_every_token_of_the_user(app, web_store, cast):
    _make_user(web_store[0], "leaver.one")
    with TestClient(app) as browser, TestClient(app) as thief:
        login(browser, "leaver.one")
        token = _token(browser, "leaver.one")
        thief.cookies.set("nrmc_session", browser.cookies["nrmc_session"])
        assert thief.get("/projects", follow_redirects=False).status_code == 200
        csrf = page_csrf(browser, "/projects")
        assert browser.post("/logout", data={"csrf_token": csrf},
                            follow_redirects=False).status_code == 303
        # The cookie copied before sign-out is dead, and so is the API token.
        assert thief.get("/projects", follow_redirects=False).status_code == 303
        assert browser.get("/api/v1/users/me", headers=token).status_code == 401


def test_api_logout_ends_the_token(client, web_store):
    _make_user(web_store[0], "leaver.two")
    token = _token(client, "leaver.two")
    assert client.post("/api/v1/auth/logout", headers=token).status_code == 204
    assert client.get("/api/v1/users/me", headers=token).status_code == 401


@pytest.mark.parametrize("change", [{"active": False}, {"role": "national_admin"}])
def test_disabling_or_a_new_role_ends_tokens_at_once_even_for_cached_reads(
        client, as_user, web_store, cast, change):
    name = "changed." + next(iter(change))
    _make_user(web_store[0], name)
    token = _token(client, name)
    path = f"/api/v1/projects/{cast.jiuquan_project}"
    client.get(path, headers=token)
    assert client.get(path, headers=token).headers[CACHE] == "hit"
    assert as_user("admin").patch(f"/api/v1/users/{name}", json=change).status_code == 200
    assert client.get(path, headers=token).status_code == 401


def test_a_password_change_ends_other_sessions_but_keeps_this_one(app, web_store):
    _make_user(web_store[0], "mover")
    with TestClient(app) as here, TestClient(app) as elsewhere:
        login(here, "mover")
        login(elsewhere, "mover")
        token = _token(here, "mover")
        csrf = page_csrf(here, "/account/password")
        response = here.post("/account/password", data={
            "csrf_token": csrf, "old_password": PASSWORD, "new_password": "Yumen-pass-2026",
            "repeat_password": "Yumen-pass-2026"}, follow_redirects=False)
        assert response.status_code == 303
        assert here.get("/projects", follow_redirects=False).status_code == 200
        assert elsewhere.get("/projects", follow_redirects=False).status_code == 303
        assert here.get("/api/v1/users/me", headers=token).status_code == 401


def test_a_page_user_with_a_one_time_password_is_sent_to_change_it(app, as_user):
    otp = as_user("admin").post("/api/v1/users", json={"username": "first.day",
                                                       "role": "national_analyst"}
                                ).json()["one_time_password"]
    with TestClient(app) as browser:
        response = login(browser, "first.day", password=otp)
        assert response.headers["location"] == "/account/password"
        assert browser.get("/projects", follow_redirects=False).headers["location"] == "/account/password"
        csrf = page_csrf(browser, "/account/password")
        refused = browser.post("/account/password", data={
            "csrf_token": csrf, "old_password": otp, "new_password": "Dunhuang-2026",
            "repeat_password": "Dunhuang-2027"})
        assert refused.status_code == 422 and 'id="repeat_password-error"' in refused.text
        done = browser.post("/account/password", data={
            "csrf_token": csrf, "old_password": otp, "new_password": "Dunhuang-2026",
            "repeat_password": "Dunhuang-2026"}, follow_redirects=False)
        assert done.status_code == 303
        assert browser.get("/projects", follow_redirects=False).status_code == 200


# --- the login throttle ---------------------------------------------------------------------

def test_two_workers_count_against_one_throttle(web_store, tmp_path, clean_throttle):
    """Two apps on one store stand for two worker processes: failures on one block the other."""
    engine = web_store[0]
    one = create_app(Settings(home=tmp_path / "1", env="test"), engine=engine)
    two = create_app(Settings(home=tmp_path / "2", env="test"), engine=engine)
    with TestClient(one) as first, TestClient(two) as second:
        for i in range(10):
            worker = first if i % 2 else second
            assert worker.post("/api/v1/auth/token", data={"username": "gansu",
                                                           "password": "wrong-pass"}).status_code == 401
        blocked = second.post("/api/v1/auth/token", data={"username": "gansu", "password": PASSWORD})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


def test_concurrent_attempts_never_get_past_the_limit(web_store, clean_throttle):
    engine = web_store[0]
    results: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        with session_scope(engine) as session:
            wait = throttle.take(session=session, window=300,
                                 limits=[throttle.Limit("user:race", 10)])
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=attempt) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for wait in results if wait == 0) == 10
    with session_scope(engine) as session:
        assert session.scalar(select(LoginThrottle.attempts).where(LoginThrottle.key == "user:race")) == 24


def test_the_window_starts_again_after_it_passes(web_store, clean_throttle):
    with session_scope(web_store[0]) as session:
        then = datetime(2026, 1, 1, tzinfo=UTC)
        for _ in range(3):
            throttle.take(session=session, window=60, limits=[throttle.Limit("ip:1.2.3.4", 2)], now=then)
        assert throttle.take(session=session, window=60, limits=[throttle.Limit("ip:1.2.3.4", 2)],
                             now=then.replace(second=30)) > 0
        assert throttle.take(session=session, window=60, limits=[throttle.Limit("ip:1.2.3.4", 2)],
                             now=then.replace(minute=2)) == 0


def test_failed_logins_do_not_advance_the_data_revision(client, web_store, clean_throttle):
    with web_store[0].connect() as conn:
        before = revision.current(conn)
    for _ in range(3):
        client.post("/api/v1/auth/token", data={"username": "analyst", "password": "wrong-pass"})
    with web_store[0].connect() as conn:
        assert revision.current(conn) == before


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(web_store, tmp_path,
                                                                     clean_throttle):
    engine = web_store[0]
    untrusted = create_app(Settings(home=tmp_path / "u", env="test", login_attempts_per_address=3,
                                    login_attempts_per_account=100), engine=engine)
    with TestClient(untrusted) as client:
        codes = [client.post("/api/v1/auth/token", data={"username": f"nobody{i}", "password": "x"},
                             headers={"X-Forwarded-For": f"10.9.0.{i}"}).status_code
                 for i in range(4)]
        assert codes == [401, 401, 401, 429]  # a forged header does not buy fresh addresses


def test_a_trusted_proxy_s_forwarded_address_is_the_client():
    from ipaddress import ip_network

    proxies = (ip_network("10.0.0.0/8"),)
    assert forwarded_client("10.0.0.5", "203.0.113.7", proxies) == "203.0.113.7"
    # The client wrote its own X-Forwarded-For; the proxy appended the real address.
    assert forwarded_client("10.0.0.5", "1.1.1.1, 203.0.113.7", proxies) == "203.0.113.7"
    assert forwarded_client("10.0.0.5", "203.0.113.7, 10.0.0.9", proxies) == "203.0.113.7"
    assert forwarded_client("198.51.100.1", "203.0.113.7", proxies) == "198.51.100.1"
    assert forwarded_client("10.0.0.5", "not-an-ip", proxies) == "10.0.0.5"
    assert forwarded_client("10.0.0.5", "203.0.113.7", ()) == "10.0.0.5"

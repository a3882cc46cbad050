"""Sessions, CSRF and the login rate limit (the throttle lives in the store: each test here
starts with it empty)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from nrmc.config import Settings
from nrmc.db import session_scope
from nrmc.domains.users import throttle
from nrmc.web import create_app

from .cast import PASSWORD
from .conftest import login, page_csrf


@pytest.fixture
def fresh(web_store, tmp_path):
    app = create_app(Settings(home=tmp_path, env="test"), engine=web_store[0])
    with TestClient(app) as client:
        yield client
    with session_scope(web_store[0]) as session:
        throttle.clear(session=session)


def test_login_sets_an_httponly_samesite_cookie_and_redirects(fresh):
    response = login(fresh, "gansu", next_url="/regions/620000")
    assert response.status_code == 303 and response.headers["location"] == "/regions/620000"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_login_refuses_an_open_redirect(fresh):
    response = login(fresh, "gansu", next_url="//evil.example/")
    assert response.headers["location"] == "/"


def test_login_form_without_its_csrf_token_is_refused(fresh):
    fresh.get("/login")
    response = fresh.post("/login", data={"username": "gansu", "password": PASSWORD,
                                          "csrf_token": "forged"})
    assert response.status_code == 403
    assert fresh.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_shows_the_form_again(fresh):
    response = login(fresh, "gansu", password="wrong-password")
    assert response.status_code == 401 and "用户名或密码错误" in response.text


def test_login_attempts_are_rate_limited(fresh):
    for _ in range(10):
        fresh.post("/api/v1/auth/token", data={"username": "gansu", "password": "wrong-pass"})
    blocked = fresh.post("/api/v1/auth/token", data={"username": "gansu", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    # The page login shares the limiter.
    assert login(fresh, "gansu").status_code == 429


def test_page_session_cannot_write_through_the_api_without_csrf(fresh, cast):
    login(fresh, "gansu")
    path = f"/api/v1/projects/{cast.jiuquan_project}"
    assert fresh.get(path).status_code == 200  # reads with the cookie are fine
    assert fresh.patch(path, json={"notes": "x"}).status_code == 403
    token = page_csrf(fresh, "/")
    assert fresh.patch(path, json={"notes": "x"}, headers={"X-CSRF-Token": token}).status_code == 200


def test_logout_needs_csrf_and_ends_the_session(fresh):
    login(fresh, "gansu")
    assert fresh.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    token = page_csrf(fresh, "/")
    assert fresh.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert fresh.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_responses_carry_security_headers(fresh):
    response = fresh.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"

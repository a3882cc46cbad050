"""User administration: who manages whom, one-time passwords, the account rules, the audit."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from nrmc.db import session_scope
from nrmc.domains.audit.models import AuditEntry
from nrmc.domains.users.models import User

from .conftest import login, page_csrf


def _token(client, username: str, password: str) -> str:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _stored(engine, username: str) -> User | None:
    with session_scope(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is not None:
            session.expunge(user)
        return user


def _audit(engine, username: str) -> list[str]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.object_type == "user", AuditEntry.object_id == username)
            .order_by(AuditEntry.id)))


def test_admin_creates_a_user_whose_one_time_password_must_be_changed_first(
        client, as_user, web_store, cast):
    created = as_user("admin").post("/api/v1/users", json={
        "username": "li.na", "display_name": "李娜 Li Na", "role": "hospital_manager",
        "scope_code": cast.jiuquan_hospital})
    assert created.status_code == 201, created.text
    body = created.json()
    otp = body["one_time_password"]
    assert len(otp) >= 16 and body["user"]["must_change_password"] is True
    assert "password" not in str(body["user"]).lower().replace("must_change_password", "")

    token = client.post("/api/v1/auth/token", data={"username": "li.na", "password": otp}).json()
    assert token["must_change_password"] is True
    first = _bearer(token["access_token"])
    # Until the one-time password is changed, the token serves nothing else.
    assert client.get(f"/api/v1/projects/{cast.jiuquan_project}", headers=first).status_code == 403
    assert client.get("/api/v1/users/me", headers=first).json()["username"] == "li.na"

    changed = client.post("/api/v1/users/me/password", headers=first,
                          json={"old_password": otp, "new_password": "Gobi-oasis-2026"})
    assert changed.status_code == 204, changed.text
    assert client.get("/api/v1/users/me", headers=first).status_code == 401  # old token ended
    fresh = _bearer(_token(client, "li.na", "Gobi-oasis-2026"))
    assert client.get(f"/api/v1/projects/{cast.jiuquan_project}", headers=fresh).status_code == 200
    assert _audit(web_store[0], "li.na") == ["user.create", "user.password_change"]


@pytest.mark.parametrize("username", ["ab", "Li.Na", "li na", "x" * 33, "bad\x07name", "system",
                                      "root", "administrator", "李娜"])
def test_bad_or_reserved_usernames_get_a_bilingual_422_and_nothing_is_stored(
        as_user, web_store, username):
    response = as_user("admin").post("/api/v1/users", json={
        "username": username, "role": "national_analyst"})
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["field"] == "username" and problem["message_zh"] and problem["message_en"]
    assert _stored(web_store[0], username) is None


def test_the_demo_admin_account_keeps_working(as_user):
    assert as_user("admin").get("/api/v1/users/me").json()["username"] == "admin"


@pytest.mark.parametrize("new_password, code", [
    ("short-1", "password_too_short"),
    ("pw-wang.wei-2026", "password_is_username"),
    ("password123", "password_common"),
    ("Qwertyuiop", "password_common"),
    ("zzzzzzzzzzzz", "password_common"),
])
def test_weak_new_passwords_are_refused_naming_the_field(client, as_user, new_password, code):
    otp = as_user("admin").post("/api/v1/users", json={
        "username": "wang.wei", "role": "national_analyst"}).json().get("one_time_password")
    if otp is None:  # made by an earlier case: reset it
        otp = as_user("admin").post("/api/v1/users/wang.wei/password-reset").json()["one_time_password"]
    token = _bearer(_token(client, "wang.wei", otp))
    response = client.post("/api/v1/users/me/password", headers=token,
                           json={"old_password": otp, "new_password": new_password})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert (problem["field"], problem["code"]) == ("new_password", code)
    assert client.get("/api/v1/users/me", headers=token).status_code == 200  # nothing changed


def test_a_wrong_current_password_is_refused(client, as_user):
    response = as_user("jinta").post("/api/v1/users/me/password", json={
        "old_password": "not-my-password", "new_password": "Jinta-county-2026"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "old_password"


def test_provincial_officer_manages_only_its_province_and_grants_no_higher_role(as_user, cast):
    gansu = as_user("gansu")
    made = gansu.post("/api/v1/users", json={"username": "jq.nurse", "role": "clinician",
                                             "scope_code": cast.jiuquan_hospital})
    assert made.status_code == 201, made.text
    assert gansu.post("/api/v1/users", json={"username": "hn.nurse", "role": "clinician",
                                             "scope_code": cast.henan_hospital}).status_code == 403
    assert gansu.post("/api/v1/users", json={"username": "boss", "role": "national_admin"}
                      ).status_code == 403
    assert gansu.patch("/api/v1/users/jq.nurse", json={"role": "national_analyst"}).status_code == 403
    assert gansu.patch("/api/v1/users/henan", json={"active": False}).status_code == 404
    assert gansu.patch("/api/v1/users/admin", json={"active": False}).status_code == 404
    visible = {u["username"] for u in gansu.get("/api/v1/users").json()["items"]}
    assert {"gansu", "jiuquan", "jinta", "jq.nurse"} <= visible
    assert not visible & {"admin", "analyst", "henan"}


def test_everyone_else_manages_only_themselves(as_user, cast):
    manager = as_user("jiuquan")
    assert manager.post("/api/v1/users", json={"username": "helper", "role": "clinician",
                                               "scope_code": cast.jiuquan_hospital}).status_code == 403
    assert manager.patch("/api/v1/users/jinta", json={"display_name": "x"}).status_code == 404
    assert manager.post("/api/v1/users/jinta/password-reset").status_code == 404
    assert manager.patch("/api/v1/users/jiuquan", json={"role": "national_admin"}).status_code == 403
    renamed = manager.patch("/api/v1/users/jiuquan", json={"display_name": "酒泉医院 管理员"})
    assert renamed.status_code == 200 and renamed.json()["display_name"] == "酒泉医院 管理员"
    assert [u["username"] for u in manager.get("/api/v1/users").json()["items"]] == ["jiuquan"]


def test_a_role_needing_a_scope_without_one_is_refused_naming_scope_code(as_user):
    response = as_user("admin").post("/api/v1/users", json={"username": "no.scope",
                                                             "role": "provincial_officer"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "scope_code"


def test_admin_reset_gives_a_new_one_time_password_and_ends_the_old_sessions(client, as_user, web_store):
    otp = as_user("admin").post("/api/v1/users", json={
        "username": "zhao.lei", "role": "national_analyst"}).json()["one_time_password"]
    token = _bearer(_token(client, "zhao.lei", otp))
    client.post("/api/v1/users/me/password", headers=token,
                json={"old_password": otp, "new_password": "Mogao-caves-366"})
    working = _bearer(_token(client, "zhao.lei", "Mogao-caves-366"))
    assert client.get("/api/v1/users/me", headers=working).status_code == 200
    reset = as_user("admin").post("/api/v1/users/zhao.lei/password-reset")
    assert reset.status_code == 200
    assert client.get("/api/v1/users/me", headers=working).status_code == 401
    again = client.post("/api/v1/auth/token", data={"username": "zhao.lei",
                                                    "password": reset.json()["one_time_password"]})
    assert again.json()["must_change_password"] is True
    assert _audit(web_store[0], "zhao.lei")[-1] == "user.password_reset"


def test_every_change_is_audited_with_before_and_after(as_user, web_store, cast):
    as_user("admin").post("/api/v1/users", json={"username": "audit.me", "role": "clinician",
                                                 "scope_code": cast.jiuquan_hospital})
    as_user("admin").patch("/api/v1/users/audit.me", json={"role": "hospital_manager"})
    with session_scope(web_store[0]) as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.object_id == "audit.me", AuditEntry.action == "user.update")).one()
        assert entry.actor == "admin"
        assert entry.before == {"role": "clinician"} and entry.after == {"role": "hospital_manager"}


# --- the /users page ------------------------------------------------------------------------

@pytest.fixture
def admin_page(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as browser:
        assert login(browser, "admin").status_code == 303
        yield browser


def test_users_page_shows_the_key_fingerprint_to_the_national_admin(admin_page, app):
    from nrmc.core import keys

    html = admin_page.get("/users").text
    assert keys.fingerprint(app.state.settings.pseudonym_key) in html
    assert 'action="/users"' in html


def test_a_refused_form_shows_the_message_beside_the_field_and_keeps_what_was_typed(admin_page, web_store):
    csrf = page_csrf(admin_page, "/users")
    response = admin_page.post("/users", data={"csrf_token": csrf, "username": "system",
                                               "display_name": "假冒 Spoof", "role": "clinician",
                                               "scope_code": "NRMC-P031"})
    assert response.status_code == 422
    assert re.search(r'id="username-error"[^>]*>[^<]*保留', response.text)
    assert 'value="假冒 Spoof"' in response.text and 'value="NRMC-P031"' in response.text
    assert _stored(web_store[0], "system") is None


def test_the_page_creates_a_user_and_shows_the_one_time_password_once(admin_page, client, cast):
    csrf = page_csrf(admin_page, "/users")
    response = admin_page.post("/users", data={"csrf_token": csrf, "username": "page.made",
                                               "display_name": "页面 Page", "role": "clinician",
                                               "scope_code": cast.jiuquan_hospital})
    assert response.status_code == 201
    otp = re.search(r'id="one-time-password">([^<]+)<', response.text).group(1)
    assert otp not in admin_page.get("/users").text  # shown once
    assert _token(client, "page.made", otp)


def test_a_clinician_sees_only_their_own_account(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as browser:
        login(browser, "jinta")
        html = browser.get("/users").text
        assert "/users/jinta" in html and "/users/admin" not in html and 'action="/users"' not in html
        assert browser.get("/users/jiuquan").status_code == 404


def test_provincial_officer_disables_a_leaver_of_its_province_and_their_token_ends(client, as_user, cast):
    otp = as_user("gansu").post("/api/v1/users", json={
        "username": "jq.leaver", "role": "clinician", "scope_code": cast.jiuquan_hospital}
    ).json()["one_time_password"]
    token = _bearer(_token(client, "jq.leaver", otp))
    assert client.get("/api/v1/users/me", headers=token).status_code == 200
    disabled = as_user("gansu").patch("/api/v1/users/jq.leaver", json={"active": False})
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert client.get("/api/v1/users/me", headers=token).status_code == 401
    assert client.post("/api/v1/auth/token", data={"username": "jq.leaver",
                                                   "password": otp}).status_code == 401
    assert as_user("gansu").patch("/api/v1/users/gansu", json={"active": False}).status_code == 403

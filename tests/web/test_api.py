"""Every JSON endpoint: auth, pagination, filters, downloads, errors, and the audited write."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from nrmc.db import session_scope
from nrmc.domains.users import service as users

from .cast import JINTA, PASSWORD

LISTS = ["/api/v1/regions", "/api/v1/hospitals", "/api/v1/projects", "/api/v1/alliances",
         "/api/v1/audit", "/api/v1/users"]


def test_token_endpoint_answers_a_bearer_token(client):
    response = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["access_token"] and body["expires_in"] > 0


def test_wrong_password_is_401_and_unknown_user_looks_the_same(client):
    wrong = client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope-nope"})
    unknown = client.post("/api/v1/auth/token", data={"username": "ghost", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_every_endpoint_refuses_anonymous_callers(client, cast):
    for path in [*LISTS, "/api/v1/users/me", "/api/v1/metrics/programme",
                 "/api/v1/regions/620000", f"/api/v1/projects/{cast.jiuquan_project}"]:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_forged_token_is_refused(client):
    response = client.get("/api/v1/users/me", headers={"Authorization": "Bearer eyJ1IjoxfQ.forged.x"})
    assert response.status_code == 401


def test_me_shows_role_and_scope_but_never_the_hash(as_user):
    me = as_user("gansu").get("/api/v1/users/me").json()
    assert me["role"] == "provincial_officer" and me["scope_code"] == "620000"
    assert "password_hash" not in me


def test_lists_paginate_with_total(as_user):
    admin = as_user("admin")
    for path in LISTS:
        page = admin.get(path, params={"limit": 2}).json()
        assert set(page) == {"items", "total", "limit", "offset"}, path
        assert len(page["items"]) <= 2 and page["limit"] == 2
    first = admin.get("/api/v1/projects", params={"limit": 5}).json()
    second = admin.get("/api/v1/projects", params={"limit": 5, "offset": 5}).json()
    assert first["total"] == second["total"] == 77
    assert not {p["id"] for p in first["items"]} & {p["id"] for p in second["items"]}


def test_limit_is_bounded(as_user):
    assert as_user("admin").get("/api/v1/hospitals", params={"limit": 100000}).status_code == 422


def test_every_list_downloads_as_csv_and_xlsx(as_user, cast):
    admin = as_user("admin")
    admin.patch(f"/api/v1/projects/{cast.henan_project}", json={"notes": "export check"})
    for path in LISTS:
        as_csv = admin.get(path, params={"format": "csv"})
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv"), path
        rows = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
        assert rows, path
        as_xlsx = admin.get(path, params={"format": "xlsx"})
        assert as_xlsx.status_code == 200, path
        sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
        assert sheet.max_row == len(rows) + 1, path


def test_csv_download_is_scoped_too(as_user):
    text = as_user("gansu").get("/api/v1/hospitals", params={"format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows and all(r["region_code"].startswith("62") for r in rows)


def test_region_detail_and_children_with_hospital_counts(as_user):
    gansu = as_user("gansu")
    jinta = gansu.get("/api/v1/regions/620921").json()
    assert jinta["prefecture"]["code"] == "620900" and jinta["province"]["code"] == "620000"
    children = gansu.get("/api/v1/regions/620900/children").json()
    by_code = {c["code"]: c for c in children}
    assert by_code["620921"]["hospitals"] >= 10  # Jinta's demo institutions
    assert gansu.get("/api/v1/regions", params={"parent": "620900"}).json()["total"] == len(children)


def test_hospital_filters(as_user):
    admin = as_user("admin")
    found = admin.get("/api/v1/hospitals", params={"region": "620921", "limit": 500}).json()
    assert JINTA in {h["code"] for h in found["items"]}
    tertiary = admin.get("/api/v1/hospitals", params={"tier": "tertiary", "limit": 500}).json()
    assert all(h["tier"] == "tertiary" for h in tertiary["items"])
    detail = admin.get(f"/api/v1/hospitals/{JINTA}").json()
    assert detail["name_zh"] == "金塔县人民医院" and "source" in detail


def test_project_detail_and_filters(as_user, cast):
    admin = as_user("admin")
    detail = admin.get(f"/api/v1/projects/{cast.jiuquan_project}").json()
    assert "Jiuquan" in detail["project_hospital"]["name_en"] and detail["batch"] == 5
    batch5 = admin.get("/api/v1/projects", params={"batch": 5, "limit": 500}).json()
    assert batch5["total"] == 22 and all(p["batch"] == 5 for p in batch5["items"])
    gansu = admin.get("/api/v1/projects", params={"province": "62"}).json()
    assert gansu["total"] == 4


def test_programme_summary_counts_by_batch_and_province(as_user):
    summary = as_user("admin").get("/api/v1/metrics/programme").json()
    assert summary["projects"] == 77
    assert sum(b["projects"] for b in summary["by_batch"]) == 77
    assert {p["code"] for p in summary["by_province"]} >= {"620000", "410000"}
    gansu = as_user("gansu").get("/api/v1/metrics/programme").json()
    assert gansu["projects"] == 4 and [p["code"] for p in gansu["by_province"]] == ["620000"]


def test_alliance_detail_lists_membership_history(as_user, cast):
    community = as_user("admin").get(f"/api/v1/alliances/{cast.jinta_alliance}").json()
    assert community["kind"] == "county_medical_community" and len(community["members"]) >= 10
    linked = as_user("admin").get("/api/v1/alliances", params={"project_id": cast.jiuquan_project})
    assert [a["id"] for a in linked.json()["items"]] == [cast.jiuquan_alliance]


def test_project_update_is_audited_with_before_after_who_and_where(as_user, cast):
    path = f"/api/v1/projects/{cast.gansu_other_project}"
    response = as_user("gansu").patch(path, json={"status": "operating", "planned_beds": 800},
                                      headers={"User-Agent": "audit-test"})
    assert response.status_code == 200
    assert response.json()["status"] == "operating" and response.json()["planned_beds"] == 800
    entries = as_user("admin").get("/api/v1/audit", params={
        "actor": "gansu", "object_type": "project", "object_id": cast.gansu_other_project}).json()
    entry = entries["items"][0]
    assert entry["action"] == "project.update"
    assert entry["before"]["status"] == "approved" and entry["after"]["status"] == "operating"
    assert entry["after"]["planned_beds"] == 800 and "audit-test" in entry["source"]
    later = as_user("admin").get("/api/v1/audit", params={"since": "2999-01-01T00:00:00"}).json()
    assert later["total"] == 0


def test_invalid_update_is_422_and_changes_nothing(as_user, cast):
    path = f"/api/v1/projects/{cast.jiuquan_project}"
    before = as_user("admin").get(path).json()
    assert as_user("admin").patch(path, json={"status": "demolished"}).status_code == 422
    assert as_user("admin").patch(path, json={"planned_beds": -1}).status_code == 422
    assert as_user("admin").get(path).json() == before


def test_users_list_is_everyone_for_the_admin_and_yourself_for_others(as_user):
    everyone = as_user("admin").get("/api/v1/users").json()
    assert everyone["total"] >= 6
    mine = as_user("jinta").get("/api/v1/users").json()
    assert [u["username"] for u in mine["items"]] == ["jinta"]


def test_a_disabled_user_loses_their_token_at_once(client, web_store):
    engine, _ = web_store
    with session_scope(engine) as session:
        users.create(session=session, username="temp", password=PASSWORD,
                     role="national_analyst")
    token = client.post("/api/v1/auth/token",
                        data={"username": "temp", "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200
    with session_scope(engine) as session:
        users.disable(session=session, username="temp")
    assert client.get("/api/v1/users/me", headers=headers).status_code == 401


def test_openapi_documents_every_resource_and_the_token_form(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ["/api/v1/projects/{project_id}", "/api/v1/hospitals/{code}",
                 "/api/v1/regions/{code}", "/api/v1/auth/token", "/api/v1/audit"]:
        assert path in paths
    form = paths["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in form


def test_a_refused_body_names_each_field_in_chinese_and_english(as_user) -> None:
    """The 422 body lists field, code and a bilingual message, and never echoes the input."""
    response = as_user("analyst").post("/api/v1/planning/beds", json={
        "admissions_per_year": "many", "mean_los_days": 8})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail and all({"field", "code", "message_zh", "message_en"} <= set(d) for d in detail)
    assert any(d["field"] == "admissions_per_year" for d in detail)
    assert "many" not in response.text

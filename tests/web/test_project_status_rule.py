"""Project status by role: each move is allowed to named roles only, and approval or the
warning list need a recorded site visit of the project — on the API, the page and the CLI
alike, because all of them call domains/projects/status.py."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from nrmc.domains.audit.models import AuditEntry
from nrmc.domains.projects.models import Project
from tests.cli_runner import run

from .conftest import login, page_csrf


def status_of(engine, project_id: int) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.get(Project, project_id).status  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def visits(as_user, cast) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A recorded site visit of the Jiuquan centre and one of another Gansu centre."""
    made = {}
    for key, project in (("jiuquan", cast.jiuquan_project), ("other", cast.gansu_other_project)):
        answer = as_user("gansu").post(f"/api/v1/projects/{project}/visits", json={
            "visited_on": "2025-03-12", "lead": "国家专家组", "findings": "ICU 未达标", "score": 58})
        assert answer.status_code == 201, answer.text
        made[key] = answer.json()["id"]
    return made


def test_the_warning_list_needs_a_visit_of_this_project(as_user, cast, visits, web_store):
    url = f"/api/v1/projects/{cast.jiuquan_project}"
    province = as_user("gansu")
    before = status_of(web_store[0], cast.jiuquan_project)
    no_visit = province.patch(url, json={"status": "warning_list"})
    assert no_visit.status_code == 409 and "site visit" in no_visit.json()["detail"]
    wrong = province.patch(url, json={"status": "warning_list", "visit_id": visits["other"]})
    assert wrong.status_code == 409 and "not" in wrong.json()["detail"]
    assert status_of(web_store[0], cast.jiuquan_project) == before
    warned = province.patch(url, json={"status": "warning_list", "visit_id": visits["jiuquan"],
                                       "reason": "ICU 未达标"})
    assert warned.status_code == 200 and warned.json()["status"] == "warning_list"
    with Session(web_store[0]) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "project")
                                .order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.actor == "gansu" and entry.reason == "ICU 未达标"
        assert entry.after["visit_id"] == visits["jiuquan"]
        assert entry.before["status"] == before


@pytest.mark.parametrize("role, answer", [("jiuquan", 403), ("analyst", 403), ("jinta", 404),
                                          ("henan", 404)])
def test_a_hospital_manager_cannot_take_its_own_project_off_the_warning_list(
        role, answer, as_user, cast, visits, web_store):
    url = f"/api/v1/projects/{cast.jiuquan_project}"
    as_user("admin").patch(url, json={"status": "warning_list", "visit_id": visits["jiuquan"]})
    refused = as_user(role).patch(url, json={"status": "operating"})
    assert refused.status_code == answer
    assert status_of(web_store[0], cast.jiuquan_project) == "warning_list"


def test_the_province_takes_the_project_off_and_the_manager_moves_it_on_from_there(
        as_user, cast, visits, web_store):
    url = f"/api/v1/projects/{cast.jiuquan_project}"
    as_user("admin").patch(url, json={"status": "warning_list", "visit_id": visits["jiuquan"]})
    assert as_user("gansu").patch(url, json={"status": "under_construction"}).status_code == 200
    manager = as_user("jiuquan")
    assert manager.patch(url, json={"status": "operating"}).status_code == 200
    assert manager.patch(url, json={"status": "approved", "visit_id": visits["jiuquan"]}
                         ).status_code == 403
    assert manager.patch(url, json={"status": "warning_list", "visit_id": visits["jiuquan"]}
                         ).status_code == 403
    assert manager.patch(url, json={"planned_beds": 900}).status_code == 200  # not a move
    assert status_of(web_store[0], cast.jiuquan_project) == "operating"


def test_the_status_form_shows_the_refusal_and_offers_only_allowed_moves(app, as_user, cast, visits,
                                                                         web_store):
    project = cast.jiuquan_project
    as_user("admin").patch(f"/api/v1/projects/{project}", json={
        "status": "warning_list", "visit_id": visits["jiuquan"]})
    with TestClient(app) as browser:
        login(browser, "jiuquan")
        page = browser.get(f"/projects/{project}").text
        offered = re.findall(r'<option value="([a-z_]+)"', page.split('id="status"')[1].split("</select>")[0])
        assert offered == ["warning_list"]  # only the current one: nothing the manager may pick
        csrf = page_csrf(browser, f"/projects/{project}")
        panel = browser.post(f"/projects/{project}/status", data={
            "csrf_token": csrf, "status": "operating"})
        assert "warning list" in panel.text and 'role="alert"' in panel.text
    assert status_of(web_store[0], project) == "warning_list"


def test_the_cli_applies_the_same_visit_rule(nrmc_env):
    refused = run("projects", "status", "31", "warning_list")
    assert refused.exit_code != 0 and "needs a recorded site visit" in refused.output
    visit = run("ops", "visit", "add", "--project", "31", "--date", "2025-03-12", "--lead", "专家组",
                "--format", "json")
    visit_id = re.search(r'"id": (\d+)', visit.stdout)
    assert visit_id, visit.output
    moved = run("projects", "status", "31", "warning_list", "--visit", visit_id.group(1),
                "--reason", "field visit")
    assert moved.exit_code == 0 and "project 31: warning_list" in moved.output

"""Who may record a project's work: every role × kind × verb on the Jiuquan centre's ledger.

The project's staff (its hospital manager) and the admins above it (national; Gansu's
provincial admin) may; the national analyst sees but may not write (403); a Jinta clinician and
the Henan admin cannot see the project at all (404, as for a missing one). A refused write
stores nothing.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nrmc.domains.collaboration.models import MonthReview

from .test_ledger_entry import MODELS, good, stored

ROLES = ("admin", "analyst", "gansu", "henan", "jiuquan", "jinta")
WRITERS = {"admin", "gansu", "jiuquan"}
READERS = WRITERS | {"analyst"}  # may see the project: a refused write is 403, not 404
REVIEWERS = {"admin", "gansu"}
OK = {"POST": 201, "PATCH": 200, "DELETE": 204}
_days = itertools.count(1)


def _day() -> str:
    """A fresh date per call, so dispatches of the same name never overlap."""
    n = next(_days)
    return f"2024-{(n // 28) % 12 + 1:02d}-{n % 28 + 1:02d}"


def expected(role: str, verb: str) -> int:
    if role in WRITERS:
        return OK[verb]
    return 403 if role in READERS else 404


@pytest.mark.parametrize("verb", ["POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_record_exactly_the_projects_it_staffs(role, kind, verb, as_user, cast,
                                                             client, web_store):
    project = cast.jiuquan_project
    base = f"/api/v1/projects/{project}/{kind}"
    row_id = None
    if verb != "POST":
        made = as_user("admin").post(base, json=good(kind, _day()))
        assert made.status_code == 201, made.text
        row_id = made.json()["id"]
    before = stored(web_store[0], kind, project)
    url = base if verb == "POST" else f"{base}/{row_id}"
    body = {"POST": good(kind, _day()), "PATCH": {"department": "外科"} if kind in (
        "dispatches", "activities", "technologies") else {"lead": "新组长"} if kind == "visits"
        else {"county": "玉门市"}, "DELETE": None}[verb]
    answer = client.request(verb, url, headers=as_user(role).headers, json=body)
    assert answer.status_code == expected(role, verb), f"{role} {verb} {kind}: {answer.text}"
    after = stored(web_store[0], kind, project)
    if answer.status_code >= 400:
        assert after == before, "a refused write stored something"
        assert set(answer.json()) == {"detail"}


@pytest.mark.parametrize("role", ROLES)
def test_the_project_hospital_submits_and_only_the_admins_above_it_review(role, as_user, cast,
                                                                           client, web_store):
    project = cast.jiuquan_project
    month = {"admin": "2023-01", "analyst": "2023-02", "gansu": "2023-03", "henan": "2023-04",
             "jiuquan": "2023-05", "jinta": "2023-06"}[role]
    caller = as_user(role)
    submitted = caller.post(f"/api/v1/projects/{project}/months/{month}/submit")
    assert submitted.status_code == (200 if role in WRITERS else 403 if role in READERS else 404)
    if submitted.status_code != 200:
        as_user("jiuquan").post(f"/api/v1/projects/{project}/months/{month}/submit")
    decided = caller.post(f"/api/v1/projects/{project}/months/{month}/review",
                          json={"status": "reviewed"})
    assert decided.status_code == (200 if role in REVIEWERS else 403 if role in READERS else 404)
    with Session(web_store[0]) as session:
        status = session.scalar(select(MonthReview.status).where(
            MonthReview.project_id == project, MonthReview.month == month))
        assert status == ("reviewed" if role in REVIEWERS else "submitted")
        assert session.scalar(select(func.count()).select_from(MonthReview)) >= 1


def test_a_hospital_manager_cannot_record_another_projects_work(as_user, cast):
    other = cast.gansu_other_project
    refused = as_user("jiuquan").post(f"/api/v1/projects/{other}/technologies",
                                      json=good("technologies"))
    assert refused.status_code == 404
    assert as_user("gansu").post(f"/api/v1/projects/{other}/technologies",
                                 json=good("technologies")).status_code == 201

"""A project's staff record their work through the API and the pages: every kind can be added,
changed and deleted, every change is audited with before and after, refused input answers 422
naming the field in Chinese and English and stores nothing, and a reviewed month is locked."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nrmc.core.inputs import today_beijing
from nrmc.domains.audit.models import AuditEntry
from nrmc.domains.collaboration.models import Activity, Dispatch, SiteVisit, Technology, Trainee

from .conftest import login, page_csrf

MODELS = {"dispatches": Dispatch, "activities": Activity, "technologies": Technology,
          "trainees": Trainee, "visits": SiteVisit}
SHANGHAI = "NRMC-O005"  # an output hospital of the roster (Shanghai)


def good(kind: str, day: str = "2025-02-10") -> dict:
    """A valid POST body of each kind, dated `day`."""
    return {
        "dispatches": {"name": f"专家{day}", "home_hospital": SHANGHAI, "department": "心内科",
                       "title": "主任医师", "role": "dual_director", "team": "第9批",
                       "start_date": day, "end_date": day},
        "activities": {"occurred_on": day, "kind": "surgery", "surgery_grade": 3, "count": 4,
                       "department": "心内科"},
        "technologies": {"name": "TAVR", "department": "心内科", "first_case_on": day,
                         "cases_since": 2, "gap_level": "province"},
        "trainees": {"name": "李娜", "home_hospital": "金塔县人民医院", "county": "金塔县",
                     "programme": "心内科进修", "trained_on": day, "completed": False, "hours": 40},
        "visits": {"visited_on": day, "lead": "张组长", "members": ["李委员"], "findings": "ok",
                   "score": 80, "actions": [{"description": "补充护士", "owner": "王院长",
                                             "due_on": day}]},
    }[kind]


def stored(engine, kind: str, project_id: int) -> int:  # type: ignore[no-untyped-def]
    model = MODELS[kind]
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)
                              .where(model.project_id == project_id)) or 0


@pytest.fixture(scope="module")
def engine(web_store):  # type: ignore[no-untyped-def]
    return web_store[0]


@pytest.mark.parametrize("kind", list(MODELS))
def test_staff_add_change_and_delete_each_kind_with_an_audited_before_and_after(
        kind, as_user, cast, engine, client):
    project = cast.jiuquan_project
    manager = as_user("jiuquan")
    made = manager.post(f"/api/v1/projects/{project}/{kind}", json=good(kind, "2025-01-06"))
    assert made.status_code == 201, made.text
    row = made.json()
    assert row["project_id"] == project
    listed = manager.get(f"/api/v1/projects/{project}/{kind}").json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert row["id"] in [i["id"] for i in items]
    # The GET row carries the POST field names (less id, project_id and derived fields).
    assert set(good(kind)) <= set(row)

    change = {"dispatches": {"title": "副主任医师"}, "activities": {"count": 7},
              "technologies": {"cases_since": 9}, "trainees": {"completed": True},
              "visits": {"score": 91}}[kind]
    patched = manager.patch(f"/api/v1/projects/{project}/{kind}/{row['id']}", json=change)
    assert patched.status_code == 200, patched.text
    field, value = next(iter(change.items()))
    assert patched.json()[field] == value
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action.like("%.update"),
                                                         AuditEntry.object_id == str(row["id"]))
                                .order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.actor == "jiuquan"
        assert entry.before[field] == row[field] and entry.after[field] == value

    before = stored(engine, kind, project)
    gone = client.delete(f"/api/v1/projects/{project}/{kind}/{row['id']}", headers=manager.headers)
    assert gone.status_code == 204
    assert stored(engine, kind, project) == before - 1
    with Session(engine) as session:
        deleted = session.scalars(select(AuditEntry).where(AuditEntry.action.like("%.delete"),
                                                           AuditEntry.object_id == str(row["id"]))
                                  ).first()
        assert deleted is not None and deleted.before["id"] == row["id"] and deleted.after is None


def _late() -> str:
    return (today_beijing() + timedelta(days=32)).isoformat()


# (kind, body change, the field the 422 names, the code)
RULES = [
    ("activities", {"occurred_on": "2018-12-31"}, "occurred_on", "date_too_early"),
    ("technologies", {"first_case_on": "LATE"}, "first_case_on", "date_too_late"),
    ("visits", {"visited_on": "2025-02-30"}, "visited_on", "date_from_datetime_parsing"),
    ("dispatches", {"start_date": "2025-02-10", "end_date": "2025-02-09"}, "end_date",
     "end_before_start"),
    ("trainees", {"trained_on": "2025-02-10", "end_date": "2025-01-01"}, "end_date",
     "end_before_start"),
    ("activities", {"count": -1}, "count", "negative"),
    ("activities", {"count": 100_001}, "count", "too_large"),
    ("activities", {"count": 2.5}, "count", "not_integer"),
    ("technologies", {"cases_since": -3}, "cases_since", "negative"),
    ("trainees", {"hours": "NaN"}, "hours", "not_finite"),
    ("trainees", {"hours": 10_001}, "hours", "too_large"),
    ("visits", {"score": 101}, "score", "too_large"),
    ("activities", {"kind": "surgery", "surgery_grade": None}, "surgery_grade", "value_error"),
    ("activities", {"surgery_grade": 5}, "surgery_grade", "less_than_equal"),
    ("dispatches", {"name": "王\x07五"}, "name", "text_control"),
    ("dispatches", {"name": "王" * 101}, "name", "text_too_long"),
    ("trainees", {"name": "   "}, "name", "blank"),
    ("technologies", {"gap_level": "galaxy"}, "gap_level", "enum"),
    ("dispatches", {"role": "emperor"}, "role", "enum"),
    ("visits", {"actions": [{"description": "x", "due_on": "2030-01-01"}]}, "actions.0.due_on",
     "date_too_late"),
]


@pytest.mark.parametrize("kind, change, field, code", RULES,
                         ids=[f"{r[0]}-{r[2]}-{r[3]}" for r in RULES])
def test_each_input_rule_answers_422_naming_the_field_and_stores_nothing(
        kind, change, field, code, as_user, cast, engine):
    project = cast.jiuquan_project
    body = good(kind, "2025-02-10") | {k: (_late() if v == "LATE" else v) for k, v in change.items()}
    before = stored(engine, kind, project)
    response = as_user("jiuquan").post(f"/api/v1/projects/{project}/{kind}", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    named = {d["field"]: d for d in detail}
    assert field in named, detail
    assert named[field]["code"] == code
    assert named[field]["message_zh"] and named[field]["message_en"]
    assert named[field]["message_zh"] != named[field]["message_en"] or code == "value_error"
    assert stored(engine, kind, project) == before


def test_a_refused_patch_names_the_field_and_leaves_the_row_as_it_was(as_user, cast):
    project = cast.jiuquan_project
    manager = as_user("jiuquan")
    row = manager.post(f"/api/v1/projects/{project}/technologies",
                       json=good("technologies", "2025-03-03")).json()
    for change, field in (({"cases_since": -1}, "cases_since"),
                          ({"first_case_on": "2018-01-01"}, "first_case_on"),
                          ({"colour": "red"}, "colour")):
        refused = manager.patch(f"/api/v1/projects/{project}/technologies/{row['id']}", json=change)
        assert refused.status_code == 422
        assert [d["field"] for d in refused.json()["detail"]] == [field]
    now = [t for t in manager.get(f"/api/v1/projects/{project}/technologies").json()
           if t["id"] == row["id"]][0]
    assert now == row


def test_a_reviewed_month_is_locked_for_every_write_until_the_reviewer_reopens_it(
        as_user, cast, client):
    project = cast.jiuquan_project
    manager, province = as_user("jiuquan"), as_user("gansu")
    row = manager.post(f"/api/v1/projects/{project}/activities",
                       json=good("activities", "2025-04-07")).json()
    assert manager.post(f"/api/v1/projects/{project}/months/2025-04/submit").json()["status"] == \
        "submitted"
    # The hospital cannot review its own month.
    own = manager.post(f"/api/v1/projects/{project}/months/2025-04/review", json={"status": "reviewed"})
    assert own.status_code == 403
    locked = province.post(f"/api/v1/projects/{project}/months/2025-04/review",
                           json={"status": "reviewed"})
    assert locked.json()["status"] == "reviewed"
    for verb, url, body in (
            ("POST", f"/api/v1/projects/{project}/activities", good("activities", "2025-04-20")),
            ("PATCH", f"/api/v1/projects/{project}/activities/{row['id']}", {"count": 1}),
            ("DELETE", f"/api/v1/projects/{project}/activities/{row['id']}", None)):
        for caller in (manager, province):
            answer = client.request(verb, url, headers=caller.headers, json=body)
            assert answer.status_code == 409, (verb, url, answer.text)
            assert "locked" in answer.json()["detail"] and "锁定" in answer.json()["detail"]
    moved_in = manager.post(f"/api/v1/projects/{project}/technologies",
                            json=good("technologies", "2025-03-03")).json()
    into = manager.patch(f"/api/v1/projects/{project}/technologies/{moved_in['id']}",
                         json={"first_case_on": "2025-04-02"})
    assert into.status_code == 409  # moving a row into a locked month is a write into it
    # A write dated in another month still goes through.
    assert manager.post(f"/api/v1/projects/{project}/activities",
                        json=good("activities", "2025-05-05")).status_code == 201
    months = manager.get(f"/api/v1/projects/{project}/months?start=2025-03-01&end=2025-05-31").json()
    assert [(m["month"], m["status"]) for m in months] == [
        ("2025-03", "open"), ("2025-04", "reviewed"), ("2025-05", "open")]
    kpis = manager.get(f"/api/v1/projects/{project}/kpis/period?period=month&year=2025&month=4").json()
    assert kpis["reviewed_months"] == 1 and kpis["months"] == [{"month": "2025-04", "status": "reviewed"}]
    reopened = province.post(f"/api/v1/projects/{project}/months/2025-04/review",
                             json={"status": "open"})
    assert reopened.json()["status"] == "open"
    assert manager.patch(f"/api/v1/projects/{project}/activities/{row['id']}",
                         json={"count": 1}).status_code == 200


def test_a_returned_month_needs_a_comment_and_can_be_submitted_again(as_user, cast):
    project = cast.jiuquan_project
    manager, province = as_user("jiuquan"), as_user("gansu")
    manager.post(f"/api/v1/projects/{project}/months/2025-06/submit")
    silent = province.post(f"/api/v1/projects/{project}/months/2025-06/review",
                           json={"status": "returned"})
    assert silent.status_code == 409
    returned = province.post(f"/api/v1/projects/{project}/months/2025-06/review",
                             json={"status": "returned", "comment": "门诊人次偏低，请核对"})
    assert (returned.json()["status"], returned.json()["comment"]) == ("returned", "门诊人次偏低，请核对")
    assert manager.post(f"/api/v1/projects/{project}/months/2025-06/submit").json()["status"] == \
        "submitted"


def test_the_entry_form_shows_each_message_beside_its_field_keeps_the_values_and_stores_nothing(
        app, cast, engine):
    project = cast.jiuquan_project
    before = stored(engine, "technologies", project)
    with TestClient(app) as browser:
        login(browser, "jiuquan")
        csrf = page_csrf(browser, f"/projects/{project}/ledger?kind=technologies")
        answer = browser.post(f"/projects/{project}/ledger/technologies", data={
            "csrf_token": csrf, "name": "达芬奇机器人", "department": "泌尿外科",
            "first_case_on": "2018-05-01", "cases_since": "-2", "gap_level": "city"})
    assert answer.status_code == 422
    html = answer.text
    assert 'id="e-first_case_on"' in html and "日期不能早于 2019-01-01" in html
    assert 'id="e-cases_since"' in html and "must not be negative" in html
    assert 'value="达芬奇机器人"' in html and 'value="泌尿外科"' in html and 'value="-2"' in html
    assert stored(engine, "technologies", project) == before


def test_the_weekly_sheet_stores_one_line_per_figure_and_changes_only_what_changed(app, cast, engine):
    project = cast.jiuquan_project
    with TestClient(app) as browser:
        login(browser, "jiuquan")
        csrf = page_csrf(browser, f"/projects/{project}/ledger/week?start=2025-07-09")
        sheet = {"csrf_token": csrf, "week": "2025-07-07", "dept-0": "心内科", "0-outpatients": "120",
                 "0-surgery_3": "4", "0-mdt": "2", "dept-1": "神经内科", "1-rare": "1",
                 "1-teaching": "3"}
        first = browser.post(f"/projects/{project}/ledger/week", data=sheet, follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"].endswith("saved=5")
        again = browser.post(f"/projects/{project}/ledger/week",
                             data=sheet | {"0-outpatients": "130", "1-teaching": ""},
                             follow_redirects=False)
        assert again.headers["location"].endswith("saved=2")
        bad = browser.post(f"/projects/{project}/ledger/week",
                           data=sheet | {"0-surgery_3": "-1", "2-outpatients": "5"})
        assert bad.status_code == 422
        assert bad.text.count('class="field-error"') == 2 and 'value="-1"' in bad.text
        shown = browser.get(f"/projects/{project}/ledger/week?start=2025-07-10").text
    with Session(engine) as session:
        lines = session.execute(select(Activity.department, Activity.kind, Activity.surgery_grade,
                                       Activity.complex_case, Activity.count).where(
            Activity.project_id == project, Activity.occurred_on == date(2025, 7, 7))
            .order_by(Activity.department, Activity.kind)).all()
    assert sorted(tuple(x) for x in lines) == sorted([
        ("心内科", "consultation", None, True, 2), ("心内科", "outpatient", None, False, 130),
        ("心内科", "surgery", 3, False, 4), ("神经内科", "rare_disease", None, False, 1)])
    assert 'value="130"' in shown and 'value="神经内科"' in shown


def test_kpis_compare_a_quarter_with_the_same_quarter_a_year_before(as_user, cast):
    project = cast.jiuquan_project
    manager = as_user("jiuquan")
    for day, count in (("2024-08-05", 10), ("2025-08-04", 25), ("2025-11-03", 99)):
        manager.post(f"/api/v1/projects/{project}/activities",
                     json={"occurred_on": day, "kind": "outpatient", "count": count})
    report = manager.get(f"/api/v1/projects/{project}/kpis/period?period=quarter&year=2025&quarter=3")
    body = report.json()
    assert (body["start"], body["end"], body["previous_start"], body["previous_end"]) == (
        "2025-07-01", "2025-09-30", "2024-07-01", "2024-09-30")
    assert body["year_on_year"]["outpatients"]["value"] - body["year_on_year"]["outpatients"][
        "previous"] == body["year_on_year"]["outpatients"]["change"]
    custom = manager.get(f"/api/v1/projects/{project}/kpis/period?period=custom"
                         f"&start=2025-08-01&end=2025-08-31").json()
    assert custom["previous_start"] == "2024-08-01" and custom["kpis"]["outpatients"] >= 25
    assert manager.get(f"/api/v1/projects/{project}/kpis/period?period=custom&start=2025-08-01"
                       ).status_code == 409


def test_a_row_is_changed_on_the_page_and_a_follow_up_action_marked_done(app, as_user, cast):
    project = cast.jiuquan_project
    visit = as_user("jiuquan").post(f"/api/v1/projects/{project}/visits", json=good("visits") | {
        "visited_on": "2025-08-20", "actions": [
            {"description": f"整改{i}", "owner": "院办", "due_on": "2025-10-01"} for i in range(4)]}
    ).json()
    with TestClient(app) as browser:
        login(browser, "jiuquan")
        form = browser.get(f"/projects/{project}/ledger?kind=visits&edit={visit['id']}").text
        assert f'action="/projects/{project}/ledger/visits/{visit["id"]}/edit"' in form
        assert 'value="整改3"' in form and 'name="actions-4-description"' in form  # all four, one free
        fields = dict(re.findall(r'name="([a-z_0-9-]+)" value="([^"]*)"', form))
        fields["actions-1-done"] = "on"
        fields["score"] = "88"
        answer = browser.post(f"/projects/{project}/ledger/visits/{visit['id']}/edit", data=fields,
                              follow_redirects=False)
        assert answer.status_code == 303, answer.text[-500:]
    after = [v for v in as_user("jiuquan").get(f"/api/v1/projects/{project}/visits").json()
             if v["id"] == visit["id"]][0]
    assert after["score"] == 88
    assert [(a["description"], a["status"]) for a in after["actions"]] == [
        ("整改0", "open"), ("整改1", "done"), ("整改2", "open"), ("整改3", "open")]


def test_ledger_pages_carry_no_inline_script_or_event_handlers(app, cast):
    project = cast.jiuquan_project
    with TestClient(app) as browser:
        login(browser, "jiuquan")
        for path in (f"/projects/{project}/ledger?kind=visits", f"/projects/{project}/ledger/week",
                     f"/projects/{project}/months", f"/projects/{project}/kpis"):
            html = browser.get(path).text
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
            assert not re.search(r"\son[a-z]+\s*=", html), path


@pytest.mark.parametrize("kind", list(MODELS))
def test_a_ledger_page_costs_the_same_queries_for_a_few_rows_as_for_a_full_page(
        kind, app, as_user, cast, engine):
    """No per-row queries: the list is paginated before its rows are built."""
    from sqlalchemy import event

    project = cast.gansu_other_project
    admin = as_user("admin")

    def statements() -> int:
        seen: list[str] = []

        def count(*args) -> None:  # type: ignore[no-untyped-def]
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            with TestClient(app) as browser:
                login(browser, "admin")
                assert browser.get(f"/projects/{project}/ledger?kind={kind}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    def add(n: int, offset: int) -> None:
        for i in range(n):
            day = f"2023-{(offset + i) // 28 + 1:02d}-{(offset + i) % 28 + 1:02d}"
            body = good(kind, day) | ({"name": f"专家{kind}{offset + i}", "team": f"队{offset + i}"}
                                      if kind == "dispatches" else {})
            assert admin.post(f"/api/v1/projects/{project}/{kind}", json=body).status_code == 201

    add(2, 0)
    few = statements()
    add(20, 2)
    many = statements()
    assert many == few, f"{kind}: {few} queries for 2 rows, {many} for 20"

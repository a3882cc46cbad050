"""Recording trusteeships in the browser: the form (errors beside their fields, typing kept,
nothing stored on error), who is offered it, the spreadsheet upload (all rows or none) with its
template, and the same rules through the JSON API."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from nrmc.db import session_scope
from nrmc.domains.audit.models import AuditEntry
from nrmc.domains.trusteeships.models import Trusteeship

from .cast import JINTA
from .conftest import page_csrf

GOOD = {"managed_hospital_code": "金塔县人民医院", "start_date": "2024-03-01", "term_years": "5",
        "separated": "是", "start_grade": "secondary_b", "target_grade": "tertiary_b",
        "goal_deadline": "2029-03-01", "posts_planned": "12", "departments_planned": "4",
        "note": "两年两级 two grades in two steps"}


def stored(web_store) -> int:  # type: ignore[no-untyped-def]
    with session_scope(web_store[0]) as session:
        return session.scalar(select(func.count()).select_from(Trusteeship)) or 0


def post_form(client: TestClient, form: dict[str, str]):  # type: ignore[no-untyped-def]
    csrf = page_csrf(client, "/trusteeships/new")
    return client.post("/trusteeships/new", data={"csrf_token": csrf, **form},
                       follow_redirects=False)


def beside(html: str, field: str) -> str:
    """The error shown under one field (its text), or "" when the field has none."""
    found = re.search(rf'<p class="field-error" id="e-{field}" role="alert">([^<]*)</p>', html)
    return found.group(1) if found else ""


def test_a_hospital_manager_creates_a_trusteeship_that_then_appears_in_the_list(pages, cast, web_store):
    client = pages("jiuquan")
    assert 'id="new-trusteeship-link"' in client.get("/trusteeships").text
    before = stored(web_store)
    made = post_form(client, GOOD | {"managing_hospital_code": cast.jiuquan_hospital})
    assert made.status_code == 303, made.text
    listed = client.get(made.headers["location"])
    assert listed.status_code == 200 and "已保存托管 Trusteeship saved" in listed.text
    row = re.search(r'<tr id="trusteeship-(\d+)"[^>]*aria-current="true">(.*?)</tr>', listed.text, re.S)
    assert row is not None and "金塔县人民医院" in row.group(2) and "二级乙等 → 三级乙等" in row.group(2)
    assert stored(web_store) == before + 1
    with session_scope(web_store[0]) as session:
        saved = session.get(Trusteeship, int(row.group(1)))
        assert saved is not None
        assert (saved.managed_hospital_code, saved.managing_hospital_code) == (JINTA, cast.jiuquan_hospital)
        assert (saved.separated, saved.posts_planned, saved.province_code) == (True, 12, "620000")
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "trusteeship.create", AuditEntry.object_id == row.group(1))).one()
        assert audit.actor == "jiuquan"


@pytest.mark.parametrize(("change", "field", "zh", "en"), [
    ({"managed_hospital_code": ""}, "managed_hospital_code", "必填", "is required"),
    ({"goal_deadline": "2023-03-01"}, "goal_deadline", "目标期限须晚于起始日期",
     "the goal deadline must be after the start date"),
    ({"managed_hospital_code": "{managing}"}, "managed_hospital_code",
     "托管医院与被托管医院不能相同", "a hospital cannot manage itself"),
    ({"managed_hospital_code": "{henan}", "managing_hospital_code": "{henan_other}"},
     "managed_hospital_code", "至少一家须在您的管辖范围内", "must be within your scope"),
    ({"target_grade": "secondary_b"}, "target_grade", "目标等级须高于起始等级",
     "the target grade must be above the start grade"),
    ({"term_years": "-2"}, "term_years", "不能为负数", "must not be negative"),
])
def test_a_refused_field_is_explained_beside_it_the_typing_is_kept_and_nothing_is_stored(
        pages, cast, web_store, change, field, zh, en):
    names = {"managing": cast.jiuquan_hospital, "henan": cast.henan_hospital,
             "henan_other": "NRMC-O001"}
    form = GOOD | {"managing_hospital_code": cast.jiuquan_hospital, "start_date": "2024-04-01"}
    form |= {k: v.format(**names) for k, v in change.items()}
    before = stored(web_store)
    refused = post_form(pages("jiuquan"), form)
    assert refused.status_code == 422
    message = beside(refused.text, field)
    assert zh in message and en in message.replace("&#39;", "'")
    assert "nothing was stored" in refused.text
    assert f'value="{form["start_date"]}"' in refused.text  # what was typed is kept
    assert "两年两级 two grades in two steps</textarea>" in refused.text
    assert stored(web_store) == before


def test_the_same_trusteeship_cannot_be_recorded_twice(pages, cast, web_store):
    form = GOOD | {"managing_hospital_code": cast.jiuquan_hospital, "start_date": "2024-05-01"}
    assert post_form(pages("gansu"), form).status_code == 303
    again = post_form(pages("gansu"), form)
    assert again.status_code == 422 and "该托管已登记" in beside(again.text, "start_date")


@pytest.mark.parametrize("name", ["analyst", "jinta"])  # read-only; a clinician
def test_analysts_and_clinicians_are_not_offered_the_form_and_are_refused(pages, cast, web_store,
                                                                          as_user, name):
    assert as_user(name).post("/api/v1/trusteeships", json={
        **GOOD, "managing_hospital_code": cast.jiuquan_hospital, "managed_hospital_code": JINTA,
        "separated": True, "start_date": "2024-06-01"}).status_code == 403
    analyst = pages(name)
    assert 'id="new-trusteeship-link"' not in analyst.get("/trusteeships").text
    assert analyst.get("/trusteeships/new").status_code == 403
    csrf = page_csrf(analyst, "/trusteeships")
    before = stored(web_store)
    refused = analyst.post("/trusteeships/new", data={
        "csrf_token": csrf, **GOOD, "managing_hospital_code": cast.jiuquan_hospital,
        "start_date": "2024-06-01"}, follow_redirects=False)
    assert refused.status_code == 403 and stored(web_store) == before
    assert analyst.get("/trusteeships/template.xlsx").status_code == 403


def test_the_form_offers_a_hospital_its_partners_and_the_grades_in_chinese(pages, cast):
    html = pages("jiuquan").get("/trusteeships/new").text
    options = dict(re.findall(r'<option value="([^"]+)">([^<]+)</option>',
                              html.split('id="hospital-options"')[1].split("</datalist>")[0]))
    assert cast.jiuquan_hospital in options and options[JINTA] == "金塔县人民医院"
    assert "二级乙等 secondary_b" in html and "/static/hospital_picker.js" in html
    assert not re.search(r"<script(?![^>]*src=)[^>]*>", html)  # no inline script (CSP)


def test_the_template_has_a_bilingual_header_and_an_example_row(pages):
    answer = pages("gansu").get("/trusteeships/template.xlsx")
    assert answer.status_code == 200 and answer.content[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[0] == "被托管医院 Managed hospital [managed_hospital_code]"
    assert "目标期限 Goal deadline [goal_deadline]" in header
    assert sheet.max_row == 2  # the example


def _upload(client: TestClient, name: str, content: bytes):  # type: ignore[no-untyped-def]
    csrf = page_csrf(client, "/trusteeships/new")
    return client.post("/trusteeships/upload", data={"csrf_token": csrf},
                       files={"file": (name, content)}, follow_redirects=False)


def test_an_upload_with_one_bad_row_stores_nothing_and_names_the_row_and_field(pages, cast, web_store):
    client = pages("gansu")
    template = load_workbook(io.BytesIO(client.get("/trusteeships/template.xlsx").content))
    sheet = template.worksheets[0]
    sheet.delete_rows(2, sheet.max_row)
    good = [JINTA, cast.jiuquan_hospital, "2024-07-01", 5, "是", "二级乙等", "三级乙等", "2029-07-01"]
    sheet.append(good)
    sheet.append([JINTA, cast.jiuquan_hospital, "2024-08-01", 5, "否", "二级乙等", "三级乙等",
                  "2024-07-01"])
    out = io.BytesIO()
    template.save(out)
    before = stored(web_store)
    refused = _upload(client, "甘肃托管.xlsx", out.getvalue())
    assert refused.status_code == 422
    problems = refused.text.split('id="import-problems"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td><td>([^<]+) <small>(\w+)</small>",
                      problems)
    assert rows == [("甘肃托管.xlsx", "2", "目标期限 Goal deadline", "goal_deadline")]
    assert "目标期限须晚于起始日期" in problems and stored(web_store) == before
    sheet.delete_rows(3)
    out = io.BytesIO()
    template.save(out)
    done = _upload(client, "甘肃托管.xlsx", out.getvalue())
    assert done.status_code == 303 and done.headers["location"] == "/trusteeships?imported=1"
    assert stored(web_store) == before + 1


def test_the_api_imports_a_csv_all_or_nothing_and_names_file_row_and_field(as_user, cast, web_store):
    header = "managed_hospital_code,managing_hospital_code,start_date,term_years,start_grade," \
             "target_grade,goal_deadline\n"
    good = f"{JINTA},{cast.jiuquan_hospital},2024-09-01,5,secondary_b,tertiary_b,2029-09-01\n"
    bad = f"{cast.henan_hospital},NRMC-O001,2024-09-01,5,secondary_b,tertiary_b,2029-09-01\n"
    before = stored(web_store)
    refused = as_user("gansu").post("/api/v1/trusteeships/upload",
                                    files={"file": ("t.csv", (header + good + bad).encode())})
    assert refused.status_code == 422
    assert [(p["file"], p["row"], p["field"]) for p in refused.json()["detail"]] == [
        ("t.csv", 2, "managed_hospital_code")]
    assert stored(web_store) == before
    done = as_user("gansu").post("/api/v1/trusteeships/upload",
                                 files={"file": ("t.csv", (header + good).encode())})
    assert done.status_code == 201 and done.json()["added"] == 1
    assert as_user("analyst").post("/api/v1/trusteeships/upload",
                                   files={"file": ("t.csv", (header + good).encode())}).status_code == 403


def test_the_api_names_the_refused_field_too(as_user, cast):
    body = {"managing_hospital_code": "NRMC-O001", "managed_hospital_code": cast.henan_hospital,
            "start_date": "2024-10-01", "term_years": 5, "start_grade": "secondary_b",
            "target_grade": "tertiary_b", "goal_deadline": "2029-10-01"}
    refused = as_user("jiuquan").post("/api/v1/trusteeships", json=body)
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["detail"]] == ["managed_hospital_code"]
    unknown = as_user("admin").post("/api/v1/trusteeships", json=body | {"managing_hospital_code": "NOPE"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "managing_hospital_code"
    early = as_user("admin").post("/api/v1/trusteeships", json=body | {"goal_deadline": "2024-01-01"})
    assert [d["field"] for d in early.json()["detail"]] == ["goal_deadline"]
    made = as_user("admin").post("/api/v1/trusteeships", json=body)
    assert made.status_code == 201 and made.json()["managed_hospital_code"] == cast.henan_hospital

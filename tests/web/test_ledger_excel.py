"""Excel on the web: download a template, fill it, upload, see each bad row and field flagged,
fix it, confirm; all rows or none, and the same rows uploaded twice add nothing."""

from __future__ import annotations

import base64
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from .conftest import login, page_csrf
from .test_ledger_entry import MODELS, stored


@pytest.fixture(scope="module")
def browser(app):  # type: ignore[no-untyped-def]
    with TestClient(app) as signed_in:
        login(signed_in, "jiuquan")
        yield signed_in


def template(browser, project: int, kind: str):  # type: ignore[no-untyped-def]
    answer = browser.get(f"/projects/{project}/ledger/{kind}/template.xlsx")
    assert answer.status_code == 200
    return load_workbook(io.BytesIO(answer.content))


def filled(book, rows: list[list]) -> bytes:  # type: ignore[no-untyped-def]
    sheet = book.worksheets[0]
    sheet.delete_rows(2, sheet.max_row)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(browser, project: int, kind: str, name: str, content: bytes):  # type: ignore[no-untyped-def]
    csrf = page_csrf(browser, f"/projects/{project}/ledger?kind={kind}")
    return browser.post(f"/projects/{project}/ledger/{kind}/upload", data={"csrf_token": csrf},
                        files={"file": (name, content)})


def confirm(browser, project: int, kind: str, preview_html: str):  # type: ignore[no-untyped-def]
    fields = dict(re.findall(r'name="(csrf_token|filename|content)" value="([^"]*)"', preview_html))
    return browser.post(f"/projects/{project}/ledger/{kind}/confirm", data=fields,
                        follow_redirects=False)


@pytest.mark.parametrize("kind", list(MODELS))
def test_each_template_has_a_bilingual_header_drop_downs_and_one_example_row(kind, browser, cast):
    book = template(browser, cast.jiuquan_project, kind)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert all(re.fullmatch(r".*[\u4e00-\u9fff].* .*[A-Za-z].* \[[a-z_]+\]", h) for h in header), header
    assert sheet.max_row == 2  # one example row
    choices = {kind: "role", "activities": "kind", "technologies": "gap_level",
               "trainees": "completed"}.get(kind)
    if kind != "visits":
        assert choices is not None
        formulas = [dv.formula1 for dv in sheet.data_validations.dataValidation]
        assert formulas and all(f.startswith('"') for f in formulas)
    # The untouched template uploads as "only the example", and stores nothing.
    answer = upload(browser, cast.jiuquan_project, kind, "template.xlsx",
                    filled(book, [[c.value for c in sheet[2]]]))
    assert answer.status_code == 422 and "only the example row" in answer.text


def test_a_bad_row_is_flagged_nothing_is_stored_and_the_fixed_file_goes_in_once(browser, cast, web_store):
    project, engine = cast.jiuquan_project, web_store[0]
    book = template(browser, project, "trainees")
    good_row = ["王芳", "金塔县人民医院", "金塔县", "护理进修", "2025-09-01", "2025-12-31", "否", 120]
    bad_row = ["赵强", "玉门市人民医院", "玉门市", "ICU 规培", "2025-09-15", "2025-09-01", "也许", -5]
    before = stored(engine, "trainees", project)

    preview = upload(browser, project, "trainees", "进修名单.xlsx", filled(book, [good_row, bad_row]))
    assert preview.status_code == 422
    flagged = re.findall(r'<tr class="bad" data-row="(\d+)">', preview.text)
    assert flagged == ["3"]  # the sheet's row 3 (row 2 holds the first trainee)
    bad_cells = preview.text.split('data-row="3"')[1].split("</tr>")[0]
    for field in ("end_date", "completed", "hours"):
        assert f"<b>{field}</b>" in bad_cells
    assert "结束日期早于开始日期" in bad_cells and 'id="confirm"' not in preview.text
    assert stored(engine, "trainees", project) == before

    fixed = filled(template(browser, project, "trainees"),
                   [good_row, bad_row[:5] + ["2025-10-01", "是", 200]])
    ok = upload(browser, project, "trainees", "进修名单.xlsx", fixed)
    assert ok.status_code == 200 and 'id="confirm"' in ok.text
    done = confirm(browser, project, "trainees", ok.text)
    assert done.status_code == 303 and done.headers["location"].endswith("saved=2")
    assert stored(engine, "trainees", project) == before + 2

    again = upload(browser, project, "trainees", "copy of 进修名单.xlsx", fixed)
    assert 'id="already"' in again.text
    twice = confirm(browser, project, "trainees", again.text)
    assert twice.headers["location"].endswith("saved=0")
    assert stored(engine, "trainees", project) == before + 2


def test_a_row_the_store_would_refuse_is_flagged_in_the_preview_and_confirm_stores_none(
        browser, cast, web_store):
    project, engine = cast.jiuquan_project, web_store[0]
    book = template(browser, project, "dispatches")
    # The second dispatch overlaps the first for the same person: only the store can tell.
    rows = [["钱医生", "NRMC-O005", "心内科", "主任医师", "dual_director", "第8批", "2025-10-01",
             "2025-10-31"],
            ["钱医生", "NRMC-O005", "心内科", "主任医师", "visiting_expert", "第8批", "2025-10-15",
             "2025-11-15"]]
    before = stored(engine, "dispatches", project)
    preview = upload(browser, project, "dispatches", "派驻.xlsx", filled(book, rows))
    assert preview.status_code == 422
    assert re.findall(r'<tr class="bad" data-row="(\d+)">', preview.text) == ["3"]
    assert "already dispatched" in preview.text
    content = base64.b64encode(filled(template(browser, project, "dispatches"), rows)).decode()
    forced = browser.post(f"/projects/{project}/ledger/dispatches/confirm", data={
        "csrf_token": page_csrf(browser, f"/projects/{project}/ledger?kind=dispatches"),
        "filename": "派驻.xlsx", "content": content})
    assert forced.status_code == 422
    assert stored(engine, "dispatches", project) == before


def test_a_csv_with_the_api_field_names_uploads_too(browser, cast, web_store):
    project = cast.jiuquan_project
    csv = ("name,department,first_case_on,cases_since,gap_level\n"
           "ECMO,重症医学科,2025-09-09,3,province\n").encode()
    preview = upload(browser, project, "technologies", "tech.csv", csv)
    assert preview.status_code == 200
    assert confirm(browser, project, "technologies", preview.text).headers["location"].endswith(
        "saved=1")


def test_a_file_that_is_not_a_spreadsheet_is_refused_plainly(browser, cast):
    answer = upload(browser, cast.jiuquan_project, "technologies", "notes.xlsx", b"not a zip")
    assert answer.status_code == 422 and "not a readable XLSX workbook" in answer.text
    answer = upload(browser, cast.jiuquan_project, "technologies", "notes.pdf", b"%PDF")
    assert "upload an .xlsx or .csv file" in answer.text

"""Planning pages: hospital roles are refused, the comparison page and its XLSX, the project
page's scale card, and spreadsheet-safe exports."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from .conftest import login, page_csrf


@pytest.fixture(scope="module")
def pages(app):  # type: ignore[no-untyped-def]
    def open_as(username: str) -> TestClient:
        client = TestClient(app)
        login(client, username)
        return client
    return open_as


def _save(client: TestClient, name: str, p: str) -> None:
    headers = {"HX-Request": "true", "X-CSRF-Token": page_csrf(client, "/planning")}
    html = client.post("/planning/site", data={"province": "620000", "p": p, "name": name,
                                               "candidates": "greenfield"}, headers=headers).text
    assert "Saved as scenario" in html, html[:500]


@pytest.mark.parametrize("who", ["jinta", "jiuquan"])
def test_hospital_roles_cannot_open_planning(pages, who):
    client = pages(who)
    assert 'href="/planning"' not in client.get("/referrals").text  # not offered in the menu
    assert 'href="/planning"' in pages("gansu").get("/referrals").text
    assert client.get("/planning").status_code == 403
    csrf = page_csrf(client, "/")  # a valid token: the refusal is the role's, not CSRF's
    response = client.post("/planning/site", data={"province": "620000", "p": "1"},
                           headers={"X-CSRF-Token": csrf})
    assert response.status_code == 403 and "规划功能" in response.text


def test_planner_compares_saved_scenarios_and_downloads_the_workbook(pages):
    client = pages("gansu")
    _save(client, "=HYPERLINK(\"http://x\") 一个", "1")
    _save(client, "三个中心", "3")
    listed = client.get("/api/v1/planning/scenarios").json()["items"]
    ids = sorted(s["id"] for s in listed if s["name"] in {"三个中心", "=HYPERLINK(\"http://x\") 一个"})
    page = client.get("/planning/compare", params={"ids": ids})
    assert page.status_code == 200
    assert 'id="compare"' in page.text and "mostly in" in page.text and "<script>" not in page.text
    book = client.get("/planning/compare.xlsx", params={"ids": ids})
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(book.content))["比较 compare"]
    names = [row for row in sheet.iter_rows(values_only=True) if row[0] == "name"][0]
    assert names[3].startswith("'=HYPERLINK")  # kept as text, never a live formula


def test_other_province_scenarios_are_not_found_on_the_page(pages):
    henan = pages("henan")
    headers = {"HX-Request": "true", "X-CSRF-Token": page_csrf(henan, "/planning")}
    henan.post("/planning/site", data={"province": "410000", "p": "1", "name": "河南一",
                                       "candidates": "greenfield"}, headers=headers)
    theirs = henan.get("/api/v1/planning/scenarios").json()["items"][0]["id"]
    assert pages("gansu").get("/planning/compare", params={"ids": [theirs]}).status_code == 404


def test_project_page_loads_its_scale_card(pages, cast):
    client = pages("gansu")
    dashboard = client.get(f"/projects/{cast.jiuquan_project}").text
    assert f'hx-get="/planning/projects/{cast.jiuquan_project}/scale"' in dashboard
    card = client.get(f"/planning/projects/{cast.jiuquan_project}/scale").text
    assert 'id="scale-summary"' in card and "beds needed" in card
    assert pages("henan").get(f"/planning/projects/{cast.jiuquan_project}/scale").status_code == 404


def test_page_runs_on_an_uploaded_candidate_list_and_names_a_bad_row(pages):
    client = pages("gansu")
    headers = {"HX-Request": "true", "X-CSRF-Token": page_csrf(client, "/planning")}
    form = {"province": "620000", "p": "1", "candidates": "upload"}
    good = "code,name_zh,lon,lat\nX1,兰州候选,103.83,36.06\nX2,天水候选,105.72,34.58\n"
    html = client.post("/planning/site", data=form, headers=headers,
                       files={"candidates_file": ("mine.csv", good.encode(), "text/csv")}).text
    assert "兰州候选" in html or "天水候选" in html
    assert "the planner&#39;s uploaded list" in html or "uploaded list" in html
    wb = io.BytesIO()
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["code", "name_zh", "lon", "lat"])
    book.active.append(["X1", "兰州候选", 103.83, 360.0])
    book.save(wb)
    bad = client.post("/planning/site", data=form, headers=headers,
                      files={"candidates_file": ("mine.xlsx", wb.getvalue(),
                                                 "application/octet-stream")}).text
    assert 'role="alert"' in bad and "mine.xlsx: row 1: lat" in bad

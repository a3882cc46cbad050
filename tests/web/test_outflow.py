"""Outflow on the overview, the province page and the API, from a small synthetic dataset."""

from __future__ import annotations

from .conftest import login


def test_outflow_api_by_province_specialty_and_year(as_user):
    page = as_user("admin").get("/api/v1/metrics/outflow", params={"year": 2024}).json()
    assert page["total"] == 31 and all(r["year"] == 2024 for r in page["items"])
    published = [r for r in page["items"] if not r["suppressed"]]
    assert published and all(0 <= r["outflow_rate"] <= 1 for r in published)
    # small cells (fewer than 10 patients) are withheld, never published as numbers
    assert all(r["treated_outside"] is None or r["treated_outside"] == 0
               or r["treated_outside"] >= 10 for r in page["items"])
    assert all(r["specialty"] is None for r in page["items"])
    cardio = as_user("admin").get("/api/v1/metrics/outflow", params={
        "year": 2024, "specialty": "cardiovascular", "limit": 500}).json()
    assert cardio["items"] and all(r["specialty"] == "cardiovascular" for r in cardio["items"])


def test_outflow_is_scoped_to_the_callers_regions(as_user):
    gansu = as_user("gansu").get("/api/v1/metrics/outflow", params={"limit": 500}).json()
    assert {r["region"] for r in gansu["items"]} == {"620000"}
    prefectures = as_user("gansu").get("/api/v1/metrics/outflow", params={
        "level": "prefecture", "limit": 500}).json()
    assert prefectures["items"] and all(r["region"].startswith("62") for r in prefectures["items"])
    jinta = as_user("jinta").get("/api/v1/metrics/outflow", params={
        "level": "county", "limit": 500}).json()
    assert {r["region"] for r in jinta["items"]} <= {"620921"}


def test_overview_map_shows_outflow_with_specialty_and_year_selectors(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        login(client, "admin")
        html = client.get("/", params={"specialty": "oncology", "year": 2023}).text
    assert "各省患者外流率" in html and 'id="specialty"' in html and 'id="year"' in html
    assert '<option value="oncology" selected>' in html and '<option value="2023" selected>' in html
    assert '"value": 0.' in html or '"value": 0,' in html or '"value": 1' in html


def test_province_page_shows_outflow_by_specialty_and_by_prefecture(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        login(client, "gansu")
        html = client.get("/regions/620000").text
    assert "分专科外流率" in html and "各地市患者外流率" in html


def test_each_gives_one_row_per_specialty(as_user):
    rows = as_user("gansu").get("/api/v1/metrics/outflow", params={
        "year": 2024, "specialty": "each", "limit": 500}).json()["items"]
    assert len({r["specialty"] for r in rows}) > 3 and all(r["specialty"] for r in rows)
    assert {r["region"] for r in rows} == {"620000"}

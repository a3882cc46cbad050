"""The project's operations through the API and the dashboard, scoped like the project."""

from __future__ import annotations

import csv
import io

from .conftest import login


def test_kpis_with_year_on_year(as_user, cast):
    report = as_user("jiuquan").get(f"/api/v1/projects/{cast.jiuquan_project}/kpis",
                                    params={"year": 2025}).json()
    assert report["year"] == 2025 and report["kpis"]["experts"] == 1
    assert report["year_on_year"]["expert_days"]["previous"] == 92  # 1 March – 31 May 2024
    everything = as_user("jiuquan").get(f"/api/v1/projects/{cast.jiuquan_project}/kpis").json()
    assert everything["year_on_year"] is None and everything["kpis"]["dispatches"] == 2


def test_trend_covers_each_active_year(as_user, cast):
    trend = as_user("admin").get(f"/api/v1/projects/{cast.jiuquan_project}/kpis/trend").json()
    assert [k["period_start"][:4] for k in trend] == ["2024", "2025"]


def test_dispatches_timeline_technologies_and_visits(as_user, cast):
    base = f"/api/v1/projects/{cast.jiuquan_project}"
    gansu = as_user("gansu")
    page = gansu.get(f"{base}/dispatches").json()
    assert page["total"] == 2 and page["items"][0]["days"] == 92
    months = gansu.get(f"{base}/dispatches/by-month").json()
    assert [m["month"] for m in months][:3] == ["2024-03", "2024-04", "2024-05"]
    technologies = gansu.get(f"{base}/technologies").json()
    assert technologies[0]["gap_level"] == "city"
    assert gansu.get(f"{base}/visits").json() == []
    rows = list(csv.DictReader(io.StringIO(
        gansu.get(f"{base}/dispatches", params={"format": "csv"}).text.lstrip("\ufeff"))))
    assert len(rows) == 2


def test_operations_of_an_out_of_scope_project_are_not_found(as_user, cast):
    for path in ("kpis", "kpis/trend", "dispatches", "technologies", "visits"):
        response = as_user("henan").get(f"/api/v1/projects/{cast.jiuquan_project}/{path}")
        assert response.status_code == 404, path


def test_dashboard_shows_kpi_cards_and_the_timeline(app, cast):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        login(client, "jiuquan")
        html = client.get(f"/projects/{cast.jiuquan_project}").text
    assert 'id="kpis"' in html and "2025年运行指标" in html
    assert 'id="timeline"' in html and "经皮冠状动脉介入治疗" in html

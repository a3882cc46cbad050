"""Planning through the API: named scenarios saved and scoped, specialty demand named in every
answer, existing centres kept open, comparison, XLSX export, bed sizing, a project's scale."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook


def _site(as_user, who, **body):
    return as_user(who).post("/api/v1/planning/site", json={"province": "620000", "p": 2} | body)


def test_named_run_is_saved_audited_and_names_its_demand_source(as_user):
    response = _site(as_user, "gansu", name="心血管 两中心", specialty="cardiovascular",
                     radius_min=180)
    assert response.status_code == 200, response.text
    out = response.json()
    results = out["results"]
    assert out["id"] and out["name"] == "心血管 两中心"
    new = [s for s in results["sites"] if not s["existing"]]
    assert len(new) == 2
    assert results["demand"]["source"] == "flows" and results["demand"]["year"] == 2024
    assert "cardiovascular" in results["demand"]["note_en"]
    assert results["demand"]["population_vintage"].startswith("census 2020")
    assert all(u["code"].startswith("62") for u in results["units"])
    assert results["within"]["1h"] <= results["within"]["2h"] <= results["within"]["3h"]
    assert results["population"] >= results["within"]["3h"] > 0
    listed = as_user("gansu").get("/api/v1/planning/scenarios").json()
    assert out["id"] in {s["id"] for s in listed["items"]}
    audit = as_user("gansu").get("/api/v1/audit", params={"object_type": "scenario"}).json()
    assert audit["items"][0]["object_id"] == str(out["id"])


def test_population_demand_says_it_is_an_estimate_from_the_census(as_user):
    results = _site(as_user, "gansu", demand="population", specialty="oncology").json()["results"]
    assert results["demand"]["source"] == "population" and results["demand"]["estimated"]
    assert "census 2020" in results["demand"]["note_en"] and "oncology" in results["demand"]["note_en"]


def test_opened_centre_of_the_specialty_is_kept_open_and_counted(as_user):
    # 甘肃省肿瘤医院 (NRMC-P021) is an opened oncology centre: fixed open by default
    kept = _site(as_user, "gansu", specialty="oncology", p=1).json()["results"]
    codes = {s["code"]: s for s in kept["sites"]}
    assert codes["NRMC-P021"]["existing"] and kept["candidates"]["existing"] >= 1
    dropped = _site(as_user, "gansu", specialty="oncology", p=1,
                    include_existing=False).json()["results"]
    assert all(not s["existing"] for s in dropped["sites"]) and len(dropped["sites"]) == 1


def test_greenfield_offers_every_county_seat(as_user):
    results = _site(as_user, "gansu", candidates="greenfield", p=3,
                    include_existing=False).json()["results"]
    assert results["candidates"]["kind"] == "greenfield"
    assert results["candidates"]["count"] == len(results["units"])


def test_uploaded_candidate_list_is_used_and_a_bad_row_is_named(as_user):
    good = "code,name_zh,lon,lat\nX1,兰州候选,103.83,36.06\nX2,天水候选,105.72,34.58\n"
    response = as_user("gansu").post(
        "/api/v1/planning/site/upload", data={"scenario": '{"province": "620000", "p": 1, '
                                                          '"include_existing": false}'},
        files={"file": ("mine.csv", good.encode(), "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["results"]["sites"][0]["code"] in {"X1", "X2"}
    bad = "code,name_zh,lon,lat\nX1,兰州候选,103.83,36.06\nX2,天水候选,east,34.58\n"
    response = as_user("gansu").post(
        "/api/v1/planning/site/upload", data={"scenario": '{"province": "620000", "p": 1}'},
        files={"file": ("mine.csv", bad.encode(), "text/csv")})
    assert response.status_code == 400
    assert "mine.csv: row 2: lon" in response.json()["detail"]


def test_provincial_planner_sees_only_its_province_national_sees_all(as_user):
    gansu = _site(as_user, "gansu", name="甘肃方案").json()["id"]
    henan = as_user("henan").post("/api/v1/planning/site", json={
        "province": "410000", "p": 2, "name": "河南方案"}).json()["id"]
    seen_by_gansu = {s["id"] for s in as_user("gansu").get("/api/v1/planning/scenarios").json()["items"]}
    assert gansu in seen_by_gansu and henan not in seen_by_gansu
    assert as_user("gansu").get(f"/api/v1/planning/scenarios/{henan}").status_code == 404
    seen_by_admin = {s["id"] for s in as_user("admin").get("/api/v1/planning/scenarios").json()["items"]}
    assert {gansu, henan} <= seen_by_admin
    assert _site(as_user, "henan").status_code == 404  # Gansu is outside Henan's scope


@pytest.mark.parametrize("who", ["jinta", "jiuquan"])
def test_hospital_roles_cannot_run_siting_nor_read_scenarios(as_user, who):
    assert _site(as_user, who).status_code == 403
    assert as_user(who).get("/api/v1/planning/scenarios").status_code == 403
    assert as_user(who).get("/api/v1/planning/compare", params={"ids": [1]}).status_code == 403


def test_analyst_runs_but_does_not_save(as_user):
    out = as_user("analyst").post("/api/v1/planning/site", json={
        "province": "410000", "p": 2, "name": "analyst try"}).json()
    assert out["id"] is None and out["results"]["sites"]


def test_too_many_sites_is_a_clear_error_not_a_500(as_user):
    response = _site(as_user, "admin", p=20)
    assert response.status_code == 400 and "candidates" in response.json()["detail"]


def test_compare_side_by_side_with_summary_and_xlsx(as_user):
    a = _site(as_user, "gansu", name="A one site", p=1, include_existing=False,
              candidates="greenfield").json()["id"]
    b = _site(as_user, "gansu", name="B three sites", p=3, include_existing=False,
              candidates="greenfield").json()["id"]
    cmp = as_user("gansu").get("/api/v1/planning/compare", params={"ids": [a, b]}).json()
    measures = {r["measure"]: r for r in cmp["rows"]}
    assert measures["within_2h"]["s2"] >= measures["within_2h"]["s1"]
    assert {"mean_minutes", "p95_minutes", "objective", "within_1h", "within_3h"} <= set(measures)
    assert any("B three sites" in line and "within 2 h" in line for line in cmp["summary_en"])
    assert any("2小时" in line for line in cmp["summary_zh"])
    xlsx = as_user("gansu").get("/api/v1/planning/compare.xlsx", params={"ids": [a, b]})
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert {"比较 compare", "中心 sites", "未覆盖地市 prefectures", "来源 sources"} <= set(book.sheetnames)


def test_bed_sizing_erlang_b_and_c(as_user):
    block = as_user("gansu").post("/api/v1/planning/beds", json={
        "admissions_per_year": 12000, "mean_los_days": 8.5, "target": 0.05}).json()
    assert block["target"] == "block" and block["block_probability"] <= 0.05
    wait = as_user("gansu").post("/api/v1/planning/beds", json={
        "admissions_per_year": 12000, "mean_los_days": 8.5, "target": 0.05, "kind": "wait"}).json()
    assert wait["wait_probability"] <= 0.05 and wait["beds"] >= block["beds"]
    assert as_user("gansu").post("/api/v1/planning/beds", json={
        "admissions_per_year": -1, "mean_los_days": 8}).status_code == 422


def test_project_scale_says_over_or_under_built_by_how_many_beds(as_user, cast):
    response = as_user("gansu").get(f"/api/v1/projects/{cast.jiuquan_project}/scale")
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["beds_needed"] > 0 and out["catchment_counties"] > 0
    assert out["occupancy_target"] == 0.85 and out["occupancy_at_needed"] <= 0.85
    assert out["demand"]["source"] in {"flows", "population"}
    if out["planned_beds"] is None:
        assert out["difference"] is None and out["verdict"] == "unknown"
    assert as_user("henan").get(f"/api/v1/projects/{cast.jiuquan_project}/scale").status_code == 404

"""Planning workspace: siting scenarios and bed sizing through the API and the pages."""

from __future__ import annotations

from .conftest import login, page_csrf


def test_siting_covers_counties_and_saves_an_audited_scenario(as_user):
    response = as_user("gansu").post("/api/v1/planning/site", json={
        "province": "620000", "p": 2, "radius_min": 180, "specialty": "cardiovascular"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert len(result["sites"]) == 2 and 0 < result["covered_share"] <= 1
    assert all(c["code"].startswith("62") for c in result["counties"])
    assert result["scenario"]
    listed = as_user("gansu").get("/api/v1/planning/scenarios").json()
    assert result["scenario"] in {s["id"] for s in listed["items"]}
    audit = as_user("gansu").get("/api/v1/audit", params={"object_type": "scenario"}).json()
    assert audit["items"][0]["object_id"] == result["scenario"]


def test_p_median_objective(as_user):
    result = as_user("admin").post("/api/v1/planning/site", json={
        "province": "62", "p": 3, "objective": "median"}).json()
    assert result["model"] == "p-median" or len(result["sites"]) == 3


def test_siting_outside_the_scope_is_not_found(as_user):
    response = as_user("henan").post("/api/v1/planning/site", json={"province": "620000", "p": 2})
    assert response.status_code == 404


def test_analyst_runs_but_does_not_save(as_user):
    result = as_user("analyst").post("/api/v1/planning/site", json={
        "province": "410000", "p": 2}).json()
    assert result["scenario"] is None and result["sites"]


def test_too_many_sites_is_a_clear_error_not_a_500(as_user):
    response = as_user("admin").post("/api/v1/planning/site", json={"province": "620000", "p": 20})
    assert response.status_code < 500


def test_bed_sizing_erlang_b_and_c(as_user):
    block = as_user("gansu").post("/api/v1/planning/beds", json={
        "admissions_per_year": 12000, "mean_los_days": 8.5, "target": 0.05}).json()
    assert block["target"] == "block" and block["block_probability"] <= 0.05
    assert block["beds"] > 0 and 0 < block["occupancy"] <= 1
    wait = as_user("gansu").post("/api/v1/planning/beds", json={
        "admissions_per_year": 12000, "mean_los_days": 8.5, "target": 0.05, "kind": "wait"}).json()
    assert wait["wait_probability"] <= 0.05 and wait["beds"] >= block["beds"]
    assert as_user("gansu").post("/api/v1/planning/beds", json={
        "admissions_per_year": -1, "mean_los_days": 8}).status_code == 422


def test_planning_page_runs_with_htmx(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        login(client, "gansu")
        page = client.get("/planning").text
        assert "规划工作台" in page and 'value="620000"' in page
        headers = {"HX-Request": "true", "X-CSRF-Token": page_csrf(client, "/planning")}
        site = client.post("/planning/site", data={"province": "620000", "p": 2},
                           headers=headers).text
        assert 'id="site-map"' in site and 'data-chart="siting" data-target="site-map"' in site
        beds = client.post("/planning/beds", data={"admissions_per_year": 5000,
                                                   "mean_los_days": 7}, headers=headers).text
        assert 'id="beds-summary"' in beds

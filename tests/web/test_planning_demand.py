"""In the demo (synthetic discharges loaded), specialty demand changes the answer: two
specialties give different optimal sites in at least one province, and every answer names its
demand source, year and population vintage."""

from __future__ import annotations

import re

PROVINCES = ["620000", "410000", "510000", "340000"]


def _sites(as_user, province: str, specialty: str) -> dict:
    response = as_user("admin").post("/api/v1/planning/site", json={
        "province": province, "p": 2, "specialty": specialty, "objective": "median",
        "candidates": "greenfield", "include_existing": False})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_two_specialties_give_different_sites_and_name_their_demand(as_user):
    differ = []
    for province in PROVINCES:
        cardio = _sites(as_user, province, "cardiovascular")
        children = _sites(as_user, province, "pediatrics")
        for answer, specialty in ((cardio, "cardiovascular"), (children, "pediatrics")):
            demand = answer["demand"]
            assert demand["source"] == "flows" and demand["year"] == 2024
            assert specialty in demand["note_en"] and demand["synthetic"]
            assert demand["population_vintage"].startswith("census 2020")
        if set(cardio["selected_codes"]) != set(children["selected_codes"]):
            differ.append(province)
            break
    assert differ, "the same sites for both specialties in every province tried"


def test_the_page_names_the_demand_source_beside_the_answer(app):
    from fastapi.testclient import TestClient

    from .conftest import login, page_csrf

    with TestClient(app) as client:
        login(client, "gansu")
        headers = {"HX-Request": "true", "X-CSRF-Token": page_csrf(client, "/planning")}
        html = client.post("/planning/site", data={"province": "620000", "p": "2",
                                                   "specialty": "oncology",
                                                   "include_existing": "on"},
                           headers=headers).text
        assert 'id="site-sources"' in html and "oncology" in html and "census 2020" in html
        assert "data-siting=" in html and "<script" not in html
        bad = client.post("/planning/site", data={"province": "620000", "p": "0"},
                          headers=headers).text
        assert re.search(r'id="err-p" hx-swap-oob="true">[^<]+</span>', bad)  # beside the field
        assert re.search(r'id="err-name" hx-swap-oob="true"></span>', bad)  # others cleared

"""The programme office through the API and the pages: indicator rows, scope, downloads,
bilingual 422s, targets, and pages without inline script."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from nrmc.db import session_scope
from nrmc.domains.collaboration import ledger
from nrmc.domains.collaboration.schemas import TechnologyIn
from nrmc.domains.programme.schemas import INDICATORS
from nrmc.domains.users.scope import Scope

from .conftest import page_csrf

URL = "/api/v1/metrics/programme"
FIELDS = {"key", "label_zh", "label_en", "value", "unit", "target", "projects_reporting",
          "projects_expected", "as_of"}


def _rows(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return {r["key"]: r for r in response.json()["indicators"]}


def test_programme_json_has_every_indicator_with_target_and_reporting(as_user):
    body = as_user("admin").get(URL, params={"as_of": "2025-06-30"}).json()
    rows = {r["key"]: r for r in body["indicators"]}
    assert list(rows) == [d.key for d in INDICATORS]
    assert all(FIELDS <= set(r) for r in rows.values())
    assert rows["new_technologies"]["value"] >= 1  # the cast's PCI, first case 2024-04-02
    assert rows["grade4_share"]["target"] == 0.35 and rows["grade4_share"]["target_source"]
    assert body["as_of"] == "2025-06-30" and body["projects"] == 77  # older counts kept
    assert body["period_start"] == "2025-02-01"  # five months ending with as_of


def test_adding_a_technology_row_moves_new_technologies_by_one(as_user, web_store, cast):
    params = {"as_of": "2025-06-30"}
    before = _rows(as_user("admin").get(URL, params=params))["new_technologies"]["value"]
    with session_scope(web_store[0]) as session:
        ledger.add_technology(session=session, scope=Scope.system(), data=TechnologyIn(
            project_id=cast.jiuquan_project, name="ECMO", first_case_on=date(2025, 5, 1),
            gap_level="province"))
    after = _rows(as_user("admin").get(URL, params=params))["new_technologies"]["value"]
    assert after == before + 1


def test_a_provincial_officer_sees_its_province_only(as_user):
    gansu = as_user("gansu").get(URL, params={"as_of": "2025-06-30"}).json()
    assert [p["code"] for p in gansu["provinces"]] in ([], ["620000"])
    rows = {r["key"]: r for r in gansu["indicators"]}
    assert rows["projects_approved"]["value"] == 4 and rows["provinces_covered"]["value"] == 1
    other = _rows(as_user("gansu").get(URL, params={"province": "410000"}))
    assert other["projects_approved"]["value"] == 0
    henan = _rows(as_user("henan").get(URL, params={"as_of": "2025-06-30"}))
    assert henan["new_technologies"]["value"] == 0  # Jiuquan's technologies are not Henan's


def test_the_indicator_table_downloads_as_csv_and_xlsx(as_user):
    csv = as_user("admin").get(URL, params={"as_of": "2025-06-30", "format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    header = csv.text.lstrip("\ufeff").splitlines()[0].split(",")
    assert header[:5] == ["key", "label_zh", "label_en", "value", "unit"]
    assert len(csv.text.strip().splitlines()) == len(INDICATORS) + 1
    xlsx = as_user("admin").get(URL, params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


@pytest.mark.parametrize(("params", "field"), [
    ({"as_of": "2018-01-01"}, "as_of"),
    ({"period_start": "2025-05-01", "period_end": "2025-04-01"}, "period_end"),
    ({"batch": "9"}, "batch"),
    ({"province": "甘肃"}, "province"),
])
def test_bad_filters_are_refused_with_bilingual_messages(as_user, params, field):
    response = as_user("admin").get(URL, params=params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [d["field"] for d in detail] == [field]
    assert detail[0]["message_zh"] and detail[0]["message_en"]


def test_only_national_admins_set_targets_and_the_change_is_used(client, tokens, as_user):
    body = {"target": 0.4, "direction": "at_least", "source": "programme office plan 2025"}
    url = "/api/v1/programme/targets/grade4_share"

    def put(name: str, payload: dict):  # type: ignore[no-untyped-def]
        return client.put(url, json=payload, headers={"Authorization": f"Bearer {tokens[name]}"})

    assert put("gansu", body).status_code == 403
    refused = put("admin", body | {"source": ""})
    assert refused.status_code == 422 and refused.json()["detail"][0]["message_zh"]
    assert put("admin", body).status_code == 200
    rows = _rows(as_user("admin").get(URL, params={"as_of": "2025-06-30"}))
    assert rows["grade4_share"]["target"] == 0.4
    assert rows["grade4_share"]["target_source"] == "programme office plan 2025"
    assert client.put("/api/v1/programme/targets/no_such", json=body, headers={
        "Authorization": f"Bearer {tokens['admin']}"}).status_code == 404


def test_pages_render_without_inline_script(pages, cast):
    for url in ("/programme?as_of=2025-06-30", "/programme/report?as_of=2025-06-30",
                "/programme/targets", "/programme/coverage", "/milestones",
                f"/milestones/projects/{cast.jiuquan_project}", "/trusteeships", "/gaps"):
        response = pages("admin").get(url)
        assert response.status_code == 200, url
        scripts = re.findall(r"<script([^>]*)>", response.text)
        assert all("src=" in s or 'type="application/json"' in s
                               for s in scripts), (url, scripts)
    html = pages("admin").get("/programme?as_of=2025-06-30").text
    assert 'id="programme-data"' in html and "/static/programme.js" in html
    assert "新技术" in html and "new technologies" in html


def test_a_refused_dashboard_filter_is_shown_beside_its_field(pages):
    response = pages("admin").get("/programme", params={"as_of": "2018-01-01", "batch": "3"})
    assert response.status_code == 422
    html = response.text
    assert 'value="2018-01-01"' in html and "日期不能早于 2019-01-01" in html
    assert '<option value="3" selected>' in html
    reversed_period = pages("admin").get("/programme", params={
        "period_start": "2025-05-01", "period_end": "2025-04-01"})
    assert reversed_period.status_code == 422 and "结束日期早于开始日期" in reversed_period.text


def test_a_refused_milestone_keeps_what_was_typed(pages, cast):
    client = pages("jiuquan")
    url = f"/milestones/projects/{cast.jiuquan_project}"
    csrf = page_csrf(client, url)
    response = client.post(url, data={"csrf_token": csrf, "kind": "opened",
                                      "planned_on": "2018-03-01", "note": "首例患者"})
    assert response.status_code == 422
    assert 'value="2018-03-01"' in response.text and "2019-01-01" in response.text
    assert 'value="首例患者"' in response.text
    ok = client.post(url, data={"csrf_token": csrf, "kind": "opened", "planned_on": "2024-03-01",
                                "actual_on": "2024-05-01"})
    assert ok.status_code == 200 and "61 天" in ok.text  # late by 61 days


def test_a_gap_upload_with_a_bad_row_names_file_row_and_field(as_user):
    files = {"file": ("gansu.csv", "region_code,level,name,identified_on,source\n"
                      "620000,province,ECMO,2020-01-01,甘肃省卫健委\n"
                      "999999,province,TAVR,2020-01-01,甘肃省卫健委\n", "text/csv")}
    response = as_user("gansu").post("/api/v1/gaps/import", files=files)
    assert response.status_code == 422
    assert response.json()["detail"] == [{"file": "gansu.csv", "row": 2, "field": "region_code",
                                          "message": "unknown region 999999 / 未知地区"}]
    assert as_user("gansu").get("/api/v1/gaps").json() == []
    files["file"] = ("gansu.csv", files["file"][1].splitlines()[0] + "\n"
                     + files["file"][1].splitlines()[1] + "\n", "text/csv")
    assert as_user("gansu").post("/api/v1/gaps/import", files=files).json() == {"added": 1, "updated": 0}
    assert [g["name"] for g in as_user("gansu").get("/api/v1/gaps").json()] == ["ECMO"]


def test_county_medical_communities_show_their_within_county_rate_against_90_percent(as_user, cast):
    rows = as_user("gansu").get("/api/v1/metrics/within-county").json()
    jinta = next(r for r in rows if r["alliance_id"] == cast.jinta_alliance)
    assert jinta["county"] == "620921" and jinta["goal"] == 0.9 and jinta["year"] == 2024
    if jinta["withheld"]:
        assert jinta["within_rate"] is None and jinta["met"] is None
    else:
        assert 0 <= jinta["within_rate"] <= 1
        assert jinta["met"] == (jinta["within_rate"] >= 0.9)
    henan = as_user("henan").get("/api/v1/metrics/within-county").json()
    assert cast.jinta_alliance not in {r["alliance_id"] for r in henan}


def test_a_trusteeship_report_form_refuses_a_negative_count_and_keeps_the_typing(pages, web_store, cast):
    from nrmc.domains.trusteeships import service as trusteeships
    from nrmc.domains.trusteeships.schemas import Grade, TrusteeshipIn

    from .cast import JINTA

    with session_scope(web_store[0]) as session:
        made = trusteeships.create(session=session, scope=Scope.system(), data=TrusteeshipIn(
            managing_hospital_code=cast.jiuquan_hospital, managed_hospital_code=JINTA,
            start_date=date(2023, 1, 1), term_years=5, start_grade=Grade.secondary_b,
            target_grade=Grade.tertiary_b, goal_deadline=date(2028, 1, 1), posts_planned=10))
        tid = made.id
    client = pages("jiuquan")
    url = f"/trusteeships/{tid}"
    csrf = page_csrf(client, url)
    form = {"csrf_token": csrf, "reported_on": "2025-06-30", "grade": "secondary_a",
            "posts_filled": "6", "outpatients": "-5"}
    refused = client.post(f"{url}/reports", data=form)
    assert refused.status_code == 422
    assert "不能为负数" in refused.text and 'value="-5"' in refused.text
    saved = client.post(f"{url}/reports", data=form | {"outpatients": "2,400"})
    assert saved.status_code == 200 and "已保存" in saved.text
    assert "2,400" in saved.text and "二级甲等" in saved.text


def test_a_province_links_a_technology_to_the_gap_it_fills(pages, as_user, web_store, cast):
    from nrmc.domains.collaboration.models import Technology
    from nrmc.domains.gaps import service as gaps
    from nrmc.domains.gaps.schemas import GapIn

    with session_scope(web_store[0]) as session:
        gap = gaps.create(session=session, scope=Scope.system(), data=GapIn(
            region_code="620000", level="province", name="经皮冠状动脉介入治疗",
            identified_on=date(2020, 5, 1), source="甘肃省卫健委 2020 年技术空白清单"))
        gap_id = gap.id
        tech_id = session.scalars(select(Technology.id).where(
            Technology.project_id == cast.jiuquan_project)).first()
    client = pages("gansu")
    page = client.get("/gaps")
    assert 'id="gap-link"' in page.text and "经皮冠状动脉介入治疗" in page.text
    csrf = page_csrf(client, "/gaps")
    done = client.post("/gaps/links", data={"csrf_token": csrf, "technology_id": str(tech_id),
                                             "gap_id": str(gap_id)})
    assert done.status_code == 200 and "已关联" in done.text
    summary = as_user("gansu").get("/api/v1/gaps/summary").json()
    gansu = next(p for p in summary["provinces"] if p["code"] == "620000")
    assert gansu["technologies"] >= 1 and gansu["gaps_filled"] >= 1
    assert as_user("henan").get("/api/v1/gaps/summary").json()["provinces"] == []

"""Pages through the TestClient: sign-in redirects, scoped drill-down, the htmx status form."""

from __future__ import annotations

from .conftest import page_csrf


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/regions/620000", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/regions/620000"


def test_overview_embeds_the_programme_numbers_for_the_map(pages):
    html = pages("admin").get("/").text
    assert "全国概览" in html and "National overview" in html
    assert '"code": "620000"' in html and "/static/vendor/echarts.min.js" in html
    assert "77" in html


def test_province_page_lists_centres_alliances_and_prefectures(pages, cast):
    html = pages("gansu").get("/regions/620000").text
    assert "甘肃省" in html and "酒泉市" in html
    assert f"/projects/{cast.jiuquan_project}" in html
    assert "金塔县县域医共体" in html
    assert 'id="map"' in html  # province boundaries ship for Gansu


def test_drill_down_reaches_the_county_hospitals(pages):
    prefecture = pages("gansu").get("/regions/620900").text
    assert "/regions/620921" in prefecture
    county = pages("gansu").get("/regions/620921").text
    assert "金塔县人民医院" in county and "township" in county


def test_region_page_says_its_population_is_the_2020_census_and_how_it_was_derived(pages):
    county = pages("gansu").get("/regions/620921").text  # 金塔县: its own census figure
    assert "121,766" in county or "121766" in county
    assert "2020 census" in county and "估算 estimate" not in county
    district = pages("gansu").get("/regions/620102").text  # 城关区 took part of Lanzhou's zones
    assert "估算 estimate" in district and "census+zone_folded" in district


def test_out_of_scope_pages_answer_404(pages, cast):
    assert pages("gansu").get("/regions/410000").status_code == 404
    assert pages("gansu").get(f"/projects/{cast.henan_project}").status_code == 404
    assert pages("jinta").get(f"/projects/{cast.jiuquan_project}").status_code == 404
    assert pages("jiuquan").get("/regions/620921").status_code == 404


def test_project_dashboard_shows_the_centre_and_its_alliance(pages, cast):
    html = pages("jiuquan").get(f"/projects/{cast.jiuquan_project}").text
    assert "Jiuquan" in html and "酒泉市人民医院医疗集团" in html
    assert 'hx-post="/projects/' in html  # the manager may change the status


def test_read_only_roles_get_no_status_form(pages, cast):
    html = pages("analyst").get(f"/projects/{cast.jiuquan_project}").text
    assert 'hx-post="/projects/' not in html


def test_htmx_status_form_saves_audits_and_needs_csrf(pages, cast):
    client = pages("jiuquan")
    url = f"/projects/{cast.jiuquan_project}/status"
    refused = client.post(url, data={"status": "under_construction", "csrf_token": "forged"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 403
    token = page_csrf(client, f"/projects/{cast.jiuquan_project}")
    saved = client.post(url, data={"status": "under_construction", "planned_beds": "600"},
                        headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert saved.status_code == 200 and "已保存" in saved.text and 'id="status-panel"' in saved.text
    log = pages("admin").get("/audit", params={"actor": "jiuquan"}).text
    assert "project.update" in log and "under_construction" in log


def test_analyst_cannot_post_the_status_form(pages, cast):
    client = pages("analyst")
    token = page_csrf(client, "/")
    response = client.post(f"/projects/{cast.jiuquan_project}/status",
                           data={"status": "operating"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 403


def test_audit_page_filters_and_answers_htmx_with_rows_only(pages):
    client = pages("admin")
    full = client.get("/audit", params={"object_type": "project"})
    assert full.status_code == 200 and "<html" in full.text
    rows = client.get("/audit", params={"object_type": "project"}, headers={"HX-Request": "true"})
    assert "<html" not in rows.text and 'id="audit"' in rows.text


def test_project_list_filters_by_batch(pages):
    html = pages("admin").get("/projects", params={"batch": 1}).text
    assert "(7)" in html


def test_static_assets_ship_with_licences(client):
    for path in ["/static/vendor/htmx.min.js", "/static/vendor/echarts.min.js",
                 "/static/maps/100000.json", "/static/maps/620000.json", "/static/maps/LICENSE",
                 "/static/vendor/htmx.LICENSE", "/static/vendor/echarts.LICENSE"]:
        assert client.get(path).status_code == 200, path


def test_api_docs_page_loads_nothing_from_a_cdn(client):
    html = client.get("/api/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower().replace("cdn_", "")
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_a_clinician_lands_on_the_referral_inbox(pages):
    response = pages("jinta").get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/referrals"

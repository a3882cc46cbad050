"""The referral record through the API and the pages (issue 12, item 7): the hospital picker,
patient fields, 422s naming the field with nothing stored, sides and scope, the history page,
the linked return, and an inbox whose query count does not grow with its rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from nrmc.db import session_scope
from nrmc.domains.referrals.models import Referral
from nrmc.flows.pseudonym import pseudonymise_one

from .cast import JINTA
from .conftest import login, page_csrf


def _count(web_store) -> int:  # type: ignore[no-untyped-def]
    with session_scope(web_store[0]) as session:
        return int(session.scalar(select(func.count()).select_from(Referral)) or 0)


def _body(cast, **extra):  # type: ignore[no-untyped-def]
    return {"from_hospital": JINTA, "to_hospital": cast.jiuquan_hospital,
            "specialty": "cardiovascular", "diagnosis": "I21.0", **extra}


def _fields(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [d["field"] for d in response.json()["detail"]]


# --- the picker ---------------------------------------------------------------------------------

def test_a_county_user_finds_the_project_hospital_by_pinyin_initials(as_user, cast):
    found = as_user("jinta").get("/api/v1/hospitals/search", params={"q": "jqsrmyy"})
    assert found.status_code == 200
    hit = next(h for h in found.json() if h["code"] == cast.jiuquan_hospital)
    assert "酒泉" in hit["name_zh"] and hit["city_zh"] == "酒泉市" and "酒泉市" in hit["label"]
    by_code = as_user("jinta").get("/api/v1/hospitals/search", params={"q": cast.jiuquan_hospital})
    assert by_code.json()[0]["code"] == cast.jiuquan_hospital


def test_the_picker_keeps_to_the_callers_reach(as_user, cast):
    henan = as_user("henan").get("/api/v1/hospitals/search",
                                 params={"q": cast.jiuquan_hospital}).json()
    assert henan == []  # a Henan officer does not find a Gansu hospital
    gansu = as_user("gansu").get("/api/v1/hospitals/search",
                                 params={"q": cast.henan_hospital}).json()
    assert gansu == []


def test_the_picker_refuses_bad_queries_with_422(as_user):
    assert as_user("jinta").get("/api/v1/hospitals/search",
                                params={"q": "x" * 51}).status_code == 422
    too_many = as_user("jinta").get("/api/v1/hospitals/search", params={"q": "y", "limit": 51})
    assert too_many.status_code == 422 and _fields(too_many) == ["limit"]


# --- create: patient fields and the 422s ----------------------------------------------------------

def test_the_record_number_is_pseudonymised_and_never_answered(app, as_user, cast, web_store):
    response = as_user("jinta").post("/api/v1/referrals", json=_body(
        cast, patient_record_no="ZY-2026-0042", patient_sex="2", age_band="65-79"))
    assert response.status_code == 201, response.text
    body = response.json()
    key = app.state.settings.pseudonym_key
    assert body["patient_pseudonym"] == pseudonymise_one("ZY-2026-0042", key)
    assert (body["patient_sex"], body["age_band"]) == ("2", "65-79")
    assert "ZY-2026-0042" not in response.text
    assert "patient_record_no" not in body


@pytest.mark.parametrize(("extra", "field"), [
    ({"patient_record_no": "ZY 0042"}, "patient_record_no"),
    ({"patient_record_no": "A1", "patient_pseudonym": "abc"}, "patient_pseudonym"),
    ({"patient_sex": "male"}, "patient_sex"),
    ({"age_band": "90+"}, "age_band"),
    ({"to_hospital": "没有这家医院"}, "to_hospital"),
    ({"to_hospital": "lzdy"}, "to_hospital"),  # several Lanzhou hospitals: ambiguous
    ({"to_hospital": JINTA}, "to_hospital"),  # itself
])
def test_api_refuses_each_new_rule_with_422_naming_the_field_and_stores_nothing(
        as_user, cast, web_store, extra, field):
    before = _count(web_store)
    response = as_user("jinta").post("/api/v1/referrals", json=_body(cast, **extra))
    assert response.status_code == 422, response.text
    assert _fields(response) == [field]
    detail = response.json()["detail"][0]
    assert detail["message_zh"] and detail["message_en"]
    assert "ZY 0042" not in response.text
    assert _count(web_store) == before


def test_the_api_answers_due_at_by_urgency(as_user, cast):
    body = as_user("jinta").post("/api/v1/referrals", json=_body(cast, urgency="emergency")).json()
    requested = datetime.fromisoformat(body["requested_at"])
    assert datetime.fromisoformat(body["due_at"]) - requested == timedelta(hours=2)
    assert body["overdue"] is False


# --- moves: sides, scope, the appointment rule, the return ------------------------------------

def test_only_the_receiver_answers_and_only_the_sender_cancels(as_user, cast):
    made = as_user("jinta").post("/api/v1/referrals", json=_body(cast)).json()
    path = f"/api/v1/referrals/{made['id']}"
    assert as_user("jinta").post(f"{path}/accept", json={"version": 1}).status_code == 403
    assert as_user("jiuquan").post(f"{path}/cancel",
                                   json={"version": 1, "reason": "x"}).status_code == 403
    assert as_user("henan").get(path).status_code == 404
    assert as_user("henan").post(f"{path}/accept", json={"version": 1}).status_code == 404
    assert as_user("jinta").post(f"{path}/cancel",
                                 json={"version": 1, "reason": "family chose"}).status_code == 200


def test_an_appointment_before_the_acceptance_is_422_and_nothing_changes(as_user, cast):
    made = as_user("jinta").post("/api/v1/referrals", json=_body(cast)).json()
    path = f"/api/v1/referrals/{made['id']}"
    accepted = as_user("jiuquan").post(f"{path}/accept", json={"version": 1, "reason": "ok"})
    assert accepted.status_code == 200 and accepted.json()["reply_note"] == "ok"
    early = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused = as_user("jiuquan").post(f"{path}/schedule",
                                      json={"version": 2, "scheduled_for": early})
    assert refused.status_code == 422 and _fields(refused) == ["scheduled_for"]
    assert "接收时间" in refused.json()["detail"][0]["message"]
    now = as_user("jinta").get(path).json()
    assert (now["status"], now["version"], now["scheduled_for"]) == ("accepted", 2, None)


def _walk_to_returned(as_user, cast, note="stable, back to the county"):  # type: ignore[no-untyped-def]
    made = as_user("jinta").post("/api/v1/referrals", json=_body(
        cast, reason="STEMI, needs PCI")).json()
    path = f"/api/v1/referrals/{made['id']}"
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    for version, (verb, extra) in enumerate([
            ("accept", {"reason": "cath lab ready"}), ("schedule", {"scheduled_for": soon}),
            ("arrive", {}), ("complete", {}), ("return", {"reason": note})], start=1):
        moved = as_user("jiuquan").post(f"{path}/{verb}", json={"version": version, **extra})
        assert moved.status_code == 200, moved.text
    return moved.json()


def test_returning_creates_the_linked_down_referral_the_sender_answers(as_user, cast):
    original = _walk_to_returned(as_user, cast)
    assert original["status"] == "returned" and original["returned_as_id"]
    back = as_user("jinta").get(f"/api/v1/referrals/{original['returned_as_id']}").json()
    assert back["direction"] == "down" and back["returned_from_id"] == original["id"]
    assert (back["from_hospital"]["code"], back["to_hospital"]["code"]) == (
        cast.jiuquan_hospital, JINTA)
    assert back["reason"] == original["reply_note"] == "stable, back to the county"
    path = f"/api/v1/referrals/{back['id']}"
    assert as_user("jiuquan").post(f"{path}/accept", json={"version": 1}).status_code == 403
    assert as_user("jinta").post(f"{path}/accept", json={"version": 1}).status_code == 200


# --- pages ----------------------------------------------------------------------------------

def test_the_form_refuses_an_unknown_hospital_beside_the_field_keeping_the_typed_values(
        app, cast, web_store):
    before = _count(web_store)
    with TestClient(app) as clinician:
        login(clinician, "jinta")
        token = page_csrf(clinician, "/referrals")
        refused = clinician.post("/referrals", data={
            "csrf_token": token, "from_hospital": JINTA, "to_hospital": "没有这家医院",
            "specialty": "neurology", "diagnosis": "I63.9", "urgency": "urgent",
            "patient_record_no": "ZY-SECRET-77", "patient_sex": "1", "age_band": "45-64",
            "reason": "左侧肢体无力 3 小时", "idempotency_key": "form-422-1"})
    assert refused.status_code == 422
    html = refused.text
    assert re.search(r'id="e-to_hospital"[^>]*>[^<]*找不到医院', html)
    assert 'value="没有这家医院"' in html and 'value="I63.9"' in html
    assert "左侧肢体无力 3 小时" in html and '<option value="45-64" selected>' in html
    assert '<option value="urgent" selected>' in html
    assert "ZY-SECRET-77" not in html  # the record number is never sent back
    assert _count(web_store) == before


def test_the_form_refuses_a_bad_record_number_and_a_bad_diagnosis_beside_each_field(
        app, web_store):
    before = _count(web_store)
    with TestClient(app) as clinician:
        login(clinician, "jinta")
        token = page_csrf(clinician, "/referrals")
        refused = clinician.post("/referrals", data={
            "csrf_token": token, "from_hospital": JINTA, "to_hospital": "x",
            "specialty": "neurology", "diagnosis": "stroke", "patient_record_no": "no good!"})
    assert refused.status_code == 422
    assert 'id="e-diagnosis"' in refused.text and 'id="e-patient_record_no"' in refused.text
    assert "no good!" not in refused.text
    assert _count(web_store) == before


def test_the_form_accepts_a_typed_code_and_a_name(app, cast, web_store):
    before = _count(web_store)
    with TestClient(app) as clinician:
        login(clinician, "jinta")
        for n, to in enumerate((cast.jiuquan_hospital, "jqsrmyy")):
            sent = clinician.post("/referrals", data={
                "csrf_token": page_csrf(clinician, "/referrals"), "from_hospital": JINTA,
                "to_hospital": to, "specialty": "neurology", "diagnosis": "I63.9",
                "idempotency_key": f"form-ok-{n}"}, follow_redirects=False)
            assert sent.status_code == 303, sent.text[:2000]
    assert _count(web_store) == before + 2


def test_history_page_shows_every_move_in_beijing_time_and_the_linked_return(
        app, as_user, cast):
    original = _walk_to_returned(as_user, cast, note="转回县医院康复")
    with TestClient(app) as clinician, TestClient(app) as outsider:
        login(clinician, "jinta")
        page = clinician.get(f"/referrals/{original['id']}")
        assert page.status_code == 200
        html = page.text
        for action in ("create", "accepted", "scheduled", "arrived", "completed", "returned"):
            assert f'data-action="{action}"' in html
        assert "(UTC+8)" in html and "jiuquan" in html and "cath lab ready" in html
        assert "STEMI, needs PCI" in html and "转回县医院康复" in html
        assert f'href="/referrals/{original["returned_as_id"]}"' in html
        back = clinician.get(f"/referrals/{original['returned_as_id']}").text
        assert 'id="returned-from"' in back and f'href="/referrals/{original["id"]}"' in back
        inbox = clinician.get("/referrals").text
        assert f'href="/referrals/{original["id"]}"' in inbox  # rows link to their history
        login(outsider, "henan")
        assert outsider.get(f"/referrals/{original['id']}").status_code == 404


def test_the_inbox_makes_the_same_number_of_queries_for_more_rows(app, as_user, cast, web_store):
    engine = web_store[0]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with TestClient(app) as manager:
        login(manager, "jiuquan")
        manager.get("/referrals")
        as_user("jinta").post("/api/v1/referrals", json=_body(cast))  # the cached page is stale
        event.listen(engine, "before_cursor_execute", count)
        try:
            manager.get("/referrals")
            few = len(statements)
            for _ in range(5):
                as_user("jinta").post("/api/v1/referrals", json=_body(cast))
            statements.clear()
            html = manager.get("/referrals").text
            many = len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert html.count('class="history-link"') >= 5
    # Each row's moves name the inbox's hospital (not the page address the layout also knows).
    assert f'name="hospital" value="{cast.jiuquan_hospital}"' in html
    assert many == few, f"{few} queries before, {many} after five more rows"


def test_the_kpi_api_and_page_count_overdue_by_the_configured_deadlines(web_store, tmp_path, tokens,
                                                                          cast):
    """NRMC_REFERRAL_SLA_HOURS reaches the KPIs: the cast's unanswered routine request is not
    overdue under 72 h and is under a deadline of a few seconds."""
    import time as clock

    from fastapi.testclient import TestClient

    from nrmc.config import Settings
    from nrmc.web import create_app

    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    path = f"/api/v1/projects/{cast.jiuquan_project}/kpis"
    counts = {}
    for name, sla in (("default", "emergency=2,urgent=24,routine=72"),
                      ("strict", "emergency=0.0005,urgent=0.0005,routine=0.0005")):
        app = create_app(Settings(home=tmp_path / name, env="test", referral_sla_hours=sla,
                                  read_cache_entries=0), engine=web_store[0])
        with TestClient(app) as client:
            if name == "strict":
                clock.sleep(2)  # past 1.8 s
            counts[name] = client.get(path, headers=headers).json()["kpis"]["referrals_overdue"]
    assert counts["strict"] > counts["default"]

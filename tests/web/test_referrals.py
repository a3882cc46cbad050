"""Referrals through the API and the inbox page: idempotent create, the receiver's moves,
stale versions, wrong side, and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .cast import JINTA
from .conftest import login, page_csrf


def _new(as_user, cast, key=None):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key} if key else {}
    return as_user("jinta").post("/api/v1/referrals", headers=headers, json={
        "from_hospital": JINTA, "to_hospital": cast.jiuquan_hospital,
        "specialty": "neurology", "diagnosis": "i63.9", "urgency": "urgent"})


def test_clinician_creates_and_the_same_key_gives_the_same_referral(as_user, cast):
    first = _new(as_user, cast, key="his-0001")
    again = _new(as_user, cast, key="his-0001")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    body = first.json()
    assert body["status"] == "requested" and body["direction"] == "up"
    assert body["diagnosis"] == "I63.9" and body["version"] == 1


def test_a_reused_key_with_a_different_body_is_422(as_user, cast):
    first = _new(as_user, cast, key="his-0002")
    other = as_user("jinta").post("/api/v1/referrals", headers={"Idempotency-Key": "his-0002"},
                                  json={"from_hospital": JINTA, "to_hospital": cast.jiuquan_hospital,
                                        "specialty": "neurology", "diagnosis": "I61.0",
                                        "urgency": "urgent"})
    assert first.status_code == 201 and other.status_code == 422
    assert "diagnosis" in other.json()["detail"] and "幂等键" in other.json()["detail"]


def test_bad_input_is_422_not_500(as_user, cast):
    bad_icd = as_user("jinta").post("/api/v1/referrals", json={
        "from_hospital": JINTA, "to_hospital": cast.jiuquan_hospital,
        "specialty": "neurology", "diagnosis": "not-icd"})
    assert bad_icd.status_code == 422
    nul = as_user("jinta").post("/api/v1/referrals", json={
        "from_hospital": JINTA, "to_hospital": cast.jiuquan_hospital,
        "specialty": "neurology", "diagnosis": "I63", "reason": "a\x00b"})
    assert nul.status_code == 422


def test_clinician_cannot_refer_on_behalf_of_another_hospital(as_user, cast):
    response = as_user("jinta").post("/api/v1/referrals", json={
        "from_hospital": cast.jiuquan_hospital, "to_hospital": JINTA,
        "specialty": "neurology", "diagnosis": "I63"})
    assert response.status_code == 403


def test_receiver_accepts_then_schedules_and_history_records_each_move(as_user, cast):
    referral = _new(as_user, cast).json()
    path = f"/api/v1/referrals/{referral['id']}"
    # The sender cannot accept its own request.
    assert as_user("jinta").post(f"{path}/accept", json={"version": 1}).status_code == 403
    accepted = as_user("jiuquan").post(f"{path}/accept", json={"version": 1, "reason": "bed free"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    stale = as_user("jiuquan").post(f"{path}/reject", json={"version": 1, "reason": "x"})
    assert stale.status_code == 409
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    scheduled = as_user("jiuquan").post(f"{path}/schedule", json={
        "version": 2, "scheduled_for": tomorrow})
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled"
    moves = [e["action"] for e in as_user("jinta").get(f"{path}/history").json()]
    assert moves == ["referral.create", "referral.accepted", "referral.scheduled"]


def test_a_move_the_state_machine_forbids_is_409(as_user, cast):
    referral = _new(as_user, cast).json()
    response = as_user("jiuquan").post(f"/api/v1/referrals/{referral['id']}/complete",
                                       json={"version": 1})
    assert response.status_code == 409 and "cannot move" in response.json()["detail"]


def test_analyst_reads_but_cannot_move(as_user, cast):
    path = f"/api/v1/referrals/{cast.jinta_referral}"
    assert as_user("analyst").get(path).status_code == 200
    assert as_user("analyst").post(f"{path}/accept", json={"version": 1}).status_code == 403


def test_list_filters_and_downloads(as_user, cast):
    _new(as_user, cast)
    jiuquan = as_user("jiuquan")
    requested = jiuquan.get("/api/v1/referrals", params={"status": "requested"}).json()
    assert requested["total"] >= 1 and all(r["status"] == "requested" for r in requested["items"])
    up = jiuquan.get("/api/v1/referrals", params={"direction": "up"}).json()
    assert all(r["direction"] == "up" for r in up["items"])
    csv_text = jiuquan.get("/api/v1/referrals", params={"format": "csv"}).text
    assert "diagnosis" in csv_text.splitlines()[0]


def test_inbox_page_shows_incoming_and_moves_with_htmx(app, cast):
    from fastapi.testclient import TestClient

    with TestClient(app) as clinician, TestClient(app) as manager:
        login(clinician, "jinta")
        token = page_csrf(clinician, "/referrals")
        key_page = clinician.get("/referrals").text
        assert "新建转诊" in key_page and cast.jiuquan_hospital in key_page  # partner suggested
        created = clinician.post("/referrals", data={
            "csrf_token": token, "from_hospital": JINTA, "to_hospital": cast.jiuquan_hospital,
            "specialty": "cardiovascular", "diagnosis": "I21.0", "urgency": "emergency",
            "idempotency_key": "page-key-1"}, follow_redirects=False)
        assert created.status_code == 303
        login(manager, "jiuquan")
        inbox = manager.get("/referrals").text
        assert 'id="incoming"' in inbox and "I21.0" in inbox
        referral = max(r["id"] for r in manager.get(
            "/api/v1/referrals", params={"status": "requested", "limit": 500}).json()["items"])
        moved = manager.post(f"/referrals/{referral}/accept", data={
            "version": 1, "hospital": cast.jiuquan_hospital},
            headers={"HX-Request": "true", "X-CSRF-Token": page_csrf(manager, "/referrals")})
        assert moved.status_code == 200 and f'id="referral-{referral}"' in moved.text
        assert 'data-status="accepted"' in moved.text
        stale = manager.post(f"/referrals/{referral}/accept", data={
            "version": 1, "hospital": cast.jiuquan_hospital},
            headers={"HX-Request": "true", "X-CSRF-Token": page_csrf(manager, "/referrals")})
        assert 'role="alert"' in stale.text  # the row says why, and shows the current state


def test_overdue_requests_are_highlighted(app, web_store, cast):
    from datetime import UTC, datetime, timedelta

    from fastapi.testclient import TestClient

    from nrmc.db import session_scope
    from nrmc.domains.referrals import service
    from nrmc.domains.referrals.schemas import ReferralCreate
    from nrmc.domains.users.scope import Scope

    with session_scope(web_store[0]) as session:
        old = service.create(session=session, scope=Scope.system(), data=ReferralCreate(
            from_hospital=JINTA, to_hospital=cast.jiuquan_hospital, specialty="oncology",
            diagnosis="C34.9", urgency="urgent"), now=datetime.now(UTC) - timedelta(hours=30))
        old_id = old.id
    with TestClient(app) as manager:
        login(manager, "jiuquan")
        html = manager.get("/referrals").text
    row = html.split(f'id="referral-{old_id}"')[0].rsplit("<tr", 1)[-1] + html.split(
        f'id="referral-{old_id}"')[1][:200]
    assert 'class="overdue"' in row

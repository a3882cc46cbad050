"""Input rules at the edge (issue 14, item 3): non-standard JSON, implausible numbers and dates
are refused with a 422 that names the field, never a 500."""

from __future__ import annotations

import pytest

from .cast import JINTA

BEDS = "/api/v1/planning/beds"


def _fields(response) -> set[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, (response.status_code, response.text[:300])
    return {e["field"] for e in response.json()["detail"]}


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_standard_numbers_in_json_are_422_naming_the_field(as_user, token):
    body = '{"admissions_per_year": ' + token + ', "mean_los_days": 5, "target": 0.05}'
    response = as_user("admin").post(BEDS, content=body, headers={"content-type": "application/json"})
    assert _fields(response) == {"admissions_per_year"}
    assert token not in response.text  # the reply names the field, it does not echo the input


def test_a_lone_surrogate_anywhere_in_json_is_422_naming_the_field(as_user, cast):
    body = (f'{{"from_hospital": "{JINTA}", "to_hospital": "{cast.jiuquan_hospital}", '
            '"specialty": "cardiovascular", "diagnosis": "I21", "reason": "bad \\ud800 text"}')
    response = as_user("jinta").post("/api/v1/referrals", content=body,
                                     headers={"content-type": "application/json"})
    assert _fields(response) == {"reason"}
    nested = as_user("admin").post(BEDS, content='{"admissions_per_year": 10, "mean_los_days": 5, '
                                                 '"x": [1, {"\\udc80": 1}]}',
                                   headers={"content-type": "application/json"})
    assert _fields(nested) == {"x.1.?"}


@pytest.mark.parametrize("admissions, los", [(9_000_000, 365), (1e20, 5), (99999999999999999999, 5)])
def test_bed_sizing_beyond_any_hospital_is_422_not_a_hang_or_500(as_user, admissions, los):
    response = as_user("admin").post(BEDS, json={"admissions_per_year": admissions, "mean_los_days": los})
    assert response.status_code == 422


def test_bed_sizing_still_answers_a_real_question(as_user):
    response = as_user("admin").post(BEDS, json={"admissions_per_year": 3650, "mean_los_days": 5,
                                                 "target": 0.01})
    assert response.status_code == 200 and response.json()["beds"] == 64


@pytest.mark.parametrize("value", ["NaN", "1e400", "99999999999999999999", "-1", "20001", "12.5"])
def test_planned_beds_outside_the_rules_are_422(as_user, cast, value):
    response = as_user("admin").patch(f"/api/v1/projects/{cast.jiuquan_project}",
                                      content='{"planned_beds": ' + value + "}",
                                      headers={"content-type": "application/json"})
    assert _fields(response) == {"planned_beds"}


def test_a_control_character_in_project_notes_is_422(as_user, cast):
    response = as_user("admin").patch(f"/api/v1/projects/{cast.jiuquan_project}",
                                      json={"notes": "ok\x1b[2J"})
    assert _fields(response) == {"notes"}


@pytest.mark.parametrize("when", ["2099-01-01T09:00:00+08:00", "1900-01-01T09:00:00+08:00"])
def test_an_appointment_in_2099_or_1900_is_refused(as_user, cast, when):
    created = as_user("jinta").post("/api/v1/referrals", json={
        "from_hospital": JINTA, "to_hospital": cast.jiuquan_hospital, "specialty": "cardiovascular",
        "diagnosis": "I21"})
    path = f"/api/v1/referrals/{created.json()['id']}"
    assert as_user("jiuquan").post(f"{path}/accept", json={"version": 1}).status_code == 200
    response = as_user("jiuquan").post(f"{path}/schedule", json={"version": 2, "scheduled_for": when})
    assert _fields(response) == {"scheduled_for"}


def test_a_control_character_in_a_referral_reason_is_422(as_user, cast):
    response = as_user("jinta").post("/api/v1/referrals", json={
        "from_hospital": JINTA, "to_hospital": cast.jiuquan_hospital, "specialty": "cardiovascular",
        "diagnosis": "I21", "reason": "bell\x07"})
    assert _fields(response) == {"reason"}


def test_json_nested_too_deeply_is_refused_not_500(as_user):
    body = '{"admissions_per_year": 10, "mean_los_days": 5, "x": ' + "[" * 990 + "]" * 990 + "}"
    response = as_user("admin").post(BEDS, content=body, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422)

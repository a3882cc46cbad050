"""The referral record (issue 12, item 7) in the store, on SQLite and PostgreSQL: the hospital
picker, the patient fields and pseudonym, the reply note, the linked return and how the KPIs
count it, deadlines by urgency, and no appointment before the acceptance."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from nrmc.config import Settings, parse_sla
from nrmc.core.enums import ReferralStatus as S
from nrmc.core.pinyin import initials
from nrmc.domains.alliances import service as alliances
from nrmc.domains.audit.models import AuditEntry
from nrmc.domains.collaboration import kpis
from nrmc.domains.hospitals import search
from nrmc.domains.hospitals import service as hospitals
from nrmc.domains.hospitals.models import Hospital
from nrmc.domains.referrals import service as referrals
from nrmc.domains.referrals.deadlines import due_at
from nrmc.domains.referrals.models import Referral
from nrmc.domains.users.service import Refused
from nrmc.flows.pseudonym import pseudonymise_one

from .ops_factories import CITY, COUNTY, OTHER, SYSTEM, T0, TOWNSHIP, county_doctor, jiuquan, pyramid, refer

KEY = "test-pseudonym-key"


def step(db, referral, to, *, scope=SYSTEM, hours=1, **kw):  # type: ignore[no-untyped-def]
    return referrals.transition(session=db, scope=scope, referral_id=referral.id, to=to,
                                version=referral.version, now=T0 + timedelta(hours=hours), **kw)


@pytest.fixture
def net(db):  # type: ignore[no-untyped-def]
    pyramid(db)
    hospitals.upsert(session=db, rows=[
        {"code": code, "name_zh": name, "name_en": "", "region_code": "620102", "tier": "tertiary",
         "grade": "a", "beds": 10, "lon": 103.8, "lat": 36.0, "synthetic": True,
         "specialties": [], "source": "test"}
        for code, name in (("T-LZ1", "兰州大学第一医院"), ("T-LZ2", "兰州大学第二医院"))])
    return db


# --- the picker -------------------------------------------------------------------------------

def test_pinyin_initials_read_polyphonic_names_by_phrase():
    assert initials("兰州大学第一医院") == "lzdxdyyy"
    assert initials("上海市第一人民医院酒泉医院（酒泉市人民医院）") == "shsdyrmyyjqyy jqsrmyy"
    assert initials("重庆医科大学附属第一医院").startswith("cq")
    assert initials("ABC医院2") == "abcyy2"


def test_initials_are_filled_on_insert_bulk_insert_and_rename(net):
    assert net.get(Hospital, "T-LZ1").initials == "lzdxdyyy"
    from sqlalchemy import insert

    net.execute(insert(Hospital), [{"code": "T-BULK", "name_zh": "酒泉市人民医院", "name_en": "",
                                    "region_code": "620902", "tier": "tertiary", "grade": "a",
                                    "lon": 98.5, "lat": 39.7, "specialties": []}])
    assert net.scalar(select(Hospital.initials).where(Hospital.code == "T-BULK")) == "jqsrmyy"
    hospitals.upsert(session=net, rows=[{"code": "T-LZ2", "name_zh": "甘肃省人民医院"}])
    assert net.get(Hospital, "T-LZ2").initials == "gssrmyy"


def test_search_finds_by_initials_name_and_code_with_county_and_city(net):
    found = search.search(session=net, q="lzdxdy")
    assert [h.code for h in found][:1] == ["T-LZ1"]
    assert found[0].county_zh == "城关区" and found[0].city_zh == "兰州市"
    assert "城关区" in found[0].label
    in_order = [h.code for h in search.search(session=net, q="lzdy")]
    assert {"T-LZ1", "T-LZ2"} <= set(in_order)  # both read l-z-d…y: the picker shows both,
    assert in_order.index("T-LZ1") < in_order.index("T-LZ2")  # the closer match first
    assert search.search(session=net, q="兰州大学第二医院")[0].code == "T-LZ2"  # exact name first
    assert search.search(session=net, q="t-lz1")[0].code == "T-LZ1"
    assert search.search(session=net, q="  ") == []
    assert search.search(session=net, q="%") == []  # LIKE wildcards are plain text


def test_the_receiver_is_resolved_from_code_name_or_initials_or_refused_naming_the_field(net):
    assert referrals.resolve_target(net, SYSTEM, "T-LZ1").code == "T-LZ1"
    assert referrals.resolve_target(net, SYSTEM, "兰州大学第二医院").code == "T-LZ2"
    assert referrals.resolve_target(net, SYSTEM, "lzdxdeyy").code == "T-LZ2"  # all initials
    with pytest.raises(Refused) as unknown:
        referrals.resolve_target(net, SYSTEM, "no such hospital")
    assert unknown.value.problems[0].field == "to_hospital"
    assert "找不到医院" in unknown.value.problems[0].message
    with pytest.raises(Refused) as ambiguous:
        referrals.resolve_target(net, SYSTEM, "lzdy")
    assert "多家医院" in ambiguous.value.problems[0].message
    assert "T-LZ1" in ambiguous.value.problems[0].message


def test_a_county_doctor_may_pick_hospitals_of_its_province_but_not_beyond(net):
    codes = {h.code for h in search.search(session=net, q="T-", limit=50,
                                           where=referrals.targets_clause(net, county_doctor))}
    assert {"T-LZ1", "T-OTHER", "T-TOWN"} <= codes
    beyond = search.search(session=net, q="NRMC-P001", where=referrals.targets_clause(
        net, county_doctor))  # a project hospital in another province
    assert beyond == []


# --- the patient ------------------------------------------------------------------------------

def test_the_record_number_becomes_the_keyed_pseudonym_and_is_kept_nowhere(net):
    referral = referrals.create(session=net, scope=SYSTEM, now=T0, pseudonym_key=KEY, data=_data(
        patient_record_no="ZY2025-000123", patient_sex="2", age_band="65-79"))
    net.flush()
    assert referral.patient_pseudonym == pseudonymise_one("ZY2025-000123", KEY)
    assert (referral.patient_sex, referral.age_band) == ("2", "65-79")
    stored = [str(v) for v in net.execute(select(Referral.__table__)).one()]
    stored += [str(e.after) + e.reason for e in net.scalars(select(AuditEntry))]
    assert not any("ZY2025-000123" in v for v in stored)
    assert "ZY2025-000123" not in repr(_data(patient_record_no="ZY2025-000123"))


def test_bad_patient_fields_are_refused_naming_the_field():
    from pydantic import ValidationError

    from nrmc.core.inputs import explain

    for field, value in (("patient_record_no", "12 34"), ("patient_record_no", "x" * 41),
                         ("patient_sex", "3"), ("age_band", "90-99")):
        with pytest.raises(ValidationError) as refused:
            _data(**{field: value})
        assert [e.field for e in explain(refused.value)] == [field]
    with pytest.raises(ValidationError) as both:
        _data(patient_record_no="A1", patient_pseudonym="abc")
    assert "只能填一个" in explain(both.value)[0].message


def _data(**extra):  # type: ignore[no-untyped-def]
    from nrmc.domains.referrals.schemas import ReferralCreate

    return ReferralCreate(from_hospital=TOWNSHIP, to_hospital=COUNTY, specialty="cardiovascular",
                          diagnosis="I21.0", **extra)


# --- reply note, return to referrer, KPIs ---------------------------------------------------------

def _completed(db, **kw):  # type: ignore[no-untyped-def]
    referral = refer(db, frm=COUNTY, to=CITY, reason="STEMI, needs PCI", **kw)
    step(db, referral, S.accepted, reason="cath lab ready")
    step(db, referral, S.scheduled, hours=2, scheduled_for=T0 + timedelta(hours=3))
    step(db, referral, S.arrived, hours=3)
    step(db, referral, S.completed, hours=50)
    return referral


def test_the_reply_note_is_kept_on_accept_reject_and_return(net):
    referral = _completed(net)
    assert referral.reason == "STEMI, needs PCI" and referral.reply_note == "cath lab ready"
    rejected = refer(net)
    step(net, rejected, S.rejected, reason="no bed")
    assert rejected.reply_note == "no bed"


def test_return_to_referrer_creates_the_linked_down_referral(net):
    original = _completed(net, patient_sex="1", age_band="45-64")
    step(net, original, S.returned, hours=60, reason="stable; rehab at the county")
    back = net.scalars(select(Referral).where(Referral.returned_from_id == original.id)).one()
    assert (back.from_hospital_code, back.to_hospital_code) == (CITY, COUNTY)
    assert (back.direction, back.status) == ("down", "requested")
    assert (back.patient_sex, back.age_band, back.diagnosis) == ("1", "45-64", "I21.0")
    assert back.reason == original.reply_note == "stable; rehab at the county"
    assert referrals.to_out(net, original).returned_as_id == back.id
    assert referrals.to_out(net, back).returned_from_id == original.id
    # The original sender now answers the return like any incoming referral.
    referrals.transition(session=net, scope=county_doctor, referral_id=back.id, to=S.accepted,
                         version=back.version, now=T0 + timedelta(hours=61))
    assert back.status == "accepted"


def test_kpis_count_a_returned_pair_as_one_up_and_one_down(net):
    project = jiuquan(net)
    group = alliances.create(session=net, name_zh="集团", name_en="", kind="urban_medical_group",
                             lead_hospital_code=CITY, valid_from=date(2024, 1, 1),
                             project_id=project.id)
    alliances.add_member(session=net, alliance_id=group.id, hospital_code=COUNTY,
                         valid_from=date(2024, 1, 1))
    original = _completed(net)
    before = kpis.project_kpis(session=net, scope=SYSTEM, project_id=project.id, year=2025)
    assert (before.referrals_up, before.referrals_down) == (1, 0)
    step(net, original, S.returned, hours=60)
    after = kpis.project_kpis(session=net, scope=SYSTEM, project_id=project.id, year=2025)
    assert (after.referrals_up, after.referrals_down, after.referrals_lateral) == (1, 1, 0)
    assert after.down_up_ratio == 1.0
    assert net.scalar(select(func.count()).select_from(Referral)) == 2


def test_a_referral_is_returned_once_only(net):
    original = _completed(net)
    step(net, original, S.returned, hours=60)
    from nrmc.core.errors import InvalidTransition

    with pytest.raises(InvalidTransition):
        step(net, original, S.returned, hours=61)
    assert net.scalar(select(func.count()).where(Referral.returned_from_id == original.id)) == 1


# --- deadlines by urgency and the appointment rule ------------------------------------------------

def test_the_answer_deadline_follows_the_urgency(net):
    for urgency, hours in (("emergency", 2), ("urgent", 24), ("routine", 72)):
        referral = refer(net, urgency=urgency)
        assert due_at(referral) == T0 + timedelta(hours=hours)
        assert not referrals.is_overdue(referral, now=T0 + timedelta(hours=hours, minutes=-1))
        assert referrals.is_overdue(referral, now=T0 + timedelta(hours=hours, minutes=1))
    late = T0 + timedelta(hours=3)
    overdue = referrals.list_referrals(session=net, scope=SYSTEM, overdue_only=True, now=late)
    assert [r.urgency for r in overdue] == ["emergency"]
    custom = {"emergency": 1.0, "urgent": 2.0, "routine": 4.0}
    assert len(referrals.list_referrals(session=net, scope=SYSTEM, overdue_only=True, now=late,
                                        sla_hours=custom)) == 2


def test_the_deadlines_setting_is_parsed_and_checked():
    assert parse_sla("emergency=1, urgent=12,routine=48") == {
        "emergency": 1.0, "urgent": 12.0, "routine": 48.0}
    assert parse_sla("24") == {"emergency": 24.0, "urgent": 24.0, "routine": 24.0}
    assert Settings(env="test").referral_sla == {"emergency": 2.0, "urgent": 24.0, "routine": 72.0}
    for bad in ("urgent=12", "emergency=0,urgent=1,routine=2", "emergency=x,urgent=1,routine=2",
                "nan", "emergency=1,urgent=1,routine=1,weekly=9"):
        with pytest.raises(ValueError, match="NRMC_REFERRAL_SLA_HOURS"):
            Settings(env="test", referral_sla_hours=bad)


def test_an_appointment_before_the_acceptance_is_refused_naming_the_field(net):
    referral = refer(net)
    step(net, referral, S.accepted, hours=5)
    with pytest.raises(Refused) as refused:
        step(net, referral, S.scheduled, hours=6, scheduled_for=T0 + timedelta(hours=4))
    problem = refused.value.problems[0]
    assert problem.field == "scheduled_for" and "接收时间" in problem.message
    assert "+08:00" in problem.message
    assert referral.status == "accepted" and referral.scheduled_for is None
    step(net, referral, S.scheduled, hours=6, scheduled_for=T0 + timedelta(hours=5))
    assert referral.status == "scheduled"


def test_other_hospital_stays_lateral_and_its_return_is_lateral(net):
    referral = refer(net, frm=COUNTY, to=OTHER)
    for to in (S.accepted, S.scheduled, S.arrived, S.completed, S.returned):
        step(net, referral, to)
    back = net.scalars(select(Referral).where(Referral.returned_from_id == referral.id)).one()
    assert back.direction == "lateral"

"""Two-way referrals: the state machine, versions, idempotency, sides, SLA and audit."""

from datetime import timedelta

import pytest

from nrmc.core.enums import ReferralStatus as S
from nrmc.core.errors import Conflict, Forbidden, InvalidTransition, NotFound
from nrmc.domains.referrals import service as referrals
from nrmc.domains.referrals.schemas import ReferralCreate

from .ops_factories import (
    CITY,
    COUNTY,
    OTHER,
    SYSTEM,
    T0,
    TOWNSHIP,
    analyst,
    county_doctor,
    outsider,
    pyramid,
    refer,
    township_doctor,
)

PATH = {
    S.requested: [], S.accepted: [S.accepted], S.rejected: [S.rejected],
    S.scheduled: [S.accepted, S.scheduled], S.arrived: [S.accepted, S.scheduled, S.arrived],
    S.completed: [S.accepted, S.scheduled, S.arrived, S.completed],
    S.returned: [S.accepted, S.scheduled, S.arrived, S.completed, S.returned],
    S.cancelled: [S.cancelled],
}
ALLOWED = {
    (S.requested, S.accepted), (S.requested, S.rejected), (S.requested, S.cancelled),
    (S.accepted, S.scheduled), (S.accepted, S.cancelled), (S.scheduled, S.arrived),
    (S.scheduled, S.cancelled), (S.arrived, S.completed), (S.completed, S.returned),
}


def move(db, referral, to, *, scope=SYSTEM, version=None, reason="because"):
    return referrals.transition(session=db, scope=scope, referral_id=referral.id, to=to,
                                version=referral.version if version is None else version,
                                reason=reason, now=T0 + timedelta(hours=1))


def reach(db, state):
    referral = refer(db)
    for step in PATH[state]:
        move(db, referral, step)
    assert referral.status == state
    return referral


@pytest.fixture
def net(db):
    pyramid(db)
    return db


def test_the_machine_allows_exactly_the_documented_moves(net):
    for start in S:
        for target in S:
            referral = reach(net, start)
            if (start, target) in ALLOWED:
                move(net, referral, target)
                assert referral.status == target
            else:
                with pytest.raises(InvalidTransition, match=f"cannot move from {start} to {target}"):
                    move(net, referral, target)
                assert referral.status == start
    assert set(referrals.TRANSITIONS) | {S.rejected, S.returned, S.cancelled} == set(S)


def test_the_full_happy_path_to_returned_down_bumps_the_version_each_time(net):
    referral = refer(net)
    assert (referral.status, referral.version) == ("requested", 1)
    for i, step in enumerate(PATH[S.returned], start=2):
        move(net, referral, step)
        assert referral.version == i
    assert referral.status == "returned"


def test_direction_is_derived_from_the_tiers(net):
    assert refer(net, frm=TOWNSHIP, to=COUNTY).direction == "up"
    assert refer(net, frm=CITY, to=COUNTY).direction == "down"
    assert refer(net, frm=COUNTY, to=OTHER).direction == "lateral"


def test_same_idempotency_key_twice_returns_the_first_referral(net):
    first = refer(net, key="form-123")
    again = refer(net, key="form-123")
    assert again.id == first.id and again.to_hospital_code == COUNTY
    assert len(referrals.list_referrals(session=net, scope=SYSTEM)) == 1
    assert refer(net, key="form-124").id != first.id


def test_the_same_key_with_another_request_is_refused_not_answered_with_the_first(net):
    """A retry must be the same request: a different target under a used key is an error
    (422 on the web), never the first referral passed off as the answer to the second."""
    from nrmc.core.errors import Unprocessable

    first = refer(net, key="form-200")
    with pytest.raises(Unprocessable, match="to_hospital"):
        refer(net, key="form-200", to=CITY)
    assert [r.id for r in referrals.list_referrals(session=net, scope=SYSTEM)] == [first.id]


def test_a_stale_version_is_refused_so_two_people_cannot_both_accept(net):
    referral = refer(net)
    seen = referral.version
    move(net, referral, S.accepted, version=seen)
    with pytest.raises(Conflict, match="you saw version 1, it is now at version 2"):
        move(net, referral, S.accepted, version=seen)
    with pytest.raises(Conflict, match="has changed"):
        move(net, referral, S.scheduled, version=seen)
    assert referral.status == "accepted" and referral.version == 2


def test_only_the_receiving_hospital_accepts_and_only_the_sender_cancels(net):
    referral = refer(net, scope=township_doctor)
    with pytest.raises(Forbidden, match="receiving hospital"):
        move(net, referral, S.accepted, scope=township_doctor)
    with pytest.raises(Forbidden, match="sending hospital"):
        move(net, referral, S.cancelled, scope=county_doctor)
    move(net, referral, S.accepted, scope=county_doctor)
    move(net, referral, S.cancelled, scope=township_doctor)
    assert referral.status == "cancelled"


def test_a_hospital_cannot_refer_on_behalf_of_another(net):
    with pytest.raises(Forbidden):
        refer(net, frm=COUNTY, to=CITY, scope=township_doctor)


def test_outsiders_do_not_see_referrals_and_analysts_cannot_write(net):
    referral = refer(net)
    with pytest.raises(NotFound):
        referrals.get(session=net, scope=outsider, referral_id=referral.id)
    assert referrals.list_referrals(session=net, scope=outsider) == []
    assert [r.id for r in referrals.list_referrals(session=net, scope=county_doctor)] == [referral.id]
    assert referrals.get(session=net, scope=analyst, referral_id=referral.id) is referral
    with pytest.raises(Forbidden):
        move(net, referral, S.accepted, scope=analyst)


def test_rejecting_or_cancelling_needs_a_reason(net):
    referral = refer(net)
    with pytest.raises(Conflict, match="give a reason"):
        move(net, referral, S.rejected, reason="  ")
    move(net, referral, S.rejected, reason="no ICU bed")
    assert referral.status == "rejected"


def test_every_move_is_audited_with_who_when_and_why(net):
    referral = refer(net, scope=township_doctor, reason="suspected STEMI")
    move(net, referral, S.accepted, scope=county_doctor, reason="cath lab free")
    move(net, referral, S.scheduled, scope=county_doctor, reason="ambulance booked")
    trail = referrals.history(session=net, scope=SYSTEM, referral_id=referral.id)
    assert [(e.action, e.actor, e.reason) for e in trail] == [
        ("referral.create", "town-doc", "suspected STEMI"),
        ("referral.accepted", "jinta-doc", "cath lab free"),
        ("referral.scheduled", "jinta-doc", "ambulance booked"),
    ]
    assert trail[1].before["status"] == "requested" and trail[1].after["status"] == "accepted"
    assert all(e.at is not None for e in trail)


def test_a_request_unanswered_past_the_sla_is_overdue(net):
    referral = refer(net, urgency="urgent")  # urgent: 24 hours by default
    assert not referrals.is_overdue(referral, now=T0 + timedelta(hours=23, minutes=59))
    assert referrals.is_overdue(referral, now=T0 + timedelta(hours=24, minutes=1))
    assert not referrals.is_overdue(referral, now=T0 + timedelta(hours=5), sla_hours=6)
    assert referrals.is_overdue(referral, now=T0 + timedelta(hours=7), sla_hours=6)
    late = T0 + timedelta(hours=30)
    assert [r.id for r in referrals.list_referrals(session=net, scope=SYSTEM, overdue_only=True,
                                                   now=late)] == [referral.id]
    assert referrals.to_out(net, referral, now=late).overdue
    move(net, referral, S.accepted)  # answered: no longer overdue, but it was answered late
    assert not referrals.is_overdue(referral, now=late)
    assert referrals.answered_late(referral) is False  # answered 1 h after the request
    assert referrals.list_referrals(session=net, scope=SYSTEM, overdue_only=True, now=late) == []


def test_a_bad_diagnosis_code_is_refused_before_anything_is_stored():
    with pytest.raises(ValueError, match="not an ICD-10 code"):
        ReferralCreate(from_hospital=TOWNSHIP, to_hospital=COUNTY, specialty="oncology",
                       diagnosis="heart attack")
    assert ReferralCreate(from_hospital=TOWNSHIP, to_hospital=COUNTY, specialty="oncology",
                          diagnosis="c34.1").diagnosis == "C34.1"


def test_referring_to_the_same_hospital_is_refused(net):
    from nrmc.domains.users.service import Refused

    with pytest.raises(Refused, match="to_hospital"):
        refer(net, frm=COUNTY, to=COUNTY)


def test_a_provincial_officer_sees_the_referrals_touching_the_province(net):
    from nrmc.core.enums import Role
    from nrmc.domains.users.scope import Scope

    referral = refer(net, frm=COUNTY, to="NRMC-O005")  # Jinta → Shanghai
    for province in ("62", "31"):
        officer = Scope(role=Role.provincial_officer, username=province, province=province)
        assert [r.id for r in referrals.list_referrals(session=net, scope=officer)] == [referral.id]
    yunnan = Scope(role=Role.provincial_officer, username="yn", province="53")
    assert referrals.list_referrals(session=net, scope=yunnan) == []

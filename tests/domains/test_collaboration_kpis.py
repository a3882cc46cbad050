"""KPI arithmetic on a ledger small enough to check by hand."""

from datetime import date, timedelta

import pytest

from nrmc.core.enums import ReferralStatus as S
from nrmc.domains.alliances import service as alliances
from nrmc.domains.collaboration import kpis, ledger, service
from nrmc.domains.collaboration.schemas import ActivityIn, DispatchIn, TechnologyIn, TraineeIn
from nrmc.domains.referrals import service as referrals

from .ops_factories import CITY, COUNTY, OTHER, SYSTEM, T0, TOWNSHIP, jiuquan, pyramid, refer

SHANGHAI = "NRMC-O005"


def add(db, **kw):
    return ledger.add_activity(session=db, scope=SYSTEM, data=ActivityIn(**kw))


@pytest.fixture
def ledger_db(db):
    """Project P (Jiuquan):
    team A: 王 2024-12-20..2025-01-10, 李 2025-01-01..2025-01-31; solo 赵 2025-06-01..06-10.
    2025: surgeries g1 ×1, g3 ×2 (one line of count 2), g4 ×1 → 4, share 0.75;
    outpatients 30 + 45 = 75; consultations 3 (2 complex) + teleconsultation 1 complex;
    2024: one grade-2 surgery, 10 outpatients."""
    pyramid(db)
    p = jiuquan(db).id
    mk = service.add_dispatch
    a = mk(session=db, scope=SYSTEM, data=DispatchIn(
        project_id=p, name="王", home_hospital=SHANGHAI, team="A", start_date=date(2024, 12, 20),
        end_date=date(2025, 1, 10)))
    b = mk(session=db, scope=SYSTEM, data=DispatchIn(
        project_id=p, name="李", home_hospital=SHANGHAI, team="A", start_date=date(2025, 1, 1),
        end_date=date(2025, 1, 31)))
    mk(session=db, scope=SYSTEM, data=DispatchIn(
        project_id=p, name="赵", home_hospital=SHANGHAI, role="resident_expert",
        start_date=date(2025, 6, 1), end_date=date(2025, 6, 10)))
    add(db, dispatch_id=a.id, occurred_on=date(2024, 12, 28), kind="surgery", surgery_grade=2)
    add(db, dispatch_id=a.id, occurred_on=date(2024, 12, 29), kind="outpatient", count=10)
    add(db, dispatch_id=a.id, occurred_on=date(2025, 1, 2), kind="surgery", surgery_grade=1)
    add(db, dispatch_id=b.id, occurred_on=date(2025, 1, 3), kind="surgery", surgery_grade=3,
        count=2)
    add(db, project_id=p, occurred_on=date(2025, 3, 3), kind="surgery", surgery_grade=4)
    add(db, dispatch_id=b.id, occurred_on=date(2025, 1, 4), kind="outpatient", count=30)
    add(db, project_id=p, occurred_on=date(2025, 5, 4), kind="outpatient", count=45)
    for is_complex in (True, True, False):
        add(db, dispatch_id=b.id, occurred_on=date(2025, 1, 5), kind="consultation",
            complex_case=is_complex)
    add(db, project_id=p, occurred_on=date(2025, 2, 1), kind="teleconsultation",
        complex_case=True)
    add(db, project_id=p, occurred_on=date(2025, 2, 2), kind="training", count=25)
    for name, gap, day in (("TAVR", "province", date(2025, 4, 1)),
                           ("ECMO", "city", date(2025, 5, 1)),
                           ("EBUS", "city", date(2024, 5, 1))):
        ledger.add_technology(session=db, scope=SYSTEM, data=TechnologyIn(
            project_id=p, name=name, first_case_on=day, gap_level=gap))
    for name, hours in (("甲", 40), ("乙", 12.5)):
        ledger.add_trainee(session=db, scope=SYSTEM, data=TraineeIn(
            project_id=p, name=name, programme="进修", hours=hours, trained_on=date(2025, 7, 1)))
    return db


def test_kpis_for_a_year_add_up_the_ledger_rows(ledger_db):
    p = jiuquan(ledger_db).id
    k = kpis.project_kpis(session=ledger_db, scope=SYSTEM, project_id=p, year=2025)
    assert (k.expert_teams, k.experts, k.dispatches) == (2, 3, 3)
    assert k.expert_days == 10 + 31 + 10  # 王 counts only 1-10 January inside 2025
    assert (k.surgeries, k.surgeries_by_grade) == (4, {"1": 1, "2": 0, "3": 2, "4": 1})
    assert k.surgeries_grade34_share == 0.75
    assert (k.outpatients, k.consultations, k.complex_cases, k.teleconsultations) == (75, 3, 3, 1)
    assert (k.training_sessions, k.training_attendees) == (1, 25)
    assert (k.technologies, k.technologies_by_gap) == (2, {"city": 1, "province": 1, "national": 0})
    assert (k.trainees, k.trainee_hours) == (2, 52.5)


def test_all_time_kpis_include_every_year(ledger_db):
    k = kpis.project_kpis(session=ledger_db, scope=SYSTEM, project_id=jiuquan(ledger_db).id)
    assert k.period_start is None and k.expert_days == 22 + 31 + 10
    assert (k.surgeries, k.outpatients, k.technologies) == (5, 85, 3)
    assert k.surgeries_grade34_share == 0.6


def test_year_on_year_compares_with_the_previous_calendar_year(ledger_db):
    yoy = kpis.year_on_year(session=ledger_db, scope=SYSTEM, project_id=jiuquan(ledger_db).id,
                            year=2025)
    assert yoy["surgeries"] == {"value": 4, "previous": 1, "change": 3, "change_pct": 300.0}
    assert yoy["outpatients"] == {"value": 75, "previous": 10, "change": 65, "change_pct": 650.0}
    assert yoy["trainees"]["change_pct"] is None  # none the year before


def test_a_trend_from_one_load_equals_each_year_computed_alone(ledger_db):
    """The dashboard and the trend API load the ledger once for all years; each year's figures
    must be exactly what a query for that year alone gives (dispatches spanning New Year, and
    referrals, split at the boundary)."""
    p = jiuquan(ledger_db).id
    refer(ledger_db, frm=COUNTY, to=CITY)  # up to the project hospital, at T0 (2025)
    by_year = kpis.project_kpis_by_year(session=ledger_db, scope=SYSTEM, project_id=p,
                                        years=[2025, 2023, 2024])
    assert list(by_year) == [2023, 2024, 2025]
    for year, figures in by_year.items():
        assert figures == kpis.project_kpis(session=ledger_db, scope=SYSTEM, project_id=p,
                                            year=year)
    assert (by_year[2024].expert_days, by_year[2025].expert_days) == (12, 10 + 31 + 10)
    assert (by_year[2024].referrals_up, by_year[2025].referrals_up) == (0, 1)
    assert kpis.project_kpis_by_year(session=ledger_db, scope=SYSTEM, project_id=p, years=[]) == {}


def test_referral_kpis_count_the_projects_network(db):
    pyramid(db)
    project = jiuquan(db)
    group = alliances.create(session=db, name_zh="集团", name_en="", kind="urban_medical_group",
                             lead_hospital_code=CITY, valid_from=date(2024, 1, 1),
                             project_id=project.id)
    alliances.add_member(session=db, alliance_id=group.id, hospital_code=COUNTY,
                         valid_from=date(2024, 1, 1))
    community = alliances.create(session=db, name_zh="医共体", name_en="",
                                 kind="county_medical_community", lead_hospital_code=COUNTY,
                                 valid_from=date(2024, 1, 1))
    alliances.add_member(session=db, alliance_id=community.id, hospital_code=TOWNSHIP,
                         valid_from=date(2024, 1, 1))
    assert kpis.project_network(session=db, project_id=project.id) == {
        CITY, "NRMC-O005", COUNTY, TOWNSHIP}

    def answered(r, hours, to=S.accepted):
        referrals.transition(session=db, scope=SYSTEM, referral_id=r.id, to=to, version=1,
                             reason="x", now=T0 + timedelta(hours=hours))

    answered(refer(db, frm=TOWNSHIP, to=COUNTY), 2)  # up, accepted after 2 h
    answered(refer(db, frm=COUNTY, to=CITY, urgency="urgent"), 30)  # up, urgent, 30 h: late
    answered(refer(db, frm=COUNTY, to=CITY), 1, to=S.rejected)  # up, rejected
    answered(refer(db, frm=CITY, to=COUNTY), 4)  # down
    refer(db, frm=COUNTY, to=TOWNSHIP, urgency="urgent")  # down, never answered: overdue
    refer(db, frm=OTHER, to="NRMC-P001")  # outside the network
    k = kpis.project_kpis(session=db, scope=SYSTEM, project_id=project.id, year=2025,
                          now=T0 + timedelta(days=3))
    assert (k.referrals_up, k.referrals_down, k.referrals_lateral) == (3, 2, 0)
    assert k.down_up_ratio == round(2 / 3, 4)
    assert k.median_hours_to_accept == 4.0  # of 2, 4 and 30 hours
    assert k.referrals_overdue == 2
    assert kpis.project_kpis(session=db, scope=SYSTEM, project_id=project.id,
                             year=2024).referrals_up == 0


def test_kpis_of_a_project_outside_the_scope_are_not_found(db):
    from nrmc.core.enums import Role
    from nrmc.core.errors import NotFound
    from nrmc.domains.users.scope import Scope

    gansu = Scope(role=Role.provincial_officer, username="gansu", province="62")
    shanghai = Scope(role=Role.provincial_officer, username="sh", province="31")
    yunnan = Scope(role=Role.provincial_officer, username="yn", province="53")
    p = jiuquan(db).id
    assert kpis.project_kpis(session=db, scope=gansu, project_id=p).surgeries == 0
    assert kpis.project_kpis(session=db, scope=shanghai, project_id=p).surgeries == 0  # output side
    with pytest.raises(NotFound):
        kpis.project_kpis(session=db, scope=yunnan, project_id=p)


def test_kept_ledger_rows_follow_every_write_committed_or_not(engine):
    """The KPIs keep a project's ledger rows between requests; a committed write from any
    session, and the reader's own uncommitted one, are counted all the same."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        pyramid(session)
        project = jiuquan(session).id
        session.commit()

    def outpatients(session: Session) -> int:
        return kpis.project_kpis(session=session, scope=SYSTEM, project_id=project).outpatients

    with Session(engine) as session:
        first = outpatients(session)
        assert outpatients(session) == first  # kept rows, same answer
    with Session(engine) as writer:
        add(writer, project_id=project, occurred_on=date(2025, 3, 3), kind="outpatient", count=7)
        writer.commit()
    with Session(engine) as session:
        assert outpatients(session) == first + 7
        add(session, project_id=project, occurred_on=date(2025, 3, 4), kind="outpatient", count=5)
        assert outpatients(session) == first + 12  # this transaction's own row
        session.rollback()
    with Session(engine) as session:
        assert outpatients(session) == first + 7


def test_kept_networks_follow_a_new_alliance(engine):
    """The hospitals whose referrals count for a project are kept between requests; an
    alliance attached to the project afterwards brings its members' referrals in at once."""
    from sqlalchemy.orm import Session

    from nrmc.core.enums import AllianceKind

    with Session(engine) as session:
        pyramid(session)
        project = jiuquan(session).id
        refer(session, frm=TOWNSHIP, to=COUNTY)  # neither end in the project's network yet
        session.commit()

    def referrals_up(session: Session) -> int:
        return kpis.project_kpis(session=session, scope=SYSTEM, project_id=project).referrals_up

    with Session(engine) as session:
        before = referrals_up(session)
        assert referrals_up(session) == before  # kept network, same answer
    with Session(engine) as writer:
        alliances.create(session=writer, name_zh="金塔医共体", name_en="Jinta community",
                         kind=AllianceKind.county_medical_community, lead_hospital_code=COUNTY,
                         valid_from=date(2024, 1, 1), project_id=project)
        writer.commit()
    with Session(engine) as session:
        assert referrals_up(session) == before + 1

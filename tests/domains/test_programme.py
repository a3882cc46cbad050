"""Programme indicators are computed from rows: each test adds rows through the real services
on SQLite and PostgreSQL and watches the indicator move."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from nrmc.core.enums import ActivityKind, DispatchRole, Role
from nrmc.core.errors import Forbidden
from nrmc.domains.collaboration import ledger
from nrmc.domains.collaboration import service as collaboration
from nrmc.domains.collaboration.schemas import ActivityIn, DispatchIn, TechnologyIn, TraineeIn
from nrmc.domains.gaps import service as gaps
from nrmc.domains.gaps.schemas import GapIn
from nrmc.domains.milestones import service as milestones
from nrmc.domains.milestones.schemas import MilestoneIn, MilestoneKind
from nrmc.domains.programme import service, targets
from nrmc.domains.programme.schemas import TargetIn
from nrmc.domains.projects.models import Project
from nrmc.domains.users.scope import Scope

SYSTEM = Scope.system()
GANSU = Scope(role=Role.provincial_officer, username="gansu", province="62")
AS_OF = date(2025, 6, 30)
VIEW = service.View(as_of=AS_OF, period_start=date(2025, 2, 1), period_end=AS_OF)


def _project(db, province: str) -> Project:
    found = db.scalars(select(Project).where(Project.province_code == province)
                       .order_by(Project.id)).first()
    assert found is not None
    return found


def _values(db, scope: Scope = SYSTEM, view: service.View = VIEW, **kw) -> dict:
    made = service.dashboard(session=db, scope=scope, view=view, **kw)
    return {r.key: r for r in made.indicators}


def _activity(db, project: Project, kind: ActivityKind, count: int, on: date,
              grade: int | None = None) -> None:
    ledger.add_activity(session=db, scope=SYSTEM, data=ActivityIn(
        project_id=project.id, kind=kind, count=count, occurred_on=on, surgery_grade=grade))


def test_adding_a_technology_moves_new_technologies_by_one(db):
    project = _project(db, "620000")
    before = _values(db)["new_technologies"].value
    ledger.add_technology(session=db, scope=SYSTEM, data=TechnologyIn(
        project_id=project.id, name="经导管主动脉瓣置换术", first_case_on=date(2025, 3, 2),
        gap_level="province"))
    after = _values(db)["new_technologies"]
    assert after.value == before + 1
    assert after.breakdown == {"province": 1.0} and after.as_of == date(2025, 3, 2)
    ledger.add_technology(session=db, scope=SYSTEM, data=TechnologyIn(
        project_id=project.id, name="ECMO", first_case_on=date(2025, 7, 2), gap_level="city"))
    assert _values(db)["new_technologies"].value == before + 1  # first case after the date


def test_outpatients_surgeries_and_rare_disease_in_the_period_against_a_year_before(db):
    project = _project(db, "620000")
    _activity(db, project, ActivityKind.outpatient, 300, date(2025, 3, 10))
    _activity(db, project, ActivityKind.outpatient, 200, date(2024, 3, 10))  # a year before
    _activity(db, project, ActivityKind.outpatient, 999, date(2024, 12, 10))  # in neither
    _activity(db, project, ActivityKind.surgery, 6, date(2025, 4, 1), grade=4)
    _activity(db, project, ActivityKind.surgery, 14, date(2025, 4, 2), grade=3)
    _activity(db, project, ActivityKind.rare_disease, 5, date(2025, 5, 5))
    found = _values(db)
    assert found["outpatients"].value == 300 and found["outpatients"].previous == 200
    assert found["outpatients"].change == pytest.approx(0.5)
    assert found["surgeries"].value == 20
    assert found["grade4_share"].value == pytest.approx(0.3)
    assert found["rare_disease_cases"].value == 5
    assert found["outpatients"].projects_reporting == 1
    trend = dict(found["outpatients"].trend)
    assert trend["2025-03"] == 300 and len(trend) == 12


def test_a_provincial_officer_sees_its_province_only(db):
    gansu, henan = _project(db, "620000"), _project(db, "410000")
    _activity(db, gansu, ActivityKind.outpatient, 40, date(2025, 3, 1))
    _activity(db, henan, ActivityKind.outpatient, 700, date(2025, 3, 1))
    national, provincial = _values(db), _values(db, GANSU)
    assert national["outpatients"].value == 740
    assert provincial["outpatients"].value == 40
    gansu_projects = db.scalars(select(Project.id).where(Project.province_code == "620000")).all()
    assert provincial["projects_approved"].value == len(gansu_projects)
    assert provincial["provinces_covered"].value == 1
    # asking for another province does not widen the officer's view
    other = service.View(as_of=AS_OF, period_start=VIEW.period_start, period_end=AS_OF,
                         province="410000")
    assert _values(db, GANSU, other)["outpatients"].value == 0


def test_co_director_posts_count_those_held_on_the_date(db):
    project = _project(db, "620000")
    before = _values(db)["co_directors"].value
    for name, start, end in (("甲", date(2024, 1, 1), date(2026, 1, 1)),
                             ("乙", date(2024, 1, 1), date(2025, 1, 1))):
        collaboration.add_dispatch(session=db, scope=SYSTEM, data=DispatchIn(
            project_id=project.id, name=name, department="心内科",
            home_hospital=project.output_hospital_code, role=DispatchRole.dual_director,
            start_date=start, end_date=end))
    assert _values(db)["co_directors"].value == before + 1


def test_staff_trained_counts_trainees_up_to_the_date(db):
    project = _project(db, "620000")
    for on in (date(2024, 5, 1), date(2025, 6, 30), date(2025, 7, 1)):
        ledger.add_trainee(session=db, scope=SYSTEM, data=TraineeIn(
            project_id=project.id, name="学员", programme="进修", hours=80, trained_on=on))
    assert _values(db)["staff_trained"].value == 2


def test_milestones_drive_project_status_and_late_flags(db):
    project = _project(db, "620000")
    for kind, planned, actual in ((MilestoneKind.approval, date(2023, 1, 1), date(2023, 1, 1)),
                                  (MilestoneKind.construction_start, date(2023, 6, 1), date(2023, 9, 1)),
                                  (MilestoneKind.opened, date(2025, 1, 1), None)):
        milestones.record(session=db, scope=SYSTEM, project_id=project.id,
                          data=MilestoneIn(kind=kind, planned_on=planned, actual_on=actual))
    rows = milestones.for_project(session=db, scope=SYSTEM, project_id=project.id, as_of=AS_OF)
    late = {m.kind: m.days_late for m in rows if m.late}
    assert late == {"construction_start": 92, "opened": (AS_OF - date(2025, 1, 1)).days}
    assert milestones.derived_status(project, rows, AS_OF) == ("under_construction", "milestones")
    found = _values(db)
    assert found["projects_under_construction"].value == 1
    early = service.View(as_of=date(2022, 12, 31), period_start=date(2022, 8, 1),
                         period_end=date(2022, 12, 31))
    # before its approval the project is a candidate and is not counted as approved
    assert _values(db, view=early)["projects_approved"].value == found["projects_approved"].value - 1


def test_gaps_filled_counts_distinct_gaps_a_technology_fills(db):
    project = _project(db, "620000")
    gap = gaps.create(session=db, scope=SYSTEM, data=GapIn(
        region_code="620000", level="province", name="ECMO", identified_on=date(2020, 1, 1),
        source="甘肃省卫生健康委 2020 空白清单"))
    for name in ("ECMO", "ECMO 新生儿"):
        tech = ledger.add_technology(session=db, scope=SYSTEM, data=TechnologyIn(
            project_id=project.id, name=name, first_case_on=date(2025, 1, 5), gap_level="province"))
        gaps.link(session=db, scope=SYSTEM, technology_id=tech.id, gap_id=gap.id)
    found = _values(db)["gaps_filled"]
    assert found.value == 1 and found.breakdown == {"province": 1.0}
    summary = {s.code: s for s in gaps.by_province(session=db, scope=SYSTEM)}
    assert (summary["620000"].technologies, summary["620000"].gaps_filled) == (2, 1)


def test_outflow_change_averages_covered_provinces_and_skips_withheld_rates(db):
    rows = [{"region": "620000", "year": 2019, "outflow_rate": 0.20},
            {"region": "620000", "year": 2024, "outflow_rate": 0.18},
            {"region": "410000", "year": 2019, "outflow_rate": 0.10},
            {"region": "410000", "year": 2024, "outflow_rate": None},  # withheld
            {"region": "110000", "year": 2019, "outflow_rate": 0.5}]
    found = _values(db, outflow_rows=rows)["outflow_change"]
    assert found.value == pytest.approx(-0.10) and found.projects_reporting == 1
    assert found.as_of == date(2024, 12, 31)


def test_who_has_not_reported_lists_opened_projects_silent_this_month(db):
    quiet, busy = _project(db, "620000"), _project(db, "410000")
    for project in (quiet, busy):
        milestones.record(session=db, scope=SYSTEM, project_id=project.id, data=MilestoneIn(
            kind=MilestoneKind.opened, planned_on=date(2024, 1, 1), actual_on=date(2024, 1, 1)))
    _activity(db, busy, ActivityKind.outpatient, 10, date(2025, 6, 3))
    _activity(db, quiet, ActivityKind.outpatient, 10, date(2025, 4, 3))
    made = service.dashboard(session=db, scope=SYSTEM, view=VIEW)
    assert [(p.project_id, p.last_reported) for p in made.not_reported] == [
        (quiet.id, date(2025, 4, 3))]


def test_targets_are_seeded_with_sources_and_only_national_admins_change_them(db):
    seeded = {t.key: t for t in targets.list_targets(session=db)}
    assert seeded["grade4_share"].target == 0.35 and seeded["new_technologies"].verification == "V"
    assert all(t.source for t in seeded.values())
    data = TargetIn(target=0.4, source="programme office 2025 plan")
    with pytest.raises(Forbidden):
        targets.set_target(session=db, scope=GANSU, key="grade4_share", data=data)
    targets.set_target(session=db, scope=SYSTEM, key="grade4_share", data=data)
    assert _values(db)["grade4_share"].target == 0.4


def test_coverage_matrix_shows_where_the_programme_has_no_centre(db):
    matrix = service.coverage(session=db, scope=SYSTEM)
    gansu = next(r for r in matrix["rows"] if r["code"] == "620000")
    beijing = next(r for r in matrix["rows"] if r["code"] == "110000")
    assert gansu["total"] >= 1 and beijing["total"] == 0
    assert matrix["gaps"] > 0
    assert [r["code"] for r in service.coverage(session=db, scope=GANSU)["rows"]] == ["620000"]


def test_national_targets_judge_only_the_whole_programme(db):
    assert _values(db)["planned_beds"].met is not None
    assert _values(db, GANSU)["planned_beds"].met is None
    batch = service.View(as_of=AS_OF, period_start=VIEW.period_start, period_end=AS_OF, batch=1)
    assert _values(db, view=batch)["planned_beds"].met is None


def test_a_dashboard_on_real_rows_does_not_claim_to_be_synthetic(db):
    project = _project(db, "620000")
    _activity(db, project, ActivityKind.outpatient, 3, date(2025, 3, 1))
    assert service.dashboard(session=db, scope=SYSTEM, view=VIEW).synthetic is False

"""Expert dispatch, the activity ledger, imports, technologies, trainees and site visits."""

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from nrmc.core.enums import GapLevel, ProjectStatus
from nrmc.core.errors import Conflict, Forbidden, ImportRejected, NotFound
from nrmc.core.tabular import write_xlsx
from nrmc.domains.audit import service as audit
from nrmc.domains.collaboration import ledger, service, visits
from nrmc.domains.collaboration.models import Activity
from nrmc.domains.collaboration.schemas import (
    ActionIn,
    ActivityIn,
    DispatchIn,
    SiteVisitIn,
    TechnologyIn,
)

from .ops_factories import SYSTEM, analyst, jiuquan, outsider, pyramid

SHANGHAI = "NRMC-O005"


def dispatch(db, project_id, name="王医生", start=date(2024, 3, 1), end=date(2024, 3, 31), **kw):
    return service.add_dispatch(session=db, scope=SYSTEM, data=DispatchIn(
        project_id=project_id, name=name, department=kw.pop("department", "心内科"),
        title="主任医师", home_hospital=SHANGHAI, start_date=start, end_date=end, **kw))


def test_a_dispatch_records_person_role_team_and_dates(db):
    project = jiuquan(db)
    d = dispatch(db, project.id, role="dual_director", team="第1批")
    out = service.to_out(db, d)
    assert (out.name, out.home_hospital, out.role, out.team, out.days) == (
        "王医生", SHANGHAI, "dual_director", "第1批", 31)
    assert [x.id for x in service.list_dispatches(session=db, scope=SYSTEM, project_id=project.id,
                                                  on=date(2024, 3, 15))] == [d.id]
    assert audit.list_entries(session=db, object_type="dispatch")[0].actor == "system"


def test_overlapping_dispatches_of_one_person_are_refused_even_across_projects(db):
    project = jiuquan(db)
    dispatch(db, project.id)
    with pytest.raises(Conflict, match="already dispatched from 2024-03-01 to 2024-03-31"):
        dispatch(db, project.id + 1, start=date(2024, 3, 31), end=date(2024, 4, 30))
    dispatch(db, project.id, start=date(2024, 4, 1), end=date(2024, 4, 30))  # next day is fine
    dispatch(db, project.id, name="李医生")  # someone else, same days


def test_a_dispatch_ending_before_it_starts_is_invalid(db):
    with pytest.raises(ValidationError, match="end_date is before start_date"):
        DispatchIn(project_id=1, name="x", home_hospital=SHANGHAI, start_date=date(2024, 2, 1),
                   end_date=date(2024, 1, 1))


def test_activities_cannot_be_dated_outside_their_dispatch(db):
    d = dispatch(db, jiuquan(db).id)
    ok = ledger.add_activity(session=db, scope=SYSTEM, data=ActivityIn(
        dispatch_id=d.id, occurred_on=date(2024, 3, 31), kind="surgery", surgery_grade=4))
    assert ok.project_id == d.project_id and ok.count == 1
    with pytest.raises(Conflict, match="outside dispatch"):
        ledger.add_activity(session=db, scope=SYSTEM, data=ActivityIn(
            dispatch_id=d.id, occurred_on=date(2024, 4, 1), kind="outpatient", count=30))


@pytest.mark.parametrize("bad, message", [
    ({"kind": "outpatient", "count": -1}, "must not be negative"),
    ({"kind": "surgery"}, "needs a grade"),
    ({"kind": "surgery", "surgery_grade": 5}, "less than or equal to 4"),
    ({"kind": "lecture", "surgery_grade": 2}, "only surgeries"),
    ({"kind": "ward_round", "complex_case": True}, "only consultations"),
    ({"kind": "dancing"}, "Input should be"),
])
def test_invalid_ledger_lines_are_refused(bad, message):
    with pytest.raises(ValidationError, match=message):
        ActivityIn(project_id=1, occurred_on=date(2024, 1, 1), **bad)


def test_an_activity_file_with_bad_rows_reports_each_and_stores_nothing(db, tmp_path):
    project = jiuquan(db)
    d = dispatch(db, project.id)
    path = tmp_path / "ledger.csv"
    path.write_text(
        "date,kind,project_id,dispatch_id,count,surgery_grade,complex_case,note\n"
        f"2024-03-02,surgery,,{d.id},1,3,,ok\n"
        f"2024-03-03,outpatient,{project.id},,-5,,,negative\n"
        f"2024-05-01,surgery,,{d.id},1,4,,after the dispatch\n"
        f"2024-03-04,consultation,{project.id},,1,,yes,ok\n"
        "2024-03-05,surgery,99999,,1,2,,unknown project\n"
        "not-a-date,lecture,1,,40,,,bad date\n", encoding="utf-8")
    before = db.scalar(select(func.count()).select_from(Activity))
    with pytest.raises(ImportRejected) as caught:
        ledger.import_activities(session=db, scope=SYSTEM, path=path)
    problems = [(p.row, p.field) for p in caught.value.problems]
    assert problems == [(2, "count"), (3, "dispatch_id"), (5, "project_id"), (6, "date")]
    assert "outside dispatch" in str(caught.value) and "nothing was stored" in str(caught.value)
    assert db.scalar(select(func.count()).select_from(Activity)) == before


def test_a_good_activity_spreadsheet_loads_in_one_go(db, tmp_path):
    project = jiuquan(db)
    d = dispatch(db, project.id)
    path = tmp_path / "ledger.xlsx"
    write_xlsx(path, [
        {"date": "2024-03-02", "kind": "surgery", "dispatch_id": d.id, "surgery_grade": 3},
        {"date": "2024-03-03", "kind": "outpatient", "project_id": project.id, "count": 42},
        {"date": "2024-03-04", "kind": "consultation", "dispatch_id": d.id, "complex_case": "yes"},
    ], ledger.IMPORT_COLUMNS)
    assert ledger.import_activities(session=db, scope=SYSTEM, path=path) == 3
    rows = ledger.list_activities(session=db, scope=SYSTEM, project_id=project.id)
    assert [(a.kind, a.count, a.complex_case) for a in rows] == [
        ("surgery", 1, False), ("outpatient", 42, False), ("consultation", 1, True)]


def test_ledger_is_scoped_to_the_projects_hospitals(db):
    pyramid(db)
    project = jiuquan(db)
    dispatch(db, project.id)
    assert service.list_dispatches(session=db, scope=outsider) == []
    with pytest.raises(NotFound):
        service.list_dispatches(session=db, scope=outsider, project_id=project.id)
    with pytest.raises(Forbidden):
        ledger.add_activity(session=db, scope=analyst, data=ActivityIn(
            project_id=project.id, occurred_on=date(2024, 3, 1), kind="lecture", count=30))


def test_approval_and_warning_list_need_a_recorded_visit_of_that_project(db):
    project = jiuquan(db)
    with pytest.raises(Conflict, match="needs a recorded site visit"):
        visits.change_project_status(session=db, scope=SYSTEM, project_id=project.id,
                                     status=ProjectStatus.warning_list)
    other = visits.record_visit(session=db, scope=SYSTEM, data=SiteVisitIn(
        project_id=project.id + 1, visited_on=date(2023, 2, 20), lead="张组长"))
    with pytest.raises(Conflict, match="not"):
        visits.change_project_status(session=db, scope=SYSTEM, project_id=project.id,
                                     status="approved", visit_id=other.id)
    visit = visits.record_visit(session=db, scope=SYSTEM, data=SiteVisitIn(
        project_id=project.id, visited_on=date(2023, 2, 20), lead="张组长", members=["A", "B"],
        findings="site ready", score=86.5,
        actions=[ActionIn(description="staff the ICU", due_on=date(2023, 6, 30))]))
    visits.change_project_status(session=db, scope=SYSTEM, project_id=project.id,
                                 status="approved", visit_id=visit.id, reason="field visit passed")
    assert project.status == "approved"
    entry = audit.list_entries(session=db, object_type="project")[0]
    assert entry.after == {"status": "approved", "visit_id": visit.id}
    visits.change_project_status(session=db, scope=SYSTEM, project_id=project.id,
                                 status="under_construction")  # other moves need no visit
    out = visits.to_out(visit, today=date(2023, 7, 1))
    assert out.actions[0].overdue and out.actions[0].status == "open"
    visits.close_action(session=db, scope=SYSTEM, action_id=visit.actions[0].id,
                        on=date(2023, 7, 2))
    assert not visits.to_out(visit, today=date(2023, 8, 1)).actions[0].overdue


def test_a_technology_file_with_bad_rows_reports_each_and_stores_nothing(db, tmp_path):
    project = jiuquan(db)
    path = tmp_path / "technologies.csv"
    path.write_text(
        "project_id,name,department,first_case_on,cases_since,gap_level\n"
        f"{project.id},TAVR,心内科,2024-05-10,12,Province\n"
        f"{project.id},,心内科,2024-05-11,,city\n"
        f"{project.id},ECMO,ICU,2024-05-12,-3,county\n"
        f"99999,PCI,心内科,2024-05-13,,city\n"
        f"{project.id},EBUS,呼吸科,13/05/2024,,national\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        ledger.import_technologies(session=db, scope=SYSTEM, path=path)
    problems = [(p.row, p.field) for p in caught.value.problems]
    assert problems == [(2, "name"), (3, "cases_since"), (3, "gap_level"), (4, "project_id"),
                        (5, "first_case_on")]
    assert "no project with id 99999" in str(caught.value)
    assert ledger.list_technologies(session=db, scope=SYSTEM, project_id=project.id) == []
    assert audit.list_entries(session=db, object_type="technology_import") == []


def test_an_import_into_one_project_fills_the_project_and_refuses_rows_of_another(db, tmp_path):
    project = jiuquan(db)
    path = tmp_path / "technologies.csv"
    path.write_text("name,first_case_on,gap_level,project_id\n"
                    "TAVR,2024-05-10,province,\n"
                    f"ECMO,2024-05-12,city,{project.id + 1}\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        ledger.import_technologies(session=db, scope=SYSTEM, path=path, project_id=project.id)
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "project_id")]
    assert f"imported into project {project.id}" in str(caught.value)
    path.write_text("name,first_case_on,gap_level\nTAVR,2024-05-10,province\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="project_id: required column is missing"):
        ledger.import_technologies(session=db, scope=SYSTEM, path=path)
    assert ledger.import_technologies(session=db, scope=SYSTEM, path=path,
                                      project_id=project.id) == 1
    (tech,) = ledger.list_technologies(session=db, scope=SYSTEM, project_id=project.id)
    assert (tech.name, tech.gap_level, tech.cases_since, tech.department) == (
        "TAVR", "province", 0, "")


def test_technologies_can_be_listed_by_the_gap_they_fill(db):
    project = jiuquan(db)
    for name, gap in (("TAVR", "province"), ("PCI", "city"), ("ECMO", "province")):
        ledger.add_technology(session=db, scope=SYSTEM, data=TechnologyIn(
            project_id=project.id, name=name, first_case_on=date(2024, 5, 1), gap_level=gap))
    found = ledger.list_technologies(session=db, scope=SYSTEM, project_id=project.id,
                                     gap_level=GapLevel.province)
    assert [t.name for t in found] == ["TAVR", "ECMO"]
    assert len(ledger.list_technologies(session=db, scope=SYSTEM, project_id=project.id)) == 3


def test_a_trainee_spreadsheet_loads_in_one_go_with_one_audit_entry(db, tmp_path):
    project = jiuquan(db)
    path = tmp_path / "trainees.xlsx"
    write_xlsx(path, [
        {"name": "张三", "programme": "PCI 进修", "hours": 120, "trained_on": "2024-06-01"},
        {"name": "李四", "programme": "ICU 规培", "hours": None, "trained_on": "2024-06-15"},
    ], ["name", "programme", "hours", "trained_on"])
    assert ledger.import_trainees(session=db, scope=SYSTEM, path=path,
                                  project_id=project.id) == 2
    rows = ledger.list_trainees(session=db, scope=SYSTEM, project_id=project.id)
    assert [(t.name, t.hours) for t in rows] == [("张三", 120.0), ("李四", 0.0)]
    (entry,) = audit.list_entries(session=db, object_type="trainee_import")
    assert (entry.actor, entry.action, entry.after["ids"]) == (
        "system", "trainee.import", [t.id for t in rows])


def test_trainee_imports_keep_to_the_callers_scope(db, tmp_path):
    pyramid(db)
    project = jiuquan(db)
    path = tmp_path / "trainees.csv"
    path.write_text("project_id,name,programme,trained_on\n"
                    f"{project.id},张三,PCI,2024-06-01\n", encoding="utf-8")
    with pytest.raises(Forbidden):
        ledger.import_trainees(session=db, scope=analyst, path=path)
    with pytest.raises(ImportRejected, match=f"row 1: project_id: no project with id {project.id}"):
        ledger.import_trainees(session=db, scope=outsider, path=path)


def test_follow_up_actions_are_audited_with_their_visit_and_source(db):
    visit = visits.record_visit(session=db, scope=SYSTEM, data=SiteVisitIn(
        project_id=jiuquan(db).id, visited_on=date(2023, 2, 20), lead="张组长"))
    action = visits.add_action(session=db, scope=SYSTEM, visit_id=visit.id, source="cli",
                               data=ActionIn(description="staff the ICU", due_on=date(2023, 6, 30)))
    visits.close_action(session=db, scope=SYSTEM, action_id=action.id, on=date(2023, 6, 1),
                        reason="hired", source="cli")
    done, created = audit.list_entries(session=db, object_type="follow_up_action")
    assert (created.after["visit_id"], created.source) == (visit.id, "cli")
    assert (done.action, done.reason, done.source) == ("follow_up.done", "hired", "cli")

"""Recording trusteeships: typed text parsed once for the form, the upload and the CLI; the
store's rules (hospitals, scope, projects, duplicates) by field; imports all or nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from nrmc.core.enums import Role
from nrmc.core.errors import Forbidden, ImportRejected
from nrmc.domains.audit.models import AuditEntry
from nrmc.domains.trusteeships import entry, excel, service
from nrmc.domains.trusteeships.models import Trusteeship
from nrmc.domains.trusteeships.schemas import Grade, TrusteeshipIn
from nrmc.domains.users.scope import Scope
from nrmc.domains.users.service import Refused

from .ops_factories import CITY, COUNTY, OTHER, TOWNSHIP, analyst, county_doctor, outsider, pyramid

SYSTEM = Scope.system()
GANSU = Scope(role=Role.provincial_officer, username="gansu", province="62")
HENAN = Scope(role=Role.provincial_officer, username="henan", province="41")
RAW = {"managed_hospital_code": COUNTY, "managing_hospital_code": CITY, "start_date": "2024-01-01",
       "term_years": "5", "start_grade": "二级乙等", "target_grade": "三级乙等",
       "goal_deadline": "2029-01-01"}
HEADER = ",".join(RAW) + "\n"


def _count(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(Trusteeship)) or 0


def _data(**change: object) -> TrusteeshipIn:
    return TrusteeshipIn.model_validate({**RAW, **change})


def test_typed_text_is_parsed_with_chinese_grades_yes_no_and_excel_dates(db):
    pyramid(db)
    data, errors = entry.parse(session=db, scope=SYSTEM, raw=RAW | {
        "separated": "否", "goal_deadline": "2029-01-01 00:00:00", "posts_planned": "12.0"})
    assert errors == [] and data is not None
    assert (data.start_grade, data.target_grade) == (Grade.secondary_b, Grade.tertiary_b)
    assert (data.separated, data.goal_deadline, data.posts_planned) == (False, date(2029, 1, 1), 12)


def test_every_refused_field_is_named_once_in_both_languages(db):
    pyramid(db)
    data, errors = entry.parse(session=db, scope=SYSTEM, raw=RAW | {
        "managed_hospital_code": "", "goal_deadline": "2023-12-31", "term_years": "0",
        "target_grade": "一级"})
    assert data is None
    by_field = {e.field: e for e in errors}
    assert set(by_field) == {"managed_hospital_code", "goal_deadline", "term_years", "target_grade"}
    assert by_field["goal_deadline"].message_zh == "目标期限须晚于起始日期"
    assert by_field["term_years"].message_en == "the term is at least one year"
    assert all(e.message_zh and e.message_en and e.message_zh != e.message_en for e in errors)


def test_an_unknown_hospital_name_is_refused_beside_its_field(db):
    pyramid(db)
    _, errors = entry.parse(session=db, scope=SYSTEM, raw=RAW | {"managing_hospital_code": "无此医院"})
    assert [e.field for e in errors] == ["managing_hospital_code"]
    assert "无此医院" in errors[0].message_zh


def test_one_of_the_two_hospitals_must_be_in_the_callers_scope(db):
    pyramid(db)
    manager = Scope(role=Role.hospital_manager, username="city", hospital=CITY)
    # A county's own manager records the city hospital that runs it (outside its scope).
    county_manager = Scope(role=Role.hospital_manager, username="county", hospital=COUNTY)
    assert service.create(session=db, scope=county_manager, data=_data()).id
    with pytest.raises(Refused) as caught:
        service.create(session=db, scope=outsider, data=_data(start_date="2024-02-01"))
    assert [(p.field, p.code) for p in caught.value.problems] == [
        ("managed_hospital_code", "trusteeship_out_of_scope")]
    with pytest.raises(Refused):
        service.create(session=db, scope=HENAN, data=_data(start_date="2024-02-01"))
    assert service.create(session=db, scope=manager, data=_data(start_date="2024-03-01",
                                                                 managed_hospital_code=OTHER)).id
    assert _count(db) == 2


def test_analysts_and_clinicians_are_refused_and_not_offered_the_form(db):
    """A trusteeship is an agreement between managements: officers and hospital managers
    record it; analysts (read-only) and clinicians (who write referrals) do not."""
    pyramid(db)
    assert not service.may_create(analyst) and not service.may_create(county_doctor)
    assert service.may_create(GANSU) and service.may_create(outsider)
    for caller in (analyst, county_doctor):
        with pytest.raises(Forbidden):
            service.create(session=db, scope=caller, data=_data())
    assert _count(db) == 0


def test_an_unseen_project_and_a_repeat_are_refused(db):
    pyramid(db)
    with pytest.raises(Refused) as caught:
        service.create(session=db, scope=GANSU, data=_data(project_id=999_999))
    assert [p.field for p in caught.value.problems] == ["project_id"]
    made = service.create(session=db, scope=GANSU, data=_data())
    with pytest.raises(Refused) as caught:
        service.create(session=db, scope=GANSU, data=_data())
    assert [p.field for p in caught.value.problems] == ["start_date"]
    assert f"#{made.id}" in caught.value.problems[0].message_en


def _csv(path: Path, *rows: dict[str, str]) -> Path:
    path.write_text(HEADER + "".join(",".join(r[k] for k in RAW) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_a_file_with_bad_rows_stores_nothing_and_names_file_row_and_field(db, tmp_path):
    pyramid(db)
    path = _csv(tmp_path / "托管.csv",
                RAW,
                RAW | {"managed_hospital_code": TOWNSHIP, "goal_deadline": "2020-01-01"},
                RAW | {"managed_hospital_code": OTHER, "start_grade": "三级甲等"},
                RAW)
    with pytest.raises(ImportRejected) as caught:
        excel.import_file(session=db, scope=GANSU, path=path)
    found = [(p.file, p.row, p.field) for p in caught.value.problems]
    assert found == [(str(path), 2, "goal_deadline"), (str(path), 3, "target_grade"),
                     (str(path), 4, "start_date")]
    assert "与本文件第 1 行重复" in caught.value.problems[-1].reason
    assert _count(db) == 0


def test_a_good_file_is_stored_whole_and_audited(db, tmp_path):
    pyramid(db)
    path = _csv(tmp_path / "t.csv", RAW, RAW | {"managed_hospital_code": TOWNSHIP})
    ids = excel.import_file(session=db, scope=GANSU, path=path, source="test")
    assert len(ids) == 2 and _count(db) == 2
    actions = list(db.scalars(select(AuditEntry.action).where(AuditEntry.actor == "gansu")))
    assert sorted(actions) == ["trusteeship.create", "trusteeship.create", "trusteeship.import"]
    with pytest.raises(ImportRejected) as caught:  # the same file again: each row is a repeat
        excel.import_file(session=db, scope=GANSU, path=path)
    assert {p.field for p in caught.value.problems} == {"start_date"} and _count(db) == 2


def test_a_file_missing_a_required_column_is_refused_naming_it(db, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("managed_hospital_code,start_date\nT-COUNTY,2024-01-01\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        excel.import_file(session=db, scope=SYSTEM, path=path)
    assert {p.field for p in caught.value.problems} == {
        "managing_hospital_code", "term_years", "start_grade", "target_grade", "goal_deadline"}


def test_the_filled_template_imports_and_its_untouched_example_row_is_skipped(db, tmp_path):
    pyramid(db)
    path = tmp_path / "template.xlsx"
    path.write_bytes(excel.template())
    book = load_workbook(path)
    book.worksheets[0].append([COUNTY, CITY, "2024-01-01", 5, "是", "二级乙等", "三级乙等",
                               "2029-01-01", 8, 3, None, "首批"])
    book.save(path)
    assert len(excel.import_file(session=db, scope=GANSU, path=path)) == 1
    saved = db.scalars(select(Trusteeship)).one()
    assert (saved.managed_hospital_code, saved.posts_planned, saved.note) == (COUNTY, 8, "首批")


def test_an_analyst_cannot_import(db, tmp_path):
    pyramid(db)
    with pytest.raises(Forbidden):
        excel.import_file(session=db, scope=analyst, path=_csv(tmp_path / "t.csv", RAW))
    assert _count(db) == 0


@pytest.mark.parametrize("filename", ["..", "a\x00b.csv", "托" * 300 + ".csv", "x\ud800.csv", ""])
def test_an_upload_under_any_file_name_is_read_or_refused_plainly(db, filename):
    pyramid(db)
    content = (HEADER + ",".join(RAW.values()) + "\n").encode()
    if filename.endswith(".csv"):
        assert len(excel.import_upload(session=db, scope=GANSU, filename=filename,
                                       content=content)) == 1
    else:
        with pytest.raises(ImportRejected, match="unsupported format"):
            excel.import_upload(session=db, scope=GANSU, filename=filename, content=content)

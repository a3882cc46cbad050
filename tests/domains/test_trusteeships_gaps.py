"""Trusteeships judged against their upgrade path, and gaps imported all-or-nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from nrmc.core.enums import Role
from nrmc.core.errors import Forbidden, ImportRejected, NotFound
from nrmc.domains.gaps import service as gaps
from nrmc.domains.gaps.models import Gap
from nrmc.domains.trusteeships import service as trusteeships
from nrmc.domains.trusteeships.schemas import Grade, ReportIn, TrusteeshipIn
from nrmc.domains.users.scope import Scope

from .ops_factories import CITY, COUNTY, OTHER, pyramid

SYSTEM = Scope.system()
GANSU = Scope(role=Role.provincial_officer, username="gansu", province="62")
HENAN = Scope(role=Role.provincial_officer, username="henan", province="41")


def _trusteeship(db) -> int:
    pyramid(db)
    made = trusteeships.create(session=db, scope=SYSTEM, data=TrusteeshipIn(
        managing_hospital_code=CITY, managed_hospital_code=COUNTY, start_date=date(2021, 1, 1),
        term_years=5, start_grade=Grade.secondary_b, target_grade=Grade.tertiary_b,
        goal_deadline=date(2026, 1, 1), posts_planned=20, departments_planned=10))
    return made.id


def _report(db, tid: int, on: date, grade: Grade, posts: int, departments: int) -> None:
    trusteeships.add_report(session=db, scope=SYSTEM, trusteeship_id=tid, data=ReportIn(
        reported_on=on, grade=grade, posts_filled=posts, departments_opened=departments))


def test_a_trusteeship_on_its_path_raises_no_alert(db):
    tid = _trusteeship(db)
    _report(db, tid, date(2023, 6, 1), Grade.secondary_a, 11, 5)
    found = trusteeships.detail(session=db, scope=SYSTEM, trusteeship_id=tid, as_of=date(2023, 7, 1))
    assert found.progress.grade == "secondary_a" and found.progress.behind == []
    assert found.progress.expected_rank == pytest.approx(Grade.secondary_b.rank + 2 * 911 / 1826, abs=0.01)


def test_a_trusteeship_behind_its_grade_path_and_posts_is_flagged(db):
    tid = _trusteeship(db)
    _report(db, tid, date(2023, 9, 1), Grade.secondary_b, 4, 6)
    found = trusteeships.detail(session=db, scope=SYSTEM, trusteeship_id=tid, as_of=date(2023, 10, 1))
    behind = " ".join(found.progress.behind)
    assert "grade behind its path" in behind and "posts filled behind" in behind
    assert "departments" not in behind
    listed = trusteeships.list_visible(session=db, scope=SYSTEM, as_of=date(2023, 10, 1),
                                       behind_only=True)
    assert [t.id for t in listed] == [tid]


def test_a_silent_trusteeship_is_flagged_after_120_days(db):
    tid = _trusteeship(db)
    _report(db, tid, date(2021, 6, 1), Grade.secondary_b, 3, 1)
    found = trusteeships.detail(session=db, scope=SYSTEM, trusteeship_id=tid, as_of=date(2021, 12, 1))
    assert any("no report for 120 days" in b for b in found.progress.behind)


def test_trusteeships_follow_the_hospitals_scope(db):
    tid = _trusteeship(db)
    assert trusteeships.list_visible(session=db, scope=GANSU, as_of=date(2023, 1, 1))
    assert trusteeships.list_visible(session=db, scope=HENAN, as_of=date(2023, 1, 1)) == []
    with pytest.raises(NotFound):
        trusteeships.detail(session=db, scope=HENAN, trusteeship_id=tid, as_of=date(2023, 1, 1))


def test_an_upgrade_goal_must_climb_and_a_hospital_cannot_manage_itself():
    base = dict(managing_hospital_code=CITY, managed_hospital_code=OTHER, start_date=date(2021, 1, 1),
                term_years=5, goal_deadline=date(2026, 1, 1))
    with pytest.raises(ValidationError, match="target grade must be above"):
        TrusteeshipIn(**base, start_grade=Grade.secondary_a, target_grade=Grade.secondary_b)
    with pytest.raises(ValidationError, match="cannot manage itself"):
        TrusteeshipIn(**base | {"managed_hospital_code": CITY}, start_grade=Grade.primary,
                      target_grade=Grade.secondary_a)


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("region_code,level,name,specialty,identified_on,source\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return path


def test_a_gap_file_with_one_bad_row_stores_nothing_and_names_file_row_and_field(db, tmp_path):
    path = _csv(tmp_path / "gansu-gaps.csv", [
        "620000,province,ECMO,cardiovascular,2020-01-01,甘肃省卫健委",
        "620000,provincial,TAVR,cardiovascular,2020-01-01,甘肃省卫健委",
        "620900,city,PCI,cardiovascular,2031-01-01,酒泉市卫健委",
    ])
    with pytest.raises(ImportRejected) as caught:
        gaps.import_file(session=db, scope=GANSU, path=path)
    problems = {(p.file, p.row, p.field) for p in caught.value.problems}
    assert problems == {(str(path), 2, "level"), (str(path), 3, "identified_on")}
    assert any("日期" in p.reason for p in caught.value.problems)  # bilingual messages
    assert db.scalar(select(func.count()).select_from(Gap)) == 0


def test_gaps_import_then_update_and_are_maintained_per_province(db, tmp_path):
    path = _csv(tmp_path / "g.csv", ["620000,province,ECMO,cardiovascular,2020-01-01,甘肃省卫健委",
                                     "620900,city,PCI,,2020-02-01,酒泉市卫健委"])
    assert gaps.import_file(session=db, scope=GANSU, path=path) == (2, 0)
    assert gaps.import_file(session=db, scope=GANSU, path=path) == (0, 2)
    with pytest.raises(ImportRejected) as caught:
        gaps.import_file(session=db, scope=HENAN, path=path)
    assert {p.field for p in caught.value.problems} == {"region_code"}
    assert [g.name for g in gaps.list_gaps(session=db, scope=HENAN)] == []
    assert {g.name for g in gaps.list_gaps(session=db, scope=GANSU)} == {"ECMO", "PCI"}
    analyst = Scope(role=Role.national_analyst, username="a")
    with pytest.raises(Forbidden):
        gaps.import_file(session=db, scope=analyst, path=path)

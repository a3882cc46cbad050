"""Each project's opening: a date with its source (roster, import, page), the batch year only
as a flagged estimate; the evaluation's cohort follows the date."""

from __future__ import annotations

from datetime import date

import pytest

from nrmc.core.enums import Role
from nrmc.core.errors import Forbidden, ImportRejected
from nrmc.domains.hospitals import service as hospitals
from nrmc.domains.projects import service as projects
from nrmc.domains.projects.schemas import cohort_year
from nrmc.domains.users.scope import Scope


def _host(db) -> None:  # type: ignore[no-untyped-def]
    hospitals.upsert(session=db, rows=[{
        "code": "HOST-1", "name_zh": "某省人民医院", "name_en": "Some Provincial Hospital",
        "region_code": "620102", "tier": "tertiary", "grade": "a", "beds": 2000, "lon": 103.8,
        "lat": 36.0, "synthetic": False, "specialties": [], "source": "test"}])


def test_roster_projects_carry_the_batch_year_flagged_as_an_estimate(db) -> None:
    table = projects.project_table(session=db)
    with_batch = table[table["batch"].notna()]
    assert len(with_batch) and (with_batch["opening_source"] == "batch").all()
    assert with_batch["opening_estimated"].all()
    without = table[table["batch"].isna()]
    assert without["opening_year"].isna().all() and not without["opening_estimated"].any()


def test_an_imported_opening_date_sets_the_cohort_and_its_source(db, tmp_path) -> None:
    _host(db)
    path = tmp_path / "p.csv"
    path.write_text("batch,output_hospital_code,project_hospital_code,specialty,opened_on\n"
                    "4,NRMC-O001,HOST-1,cardiovascular,2022-09-30\n", encoding="utf-8")
    assert projects.import_file(session=db, path=path) == (1, 0)
    project = projects.list_projects(session=db, hospital="HOST-1")[0]
    assert project.opened_on == date(2022, 9, 30) and project.opening_source == "import"
    assert project.opening_year == 2023  # opened in the second half: counts from 2023
    row = projects.project_table(session=db).query("project_hospital_code == 'HOST-1'").iloc[0]
    assert not row["opening_estimated"]


def test_a_bad_opening_date_is_named_and_nothing_is_stored(db, tmp_path) -> None:
    _host(db)
    path = tmp_path / "p.csv"
    path.write_text("batch,output_hospital_code,project_hospital_code,specialty,opened_on\n"
                    "4,NRMC-O001,HOST-1,cardiovascular,2015-01-01\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        projects.import_file(session=db, path=path)
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "opened_on")]  # data row 1
    assert not projects.list_projects(session=db, hospital="HOST-1")


def test_an_opening_recorded_on_a_page_replaces_the_batch_estimate(db) -> None:
    project_id = int(projects.project_table(session=db).dropna(subset=["batch"]).iloc[0]["id"])
    with pytest.raises(Forbidden):
        projects.set_opening(session=db, scope=Scope(role=Role.national_analyst),
                             project_id=project_id, opened_on=date(2021, 3, 1))
    project = projects.set_opening(session=db, scope=Scope(role=Role.national_admin),
                                   project_id=project_id, opened_on=date(2021, 3, 1))
    assert (project.opening_year, project.opening_source) == (2021, "page")
    detail = projects.to_detail(db, project)
    assert detail.opened_on == date(2021, 3, 1) and detail.opening_source == "page"


def test_cohort_year_is_the_first_year_open_for_at_least_half_of_it() -> None:
    assert cohort_year(date(2020, 6, 30)) == 2020
    assert cohort_year(date(2020, 10, 22)) == 2021

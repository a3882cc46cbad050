"""Imports: every bad row named (file, row, field, reason); nothing stored on failure; idempotent."""

import pytest
from sqlalchemy import func, select

from nrmc.core.errors import ImportRejected
from nrmc.core.tabular import write_xlsx
from nrmc.domains.hospitals import service as hospitals
from nrmc.domains.hospitals.models import Hospital
from nrmc.domains.projects import service as projects
from nrmc.domains.projects.models import Project

HEADER = "code,name_zh,name_en,region_code,tier,grade,beds,lon,lat\n"


def count(db, model):
    return db.scalar(select(func.count()).select_from(model))


def test_good_hospital_file_loads_and_a_second_load_does_not_duplicate(db, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(HEADER + "H1,金塔县人民医院,Jinta County People's Hospital,620921,secondary,a,420,,\n"
                    "H2,酒泉市第二人民医院,,6209,tertiary,b,800,98.5,39.7\n", encoding="utf-8")
    before = count(db, Hospital)
    assert hospitals.import_file(session=db, path=path) == (2, 0)
    db.commit()
    assert hospitals.import_file(session=db, path=path) == (0, 2)
    db.commit()
    assert count(db, Hospital) == before + 2
    h1 = hospitals.get(session=db, code="H1")
    assert (h1.lon, h1.lat) == (98.901252, 39.983955)  # defaulted to the county centroid
    assert hospitals.get(session=db, code="H2").region_code == "620900"


def test_bad_hospital_rows_are_all_reported_and_nothing_is_stored(db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER
                    + "H1,好医院,,620921,secondary,a,100,,\n"
                    + "H2,坏地区,,629999,secondary,a,100,,\n"
                    + "H3,坏级别,,620921,quaternary,a,100,,\n"
                    + ",无编码,,620921,secondary,a,100,,\n"
                    + "H1,重复,,620921,secondary,a,100,,\n", encoding="utf-8")
    before = count(db, Hospital)
    with pytest.raises(ImportRejected) as caught:
        hospitals.import_file(session=db, path=path)
    problems = {(p.row, p.field) for p in caught.value.problems}
    assert problems == {(2, "region_code"), (3, "tier"), (4, "code"), (5, "code")}
    text = str(caught.value)
    assert "bad.csv: row 3: tier: unknown tier 'quaternary'" in text
    assert "nothing was stored" in text
    db.rollback()
    assert count(db, Hospital) == before


def test_hospital_import_reads_xlsx(db, tmp_path):
    path = tmp_path / "h.xlsx"
    write_xlsx(path, [{"code": "X1", "name_zh": "测试医院", "name_en": "Test", "region_code": "620921",
                       "tier": "township_health_centre", "grade": "ungraded", "beds": 20}],
               ["code", "name_zh", "name_en", "region_code", "tier", "grade", "beds", "lon", "lat"])
    assert hospitals.import_file(session=db, path=path) == (1, 0)


def test_missing_required_column_is_named(db, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("code,name_zh,region_code,grade\nH1,x,620921,a\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="tier: required column"):
        hospitals.import_file(session=db, path=path)


def test_project_import_adds_a_missing_project_and_is_idempotent(db, tmp_path):
    hospitals.upsert(session=db, rows=[{
        "code": "HOST-1", "name_zh": "某省人民医院", "name_en": "Some Provincial Hospital",
        "region_code": "620102", "tier": "tertiary", "grade": "a", "beds": 2000, "lon": 103.8,
        "lat": 36.0, "synthetic": False, "specialties": [], "source": "test"}])
    path = tmp_path / "p.csv"
    path.write_text("batch,output_hospital_code,project_hospital_code,specialty,planned_beds,source\n"
                    "4,NRMC-O001,HOST-1,cardiovascular,1200,news report\n", encoding="utf-8")
    before = count(db, Project)
    assert projects.import_file(session=db, path=path) == (1, 0)
    assert projects.import_file(session=db, path=path) == (0, 1)
    project = projects.list_projects(session=db, hospital="HOST-1")[0]
    assert (project.province_code, project.city_code, project.opening_year) == ("620000", "620100", 2023)
    assert count(db, Project) == before + 1


def test_bad_project_rows_are_refused(db, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("batch,output_hospital_code,project_hospital_code,specialty\n"
                    "7,NRMC-O001,NOPE,cardiology\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        projects.import_file(session=db, path=path)
    fields = {p.field for p in caught.value.problems}
    assert fields == {"batch", "project_hospital_code", "specialty"}

"""Registry services on the real reference data, on SQLite and PostgreSQL."""

from datetime import date

import pytest
from sqlalchemy import func, select

from nrmc.core.enums import AllianceKind, Tier
from nrmc.core.errors import Conflict, NotFound
from nrmc.domains.alliances import service as alliances
from nrmc.domains.hospitals import service as hospitals
from nrmc.domains.hospitals.models import Hospital
from nrmc.domains.projects import service as projects
from nrmc.domains.projects.models import Project
from nrmc.domains.regions import service as regions
from nrmc.workspace import upgrade_workspace


def test_a_new_workspace_holds_the_geography_and_the_77_roster_projects(db):
    assert len(regions.list_regions(session=db, level="province")) == 31
    assert db.scalar(select(func.count()).select_from(Project)) == 77
    assert db.scalar(select(func.count()).select_from(Hospital)
                     .where(Hospital.synthetic.is_(True))) == 0


def test_upgrading_twice_adds_nothing(engine, db):
    report = upgrade_workspace(engine)
    assert (report.regions_added, report.projects_added) == (0, 0)


def test_jinta_resolves_to_jiuquan_and_gansu(db):
    detail = regions.detail(session=db, code="620921")
    assert detail.name_zh == "金塔县"
    assert detail.prefecture.code == "620900" and detail.prefecture.name_zh == "酒泉市"
    assert detail.province.code == "620000" and detail.province.name_zh == "甘肃省"


def test_unknown_region_is_not_found(db):
    with pytest.raises(NotFound):
        regions.get(session=db, code="629999")


def test_jiuquan_project_pairs_shanghai_general_with_jiuquan_peoples(db):
    gansu = projects.list_projects(session=db, province="62")
    pairs = {(projects.to_out(db, p).output_hospital.name_en, projects.to_out(db, p).project_hospital.name_en,
              p.batch) for p in gansu}
    assert any("Shanghai General" in o and "Jiuquan People's Hospital" in h and b == 5
               for o, h, b in pairs)
    assert all(p.province_code == "620000" for p in gansu)


def test_roster_hospitals_sit_in_their_real_city(db):
    jiuquan = projects.list_projects(session=db, province="620000")
    host = next(hospitals.get(session=db, code=p.project_hospital_code) for p in jiuquan
                if p.city_code == "620900")
    assert regions.get(session=db, code=host.region_code).parent_code == "620900"
    output = hospitals.get(session=db, code="NRMC-O005")
    assert output.name_zh == "上海市第一人民医院" and output.region_code.startswith("31")


def test_roster_keeps_verification_flags_and_unknown_batches(db):
    all_projects = projects.list_projects(session=db)
    assert {p.verification for p in all_projects} == {"V", "P"}
    assert sum(1 for p in all_projects if p.batch is None) == 18
    assert projects.list_projects(session=db, batch=1)[0].opening_year == 2020


def test_hospitals_in_a_province_include_its_counties(db):
    found = hospitals.list_hospitals(session=db, region="62", tier=Tier.tertiary)
    assert {h.code for h in found} >= {"NRMC-P031"}
    assert all(h.region_code.startswith("62") for h in found)


def _jinta_hospital(db, code="JT-1"):
    hospitals.upsert(session=db, rows=[{
        "code": code, "name_zh": "金塔县人民医院", "name_en": "Jinta County People's Hospital",
        "region_code": "620921", "tier": "secondary", "grade": "a", "beds": 400,
        "lon": 98.9, "lat": 39.98, "synthetic": True, "specialties": [], "source": "test"}])


def test_alliance_membership_changes_over_time(db):
    _jinta_hospital(db)
    _jinta_hospital(db, "JT-T1")
    alliance = alliances.create(session=db, name_zh="金塔县县域医共体", name_en="Jinta CMC",
                                kind=AllianceKind.county_medical_community,
                                lead_hospital_code="JT-1", valid_from=date(2021, 1, 1))
    alliances.add_member(session=db, alliance_id=alliance.id, hospital_code="JT-T1",
                         valid_from=date(2021, 1, 1), valid_to=date(2022, 6, 30))
    assert {m.hospital_code for m in alliances.members_on(alliance, date(2022, 1, 1))} == {
        "JT-1", "JT-T1"}
    assert {m.hospital_code for m in alliances.members_on(alliance, date(2023, 1, 1))} == {"JT-1"}
    with pytest.raises(Conflict):
        alliances.add_member(session=db, alliance_id=alliance.id, hospital_code="JT-T1",
                             valid_from=date(2022, 1, 1))
    alliances.add_member(session=db, alliance_id=alliance.id, hospital_code="JT-T1",
                         valid_from=date(2023, 1, 1))
    db.commit()
    out = alliances.to_out(db, alliances.get(session=db, alliance_id=alliance.id))
    assert out.kind_zh == "县域医共体" and len(out.members) == 3

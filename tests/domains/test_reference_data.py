"""Reference data on a store: census geography and the real grade-3A hospitals, on new and
upgraded stores alike (SQLite and PostgreSQL)."""

from sqlalchemy import delete, func, select, update

from nrmc.core.enums import Tier
from nrmc.db import session_scope
from nrmc.domains.hospitals import service as hospitals
from nrmc.domains.hospitals.models import Hospital
from nrmc.domains.regions import service as regions
from nrmc.domains.regions.models import Region
from nrmc.workspace import upgrade_workspace


def test_a_new_store_holds_the_real_grade_3a_hospitals_as_real_tertiary_grade_a(db):
    listed = db.scalars(select(Hospital).where(Hospital.code.like("H3A-%"))).all()
    assert 1000 < len(listed) < 1140
    assert all(h.tier == Tier.tertiary.value and h.grade == "a" and not h.synthetic for h in listed)
    assert all(h.source.startswith("grade-3A list (46319943/3AHospital") for h in listed)
    gansu = next(h for h in listed if h.name_zh == "甘肃省人民医院")
    assert regions.get(session=db, code=gansu.region_code).parent_code == "620100"
    assert (round(gansu.lon, 3), round(gansu.lat, 3)) == (103.865, 36.049)


def test_every_listed_hospital_sits_in_a_finest_unit_of_its_own_province(db):
    rows = db.execute(select(Hospital.code, Hospital.source, Region.leaf, Region.code)
                      .join(Region, Region.code == Hospital.region_code)
                      .where(Hospital.code.like("H3A-%"))).all()
    assert all(leaf for _, _, leaf, _ in rows)


def test_a_roster_hospital_on_the_list_is_not_duplicated_and_takes_the_lists_point(db):
    first = hospitals.get(session=db, code="NRMC-O005")  # 上海市第一人民医院, an output hospital
    assert "point from grade-3A list" in first.source
    twins = db.scalar(select(func.count()).select_from(Hospital)
                      .where(Hospital.name_zh == "上海市第一人民医院"))
    assert twins == 1
    # A rename: the list calls 瑞金医院 by its older name; still one hospital.
    assert not db.scalar(select(Hospital.code).where(Hospital.name_zh == "上海交通大学附属瑞金医院"))
    # A project hospital whose brackets give its other name is that hospital, not a second one …
    jiuquan = db.scalars(select(Hospital).where(
        Hospital.name_zh == "上海市第一人民医院酒泉医院（酒泉市人民医院）")).one()
    assert jiuquan.code.startswith("NRMC-P") and "point from grade-3A list" in jiuquan.source
    assert not db.scalar(select(Hospital.code).where(Hospital.name_zh == "酒泉市人民医院"))
    # … but a host named with 依托 stays its own hospital.
    assert db.scalar(select(Hospital.code).where(Hospital.name_zh == "安徽省立医院"))


def test_upgrading_an_older_store_brings_census_figures_and_the_list_once(engine):
    with session_scope(engine) as session:  # make the store look like one built before the census
        session.execute(delete(Hospital).where(Hospital.code.like("H3A-%")))
        session.execute(update(Region).where(Region.code == "620921")
                        .values(population=235_021, population_estimated=True,
                                population_method="", population_census=None))
        session.add(Region(code="500157", name_zh="两江新区", name_en="Liangjiang New District",
                           level="county", parent_code="500000", lon=106.55, lat=29.56,
                           coords_from_parent=True, population=866_328,
                           population_estimated=True, leaf=True))
        session.flush()
        session.execute(update(Hospital).where(Hospital.code == "NRMC-P001")
                        .values(region_code="500157"))
    first = upgrade_workspace(engine)
    assert first.hospitals_added > 1000 and first.regions_updated >= 1 and first.regions_retired == 1
    again = upgrade_workspace(engine)
    assert (again.regions_added, again.regions_updated, again.regions_retired,
            again.hospitals_added) == (0, 0, 0, 0)
    with session_scope(engine) as session:
        jinta = regions.get(session=session, code="620921")
        assert (jinta.population, jinta.population_method, jinta.population_estimated) == (
            jinta.population_census, "census", False)
        assert session.get(Region, "500157") is None
        assert hospitals.get(session=session, code="NRMC-P001").region_code == "500112"

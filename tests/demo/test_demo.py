"""The demo layer: calibrated, flagged, deterministic, and on top of the real data."""

from collections import Counter

import pytest
from sqlalchemy import select

from nrmc.config import Settings
from nrmc.demo.build import build_demo
from nrmc.domains.alliances import service as alliances
from nrmc.domains.hospitals.models import Hospital
from nrmc.summary import national_summary


@pytest.fixture
def demo_db(engine, db, tmp_path):
    build_demo(Settings(home=tmp_path), engine, seed=7, rows=20_000)
    return db


def test_demo_network_matches_the_2021_national_counts_below_tertiary(demo_db):
    tiers = Counter(t for (t,) in demo_db.execute(
        select(Hospital.tier).where(Hospital.code.notlike("DEMO-%"))))
    assert tiers["secondary"] == 10848 and tiers["primary"] == 12649
    # Tertiary: the real list plus synthetic ones only where the list is empty, so at most 3,275.
    assert 1100 < tiers["tertiary"] <= 3275
    summary = national_summary(demo_db)
    assert summary["beds_per_1000"] == pytest.approx(6.70, abs=0.01)


def test_no_synthetic_tertiary_hospital_stands_in_a_prefecture_with_a_real_one(demo_db):
    from nrmc.domains.regions.models import Region

    def unit(code: str) -> str:
        region = demo_db.get(Region, code)
        parent = demo_db.get(Region, region.parent_code) if region.parent_code else None
        return parent.code if parent is not None and parent.level == "prefecture" else code

    tertiary = demo_db.execute(select(Hospital.region_code, Hospital.synthetic)
                               .where(Hospital.tier == "tertiary")).all()
    real = {unit(c) for c, s in tertiary if not s}
    synthetic = {unit(c) for c, s in tertiary if s}
    assert synthetic and real
    assert not synthetic & real
    assert "620100" in real and "620100" not in synthetic  # 兰州: real grade-3A hospitals only


def test_every_demo_row_is_flagged_synthetic(demo_db):
    rows = demo_db.execute(select(Hospital.code, Hospital.synthetic)).all()
    assert all(s for c, s in rows if c.startswith(("S", "DEMO-")))
    assert not any(s for c, s in rows if c.startswith("NRMC-"))


def test_demo_builds_jintas_medical_community(demo_db):
    community = alliances.to_out(demo_db, alliances.get(session=demo_db, alliance_id=1))
    assert community.kind == "county_medical_community"
    assert community.lead_hospital.name_zh == "金塔县人民医院"
    tiers = Counter(m.tier for m in community.members)
    assert tiers["township_health_centre"] >= 8 and tiers["community_health_station"] == 1


def test_same_seed_gives_the_same_network():
    import pandas as pd

    from nrmc.data import open_text
    from nrmc.demo.network import build_network

    with open_text("regions.csv") as handle:
        table = pd.read_csv(handle, dtype={"code": str, "parent_code": str})
    table["leaf"] = table["leaf"].astype(bool)
    a = build_network(table, real_tertiary=["620102"], seed=3)
    assert a == build_network(table, real_tertiary=["620102"], seed=3)
    assert build_network(table, real_tertiary=["620102"], seed=4) != a
    assert not any(r["tier"] == "tertiary" and r["region_code"].startswith("6201") for r in a)

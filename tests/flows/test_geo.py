"""Units at each level, on the real regions table."""

from __future__ import annotations

import pytest

from nrmc.flows.geo import leaf_codes, load_regions, units_table


@pytest.fixture(scope="module")
def units():
    return units_table(load_regions()).set_index("code")


@pytest.mark.parametrize(
    ("code", "province", "prefecture", "county", "city"),
    [
        ("620902", "620000", "620900", "620902", "620900"),  # 肃州区 in 酒泉
        ("429004", "420000", "429004", "429004", "429004"),  # 仙桃: 省直辖县级市
        ("110105", "110000", "110105", "110105", "110000"),  # 朝阳区: municipality district
        ("441900", "440000", "441900", "441900", "441900"),  # 东莞: county-less city
    ],
)
def test_units_at_each_level(units, code, province, prefecture, county, city):
    assert tuple(units.loc[code, ["province", "prefecture", "county", "city"]]) == (
        province, prefecture, county, city)


def test_every_residence_has_a_unit_at_every_level(units):
    leaves = leaf_codes(load_regions())
    assert len(leaves) == 2_855  # 2,849 counties + 6 county-less prefecture-level cities
    assert units.loc[sorted(leaves)].notna().all().all()  # county_kind too
    assert units.loc[sorted(leaves), "province"].nunique() == 31

import pytest

from nrmc.core import codes
from nrmc.core.enums import Level


@pytest.mark.parametrize("given", ["62", "620000", "620000000000", 62])
def test_province_code_accepts_two_six_or_twelve_digits(given):
    assert codes.normalize(given) == "620000"


def test_level_is_read_from_trailing_zero_blocks():
    assert codes.level("620000") == Level.province
    assert codes.level("620900") == Level.prefecture
    assert codes.level("620921") == Level.county


def test_county_under_municipal_placeholder_hangs_on_the_province():
    assert codes.nominal_parent("110101") == "110000"
    assert codes.nominal_parent("500235") == "500000"  # under the 500200 "县" placeholder


def test_province_administered_county_city_hangs_on_the_province():
    assert codes.is_placeholder_prefecture("419000")
    assert codes.nominal_parent("419001") == "410000"


def test_ordinary_county_hangs_on_its_prefecture():
    assert codes.nominal_parent("620921") == "620900"


@pytest.mark.parametrize("bad", ["abc", "6209211", "", "000001", "620921001000"])
def test_malformed_codes_are_refused_with_the_input_named(bad):
    with pytest.raises(ValueError, match="division code"):
        codes.normalize(bad)

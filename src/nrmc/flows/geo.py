"""Map every division code to the unit it belongs to at each level (the flows' geography).

Residence and hospital locations are stored as finest-unit codes (``leaf=1`` in regions.csv):
counties, plus prefecture-level cities without counties (东莞 441900, 中山 442000, …), which act
as their own county. Metrics need the unit at a chosen level, so this module builds one small
lookup table ``units(code, province, prefecture, county)`` that the engine ships next to the
discharges.

Choices (documented in docs/flows.md):

* a county whose parent in regions.csv is a province (districts of the four municipalities,
  省直辖县级市 such as 仙桃 429004) is its own prefecture-level unit; a municipality is therefore
  split into its districts at prefecture level rather than lumped into a placeholder 110100;
* a county-less prefecture-level city is its own prefecture *and* its own county;
* ``city`` (used for a hospital's reach, "patients from outside the host city") is the
  prefecture-level unit, except in the four municipalities, where the city is the whole
  municipality: a Chaoyang resident treated in Haidian has not left Beijing.
* ``county_kind`` says what a finest unit is, for the county medical community (县域医共体)
  indicators, which cover counties and county-level cities only: ``county`` (县, 旗, 自治县,
  自治旗, 林区, 特区), ``county_city`` (县级市), ``district`` (市辖区, urban), ``city`` (a
  prefecture-level unit without counties, e.g. 东莞; None for provinces and prefectures with
  counties, which are never a residence). It is read from the official name's last
  character: codes cannot tell it, since a county turned district keeps its number (梁平区 500155).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.codes import MUNICIPALITIES
from ..core.enums import Level

LEVELS: tuple[str, ...] = tuple(lv.value for lv in Level)
#: County kinds the county medical community indicators count (国家卫健委 县域医共体 definition).
COMMUNITY_KINDS = frozenset({"county", "county_city"})


def county_kind(name_zh: pd.Series, level: pd.Series, leaf: pd.Series | None = None) -> pd.Series:
    """``county``, ``county_city``, ``district`` or ``city`` for finest units, else None."""
    name = name_zh.astype("string").fillna("").str.strip()
    county_level = level.astype(str) == Level.county.value
    kind = np.where(
        name.str.endswith(("林区", "特区")), "county",
        np.where(name.str.endswith("区"), "district",
                 np.where(name.str.endswith("市"), "county_city", "county")))
    out = pd.Series(kind, index=name_zh.index, dtype=object)
    out[~county_level] = None
    # a prefecture-level unit with no counties (东莞, 中山…) is its own finest unit: a city
    own_county = level.astype(str) == Level.prefecture.value
    if leaf is not None:
        own_county &= leaf.astype(int) == 1
    out[own_county.to_numpy(dtype=bool)] = "city"
    return out


def _as_code(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().str.zfill(6)


def units_table(regions: pd.DataFrame) -> pd.DataFrame:
    """``code, province, prefecture, county, city`` for every division in ``regions``.

    ``regions`` needs ``code, level, parent_code``. Province rows map to themselves at every
    level (they never appear as a residence, but keep the table total).
    """
    codes = _as_code(regions["code"])
    parent = regions["parent_code"].astype("string").str.strip()
    parent = parent.where(parent.notna() & (parent != ""), None).str.zfill(6)
    level = regions["level"].astype(str)
    level_of = dict(zip(codes, level, strict=True))
    parent_level = parent.map(lambda p: level_of.get(p) if isinstance(p, str) else None)

    province = codes.str.slice(0, 2) + "0000"
    prefecture = codes.copy()
    county_under_prefecture = (level == Level.county.value) & (
        parent_level == Level.prefecture.value
    )
    prefecture[county_under_prefecture] = parent[county_under_prefecture]
    prefecture[level == Level.province.value] = codes[level == Level.province.value]
    return pd.DataFrame(
        {
            "code": codes.astype(object),
            "province": province.astype(object),
            "prefecture": prefecture.astype(object),
            "county": codes.astype(object),
            "city": province.where(codes.str.slice(0, 2).isin(MUNICIPALITIES), prefecture)
            .astype(object),
            "county_kind": county_kind(regions["name_zh"], level, regions.get("leaf"))
            .to_numpy(dtype=object) if "name_zh" in regions else None,
        }
    ).reset_index(drop=True)


def names_table(regions: pd.DataFrame) -> pd.DataFrame:
    """``code, name_zh, name_en`` for labelling report rows."""
    return pd.DataFrame(
        {
            "code": _as_code(regions["code"]).astype(object),
            "name_zh": regions["name_zh"].astype(object),
            "name_en": regions.get("name_en", regions["name_zh"]).astype(object),
        }
    )


def leaf_codes(regions: pd.DataFrame) -> frozenset[str]:
    """Codes valid as a residence: the finest units (``leaf=1``)."""
    leaf = regions["leaf"].astype(int) == 1
    return frozenset(_as_code(regions.loc[leaf, "code"]).tolist())


def load_regions() -> pd.DataFrame:
    """The shipped regions table (2,849 counties, 334 prefectures, 31 provinces)."""
    from importlib.resources import files

    path = files("nrmc").joinpath("data", "regions.csv")
    with path.open("rb") as fh:
        return pd.read_csv(fh, dtype={"code": str, "parent_code": str})

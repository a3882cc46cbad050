"""A deterministic synthetic hospital network for the whole country.

Calibration (health_statistics.md, 2021): 3,275 tertiary, 10,848 secondary and 12,649
first-grade hospitals in total; 6.70 beds per 1,000 residents, all carried by this network
because it has no separate primary-care institutions. Placement follows population (2020 census):
secondary and first-grade hospitals go to counties in proportion to population. Tertiary
hospitals are real wherever the registry has them (the grade-3A list and the programme roster):
the national 3,275 is shared out over prefecture-level units in proportion to population (the
provincial capital weighted ×3, as tertiary care concentrates there), and only a unit that holds
no real tertiary hospital receives its share as synthetic ones, in an urban district. The
national tertiary total therefore falls short of 3,275 by the real list's gaps inside covered
prefectures; no synthetic tertiary hospital stands where a real one does. Every row is flagged
`synthetic`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..core.codes import MUNICIPALITIES
from ..core.enums import Tier

TARGET = {Tier.tertiary: 3275, Tier.secondary: 10848, Tier.primary: 12649}
BEDS_PER_1000 = 6.70
MEAN_BEDS = {Tier.tertiary: 1300.0, Tier.secondary: 320.0, Tier.primary: 60.0}
GRADE_SHARES = {
    Tier.tertiary: {"a": 1651 / 3275, "b": 0.35, "c": 0.04},
    Tier.secondary: {"a": 0.45, "b": 0.45, "c": 0.05},
    Tier.primary: {"a": 0.30, "b": 0.30, "c": 0.10},
}
CAPITAL_WEIGHT = 3.0
LETTER = {Tier.tertiary: "T", Tier.secondary: "S", Tier.primary: "P"}
NAME = {Tier.tertiary: ("人民医院", "People's Hospital"),
        Tier.secondary: ("医院", "Hospital"), Tier.primary: ("社区医院", "Community Hospital")}


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    share = weights / weights.sum() * total
    counts = np.floor(share).astype(int)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _grade(rng: np.random.Generator, tier: Tier, n: int) -> np.ndarray:
    shares = GRADE_SHARES[tier]
    probs = [*shares.values(), 1 - sum(shares.values())]
    return rng.choice([*shares.keys(), "ungraded"], size=n, p=probs)


def build_network(regions: pd.DataFrame, *, real_tertiary: Iterable[str], seed: int,
                  ) -> list[dict[str, Any]]:
    """Rows for the hospitals table. `regions` is the regions table (see region_table);
    `real_tertiary` the region codes of real tertiary hospitals (their prefecture-level units get
    no synthetic tertiary hospital)."""
    rng = np.random.default_rng(seed)
    regions = regions.set_index("code", drop=False).rename_axis(None)
    leaves = regions[(regions["leaf"]) & (regions["level"] != "province")]
    total_population = int(regions.loc[regions["level"] == "province", "population"].sum())

    # Tertiary: prefecture-level units (a county directly under a province counts as its own).
    units = leaves.copy()
    units["unit"] = [p if regions.at[c, "level"] == "county" and regions.at[p, "level"]
                     == "prefecture" else c for c, p in zip(units["code"], units["parent_code"],
                                                            strict=True)]
    unit_pop = units.groupby("unit")["population"].sum()
    # Provinces get their population share; inside a province the capital weighs more.
    weight = unit_pop.astype(float).copy()
    weight[[u for u in weight.index if u[2:4] == "01" and u[:2] not in MUNICIPALITIES]] *= (
        CAPITAL_WEIGHT)
    provinces = regions[regions["level"] == "province"].sort_values("code")
    per_province = _largest_remainder(provinces["population"].to_numpy(dtype=float),
                                      TARGET[Tier.tertiary])
    per_unit = pd.Series(0, index=weight.index)
    for province, count in zip(provinces["code"], per_province, strict=True):
        mine = weight[weight.index.str[:2] == province[:2]]
        per_unit[mine.index] = _largest_remainder(mine.to_numpy(), int(count))
    unit_of = dict(zip(units["code"], units["unit"], strict=True))
    covered = {unit_of.get(code, code) for code in real_tertiary}
    per_unit[per_unit.index.isin(list(covered))] = 0
    districts: dict[str, list[str]] = defaultdict(list)
    for code, unit, name in zip(units["code"], units["unit"], units["name_zh"], strict=True):
        if name.endswith("区") or code == unit:
            districts[unit].append(code)
    placements: list[tuple[Tier, str]] = []
    for unit, count in per_unit.items():
        pool = districts.get(unit) or sorted(units.loc[units["unit"] == unit, "code"])
        placements += [(Tier.tertiary, pool[i % len(pool)]) for i in range(int(count))]

    # Secondary and first-grade: counties by population.
    leaf_codes = leaves["code"].to_numpy()
    p = leaves["population"].to_numpy(dtype=float)
    for tier in (Tier.secondary, Tier.primary):
        counts = rng.multinomial(TARGET[tier], p / p.sum())
        for code, count in zip(leaf_codes, counts, strict=True):
            placements += [(tier, code)] * int(count)

    beds = np.array([rng.lognormal(np.log(MEAN_BEDS[t]) - 0.18, 0.6) for t, _ in placements])
    beds *= BEDS_PER_1000 * total_population / 1000 / beds.sum()
    grades = {t: iter(_grade(rng, t, sum(1 for x, _ in placements if x == t))) for t in TARGET}
    seq: dict[tuple[Tier, str], int] = defaultdict(int)
    rows: list[dict[str, Any]] = []
    lookup = regions[["name_zh", "name_en", "lon", "lat"]].to_dict("index")
    jitter = rng.normal(0, 0.03, size=(len(placements), 2))
    for (tier, code), bed, (dx, dy) in zip(placements, beds, jitter, strict=True):
        seq[(tier, code)] += 1
        n = seq[(tier, code)]
        region = lookup[code]
        zh, en = NAME[tier]
        rows.append({
            "code": f"S{LETTER[tier]}{code}{n:03d}",
            "name_zh": f"{region['name_zh']}第{n}{zh}（示例）",
            "name_en": f"{region['name_en']} No. {n} {en} (synthetic)",
            "region_code": code, "tier": tier.value, "grade": str(next(grades[tier])),
            "beds": int(round(bed)),
            "lon": float(region["lon"] + dx), "lat": float(region["lat"] + dy),
            "synthetic": True, "specialties": [], "source": "synthetic demo network",
        })
    return rows

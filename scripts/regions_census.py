"""County populations from the 2020 census for scripts/build_regions.py (method in the README).

Every finest unit (``leaf``) gets:
- ``population_census``: its own figure in the 7th national census (2020-11-01), where the census
  has the unit under the same code (or under the code it had then, for exact renames/merges);
- ``population``: that figure plus its share of its prefecture's development zones and
  unpublished remainder, so that a prefecture's units sum to the prefecture's own bulletin figure
  and a province's to the province figure;
- ``population_method``: how ``population`` was obtained (see METHODS below);
- ``urban``, ``rural`` (people) and ``share_65_plus`` (%), carried through the same steps.

No unit takes an equal split of a larger figure. Where a unit was split after 2020 and no census
figure exists for the parts, the predecessor's figure is divided by a stated, unit-specific rule
(SPLITS below) and the result is flagged estimated.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

# How ``population`` was obtained; the first word is the base, "+zone_folded"/"+rescaled" are added
# when the unit took a share of its prefecture's development zones / unpublished remainder.
METHODS = {
    "census": "the unit's own census figure",
    "census_code": "census figure of the unit's 2020 code (renamed since)",
    "merged": "sum of the census figures of the 2020 units merged into it",
    "split_from": "share of a 2020 unit split since (rule named after the colon)",
    "zone": "census figure of a development zone that has since become a county-level unit",
    "not_enumerated": "no 2020 census figure of its own (its residents are counted elsewhere)",
}

# Units split after 2020 whose parts have no census figure of their own. The rule is the share of
# the predecessor's township-level units (streets and towns) that each successor took, from the
# division notices; it is stated beside the figure in population_method.
SPLITS: dict[str, list[tuple[str, int, int]]] = {
    # 江干区 (10 streets): 8 to 上城区; 下沙 and 白杨 to 钱塘区 (Hangzhou 2021).
    "330104": [("330102", 8, 10), ("330114", 2, 10)],
    # 余杭区 (20 township-level units): 12 stay in 余杭区, 8 form 临平区 (Hangzhou 2021).
    "330110": [("330110", 12, 20), ("330113", 8, 20)],
}
# 三山区 (Wuhu 2020) was divided between two districts that do have census figures; it is split in
# proportion to them (the one split whose parts' own sizes are known).
PRO_RATA_SPLITS = {"340208": ["340209", "340207"]}

# Units with no 2020 census figure: created 2021–2024 out of parts of others, or (金门县) not
# enumerated by the mainland census. Their residents of 2020 are counted in the units named.
NOT_ENUMERATED = {
    "653228": "653200",  # 和康县 (2024), from parts of 和田地区's counties and 昆玉市's regiments
    "653229": "653200",  # 和安县 (2024), likewise
    "659011": "650500",  # 新星市 (2021), 13th Corps division, within 哈密市
    "659012": "654200",  # 白杨市 (2023), 9th Corps division, within 塔城地区
    "350527": "",        # 金门县: administered from Taiwan; no mainland census figure
}

# 雄安新区 administers 容城县, 安新县 and 雄县, which the census counts under 保定市.
XIONGAN = ("133100", ["130629", "130632", "130638"], "130600")


@dataclass
class Figure:
    population: int
    urban: int
    aged: float  # people aged 65+ (share × population, kept unrounded until the end)
    method: str
    estimated: bool
    census: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rural(self) -> int:
        return self.population - self.urban


def read_census(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def read_changes(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _figure(row: dict[str, str], method: str, *, estimated: bool = False) -> Figure:
    pop = int(row["population"])
    return Figure(pop, int(row["urban"]), pop * float(row["share_65_plus_pct"]) / 100, method,
                  estimated, census=pop)


def _split(fig: Figure, weights: list[float], methods: list[str]) -> list[Figure]:
    """Parts of one figure in proportion to weights; people are apportioned so parts sum exactly."""
    pops = _largest_remainder(fig.population, weights)
    urbans = _largest_remainder(fig.urban, weights)
    total = sum(weights)
    return [Figure(p, u, fig.aged * w / total, m, True)
            for p, u, w, m in zip(pops, urbans, weights, methods, strict=True)]


def _add(parts: list[Figure], method: str) -> Figure:
    pop = sum(p.population for p in parts)
    return Figure(pop, sum(p.urban for p in parts), sum(p.aged for p in parts), method,
                  any(p.estimated for p in parts),
                  census=pop if all(p.census is not None for p in parts) else None)


def base_figures(leaves: dict[str, dict[str, object]], census: dict[str, dict[str, str]],
                 changes: list[dict[str, str]]) -> dict[str, Figure]:
    """Each leaf's figure before zones are folded in (keys: leaf codes)."""
    exact: dict[str, list[str]] = {}
    for change in changes:
        if change["exact"] == "yes" and ";" not in change["current_code"]:
            exact.setdefault(change["current_code"], []).append(change["census_code"])
    # Units whose 2020 figure is only part of them today (they absorbed part of a split unit).
    split_parts: dict[str, list[Figure]] = {}
    for old, rule in SPLITS.items():
        parts = _split(_figure(census[old], ""), [num / den for _, num, den in rule],
                       [f"split_from:{old}({num}/{den} townships)" for _, num, den in rule])
        for (new, _, _), part in zip(rule, parts, strict=True):
            split_parts.setdefault(new, []).append(part)
    for old, receivers in PRO_RATA_SPLITS.items():
        weights = [float(census[c]["population"]) for c in receivers]
        method = f"split_from:{old}(pro rata to {'/'.join(receivers)})"
        parts = _split(_figure(census[old], ""), weights, [method] * len(receivers))
        for new, part in zip(receivers, parts, strict=True):
            split_parts.setdefault(new, []).append(part)
    consumed = set(SPLITS) | set(PRO_RATA_SPLITS)

    out: dict[str, Figure] = {}
    for code in leaves:
        if code in NOT_ENUMERATED:
            where = NOT_ENUMERATED[code]
            out[code] = Figure(0, 0, 0.0, "not_enumerated" + (f":counted_in_{where}" if where else ""),
                               True)
            continue
        parts: list[Figure] = []
        methods: list[str] = []
        if code in census and code not in consumed and census[code]["level"] in {"county", "prefecture"}:
            parts.append(_figure(census[code], "census"))
            methods.append("census")
        for old in exact.get(code, []):
            row = census[old]
            parts.append(_figure(row, ""))
            methods.append(f"zone:{old}" if row["unit_type"] == "development_zone" else old)
        for part in split_parts.get(code, []):
            parts.append(part)
            methods.append(part.method)
        if not parts:
            raise SystemExit(f"no census figure and no rule for {code} {leaves[code]['name_zh']}")
        if methods == ["census"]:
            method = "census"
        elif len(parts) == 1 and methods[0].startswith(("zone:", "split_from:")):
            method = methods[0]
        elif len(parts) == 1:
            method = f"census_code:{methods[0]}"
        else:
            named = [code if m == "census" else m for m in methods]
            method = "merged:" + "&".join(named)
        fig = _add(parts, method)
        if fig.estimated or any(m.startswith("split_from:") for m in methods):
            fig.estimated = True
            fig.census = None
        out[code] = fig
    return out


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to weights that sum exactly to total (weights need not be equal)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    floors = [int(s // 1) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: -(shares[i] - floors[i]))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors


def fold_into_targets(regions: dict[str, dict[str, object]], figures: dict[str, Figure],
                      census: dict[str, dict[str, str]]) -> None:
    """Give each prefecture's development zones and unpublished remainder to its districts.

    Group = the leaves sharing a parent. Target = the parent's census figure (a prefecture's own
    bulletin; for units directly under a province, the province figure minus its prefectures').
    The gap between the target and the leaves' figures goes to the group's districts (区) in
    proportion to their figures (to every enumerated unit where the group has no district).
    """
    province_rows = {c: r for c, r in census.items() if r["level"] == "province"}
    groups: dict[str, list[str]] = {}
    for code in figures:
        groups.setdefault(str(regions[code]["parent_code"]), []).append(code)
    xiongan, xiongan_counties, baoding = XIONGAN
    zoned = {r["code"][:4] + "00" for r in census.values() if r["unit_type"] == "development_zone"}

    def target(parent: str) -> tuple[int, int, float]:
        if parent == xiongan:
            members = [figures[c] for c in xiongan_counties]
            return (sum(f.population for f in members), sum(f.urban for f in members),
                    sum(f.aged for f in members))
        row = census[parent] if parent in census else None
        if row is not None and row["level"] == "prefecture":
            pop, urban = int(row["population"]), int(row["urban"])
            aged = pop * float(row["share_65_plus_pct"]) / 100
            if parent == baoding:
                t = target(xiongan)
                return pop - t[0], urban - t[1], aged - t[2]
            return pop, urban, aged
        # Units directly under the province: what the province's prefectures leave over.
        prov = province_rows[parent]
        pop, urban = int(prov["population"]), int(prov["urban"])
        aged = pop * float(prov["share_65_plus_pct"]) / 100
        for code, region in regions.items():
            if region["parent_code"] == parent and region["level"] == "prefecture" \
                    and not region["leaf"]:
                t = target(code)
                pop, urban, aged = pop - t[0], urban - t[1], aged - t[2]
        return pop, urban, aged

    for parent, members in groups.items():
        t_pop, t_urban, t_aged = target(parent)
        gap = t_pop - sum(figures[c].population for c in members)
        if gap == 0:
            continue
        enumerated = [c for c in members if figures[c].population > 0]
        districts = [c for c in enumerated if str(regions[c]["name_zh"]).endswith("区")]
        takers = sorted(districts or enumerated)
        weights = [float(figures[c].population) for c in takers]
        gap_urban = t_urban - sum(figures[c].urban for c in members)
        gap_aged = t_aged - sum(figures[c].aged for c in members)
        tag = "+zone_folded" if parent in zoned else "+rescaled"
        for code, d_pop, d_urban in zip(takers, _largest_remainder(gap, weights),
                                        _largest_remainder(gap_urban, weights), strict=True):
            fig = figures[code]
            fig.aged += gap_aged * figures[code].population / sum(weights)
            fig.population += d_pop
            fig.urban = min(fig.population, max(0, fig.urban + d_urban))
            fig.method += tag
            fig.estimated = True

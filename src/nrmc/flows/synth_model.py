"""The behavioural model behind ``synth``: vocabularies, rates and vectorised samplers.

Kept apart from ``synth`` (which streams and writes) so the numbers that calibrate the
generator sit in one readable place. Every sampler draws a whole chunk at once with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.codes import MUNICIPALITIES

# --- what patients have -------------------------------------------------------------------
SPECIALTIES = (
    "internal_medicine", "cardiovascular", "respiratory", "neurology", "general_surgery",
    "trauma_orthopedics", "oncology", "obstetrics_gynecology", "pediatrics", "tcm",
    "infectious", "psychiatry", "stomatology", "other",
)
_MIX = np.array([14, 12, 10, 9, 9, 9, 9, 9, 8, 5, 2, 1.5, 0.5, 4], dtype=float)
SPECIALTY_MIX = _MIX / _MIX.sum()
# 0 = treated anywhere, 1 = needs the most specialised care; drives where patients go.
COMPLEXITY = np.array([.3, .7, .3, .7, .4, .4, .9, .3, .6, .2, .5, .4, .3, .3])
_AGE = np.array([[58, 16], [67, 12], [62, 18], [66, 12], [50, 17], [52, 20], [60, 12],
                 [30, 5], [0, 0], [60, 15], [45, 18], [40, 14], [40, 18], [50, 20]], float)
_FEMALE = np.array([.47, .42, .45, .45, .47, .5, .45, 1, .42, .5, .4, .5, .5, .5])
_STAY = np.array([1, 1, 1, 1.2, .95, 1.35, 1.15, .55, .6, 1.2, 1.2, 3.5, .6, .8])
_SURGERY = np.array([.05, .25, .03, .15, .8, .75, .4, .55, .08, .02, .05, 0, .7, .2])
_DIAGNOSES = {
    "internal_medicine": ["E11.9", "K29.7", "N18.5", "D50.9", "K92.2"],
    "cardiovascular": ["I10", "I20.0", "I21.9", "I25.1", "I48.9", "I50.9"],
    "respiratory": ["J18.9", "J44.1", "J20.9", "J45.9"],
    "neurology": ["I63.9", "I61.9", "G45.9", "G40.9", "G20"],
    "general_surgery": ["K35.8", "K40.9", "K80.1", "K85.9"],
    "trauma_orthopedics": ["S72.0", "S82.2", "M17.9", "M51.2", "S06.0"],
    "oncology": ["C34.9", "C16.9", "C22.0", "C18.9", "C50.9", "Z51.1"],
    "obstetrics_gynecology": ["O80", "O82.0", "O47.0", "N80.9", "D25.9"],
    "pediatrics": ["J18.9", "J20.9", "A09", "J06.9", "P07.3"],
    "tcm": ["I10", "E11.9", "M51.2", "J44.1"],  # TCM wards: specialty stated, not derived
    "infectious": ["A15.0", "B18.1", "A41.9", "U07.1"],
    "psychiatry": ["F20.9", "F32.9", "F10.2"],
    "stomatology": ["K02.9", "K04.0", "K07.1"],
    "other": ["N40", "H25.9", "L03.9", "R50.9"],
}
DIAGNOSIS_CODES = np.array([c for s in SPECIALTIES for c in _DIAGNOSES[s]])
_DIAGNOSIS_SPEC = np.array([i for i, s in enumerate(SPECIALTIES) for _ in _DIAGNOSES[s]])

# --- where they live and go ---------------------------------------------------------------
YEAR_VOLUME = {2018: .96, 2019: 1.0, 2020: .86, 2021: .93, 2022: .93, 2023: 1.05, 2024: 1.08}
_EAST = set("11 12 13 21 31 32 33 35 37 44 46".split())
_WEST = set("15 45 50 51 52 53 54 61 62 63 64 65".split())
HOSPITALISATION_RATE = {"east": .170, "central": .193, "west": .215}
# Propensity to leave the province (before the specialty multiplier 0.5 + 1.5 × complexity).
_OUT_RATE = {"34": .085, "13": .075, "41": .05, "32": .045, "33": .03, "12": .03, "11": .008,
             "31": .008, "44": .012, "51": .015, "50": .02, "54": .05, "63": .045, "64": .04,
             "62": .035, "15": .04, "36": .04, "23": .035, "14": .035, "46": .04, "22": .03}
OUT_RATE_DEFAULT = .025
_PULL = {"11": 8, "31": 8, "33": 2, "32": 1.6, "44": 1.6, "51": 1.5, "12": 1.3, "42": 1.2}
_TIER_PULL = {"tertiary": 10.0, "secondary": 1.0}
# Size assumed for a hospital the registry gives no bed count (the real grade-3A and roster
# hospitals): the demo network's mean size of its tier, so a real hospital pulls patients like a
# synthetic one of the same tier instead of like a 100-bed clinic.
BEDS_IF_UNKNOWN = {"tertiary": 1300.0, "secondary": 320.0}
DISTANCE_DECAY = 1.2
STAY_BY_TIER = np.array([9.8, 8.6, 7.2])  # tertiary, secondary, primary & below
COST_PER_DAY = 1186.5  # yuan, 2022 bulletin
COST_SCALE = 0.80  # brings the mean stay cost to ≈ 10,860 yuan (2022 bulletin)
_COST_TIER = np.array([1.25, .8, .6])
_LEVEL_GIVEN_SURGERY = np.array([[.15, .30, .30, .25], [.30, .40, .25, .05], [.6, .35, .05, 0]])

LOCAL, PREF, PROV, OUT, RETAINED = 0, 1, 2, 3, 4


class Groups:
    """Weighted choice within groups, vectorised: one ``searchsorted`` for a whole chunk.

    Each item's cumulative weight within its group is normalised to (0, 1] and offset by the
    group number, so drawing ``group + u`` (u uniform in [0, 1)) lands on an item of that group.
    """

    def __init__(self, group: np.ndarray, weight: np.ndarray, n_groups: int) -> None:
        keep = (group >= 0) & (weight > 0)
        items = np.flatnonzero(keep)
        order = np.lexsort((items, group[items]))
        self.items = items[order]
        g, w = group[self.items], weight[self.items].astype(float)
        totals = np.bincount(g, weights=w, minlength=n_groups)
        cum = np.cumsum(w)
        start = np.concatenate(([0.0], np.cumsum(totals)))[g]
        self.cum = g + (cum - start) / totals[g]
        last = np.r_[g[1:] != g[:-1], True]
        self.cum[last] = g[last] + 1.0
        self.has = totals > 0

    def sample(self, rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.cum, group + rng.random(len(group)), side="right")
        return self.items[np.minimum(pos, len(self.items) - 1)]


_DIAGNOSIS_GROUPS = Groups(_DIAGNOSIS_SPEC, np.ones(len(DIAGNOSIS_CODES)), len(SPECIALTIES))


def _region_of(province2: str) -> str:
    return "east" if province2 in _EAST else "west" if province2 in _WEST else "central"


def _km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(
        (lon2 - lon1) / 2) ** 2
    return 6371 * 2 * np.arcsin(np.sqrt(a))


@dataclass
class World:
    """Residences, hospitals and the choice structures linking them, built once per run."""

    res_code: np.ndarray
    res_prov: np.ndarray
    res_pref: np.ndarray
    res_cum: np.ndarray
    res_pool: np.ndarray
    population: float
    hosp_code: np.ndarray
    hosp_tier: np.ndarray
    hosp_leaf: np.ndarray
    hosp_prov: np.ndarray
    leaf_code: np.ndarray
    local: Groups
    pref: Groups
    prov: Groups
    dest: Groups
    out_rate: np.ndarray
    eff_year: np.ndarray
    eff_hosp: np.ndarray
    prov_code: np.ndarray

    @classmethod
    def build(cls, regions: pd.DataFrame, hospitals: pd.DataFrame, projects: pd.DataFrame,
              units: pd.DataFrame, *, rows_per_year: float) -> World:
        regions = regions.assign(code=regions["code"].astype(str).str.zfill(6))
        unit = units.set_index("code")
        provs = regions[regions["level"] == "province"].reset_index(drop=True)
        prov_code = provs["code"].str.slice(0, 2).to_numpy()
        prov_idx = {p: i for i, p in enumerate(prov_code)}
        prefs = np.unique(unit["prefecture"].to_numpy().astype(str))
        pref_idx = {p: i for i, p in enumerate(prefs)}

        leaves = regions[regions["leaf"].astype(int) == 1].reset_index(drop=True)
        res_code = leaves["code"].to_numpy()
        res_prov = np.array([prov_idx[c[:2]] for c in res_code])
        prefecture_of = unit["prefecture"].to_dict()
        res_pref = np.array([pref_idx[prefecture_of[c]] for c in res_code])
        rate = np.array([HOSPITALISATION_RATE[_region_of(c[:2])] for c in res_code])
        weight = leaves["population"].fillna(0).to_numpy(float) * rate
        res_cum = np.cumsum(weight) / weight.sum()
        expected = rows_per_year * weight / weight.sum()

        h = hospitals[hospitals["region_code"].astype(str).str.zfill(6).isin(unit.index)]
        h = h.reset_index(drop=True)  # hospitals in unknown divisions cannot be located
        hosp_code = h["code"].astype(str).to_numpy()
        region = h["region_code"].astype(str).str.zfill(6).to_numpy()
        tier_name = h["tier"].astype(str).to_numpy()
        hosp_tier = np.select([tier_name == "tertiary", tier_name == "secondary"], [0, 1], 2)
        beds = pd.to_numeric(h.get("beds", pd.Series(None, index=h.index)), errors="coerce")
        assumed = pd.Series([BEDS_IF_UNKNOWN.get(t, 100.0) for t in tier_name], index=h.index)
        beds = beds.fillna(assumed).clip(lower=10).to_numpy(float)
        leaf_code, hosp_leaf = np.unique(region, return_inverse=True)
        hosp_prov = np.array([prov_idx.get(c[:2], -1) for c in region])
        hosp_pref = np.array([pref_idx.get(prefecture_of.get(c, ""), -1) for c in region])
        res_idx = {c: i for i, c in enumerate(res_code)}
        hosp_res = np.array([res_idx.get(c, -1) for c in region])
        capital = np.array([c[:2] in MUNICIPALITIES or c[2:4] == "01" for c in region])
        pull = beds * np.array([_TIER_PULL.get(t, .2) for t in tier_name]) * np.where(
            capital, 2.5, 1.0)
        tertiary = hosp_tier == 0

        n_prov = len(prov_code)
        mass = np.bincount(hosp_prov[hosp_prov >= 0], weights=pull[hosp_prov >= 0],
                           minlength=n_prov) * np.array([_PULL.get(p, 1.0) for p in prov_code])
        lon, lat = provs["lon"].to_numpy(float), provs["lat"].to_numpy(float)
        dist = _km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
        gravity = mass[None, :] / np.maximum(dist, 150.0) ** DISTANCE_DECAY
        np.fill_diagonal(gravity, 0.0)
        origin = np.repeat(np.arange(n_prov), n_prov)

        eff_year = np.full((n_prov, len(SPECIALTIES)), 10_000, dtype=np.int64)
        eff_hosp = np.full((n_prov, len(SPECIALTIES)), -1, dtype=np.int64)
        code_idx = {c: i for i, c in enumerate(hosp_code)}
        for p in projects.itertuples(index=False):
            year, hosp = getattr(p, "opening_year", None), getattr(p, "project_hospital_code", None)
            prov = prov_idx.get(str(getattr(p, "province_code", ""))[:2])
            if pd.isna(year) or hosp not in code_idx or prov is None:
                continue
            spec = str(p.specialty)
            cols = range(len(SPECIALTIES)) if spec == "comprehensive" else (
                [SPECIALTIES.index(spec)] if spec in SPECIALTIES else [])
            opens = int(year)  # type: ignore[arg-type]  # pd.isna ruled out None above
            for s in cols:
                if opens < eff_year[prov, s]:
                    eff_year[prov, s], eff_hosp[prov, s] = opens, code_idx[hosp]

        return cls(
            res_code=res_code, res_prov=res_prov, res_pref=res_pref, res_cum=res_cum,
            res_pool=np.ceil(expected * 4).astype(np.int64), population=float(
                leaves["population"].fillna(0).sum()),
            hosp_code=hosp_code, hosp_tier=hosp_tier, hosp_leaf=hosp_leaf, hosp_prov=hosp_prov,
            leaf_code=leaf_code,
            local=Groups(np.where(~tertiary, hosp_res, -1), beds, len(res_code)),
            pref=Groups(np.where(tertiary, hosp_pref, -1), beds, len(prefs)),
            prov=Groups(hosp_prov, pull, n_prov),
            dest=Groups(origin, gravity.ravel(), n_prov),
            out_rate=np.array([_OUT_RATE.get(p, OUT_RATE_DEFAULT) for p in prov_code]),
            eff_year=eff_year, eff_hosp=eff_hosp, prov_code=prov_code,
        )

    def sample_residence(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.res_cum, rng.random(n), side="right"),
                          len(self.res_cum) - 1)

    def effect_active(self, residence: np.ndarray, spec: np.ndarray, year: int) -> np.ndarray:
        return self.eff_year[self.res_prov[residence], spec] <= year

    def sample_hospital(self, rng: np.random.Generator, residence: np.ndarray, spec: np.ndarray,
                        year: int, retention: float | np.ndarray,
                        out_scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pick a hospital per discharge: scope first (county / prefecture / province /
        elsewhere), then a hospital within it; programme centres keep part of the outflow.

        ``retention`` (a share, or one per discharge) is what an open centre keeps of those
        who would have left; ``out_scale`` multiplies the chance of leaving (province-year
        shocks, ``synth_truth``)."""
        prov, pref, c = self.res_prov[residence], self.res_pref[residence], COMPLEXITY[spec]
        p_out = self.out_rate[prov] * (0.5 + 1.5 * c)
        if out_scale is not None:
            p_out = np.minimum(p_out * out_scale, 0.9)
        p_local, p_pref = (0.66 - 0.35 * c) * (1 - p_out), (0.22 + 0.10 * c) * (1 - p_out)
        u = rng.random(len(residence))
        scope = np.select([u < p_local, u < p_local + p_pref, u < 1 - p_out],
                          [LOCAL, PREF, PROV], OUT)
        scope[(scope == LOCAL) & ~self.local.has[residence]] = PREF
        scope[(scope == PREF) & ~self.pref.has[pref]] = PROV
        scope[(scope == PROV) & ~self.prov.has[prov]] = OUT
        scope[(scope == OUT) & ~self.dest.has[prov]] = PROV
        hospital = np.zeros(len(residence), dtype=np.int64)
        for kind, groups, key in ((LOCAL, self.local, residence), (PREF, self.pref, pref),
                                  (PROV, self.prov, prov)):
            pick = scope == kind
            hospital[pick] = groups.sample(rng, key[pick])
        out = scope == OUT
        destination = self.dest.sample(rng, prov[out]) % len(self.prov_code)
        hospital[out] = self.prov.sample(rng, destination)
        keep = out & self.effect_active(residence, spec, year) & (
            rng.random(len(residence)) < retention)
        hospital[keep] = self.eff_hosp[prov[keep], spec[keep]]
        scope[keep] = RETAINED
        return hospital, scope


def sample_age_sex(rng: np.random.Generator, spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, sd = _AGE[spec, 0], _AGE[spec, 1]
    age = np.clip(np.rint(rng.normal(mean, np.maximum(sd, 1))), 15, 100)
    child = spec == SPECIALTIES.index("pediatrics")
    age[child] = np.floor(15 * rng.beta(0.8, 2.0, child.sum()))
    obstetric = spec == SPECIALTIES.index("obstetrics_gynecology")
    age[obstetric] = np.clip(age[obstetric], 16, 50)
    sex = np.where(rng.random(len(spec)) < _FEMALE[spec], 2, 1)
    sex[rng.random(len(spec)) < 0.002] = 9
    sex[obstetric] = 2
    return age, sex


def sample_diagnosis(rng: np.random.Generator, spec: np.ndarray) -> np.ndarray:
    return _DIAGNOSIS_GROUPS.sample(rng, spec)


def sample_stay(rng: np.random.Generator, spec: np.ndarray, tier: np.ndarray) -> np.ndarray:
    sigma = 0.55
    mean = STAY_BY_TIER[tier] * _STAY[spec]
    raw = rng.lognormal(np.log(mean) - sigma**2 / 2, sigma)
    return np.maximum(np.rint(raw), 1).astype(np.int64)


def sample_surgery(rng: np.random.Generator, spec: np.ndarray, tier: np.ndarray) -> np.ndarray:
    operated = rng.random(len(spec)) < _SURGERY[spec]
    cum = np.cumsum(_LEVEL_GIVEN_SURGERY[tier], axis=1)
    level = 1 + (rng.random(len(spec))[:, None] > cum).sum(axis=1)
    return np.where(operated, np.minimum(level, 4), 0)


def sample_cost(rng: np.random.Generator, stay: np.ndarray, tier: np.ndarray,
                surgery: np.ndarray) -> np.ndarray:
    noise = rng.lognormal(-0.35**2 / 2, 0.35, len(stay))
    return COST_PER_DAY * stay * _COST_TIER[tier] * (1 + 0.35 * surgery) * noise * COST_SCALE


def sample_admission_route(rng: np.random.Generator, scope: np.ndarray) -> np.ndarray:
    referred = np.array([.02, .06, .10, .22, .15])[scope]
    u = rng.random(len(scope))
    return np.select([u < referred, u < referred + .25, u < referred + .26], [3, 1, 9], 2)


def sample_discharge_route(rng: np.random.Generator, tier: np.ndarray, age: np.ndarray,
                           transfer_factor: np.ndarray) -> np.ndarray:
    transfer = np.array([.01, .03, .04])[tier] * transfer_factor
    death = 0.003 + 0.01 * (age >= 75)
    bounds = np.cumsum(np.stack([transfer, death, np.full(len(tier), .02),
                                 np.full(len(tier), .03), np.full(len(tier), .01)]), axis=0)
    u = rng.random(len(tier))
    return np.select([u < bounds[0], u < bounds[1], u < bounds[2], u < bounds[3],
                      u < bounds[4]], [2, 5, 4, 3, 9], 1)


@dataclass
class Tally:
    """Running calibration figures over the chunks written (for the summary and the tests)."""

    rows: int = 0
    tertiary: int = 0
    cross_province: int = 0
    stay_days: int = 0
    cost: float = 0.0
    out_by_province: np.ndarray = field(default_factory=lambda: np.zeros(0))
    in_by_province: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def add(self, world: World, residence: np.ndarray, hospital: np.ndarray, stay: np.ndarray,
            cost: np.ndarray) -> None:
        n_prov = len(world.prov_code)
        if len(self.out_by_province) == 0:
            self.out_by_province, self.in_by_province = np.zeros(n_prov), np.zeros(n_prov)
        origin, dest = world.res_prov[residence], world.hosp_prov[hospital]
        moved = origin != dest
        self.rows += len(residence)
        self.tertiary += int((world.hosp_tier[hospital] == 0).sum())
        self.cross_province += int(moved.sum())
        self.stay_days += int(stay.sum())
        self.cost += float(cost.sum())
        self.out_by_province += np.bincount(origin[moved], minlength=n_prov)
        self.in_by_province += np.bincount(dest[moved & (dest >= 0)], minlength=n_prov)

    def summary(self, world: World, per_year: dict[int, int]) -> dict[str, object]:
        rows = max(self.rows, 1)
        top = [world.prov_code[i] + "0000" for i in np.argsort(-self.out_by_province)[:4]]
        dest = [world.prov_code[i] + "0000" for i in np.argsort(-self.in_by_province)[:2]]
        full_scale = world.population * 0.18
        return {
            "tertiary_share": round(self.tertiary / rows, 4),
            "cross_province_share": round(self.cross_province / rows, 4),
            "mean_stay_days": round(self.stay_days / rows, 2),
            "mean_cost_yuan": round(self.cost / rows, 1),
            "top_source_provinces": top if self.cross_province else [],
            "top_destination_provinces": dest if self.cross_province else [],
            "sampling_fraction": round(max(per_year.values(), default=0) / full_scale, 6)
            if full_scale else None,
        }

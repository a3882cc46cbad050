"""The one specialty demand every planning answer uses (page, API, CLI, scale checks).

Demand of a unit (county, or county-less city) for one specialty, per year:

1. **flows** — its residents' discharges of that specialty in one year, wherever treated
   (``nrmc.flows.engine.run_demand``), when the workspace holds a patient-flows dataset with
   discharges of that specialty in the units asked for;
2. **population** otherwise — census population × the national hospitalisation rate (17.5 %,
   NHC 2022 bulletin) × that specialty's share of discharges × an age factor from the unit's
   65+ share when the regions carry one (census 2020 columns), else population only.

Mean length of stay comes from the same flows (bed-days ÷ discharges) or else the national
hospital mean (9.2 days, NHC 2022) × the specialty's relative stay. The specialty shares,
relative stays and age profiles are the calibration of the synthetic generator
(``nrmc.flows.synth_model``): estimates, and every answer says so.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...core.enums import Specialty
from ...flows import synth_model
from ...planning.errors import InvalidInput

NATIONAL_RATE = 0.175  # residents' annual hospitalisation rate, NHC 2022 bulletin
NATIONAL_LOS_DAYS = 9.2  # mean stay in hospitals, NHC 2022 bulletin
NATIONAL_65_SHARE = 0.135  # census 2020: 13.50 % aged 65 and over
POPULATION_VINTAGE = "census 2020 (第七次全国人口普查)"
# Columns a regions table may carry with each unit's 65+ share (fraction or percent).
AGE_COLUMNS = ("share_65_plus", "pop_65plus_share", "share_65_plus_pct", "pop_65_plus_share")


@dataclass(frozen=True)
class Demand:
    """Annual admissions of one specialty per unit, and where the figure came from."""

    weights: np.ndarray
    specialty: str
    source: str  # "flows" or "population"
    year: int | None
    population_vintage: str
    age_adjusted: bool
    estimated: bool
    mean_los_days: float
    note_en: str
    note_zh: str
    synthetic: bool = False

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "specialty": self.specialty, "year": self.year,
                "population_vintage": self.population_vintage, "age_adjusted": self.age_adjusted,
                "estimated": self.estimated, "mean_los_days": round(self.mean_los_days, 2),
                "total": float(self.weights.sum()), "note_en": self.note_en,
                "note_zh": self.note_zh, "synthetic": self.synthetic}


def _index(specialty: str) -> int | None:
    if specialty not in {s.value for s in Specialty}:
        raise InvalidInput(f"unknown specialty {specialty!r}; one of "
                           f"{', '.join(s.value for s in Specialty)}")
    if specialty == Specialty.comprehensive.value:
        return None
    if specialty not in synth_model.SPECIALTIES:
        raise InvalidInput(f"no national rate for specialty {specialty!r}")
    return synth_model.SPECIALTIES.index(specialty)


def specialty_share(specialty: str) -> float:
    """Share of all discharges in ``specialty`` (1 for comprehensive)."""
    i = _index(specialty)
    return 1.0 if i is None else float(synth_model.SPECIALTY_MIX[i])


def share_65(specialty: str) -> float:
    """Share of the specialty's patients aged 65 and over (normal age profile)."""
    i = _index(specialty)
    if i is None:
        mix = synth_model.SPECIALTY_MIX
        return float(sum(mix[k] * share_65(s) for k, s in enumerate(synth_model.SPECIALTIES)
                         if s in {x.value for x in Specialty}) / mix.sum())
    mean, sd = synth_model._AGE[i]
    if sd <= 0:
        return 1.0 if mean >= 65 else 0.0
    return float(0.5 * math.erfc((65 - mean) / (sd * math.sqrt(2))))


def relative_stay(specialty: str) -> float:
    i = _index(specialty)
    return 1.0 if i is None else float(synth_model._STAY[i])


def age_shares(units: pd.DataFrame) -> np.ndarray | None:
    """Each unit's 65+ share as a fraction, from the first age column present; None if none."""
    for column in AGE_COLUMNS:
        if column in units.columns:
            s = pd.to_numeric(units[column], errors="coerce").to_numpy(float)
            if np.isnan(s).all():
                continue
            if np.nanmax(s) > 1.0:  # percent
                s = s / 100.0
            return np.where(np.isnan(s), NATIONAL_65_SHARE, s)
    return None


def population_demand(units: pd.DataFrame, specialty: str) -> Demand:
    """Population × national rate × specialty share × age factor (see the module docstring)."""
    population = pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(float)
    rate = NATIONAL_RATE * specialty_share(specialty)
    shares = age_shares(units)
    if shares is not None:
        old = share_65(specialty)
        factor = shares * old / NATIONAL_65_SHARE + (1 - shares) * (1 - old) / (1 - NATIONAL_65_SHARE)
    else:
        factor = np.ones_like(population)
    weights = population * rate * factor
    estimated = bool(units["population_estimated"].astype(bool).any()) \
        if "population_estimated" in units.columns else False
    vintage = POPULATION_VINTAGE + (" — some units estimated" if estimated else "")
    age_en = "age-adjusted by each county's 65+ share" if shares is not None else \
        "not age-adjusted (the regions carry no 65+ share)"
    age_zh = "按各县65岁及以上人口比例调整" if shares is not None else "未按年龄调整（区划表无65岁以上比例）"
    return Demand(
        weights=weights, specialty=specialty, source="population", year=2020,
        population_vintage=vintage, age_adjusted=shares is not None, estimated=True,
        mean_los_days=NATIONAL_LOS_DAYS * relative_stay(specialty),
        note_en=(f"estimated: population ({POPULATION_VINTAGE}) × national hospitalisation rate "
                 f"{NATIONAL_RATE:.1%} (NHC 2022) × {specialty} share {specialty_share(specialty):.1%}, "
                 f"{age_en}"),
        note_zh=(f"估算：人口（2020年第七次人口普查）× 全国住院率{NATIONAL_RATE:.1%}（2022年统计公报）"
                 f"× {Specialty(specialty).label_zh}占比{specialty_share(specialty):.1%}，{age_zh}"))


@dataclass(frozen=True)
class FlowsInput:
    """Where the workspace's discharges are and how to run the engine on them."""

    dataset_dir: Path
    regions: pd.DataFrame
    engine: str = "duckdb"
    spark_master: str = "local[2]"


_CACHE: dict[tuple[str, int, int | None], tuple[pd.DataFrame, int, bool]] = {}
_LOCK = threading.Lock()


def _flows_demand(flows: FlowsInput, year: int | None) -> tuple[pd.DataFrame, int, bool] | None:
    """Demand by region × specialty for ``year`` (default the latest held), cached per dataset
    version, and whether any load of the dataset was synthetic; None when it holds nothing."""
    from ...flows import engine as flows_engine
    from ...flows.store import read_manifest

    manifest = read_manifest(flows.dataset_dir)
    if not manifest.files:
        return None
    years = sorted(manifest.years)
    if year is None:
        year = years[-1]
    elif year not in years:
        raise InvalidInput(f"the flows dataset has no discharges for {year}; years held: "
                           f"{', '.join(map(str, years))}")
    key = (str(flows.dataset_dir), manifest.version, year)
    with _LOCK:
        if key not in _CACHE:
            frame = flows_engine.run_demand(flows.dataset_dir, flows.regions, years=[year],
                                            engine=flows.engine,  # type: ignore[arg-type]
                                            spark_master=flows.spark_master)
            synthetic = any(load.get("source") == "synth" for load in manifest.loads)
            _CACHE[key] = (frame, year, synthetic)
        return _CACHE[key]


def specialty_demand(*, units: pd.DataFrame, specialty: str, flows: FlowsInput | None = None,
                     year: int | None = None, prefer: str = "auto") -> Demand:
    """Demand of ``specialty`` for each row of ``units`` (columns ``code, population`` and
    optionally an age column), from the flows when loaded, else from population.

    ``prefer="population"`` skips the flows. A flows dataset without discharges of that
    specialty in these units falls back to population and says so.
    """
    _index(specialty)
    if prefer not in {"auto", "population", "flows"}:
        raise InvalidInput(f"demand must be auto, flows or population; got {prefer!r}")
    codes = units["code"].astype(str)
    fallback_why_en = fallback_why_zh = ""
    if prefer != "population" and flows is not None:
        found = _flows_demand(flows, year)
        if found is not None:
            frame, used, synthetic = found
            label = Specialty(specialty).label_zh
            if specialty != Specialty.comprehensive.value:
                frame = frame[frame["specialty"] == specialty]
            per = frame.groupby("region")["discharges"].sum()
            weights = codes.map(per).fillna(0.0).to_numpy(float)
            if weights.sum() > 0:
                days = frame[frame["region"].isin(set(codes))]
                los = float(days["bed_days"].sum() / days["discharges"].sum()) \
                    if days["discharges"].sum() else NATIONAL_LOS_DAYS * relative_stay(specialty)
                return Demand(
                    weights=weights, specialty=specialty, source="flows", year=used,
                    population_vintage=POPULATION_VINTAGE, age_adjusted=False, estimated=False,
                    mean_los_days=los, synthetic=synthetic,
                    note_en=(("synthetic " if synthetic else "") + f"residents' {specialty} "
                             f"discharges in {used} by county of residence (flows dataset)"),
                    note_zh=(f"{used}年{label}出院人次，按患者居住县统计（患者流向数据"
                             + ("，合成数据 synthetic）" if synthetic else "）")))
            fallback_why_en = f"; the flows dataset has no {specialty} discharges here in {used}"
            fallback_why_zh = f"；患者流向数据中{used}年此处无该专科出院记录"
        elif prefer == "flows":
            raise InvalidInput("no patient-flows dataset is loaded; demand from flows is unavailable")
    d = population_demand(units, specialty)
    if not d.weights.sum() > 0:
        raise InvalidInput("the selected units have no population")
    if fallback_why_en:
        d = Demand(**{**d.__dict__, "note_en": d.note_en + fallback_why_en,
                      "note_zh": d.note_zh + fallback_why_zh})
    return d

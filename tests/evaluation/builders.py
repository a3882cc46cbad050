"""Synthetic outflow tables with a known effect, for checking the estimators by hand.

Each (province, specialty) cell has a baseline outflow rate, a province trend and a common
year shock; from its cohort year the outflow rate is multiplied by ``1 + effect`` (−0.3: 30%
of the patients who used to leave now stay). Counts are binomial draws, so small cells are
noisy exactly as real ones are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nrmc.evaluation.panel import treatment_timing

SPECIALTIES = ("cardiovascular", "oncology", "neurology", "pediatrics", "respiratory",
               "trauma_orthopedics")


def provinces(n: int) -> list[str]:
    return [f"{11 + i:02d}0000" for i in range(n)]


def synthetic_outflow(
    *,
    effect: float = -0.30,
    years: range = range(2016, 2025),
    n_provinces: int = 30,
    cohorts: tuple[int, ...] = (2020, 2022, 2023, 2024),
    treated_share: float = 0.35,
    seed: int = 7,
    dynamic: bool = False,
    trend_sd: float = 0.02,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(outflow, projects)``: an outflow report and a project table that opens centres.

    With ``dynamic`` the effect phases in (half in the opening year, full after).
    """
    rng = np.random.default_rng(seed)
    rows, projects = [], []
    shocks = {y: rng.normal(0, 0.05) for y in years}
    pid = 0
    for p in provinces(n_provinces):
        trend = rng.normal(0, trend_sd)
        for s in SPECIALTIES:
            size = int(rng.lognormal(8.5, 0.6))
            base_rate = rng.uniform(0.05, 0.35)
            cohort = 0
            if rng.random() < treated_share:
                cohort = int(rng.choice(cohorts))
                pid += 1
                projects.append({"id": pid, "batch": cohorts.index(cohort) + 1,
                                 "province_code": p, "city_code": p[:4] + "01",
                                 "specialty": s, "project_hospital_code": f"H{pid}",
                                 "output_hospital_code": f"O{pid}", "opening_year": cohort})
            for y in years:
                n = int(size * (1.02 ** (y - years[0])))
                log_rate = np.log(base_rate) + trend * (y - years[0]) + shocks[y]
                if cohort and y >= cohort:
                    full = np.log1p(effect)
                    log_rate += full / 2 if dynamic and y == cohort else full
                rate = min(float(np.exp(log_rate)), 0.95)
                out = int(rng.binomial(n, rate))
                rows.append({"region": p, "region_name": p, "year": y, "specialty": s,
                             "discharges": n, "treated_outside": out,
                             "outflow_rate": out / n})
    project_frame = pd.DataFrame(projects, columns=[
        "id", "batch", "province_code", "city_code", "specialty", "project_hospital_code",
        "output_hospital_code", "opening_year"])
    return pd.DataFrame(rows), project_frame.astype({"batch": "Int64", "opening_year": "Int64"})


class FakeFlowSource:
    """A FlowSource over synthetic tables for the real provinces and the roster's cohorts."""

    def __init__(self, projects: pd.DataFrame, *, effect: float = -0.30, seed: int = 5,
                 years: range = range(2016, 2025)) -> None:
        rng = np.random.default_rng(seed)
        provs = sorted({f"{c}0000" for c in (
            "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 "
            "62 63 64 65").split()})
        specialties = sorted(set(SPECIALTIES) | set(projects["specialty"].dropna()))
        specialties = [s for s in specialties if s != "comprehensive"]
        timing = treatment_timing(projects, specialties)
        cohort = dict(zip(zip(timing["province"], timing["specialty"], strict=True),
                          timing["cohort"], strict=True))
        rows, transfers = [], []
        for p in provs:
            for s in specialties:
                size, rate = int(rng.lognormal(8.5, 0.5)), rng.uniform(0.05, 0.3)
                g = int(cohort.get((p, s), 0))
                for y in years:
                    n = int(size * 1.02 ** (y - years[0]))
                    r = rate * (1 + effect if g and y >= g else 1)
                    out = int(rng.binomial(n, r))
                    rows.append({"region": p, "region_name": p, "year": y, "specialty": s,
                                 "discharges": n, "treated_outside": out,
                                 "outflow_rate": out / n})
                    transfers.append({"region": p, "year": y, "specialty": s, "discharges": n,
                                      "transferred_out": int(rng.binomial(n, 0.03))})
        self._outflow, self._transfers = pd.DataFrame(rows), pd.DataFrame(transfers)
        self.years = years

    def outflow(self) -> pd.DataFrame:
        return self._outflow

    def transfers(self) -> pd.DataFrame:
        return self._transfers

    def hospital_level4(self, hospitals: list[str]) -> pd.DataFrame:
        return pd.DataFrame([{"unit": h, "year": y, "surgeries": 1000 + 50 * i,
                              "level4": 100 + 20 * i}
                             for h in hospitals for i, y in enumerate(self.years)])

    def hospital_reach(self, hospitals: list[str]) -> pd.DataFrame:
        return pd.DataFrame([{"hospital_code": h, "year": y, "discharges": 2000,
                              "from_outside_city": 300 + 30 * i, "from_outside_province": 50}
                             for h in hospitals for i, y in enumerate(self.years)])

    def origins(self, city: str, specialty: str, year: int | None) -> pd.DataFrame:
        others = ["620100", "620200", "620300", "410200", "410300"]
        return pd.DataFrame({"origin": [city, *others],
                             "origin_name": ["host", "兰州市", "嘉峪关市", "金昌市", "开封市", "洛阳市"],
                             "discharges": [900, 120, 80, 40, 30, 20]})


class SmallCellSource(FakeFlowSource):
    """A :class:`FakeFlowSource` with cells a published report must withhold.

    The project hospital's grade-4 surgeries: ``level4_2016`` of 40 surgeries in 2016 (a small
    numerator beside a large base), 2 of 7 in 2017 (a small base); 2018 on as in the parent
    (``100 + 20·i`` of ``1000 + 50·i``). Origins of the host city's patients: 900 (host), 兰州市
    120, 嘉峪关市 80, 金昌市 40, then 开封市 and 洛阳市 from ``small_pair`` (30, 3 by default:
    洛阳市 is small, so 开封市 is withheld with it to protect the derivable total).
    """

    def __init__(self, projects: pd.DataFrame, *, level4_2016: int = 3,
                 small_pair: tuple[int, int] = (30, 3)) -> None:
        super().__init__(projects)
        self.level4_2016, self.small_pair = level4_2016, small_pair

    def hospital_level4(self, hospitals: list[str]) -> pd.DataFrame:
        frame = super().hospital_level4(hospitals)
        frame.loc[frame["year"] == 2016, ["surgeries", "level4"]] = [40, self.level4_2016]
        frame.loc[frame["year"] == 2017, ["surgeries", "level4"]] = [7, 2]
        return frame

    def origins(self, city: str, specialty: str, year: int | None) -> pd.DataFrame:
        return pd.DataFrame({"origin": [city, "620100", "620200", "620300", "410200", "410300"],
                             "origin_name": ["host", "兰州市", "嘉峪关市", "金昌市", "开封市", "洛阳市"],
                             "discharges": [900, 120, 80, 40, *self.small_pair]})

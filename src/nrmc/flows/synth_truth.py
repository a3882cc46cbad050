"""The injected truth of the synthetic data: effects that differ by cohort and event time, and
province-year shocks, so recovering it tests the estimator where real data would.

The programme's published average is about −9% outflow ("patients transferred out down"), not
one homogeneous −30%; and outflow moves with whole provinces (a provincial insurance rule, an
epidemic year, a new high-speed line) more than cell by cell. So:

* a centre keeps ``retention(cohort, e)`` of the residents who would have left its province in
  its specialty, ``e`` years after opening: the full share ``FULL_RETENTION[cohort]`` (9% for
  most opening years, **0** for 2022's) builds up as ``min(1, (e + 1) / BUILD_UP_YEARS)`` — a
  third in the opening year, two thirds the next, the full share from the third;
* every province-year has a log shock ``N(0, SHOCK_SD²)`` on its whole outflow (all specialties
  at once), drawn from ``shock_seed``.

The effect on log outflow is ``log(1 − retention)``: the estimand the DiD should recover for a
set of group-time cells is ``Σ_k λ_k log(1 − retention(g_k, t_k − g_k))``
(``true_log_effect``). ``synthetic_outflow_panel`` draws the (province, specialty, year) outflow
counts directly from the same truth, fast enough for a coverage study of hundreds of
replications (``benchmarks/did_coverage.py``); the discharge generator (``synth``) applies it
record by record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

FULL_RETENTION: Mapping[int, float] = {2020: 0.09, 2021: 0.09, 2022: 0.0, 2023: 0.09,
                                       2024: 0.09, 2025: 0.09}
DEFAULT_RETENTION = 0.09
BUILD_UP_YEARS = 3
SHOCK_SD = 0.10


def retention(cohort: int | np.ndarray, year: int | np.ndarray) -> np.ndarray:
    """Share of would-be leavers a centre keeps in ``year`` (0 before opening / never treated).

    ``cohort`` 0 (or ≥ 10000, the generator's "never") means no centre.
    """
    cohort_a = np.asarray(cohort, dtype=np.int64)
    year_a = np.broadcast_to(np.asarray(year, dtype=np.int64), cohort_a.shape)
    full = np.vectorize(lambda g: FULL_RETENTION.get(int(g), DEFAULT_RETENTION),
                        otypes=[float])(cohort_a) if cohort_a.size else np.zeros(0)
    e = year_a - cohort_a
    ramp = np.clip((e + 1) / BUILD_UP_YEARS, 0.0, 1.0)
    active = (cohort_a > 0) & (cohort_a < 10_000) & (e >= 0)
    return np.where(active, full * ramp, 0.0)


def true_log_effect(cohort: int, year: int) -> float:
    """The injected effect on log outflow of a cell of ``cohort`` in ``year``."""
    return math.log1p(-float(retention(cohort, year)))


def province_shocks(provinces: Sequence[str], years: Sequence[int], *, seed: int,
                    sd: float = SHOCK_SD) -> dict[tuple[str, int], float]:
    """A log shock per (province, year), shared by all of the province's specialties."""
    rng = np.random.default_rng([seed, 7919])
    draws = rng.normal(0.0, sd, size=(len(provinces), len(years)))
    return {(p, int(y)): float(draws[i, j]) for i, p in enumerate(provinces)
            for j, y in enumerate(years)}


def synthetic_outflow_panel(
    cohorts: Mapping[tuple[str, str], int],
    *,
    provinces: Sequence[str],
    specialties: Sequence[str],
    years: Sequence[int],
    seed: int,
    shock_sd: float = SHOCK_SD,
    cell_sd: float = 0.05,
) -> pd.DataFrame:
    """(province, specialty, year) discharges and outside discharges under the truth above.

    ``cohorts`` maps (province, specialty) to its opening year (absent = never treated).
    Cell sizes and outflow rates vary like the demo's (log-normal); the outside count is
    Poisson around ``discharges × rate × exp(province-year shock + cell noise) × (1 − retention)``.
    Columns: ``region, specialty, year, discharges, treated_outside, cohort, synthetic``.
    """
    rng = np.random.default_rng(seed)
    shocks = province_shocks(provinces, years, seed=seed, sd=shock_sd)
    rows = []
    for p in provinces:
        level = rng.lognormal(math.log(0.04), 0.5)
        for s in specialties:
            size = rng.lognormal(math.log(4000), 0.9)
            rate = level * rng.lognormal(0.0, 0.4)
            trend = rng.normal(0.0, 0.01)
            g = int(cohorts.get((p, s), 0))
            for j, y in enumerate(years):
                discharges = max(int(rng.poisson(size * (1 + 0.02 * j))), 1)
                mean = (discharges * rate * math.exp(shocks[(p, int(y))] + trend * j
                                                     + rng.normal(0.0, cell_sd))
                        * (1 - float(retention(g, y))))
                rows.append((p, s, int(y), discharges, int(rng.poisson(mean)), g))
    frame = pd.DataFrame(rows, columns=["region", "specialty", "year", "discharges",
                                        "treated_outside", "cohort"])
    frame["synthetic"] = True
    return frame

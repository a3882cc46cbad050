"""Coverage of the programme DiD's 95% intervals against the synthetic truth.

One replication draws a (province, specialty, year) outflow panel from
``nrmc.flows.synth_truth`` with the roster's real treatment structure (the shipped
``nrmc_projects.csv``: each project's province and specialty, comprehensive centres counting
for every specialty, opening year from the batch; cells of projects without a batch and of host
provinces with no rostered project left out, as ``panel.clean_controls`` does), builds the DiD
panel as ``evaluate`` does (``panel.did_panel``),
estimates with ``csdid.did`` clustered by province and records whether each interval — the
analytic cluster-robust one and the wild cluster bootstrap-t one — covers the injected truth
``Σ_k λ_k log(1 − retention_k)`` of the simple aggregate. ``benchmarks/did_coverage.py`` runs
hundreds; the tests run a handful.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from ..flows import synth_model, synth_truth
from .csdid import did
from .panel import did_panel
from .wildboot import bootstrap

YEARS = tuple(range(2018, 2025))
_NON_HOSTS = {"Beijing", "Shanghai", "Tianjin"}  # panel.NON_HOST_PROVINCES by name
BATCH_YEAR = {1: 2020, 2: 2022, 3: 2023, 4: 2023, 5: 2024}
_SPECIALTY = {"tcm": "tcm", "pediatrics": "pediatrics", "oncology": "oncology",
              "neurology": "neurology", "cardiovascular": "cardiovascular",
              "respiratory": "respiratory", "trauma": "trauma_orthopedics",
              "women & children": "obstetrics_gynecology"}


@dataclass(frozen=True)
class Design:
    provinces: tuple[str, ...]
    specialties: tuple[str, ...]
    cohorts: dict[tuple[str, str], int]
    unknown: frozenset[tuple[str, str]]  # cells of projects without a batch: left out

    @property
    def treated_provinces(self) -> int:
        return len({p for p, _ in self.cohorts})


def roster_design() -> Design:
    """The programme's treatment structure from the shipped roster (names as province keys)."""
    data = resources.files("nrmc.data")
    with (data / "province_population_2020.csv").open(encoding="utf-8") as fh:
        provinces = tuple(r["province_en"] for r in csv.DictReader(fh))
    specialties = tuple(synth_model.SPECIALTIES)
    cohorts: dict[tuple[str, str], int] = {}
    unknown: set[tuple[str, str]] = set()
    with (data / "nrmc_projects.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            kind = r["specialty"].strip().lower()
            if kind.startswith("comprehensive"):
                cells = list(specialties)
            else:
                base = kind.split(" (")[0].split("/")[0].strip()
                cells = [_SPECIALTY[base]] if base in _SPECIALTY else []
            province = r["province"].split(" (")[0]  # Xinjiang (XPCC) → Xinjiang
            if province not in provinces:
                continue
            batch = int(r["batch"]) if r["batch"].strip() else None
            for s in cells:
                key = (province, s)
                if batch is None:
                    unknown.add(key)
                    continue
                year = BATCH_YEAR[batch]
                cohorts[key] = min(year, cohorts.get(key, year))
    # host provinces without a rostered project: every cell's timing unknown (panel.clean_controls)
    rostered = {p for p, _ in cohorts} | {p for p, _ in unknown}
    for p in provinces:
        if p not in rostered and p not in _NON_HOSTS:
            unknown.update((p, s) for s in specialties)
    return Design(provinces, specialties, cohorts, frozenset(unknown - set(cohorts)))


@dataclass(frozen=True)
class Replication:
    truth: float
    att: float
    analytic: tuple[float, float]
    boot: tuple[float, float]
    treated_provinces: int

    @property
    def covered_analytic(self) -> bool:
        return self.analytic[0] <= self.truth <= self.analytic[1]

    @property
    def covered_boot(self) -> bool:
        return self.boot[0] <= self.truth <= self.boot[1]


def replicate(design: Design, *, seed: int, draws: int = 999, control: str = "notyet",
              shock_sd: float = synth_truth.SHOCK_SD) -> Replication:
    """One synthetic panel, one estimate, its two intervals and the truth they should cover."""
    outflow = synth_truth.synthetic_outflow_panel(
        design.cohorts, provinces=design.provinces, specialties=design.specialties,
        years=YEARS, seed=seed, shock_sd=shock_sd)
    drop = {f"{p}:{s}" for p, s in design.unknown}
    outflow["unit"] = outflow["region"] + ":" + outflow["specialty"]
    outflow = outflow[~outflow["unit"].isin(drop)].rename(columns={"region": "province"})
    panel = did_panel(outflow)
    res = did(panel, unit="unit", time="year", cohort="cohort", outcome="y",
              cluster="province", weight="weight", control=control,  # type: ignore[arg-type]
              base="universal")
    gt = res.group_time
    true_gt = np.array([synth_truth.true_log_effect(int(g), int(t)) if t >= g else 0.0
                        for g, t in zip(gt["cohort"], gt["year"], strict=True)])
    simple = res.aggregations["simple"]
    boot = bootstrap(res, draws=draws, seed=seed)["simple"]
    assert not isinstance(boot, list)
    return Replication(truth=float(simple.weights @ true_gt), att=simple.att,
                       analytic=(simple.ci_low, simple.ci_high),
                       boot=(boot.ci_low, boot.ci_high), treated_provinces=res.n_treated_clusters)


def coverage_table(reps: list[Replication]) -> pd.DataFrame:
    """Coverage, bias and mean width of both intervals over the replications."""
    att = np.array([r.att for r in reps])
    truth = np.array([r.truth for r in reps])
    out = []
    for name, ci in (("analytic cluster (t, G−1 df)", [r.analytic for r in reps]),
                     ("wild cluster bootstrap-t", [r.boot for r in reps])):
        lo, hi = np.array(ci).T
        out.append({"interval": name, "replications": len(reps),
                    "coverage": float(np.mean((lo <= truth) & (truth <= hi))),
                    "mean_width": float(np.mean(hi - lo)),
                    "bias": float(np.mean(att - truth)), "mean_truth": float(np.mean(truth))})
    return pd.DataFrame(out)

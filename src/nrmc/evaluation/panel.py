"""The (province, specialty, year) panel and its treatment timing, from flows and projects.

A *cell* is the residents of one province needing care in one specialty. Its outcome is the
outflow: how many of those residents' discharges happened in another province
(``treated_outside``), and the rate ``outflow_rate = treated_outside / discharges``. A cell is
*treated* from the first year a programme centre in that province and specialty is open
(``opening_year``; the earliest if several centres share the cell).

The DiD outcome is ``y = log((treated_outside + ½) / discharges)``, the log outflow rate (the
½ keeps the rare zero count finite). Small cells are noisy — the variance of a log count is
about ``1 / count`` — so ``did_panel`` drops cells with fewer than ``min_outflow`` outside
discharges a year before the programme starts and weights each remaining cell by that
pre-programme mean outflow (``weight``). Both are fixed before any centre opens, so neither
can be moved by the treatment. The weighted effect reads "of the patients who used to leave
the province, what share now stay".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OUTFLOW_NEEDED = ("region", "year", "specialty", "discharges", "treated_outside")


def cell_id(province: str, specialty: str) -> str:
    return f"{province}:{specialty}"


COMPREHENSIVE = "comprehensive"


def project_cells(projects: pd.DataFrame, specialties: list[str]) -> pd.DataFrame:
    """One row per (project, cell) it serves: a comprehensive centre serves every specialty.

    A 综合类 centre (e.g. a general hospital's branch) has no single specialty; the synthetic
    generator and this evaluation both count it as treating all of its province's specialties.
    """
    rows = projects[projects["specialty"].notna()].copy()
    wide = rows[rows["specialty"] == COMPREHENSIVE]
    rows = rows[rows["specialty"] != COMPREHENSIVE]
    if len(wide) and specialties:
        expanded = wide.drop(columns="specialty").merge(
            pd.DataFrame({"specialty": list(specialties)}), how="cross")
        rows = pd.concat([rows, expanded[rows.columns]], ignore_index=True)
    rows["unit"] = [cell_id(p, s) for p, s in zip(rows["province_code"], rows["specialty"],
                                                  strict=True)]
    return rows.reset_index(drop=True)


def treatment_timing(projects: pd.DataFrame, specialties: list[str] | None = None) -> pd.DataFrame:
    """First opening year per (province, specialty), with the projects and batches behind it.

    ``projects`` is ``projects.service.project_table``: ``id, batch, province_code, specialty,
    opening_year`` at least. Projects without an opening year are ignored (not yet open);
    comprehensive centres count for every one of ``specialties`` (``project_cells``).
    Columns out: ``province, specialty, unit, cohort, project_ids, batches``.
    """
    open_ = projects.dropna(subset=["opening_year"])
    open_ = project_cells(open_, list(specialties or [])).drop(columns="unit")
    if open_.empty:
        return pd.DataFrame(columns=["province", "specialty", "unit", "cohort", "project_ids",
                                     "batches"])
    grouped = open_.groupby(["province_code", "specialty"], as_index=False).agg(
        cohort=("opening_year", "min"),
        project_ids=("id", lambda s: sorted(int(v) for v in s)),
        batches=("batch", lambda s: sorted({int(v) for v in s.dropna()})),
    )
    grouped = grouped.rename(columns={"province_code": "province"})
    grouped["cohort"] = grouped["cohort"].astype(int)
    grouped.insert(2, "unit", [cell_id(p, s) for p, s in zip(grouped["province"],
                                                             grouped["specialty"], strict=True)])
    return grouped


def outflow_panel(outflow: pd.DataFrame, timing: pd.DataFrame) -> pd.DataFrame:
    """Province × specialty × year outflow with each cell's cohort (0 = no centre yet).

    ``outflow`` is the flows outflow report at province level by specialty (``region, year,
    specialty, discharges, treated_outside``). Columns out: ``unit, province, specialty, year,
    discharges, treated_outside, outflow_rate, cohort``.
    """
    missing = [c for c in OUTFLOW_NEEDED if c not in outflow.columns]
    if missing:
        raise ValueError(f"outflow table lacks {missing}")
    frame = outflow.loc[outflow["specialty"].notna(), list(OUTFLOW_NEEDED)].rename(
        columns={"region": "province"})
    frame = frame.astype({"year": int, "discharges": float, "treated_outside": float})
    frame.insert(0, "unit", [cell_id(p, s) for p, s in zip(frame["province"],
                                                           frame["specialty"], strict=True)])
    cohort = dict(zip(timing["unit"], timing["cohort"], strict=True)) if len(timing) else {}
    frame["outflow_rate"] = frame["treated_outside"] / frame["discharges"]
    frame["cohort"] = frame["unit"].map(cohort).fillna(0).astype(int)
    return frame.sort_values(["unit", "year"]).reset_index(drop=True)


def did_panel(panel: pd.DataFrame, *, min_outflow: float = 20.0) -> pd.DataFrame:
    """Add the DiD outcome ``y`` and the fixed ``weight``; drop cells too small to read.

    The pre-programme period is every year before the first cohort in the panel (or the first
    year when every cell is untreated). ``weight`` = the cell's mean ``treated_outside`` then;
    cells with ``weight < min_outflow`` are dropped.
    """
    cohorts = panel.loc[panel["cohort"] > 0, "cohort"]
    first_open = int(cohorts.min()) if len(cohorts) else int(panel["year"].max()) + 1
    pre = panel[panel["year"] < first_open]
    if pre.empty:
        pre = panel[panel["year"] == panel["year"].min()]
    weight = pre.groupby("unit")["treated_outside"].mean()
    keep = weight[weight >= min_outflow]
    out = panel[panel["unit"].isin(keep.index)].copy()
    out["weight"] = out["unit"].map(keep).astype(float)
    out["y"] = np.log((out["treated_outside"] + 0.5) / out["discharges"])
    return out.reset_index(drop=True)


# Every province hosts programme projects except these three municipalities
# (shared/data/README.md: 125 projects in five batches, "every province except Beijing,
# Shanghai, Tianjin"); the shipped roster has 77 of the 125.
NON_HOST_PROVINCES = frozenset({"110000", "120000", "310000"})


@dataclass(frozen=True)
class CleanControls:
    """What ``clean_controls`` left out of the panel, and why (counts of cells)."""

    unknown_timing_cells: int  # cells of projects with neither a batch nor an opening date
    incomplete_province_cells: int  # cells of host provinces with no project in the roster
    incomplete_provinces: tuple[str, ...]
    unknown_timing_projects: int

    @property
    def dropped_cells(self) -> int:
        return self.unknown_timing_cells + self.incomplete_province_cells

    def describe(self) -> str:
        parts = []
        if self.unknown_timing_cells:
            parts.append(f"{self.unknown_timing_cells} cell(s) of {self.unknown_timing_projects} "
                         "project(s) without a batch or opening date")
        if self.incomplete_province_cells:
            parts.append(f"{self.incomplete_province_cells} cell(s) of "
                         f"{len(self.incomplete_provinces)} province(s) hosting programme "
                         f"projects missing from the roster ({', '.join(self.incomplete_provinces)})")
        return ("left out of the controls: " + "; ".join(parts)) if parts else ""


def clean_controls(panel: pd.DataFrame, projects: pd.DataFrame, specialties: list[str],
                   non_hosts: frozenset[str] = NON_HOST_PROVINCES
                   ) -> tuple[pd.DataFrame, CleanControls]:
    """Drop cells whose treatment timing is unknown instead of coding them never treated.

    * A project with no opening year (no batch, no opening date) treats its cells at an
      unknown time: they can be neither treated nor controls.
    * A province that hosts programme projects (all but ``non_hosts``) yet has none in the
      roster has centres in unknown specialties from unknown years: all its cells go.
    Returns the panel without them and the counts (``CleanControls``).
    """
    unknown = projects[projects["opening_year"].isna()]
    unknown_cells = set(project_cells(unknown, specialties)["unit"]) if len(unknown) else set()
    unknown_cells -= set(panel.loc[panel["cohort"] > 0, "unit"])  # timed by another project
    rostered = set(projects["province_code"].astype(str))
    provinces = set(panel["province"].astype(str))
    incomplete = sorted(p for p in provinces if p not in non_hosts and p not in rostered)
    in_unknown = panel["unit"].isin(unknown_cells)
    in_incomplete = panel["province"].astype(str).isin(incomplete)
    note = CleanControls(
        unknown_timing_cells=int(panel.loc[in_unknown & ~in_incomplete, "unit"].nunique()),
        incomplete_province_cells=int(panel.loc[in_incomplete, "unit"].nunique()),
        incomplete_provinces=tuple(incomplete),
        unknown_timing_projects=len(unknown),
    )
    return panel[~(in_unknown | in_incomplete)].reset_index(drop=True), note

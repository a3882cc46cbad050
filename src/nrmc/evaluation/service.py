"""Evaluate a project, a batch or a province: the numbers every page, report and command shows.

Keyword-only functions with an explicit session (projects come from the registry) and an
injected :class:`~nrmc.evaluation.sources.FlowSource` (flows come from the dataset). The
statistics are ``impact``'s; this module only chooses the rows they run on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from ..core.errors import NotFound
from ..domains.projects import service as projects
from .csdid import InsufficientData as NothingToCompare
from .estimate import MIN_TREATED_PROVINCES, WARN_TREATED_PROVINCES, estimate
from .impact import BeforeAfter, InsufficientData, StaggeredDiD, before_after
from .panel import (
    CleanControls,
    cell_id,
    clean_controls,
    did_panel,
    outflow_panel,
    project_cells,
    treatment_timing,
)
from .sources import FlowSource

MIN_OUTFLOW = 20.0
MIN_TREATED_CLUSTERS = MIN_TREATED_PROVINCES  # fewer treated provinces: province placebo

METRICS = {
    "outflow_rate": "Outflow rate of the host province in the centre's specialty",
    "transfer_rate": "Transfers out by the host province's hospitals in the specialty",
    "level4_share": "Grade-4 surgery share of the project hospital's surgeries",
    "outside_city_share": "Share of the project hospital's patients from outside the host city",
}


@dataclass(frozen=True)
class Evaluation:
    """Everything a report shows about one scope (a project, a batch or a province)."""

    scope: str  # project | batch | province
    key: str
    title: str
    projects: pd.DataFrame = field(repr=False)
    baseline_year: int | None
    opening_year: int | None
    before_after: dict[str, BeforeAfter] = field(repr=False)
    did: StaggeredDiD | None
    did_note: str
    programme_did: StaggeredDiD | None
    n_cells: int
    min_outflow: float
    controls: CleanControls | None = None
    warning: str = ""  # e.g. fewer than 10 treated provinces

    def summary(self) -> dict[str, Any]:
        """The flat record of ``nrmc evaluate … --format json`` (fractions, not percent)."""
        outflow = self.before_after.get("outflow_rate")
        did = self.did
        low, high = did.effect_pct_ci if did else (math.nan, math.nan)
        return {
            "scope": self.scope, "key": self.key, "title": self.title,
            "baseline_year": self.baseline_year, "opening_year": self.opening_year,
            "after_year": outflow.after_year if outflow else None,
            "outflow_before": outflow.before if outflow else None,
            "outflow_after": outflow.after if outflow else None,
            "change_pct": outflow.change_pct if outflow else None,
            "did_estimate": did.effect_pct if did else None,
            "did_ci_low": low if did else None, "did_ci_high": high if did else None,
            "did_log_points": did.att if did else None, "did_se": did.se if did else None,
            "pre_trend_p": did.pre_trend_p if did else None,
            "treated_cells": did.n_treated_units if did else 0,
            "clusters": did.n_clusters if did else 0,
            "treated_provinces": did.treated_clusters if did else 0,
            "did_method": did.method if did else None,
            "did_analytic_ci_low": math.expm1(did.analytic_ci[0]) if did else None,
            "did_analytic_ci_high": math.expm1(did.analytic_ci[1]) if did else None,
            "did_never_treated_estimate": _expm1(did.sensitivity.get("never_att")) if did else None,
            "did_never_treated_ci_low": _expm1(did.sensitivity.get("never_ci_low")) if did else None,
            "did_never_treated_ci_high": (_expm1(did.sensitivity.get("never_ci_high"))
                                          if did else None),
            "did_warning": self.warning,
            "controls_dropped_cells": self.controls.dropped_cells if self.controls else 0,
            "did_note": self.did_note,
        }


def _expm1(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else math.expm1(value)


def _scope_projects(session: Session, scope: str, key: str) -> tuple[pd.DataFrame, str]:
    table = projects.project_table(session=session)
    if scope == "project":
        project = projects.get(session=session, project_id=int(key))
        detail = projects.to_detail(session, project)
        rows = table[table["id"] == int(key)]
        title = f"{detail.project_hospital.name_zh} ({detail.specialty})"
    elif scope == "batch":
        rows = table[table["batch"] == int(key)]
        title = f"Batch {key} (第{key}批) national regional medical centres"
    elif scope == "programme":
        rows = table.dropna(subset=["opening_year"])
        title = "All national regional medical centres with an opening year"
    elif scope == "province":
        rows = table[table["province_code"] == key]
        title = f"Centres in province {key}"
    else:
        raise ValueError(f"scope must be project, batch, province or programme, not {scope!r}")
    if rows.empty:
        raise NotFound(f"no projects for {scope} {key}")
    return rows.reset_index(drop=True), title


@dataclass(frozen=True)
class Shared:
    """What every scope's evaluation reads alike: the flow table, the projects' timing and the
    cleaned province × specialty panel. They depend on the flows dataset and the project
    table only, so a caller evaluating many projects at one data version builds them once
    (``shared_inputs``) instead of once per project."""

    outflow: pd.DataFrame = field(repr=False)
    specialties: list[str]
    table: pd.DataFrame = field(repr=False)  # projects.service.project_table
    years: list[int]
    panel: pd.DataFrame = field(repr=False)  # did_panel after clean_controls
    controls: CleanControls
    min_outflow: float


def shared_inputs(*, session: Session, source: FlowSource,
                  min_outflow: float = MIN_OUTFLOW) -> Shared:
    """The part of ``evaluate`` that is the same for every project (see ``Shared``)."""
    outflow = source.outflow()
    specialties = sorted(str(s) for s in outflow["specialty"].dropna().unique())
    table = projects.project_table(session=session)
    timing = treatment_timing(table, specialties)
    years = sorted(int(y) for y in outflow["year"].unique()) if len(outflow) else []
    full = did_panel(outflow_panel(outflow, timing), min_outflow=min_outflow)
    panel, controls = clean_controls(full, table, specialties)
    return Shared(outflow=outflow, specialties=specialties, table=table, years=years,
                  panel=panel, controls=controls, min_outflow=min_outflow)


def evaluate(
    *,
    session: Session,
    source: FlowSource,
    scope: str,
    key: str | int,
    baseline_year: int | None = None,
    min_outflow: float = MIN_OUTFLOW,
    with_programme: bool = False,
    shared: Shared | None = None,
) -> Evaluation:
    """Before/after on four metrics and the staggered DiD for the scope's cells.

    The baseline defaults to the year before the scope's first opening. The DiD treats only
    the scope's (province, specialty) cells; every other cell is a control until its own
    centre opens (``estimate.estimate``); ``programme_did`` (only ``with_programme``, for
    reports) is the same for all centres. ``shared`` must come from ``shared_inputs`` on the
    same store state and source (the caller keys it on them: ``evaluation.computed``).
    """
    key = str(key)
    rows, title = _scope_projects(session, scope, key)
    opening = rows["opening_year"].dropna()
    opening_year = int(opening.min()) if len(opening) else None
    if shared is None or shared.min_outflow != min_outflow:
        shared = shared_inputs(session=session, source=source, min_outflow=min_outflow)
    outflow, specialties, years = shared.outflow, shared.specialties, shared.years
    panel, controls = shared.panel, shared.controls
    if baseline_year is None and opening_year is not None:
        baseline_year = opening_year - 1
    if baseline_year is None and years:
        baseline_year = years[0]
    if years and baseline_year is not None and baseline_year < years[0]:
        baseline_year = years[0]

    cells = set(project_cells(rows, specialties)["unit"])
    hospitals = sorted(set(rows["project_hospital_code"]))
    results: dict[str, BeforeAfter] = {}

    def add(name: str, frame: pd.DataFrame, numerator: str, denominator: str) -> None:
        if baseline_year is None or frame.empty:
            return
        try:
            results[name] = before_after(frame, metric=name, baseline_year=baseline_year,
                                         numerator=numerator, denominator=denominator)
        except InsufficientData:
            pass

    def in_cells(frame: pd.DataFrame) -> pd.DataFrame:
        ids = [cell_id(p, s) for p, s in zip(frame["region"], frame["specialty"], strict=True)]
        return frame[pd.Series(ids, index=frame.index).isin(cells)]

    add("outflow_rate", in_cells(outflow), "treated_outside", "discharges")
    add("transfer_rate", in_cells(source.transfers()), "transferred_out", "discharges")
    add("level4_share", source.hospital_level4(hospitals), "level4", "surgeries")
    add("outside_city_share", source.hospital_reach(hospitals), "from_outside_city", "discharges")

    did, note = _did(panel, None if scope == "programme" else cells)
    programme = None
    if scope == "programme":
        programme = did
    elif with_programme:
        programme, _ = _did(panel, None)
    warning = ""
    if did is not None and did.treated_clusters < WARN_TREATED_PROVINCES:
        warning = (f"only {did.treated_clusters} treated province(s): with fewer than "
                   f"{WARN_TREATED_PROVINCES} the interval rests on few independent "
                   "comparisons; read it with care (仅有少数省份接受处理，置信区间须谨慎解读)")
    return Evaluation(
        scope=scope, key=key, title=title, projects=rows, baseline_year=baseline_year,
        opening_year=opening_year, before_after=results, did=did, did_note=note,
        programme_did=programme, n_cells=int(panel["unit"].nunique()), min_outflow=min_outflow,
        controls=controls, warning=warning,
    )


def _did(panel: pd.DataFrame, cells: set[str] | None) -> tuple[StaggeredDiD | None, str]:
    if panel.empty:
        return None, "no outflow data"
    if cells is not None:
        present = cells & set(panel["unit"])
        if not present:
            return None, ("the centre's province × specialty cell is not in the panel (no "
                          "flows in that specialty, fewer than the minimum outside discharges "
                          "before the programme, or its timing is unknown)")
        cells = present
    try:
        result = estimate(panel, treated_units=cells)
    except (InsufficientData, NothingToCompare) as exc:
        return None, str(exc)
    note = ""
    if result.inference == "province placebo":
        note = (f"{result.n_treated_units} treated cell(s) in {result.treated_clusters} "
                f"province(s): too few for a cluster bootstrap, so the interval and pre-trend p "
                f"come from {result.placebo_draws} placebo provinces")
    elif result.inference == "none":
        note = (f"{result.n_treated_units} treated cell(s) in {result.treated_clusters} "
                f"province(s) and only {result.placebo_draws} other province(s) to compare "
                "with: no interval is given (a one-province estimate also carries that "
                "province's own year-to-year shocks)")
    return result, note

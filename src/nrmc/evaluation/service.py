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
from .impact import (
    BeforeAfter,
    InsufficientData,
    StaggeredDiD,
    before_after,
    placebo_inference,
    staggered_did,
)
from .panel import cell_id, did_panel, outflow_panel, project_cells, treatment_timing
from .sources import FlowSource

MIN_OUTFLOW = 20.0
MIN_TREATED_CLUSTERS = 6  # fewer treated provinces: placebo inference

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
            "did_note": self.did_note,
        }


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


def evaluate(
    *,
    session: Session,
    source: FlowSource,
    scope: str,
    key: str | int,
    baseline_year: int | None = None,
    min_outflow: float = MIN_OUTFLOW,
    with_programme: bool = False,
) -> Evaluation:
    """Before/after on four metrics and the staggered DiD for the scope's cells.

    The baseline defaults to the year before the scope's first opening. The DiD treats only
    the scope's (province, specialty) cells; every other cell is a control until its own
    centre opens (``impact.staggered_did``); ``programme_did`` (only ``with_programme``, for
    reports) is the same for all centres.
    """
    key = str(key)
    rows, title = _scope_projects(session, scope, key)
    opening = rows["opening_year"].dropna()
    opening_year = int(opening.min()) if len(opening) else None
    outflow = source.outflow()
    specialties = sorted(str(s) for s in outflow["specialty"].dropna().unique())
    timing = treatment_timing(projects.project_table(session=session), specialties)
    years = sorted(int(y) for y in outflow["year"].unique()) if len(outflow) else []
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

    panel = did_panel(outflow_panel(outflow, timing), min_outflow=min_outflow)
    did, note = _did(panel, None if scope == "programme" else cells)
    programme = None
    if scope == "programme":
        programme = did
    elif with_programme:
        programme, _ = _did(panel, None)
    return Evaluation(
        scope=scope, key=key, title=title, projects=rows, baseline_year=baseline_year,
        opening_year=opening_year, before_after=results, did=did, did_note=note,
        programme_did=programme, n_cells=int(panel["unit"].nunique()), min_outflow=min_outflow,
    )


def _did(panel: pd.DataFrame, cells: set[str] | None) -> tuple[StaggeredDiD | None, str]:
    if panel.empty:
        return None, "no outflow data"
    if cells is not None:
        present = cells & set(panel["unit"])
        if not present:
            return None, ("the centre's province × specialty cell is not in the panel (no "
                          "flows in that specialty, or fewer than the minimum outside "
                          "discharges before the programme)")
        cells = present
    try:
        result = staggered_did(panel, weight="weight", treated_units=cells)
    except InsufficientData as exc:
        return None, str(exc)
    note = ""
    treated_provinces = {c.split(":")[0] for c in cells} if cells is not None else set()
    if cells is not None and len(treated_provinces) < MIN_TREATED_CLUSTERS:
        result = placebo_inference(panel, result, treated_units=cells)
        note = (f"{len(cells)} treated cell(s) in {len(treated_provinces)} province(s): too few "
                "for cluster-robust errors, so the interval and pre-trend p come from "
                f"{result.placebo_draws} placebo centres placed in never-treated cells")
    return result, note

"""On synthetic demo flows the estimator recovers the generator's injected effect (cohorts of
−9% or 0 building up over three years, under province-year shocks), and fake opening years
find nothing. Also the CLI and the Jiuquan / Zhengzhou reports on that data."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session

from nrmc.cli import context
from nrmc.domains.projects import service as projects
from nrmc.evaluation.csdid import did
from nrmc.evaluation.estimate import estimate
from nrmc.evaluation.panel import clean_controls, did_panel, outflow_panel, treatment_timing
from nrmc.evaluation.service import MIN_OUTFLOW
from nrmc.evaluation.sources import EngineFlowSource
from nrmc.flows.synth_truth import true_log_effect
from tests.cli_runner import run

from .conftest import DemoWorkspace

JIUQUAN, ZHENGZHOU_CHILDREN = 31, 2


@pytest.fixture(scope="module")
def demo_panel(demo_workspace: DemoWorkspace) -> pd.DataFrame:
    source = EngineFlowSource(demo_workspace.flows_dir, demo_workspace.regions)
    outflow = source.outflow()
    with Session(demo_workspace.engine) as session:
        table = projects.project_table(session=session)
    specialties = sorted(outflow["specialty"].dropna().unique())
    timing = treatment_timing(table, specialties)
    panel = did_panel(outflow_panel(outflow, timing), min_outflow=MIN_OUTFLOW)
    return clean_controls(panel, table, specialties)[0]


def _truth(panel: pd.DataFrame, treated_units: set[str] | None = None) -> float:
    """The injected effect in log points, weighted as the simple aggregate weighs its cells."""
    res = did(panel, unit="unit", time="year", cohort="cohort", outcome="y",
              cluster="province", weight="weight", base="universal", treated_units=treated_units)
    gt = res.group_time
    effects = np.array([true_log_effect(int(g), int(t)) if t >= g else 0.0
                        for g, t in zip(gt["cohort"], gt["year"], strict=True)])
    return float(res.aggregations["simple"].weights @ effects)


def test_injected_effect_is_inside_the_bootstrap_interval(demo_panel: pd.DataFrame) -> None:
    result = estimate(demo_panel)
    truth = _truth(demo_panel)
    assert -0.09 < truth < -0.02  # cohorts of −9% and 0, built up: a few per cent
    assert result.ci_low <= truth <= result.ci_high, (result.att, result.ci_low, result.ci_high)
    assert result.method.endswith(f"{result.n_clusters} provinces")
    # a 1M-row demo leaves ~14 provinces with cells big enough to read (clean controls too)
    assert result.n_clusters >= 10 and result.n_treated_units >= 10
    assert 0 <= result.pre_trend_p <= 1


def test_placebo_opening_years_find_no_effect(demo_panel: pd.DataFrame) -> None:
    """Real centres removed; never-treated cells get fake opening years 2020–2023."""
    untreated = demo_panel[demo_panel["cohort"] == 0].copy()
    units = untreated["unit"].unique()
    rng = np.random.default_rng(2024)
    fake = dict(zip(units, rng.choice([0, 0, 2020, 2021, 2022, 2023], size=len(units)),
                    strict=True))
    untreated["cohort"] = untreated["unit"].map(fake)
    result = estimate(untreated)
    assert result.ci_low <= 0 <= result.ci_high, (result.effect_pct, result.effect_pct_ci)
    assert abs(result.effect_pct) < 0.10


@pytest.fixture
def demo_env(demo_workspace: DemoWorkspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NRMC_HOME", str(demo_workspace.home))
    monkeypatch.setenv("NRMC_DATABASE_URL", demo_workspace.url)
    context.reset()
    yield
    context.reset()


def test_one_province_without_enough_placebo_provinces_gets_no_interval(demo_env: None) -> None:
    """Zhengzhou children's: pediatrics is treated (or comprehensive centres treat every
    specialty) in most provinces of a 1M-row demo, so few provinces are left to place a placebo
    on; a one-province bootstrap would be degenerate, so no interval is published."""
    result = run("evaluate", "project", str(ZHENGZHOU_CHILDREN), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["baseline_year"] == 2019
    assert data["outflow_before"] > 0 and data["outflow_after"] > 0
    assert data["did_estimate"] is not None and data["treated_provinces"] == 1
    assert data["did_ci_low"] is None and data["did_ci_high"] is None
    assert data["did_method"].startswith("no interval: only ")
    assert "no interval is given" in data["did_note"]
    assert data["did_warning"].startswith("only 1 treated province")


@pytest.mark.parametrize("project_id", [JIUQUAN, ZHENGZHOU_CHILDREN])
def test_demo_reports_render_with_titled_sourced_charts(demo_env: None, tmp_path,
                                                        project_id: int) -> None:
    out = tmp_path / f"project-{project_id}.html"
    result = run("report", "project", str(project_id), "--out", str(out), "--no-pdf")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    # at least: outflow before/after, the programme event study, the origins map
    assert len(svgs) >= 3
    assert all("Source:" in svg and "<title>" not in svg for svg in svgs)
    assert "No origin data" not in html and "Methods" in html
    headline = re.search(r"changed by\s+<strong>([-+0-9.]+)%", html)
    if project_id == ZHENGZHOU_CHILDREN:  # a big cell: its own DiD and event study
        assert headline and not math.isnan(float(headline.group(1)))
        assert html.count("Event study:") >= 2
    else:  # Gansu's cells are small in a 1M-row demo: the report says why there is no DiD
        assert headline or "No difference-in-differences estimate" in html

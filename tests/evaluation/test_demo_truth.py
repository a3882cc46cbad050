"""On synthetic demo flows the estimator recovers the generator's injected effect, and fake
opening years find nothing. Also the CLI and the Jiuquan / Zhengzhou reports on that data."""

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
from nrmc.evaluation.impact import staggered_did
from nrmc.evaluation.panel import did_panel, outflow_panel, treatment_timing
from nrmc.evaluation.service import MIN_OUTFLOW
from nrmc.evaluation.sources import EngineFlowSource
from tests.cli_runner import run

from .conftest import DemoWorkspace

JIUQUAN, ZHENGZHOU_CHILDREN = 31, 2


@pytest.fixture(scope="module")
def demo_panel(demo_workspace: DemoWorkspace) -> pd.DataFrame:
    source = EngineFlowSource(demo_workspace.flows_dir, demo_workspace.regions)
    outflow = source.outflow()
    with Session(demo_workspace.engine) as session:
        table = projects.project_table(session=session)
    timing = treatment_timing(table, sorted(outflow["specialty"].dropna().unique()))
    return did_panel(outflow_panel(outflow, timing), min_outflow=MIN_OUTFLOW)


def test_injected_thirty_percent_fall_is_inside_the_95_percent_interval(
    demo_panel: pd.DataFrame, demo_workspace: DemoWorkspace
) -> None:
    result = staggered_did(demo_panel, weight="weight")
    truth = -demo_workspace.retention  # outflow × (1 − retention)
    low, high = result.effect_pct_ci
    assert low <= truth <= high, (result.effect_pct, low, high)
    assert high < 0
    assert result.n_clusters >= 15 and result.n_treated_units >= 20
    assert 0 <= result.pre_trend_p <= 1


def test_placebo_opening_years_find_no_effect(demo_panel: pd.DataFrame) -> None:
    """Real centres removed; never-treated cells get fake opening years 2020–2023."""
    untreated = demo_panel[demo_panel["cohort"] == 0].copy()
    units = untreated["unit"].unique()
    rng = np.random.default_rng(2024)
    fake = dict(zip(units, rng.choice([0, 0, 2020, 2021, 2022, 2023], size=len(units)),
                    strict=True))
    untreated["cohort"] = untreated["unit"].map(fake)
    result = staggered_did(untreated, weight="weight")
    assert result.ci_low <= 0 <= result.ci_high, (result.effect_pct, result.effect_pct_ci)
    assert abs(result.effect_pct) < 0.10


@pytest.fixture
def demo_env(demo_workspace: DemoWorkspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NRMC_HOME", str(demo_workspace.home))
    monkeypatch.setenv("NRMC_DATABASE_URL", demo_workspace.url)
    context.reset()
    yield
    context.reset()


def test_evaluate_project_json_on_demo_flows(demo_env: None) -> None:
    result = run("evaluate", "project", str(ZHENGZHOU_CHILDREN), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"baseline_year", "outflow_before", "outflow_after", "change_pct", "did_estimate",
            "did_ci_low", "did_ci_high", "pre_trend_p"} <= set(data)
    assert data["baseline_year"] == 2019
    assert data["outflow_after"] < data["outflow_before"]
    assert data["did_ci_low"] <= data["did_estimate"] <= data["did_ci_high"]
    assert data["did_ci_low"] <= -0.30 <= data["did_ci_high"]  # one cell: a wide interval


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

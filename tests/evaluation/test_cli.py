"""`nrmc evaluate` and `nrmc report` as a user types them (flows replaced by a fake source)."""

from __future__ import annotations

import re

import pytest

from nrmc.cli import evaluate
from nrmc.domains.projects import service as projects
from tests.cli_runner import run, run_json

from .builders import FakeFlowSource, SmallCellSource

KEYS = {"baseline_year", "outflow_before", "outflow_after", "change_pct", "did_estimate",
        "did_ci_low", "did_ci_high", "pre_trend_p"}


@pytest.fixture
def fake_flows(nrmc_env, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(evaluate, "flow_source",
                        lambda session: FakeFlowSource(projects.project_table(session=session)))
    return nrmc_env


def test_evaluate_project_json_has_the_documented_keys(fake_flows) -> None:
    data = run_json("evaluate", "project", "2")
    assert KEYS <= set(data)
    assert data["baseline_year"] == 2019
    assert data["did_ci_low"] <= data["did_estimate"] <= data["did_ci_high"]


def test_evaluate_unknown_project_exits_with_not_found(fake_flows) -> None:
    result = run("evaluate", "project", "9999")
    assert result.exit_code == 3
    assert "no project with id 9999" in result.output


def test_report_batch_writes_html(fake_flows, tmp_path) -> None:
    out = tmp_path / "batch1.html"
    result = run("report", "batch", "1", "--out", str(out), "--no-pdf")
    assert result.exit_code == 0, result.output
    assert "<svg" in out.read_text(encoding="utf-8")


@pytest.fixture
def small_cell_flows(nrmc_env, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(evaluate, "flow_source",
                        lambda session: SmallCellSource(projects.project_table(session=session)))
    return nrmc_env


def _origin_cells(html: str, name: str) -> str:
    match = re.search(rf"<tr><td>{name}</td>(.*?)</tr>", html)
    assert match, name
    return re.sub(r"<[^>]+>", "|", match.group(1))


def test_report_withholds_small_counts_at_the_configured_threshold(
    small_cell_flows, tmp_path
) -> None:
    out = tmp_path / "p2.html"
    assert run("report", "project", "2", "--out", str(out), "--no-pdf").exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert "|3|" not in _origin_cells(html, "洛阳市") and "&lt;10" in _origin_cells(html, "洛阳市")
    assert "|120|" in _origin_cells(html, "兰州市")
    assert "NRMC_MIN_CELL_SIZE = 10" in html


def test_report_threshold_comes_from_nrmc_min_cell_size(
    small_cell_flows, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NRMC_MIN_CELL_SIZE", "1")
    out = tmp_path / "p2.html"
    assert run("report", "project", "2", "--out", str(out), "--no-pdf").exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert "|3|" in _origin_cells(html, "洛阳市") and "&lt;" not in _origin_cells(html, "洛阳市")
    assert "No small-cell suppression (NRMC_MIN_CELL_SIZE = 1)" in html

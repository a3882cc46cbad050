"""Evaluating a project or a batch from the registry, and the report a reader gets."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from nrmc.core.errors import NotFound
from nrmc.domains.projects import service as projects
from nrmc.domains.regions import service as regions
from nrmc.evaluation.reports import build_report, write_report
from nrmc.evaluation.service import evaluate

from .builders import FakeFlowSource

SUMMARY_KEYS = {"baseline_year", "outflow_before", "outflow_after", "change_pct", "did_estimate",
                "did_ci_low", "did_ci_high", "pre_trend_p"}


@pytest.fixture
def source(db: Session) -> FakeFlowSource:
    return FakeFlowSource(projects.project_table(session=db))


def _pediatrics_project(db: Session) -> int:
    table = projects.project_table(session=db)
    row = table[(table["specialty"] == "pediatrics") & (table["opening_year"] == 2020)].iloc[0]
    return int(row["id"])


def test_project_evaluation_has_the_cli_keys_and_recovers_the_injected_fall(
    db: Session, source: FakeFlowSource
) -> None:
    ev = evaluate(session=db, source=source, scope="project", key=_pediatrics_project(db),
                  with_programme=True)
    summary = ev.summary()
    assert SUMMARY_KEYS <= set(summary)
    assert summary["baseline_year"] == 2019
    assert summary["change_pct"] < -0.15
    assert ev.programme_did is not None
    low, high = ev.programme_did.effect_pct_ci
    assert low <= -0.30 <= high


def test_batch_evaluation_pools_its_centres(db: Session, source: FakeFlowSource) -> None:
    ev = evaluate(session=db, source=source, scope="batch", key=2)
    assert ev.baseline_year == 2021
    assert set(ev.projects["batch"]) == {2}
    assert ev.did is not None and ev.did.n_treated_units >= 1


def test_unknown_batch_is_not_found(db: Session, source: FakeFlowSource) -> None:
    with pytest.raises(NotFound):
        evaluate(session=db, source=source, scope="batch", key=9)


def test_report_is_self_contained_and_every_chart_has_title_units_and_source(
    db: Session, source: FakeFlowSource, tmp_path
) -> None:
    report = build_report(session=db, source=source, regions=regions.region_table(session=db),
                          scope="project", key=_pediatrics_project(db),
                          dataset_label="synthetic test flows")
    html = report.html
    assert "<?xml" not in html and "<metadata>" not in html
    assert not re.search(r'(src|href)="https?:', html)  # nothing fetched: self-contained
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) >= 5
    for svg in svgs:
        assert "Source:" in svg
        assert "%" in svg or "°" in svg  # axis units
    for heading in ("Key performance indicators", "Before and after", "Difference-in-differences",
                    "Where the centre", "Methods"):
        assert heading in html
    written = write_report(html, tmp_path / "r.html")
    assert written == [tmp_path / "r.html"] and written[0].read_text(encoding="utf-8") == html


def test_province_and_programme_scopes(db: Session, source: FakeFlowSource) -> None:
    henan = evaluate(session=db, source=source, scope="province", key="410000")
    assert set(henan.projects["province_code"]) == {"410000"}
    programme = evaluate(session=db, source=source, scope="programme", key="all")
    assert programme.did is not None and programme.did.inference == "cluster"
    low, high = programme.did.effect_pct_ci
    assert low <= -0.30 <= high

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

from .builders import FakeFlowSource, SmallCellSource

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
                          min_cell=10, dataset_label="synthetic test flows")
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
    assert programme.did is not None and programme.did.inference == "wild bootstrap"
    assert programme.did.method.startswith("wild cluster bootstrap (rademacher weights), 999 draws")
    low, high = programme.did.effect_pct_ci
    assert low <= -0.30 <= high


# --------------------------------------------------------------------------- small cells


def _small_cell_report(db: Session, min_cell: int, **small: object) -> str:
    source = SmallCellSource(projects.project_table(session=db), **small)  # type: ignore[arg-type]
    return build_report(session=db, source=source, regions=regions.region_table(session=db),
                        scope="project", key=_pediatrics_project(db), min_cell=min_cell,
                        dataset_label="synthetic test flows").html


def _level4_rows(html: str) -> dict[int, str]:
    """The grade-4 before/after table's rows by year (the raw HTML of each row)."""
    section = html[html.index("<h3>Grade-4 surgery share"):]
    table = section[:section.index("</table>")]
    return {int(y): row for y, row in re.findall(r"<tr><td>(\d{4})</td>(.*?)</tr>", table, re.S)}


def _origin_row(html: str, name: str) -> str:
    match = re.search(rf"<tr><td>{name}</td>(.*?)</tr>", html)
    assert match, name
    return match.group(1)


def _cells(row: str) -> list[str]:
    """Text of a row's cells, tags stripped."""
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]


def test_report_withholds_small_counts_marks_them_and_explains_the_rule(db: Session) -> None:
    html = _small_cell_report(db, 10)
    rows = _level4_rows(html)
    # 2016: 3 of 40 surgeries – the 3 and its share (7.5%) go, the 40 stays
    assert "&lt;10 / 40" in _cells(rows[2016])[1] and "7.5%" not in rows[2016]
    assert _cells(rows[2016])[0] == "—"
    # 2017: 2 of 7 – the whole year goes
    assert _cells(rows[2017])[:2] == ["—", "&lt;10 / &lt;10"] and "28.6%" not in rows[2017]
    # 2018 is published, but not its change from 2017 (it would give 2017's share back)
    assert _cells(rows[2018])[:2] == ["12.7%", "140 / 1,100"] and _cells(rows[2018])[-1] == "—"
    # origins: 洛阳市's 3 goes, and 开封市's 30 with it (the total is derivable from the shares)
    assert _cells(_origin_row(html, "洛阳市")) == ["&lt;10", "—"]  # not 3, 0.3%
    assert _cells(_origin_row(html, "开封市")) == ["—", "—"]  # not 30, 2.6%; nor "<10": untrue
    assert "open circles: fewer than 10 discharges (withheld)" in html
    assert "years resting on fewer than 10 cases not plotted" in html
    assert 'class="withheld"' in html
    assert "小数保护" in html and "Small-cell suppression: counts of 1–9" in html
    assert "NRMC_MIN_CELL_SIZE = 10" in html


def test_report_prints_large_cells_exactly(db: Session) -> None:
    html = _small_cell_report(db, 10)
    assert _cells(_level4_rows(html)[2019])[:2] == ["13.9%", "160 / 1,150"]
    assert _cells(_origin_row(html, "兰州市")) == ["120", "10.2%"]
    assert _cells(_origin_row(html, "金昌市")) == ["40", "3.4%"]
    assert "23.3% of the host city" in html  # 273 of 1,173 from other prefectures


def test_report_does_not_depend_on_the_values_it_withholds(db: Session) -> None:
    # a different small grade-4 count, and a different split of the two withheld origins
    first = _small_cell_report(db, 10)
    other = _small_cell_report(db, 10, level4_2016=6, small_pair=(28, 5))
    assert first == other  # tables, KPIs and the SVG charts alike
    assert (_small_cell_report(db, 1)
            != _small_cell_report(db, 1, level4_2016=6, small_pair=(28, 5)))


def test_report_threshold_one_shows_every_count(db: Session) -> None:
    html = _small_cell_report(db, 1)
    rows = _level4_rows(html)
    assert _cells(rows[2016])[:2] == ["7.5%", "3 / 40"]
    assert _cells(rows[2017])[:2] == ["28.6%", "2 / 7"]
    assert _cells(_origin_row(html, "洛阳市")) == ["3", "0.3%"]
    assert 'class="withheld"' not in html and "&lt;1" not in html
    assert "No small-cell suppression (NRMC_MIN_CELL_SIZE = 1)" in html


def test_report_threshold_follows_min_cell(db: Session) -> None:
    html = _small_cell_report(db, 50)
    assert _cells(_level4_rows(html)[2016])[:2] == ["—", "&lt;50 / &lt;50"]
    assert _cells(_origin_row(html, "金昌市")) == ["&lt;50", "—"]
    assert _cells(_origin_row(html, "兰州市")) == ["120", "10.2%"]
    assert "NRMC_MIN_CELL_SIZE = 50" in html and "&lt;10" not in html


# --------------------------------------------------------------------------- inference shown


def test_project_report_and_page_state_method_sensitivity_warning_and_clean_controls(
    db: Session, source: FakeFlowSource
) -> None:
    from nrmc.web.evaluation import to_out

    ev = evaluate(session=db, source=source, scope="project", key=_pediatrics_project(db))
    assert ev.did is not None
    summary = ev.summary()
    assert summary["did_method"].startswith("block-permutation placebo over whole provinces")
    assert summary["treated_provinces"] == 1
    assert ev.warning.startswith("only 1 treated province")
    assert summary["did_never_treated_estimate"] is not None
    # the roster has no project in three host provinces (Hunan, Zhejiang, Tibet): left out
    assert ev.controls is not None
    assert set(ev.controls.incomplete_provinces) == {"330000", "430000", "540000"}
    assert ev.controls.unknown_timing_projects > 0
    out = to_out(ev, 10)
    assert out.did_method == summary["did_method"] and out.did_warning == ev.warning
    assert "missing from the roster" in out.controls_note
    html = build_report(session=db, source=source, regions=regions.region_table(session=db),
                        scope="project", key=_pediatrics_project(db), min_cell=10).html
    assert "Inference 推断方法: block-permutation placebo" in html
    assert "never-treated cells only as controls" in html and "Warning 提示" in html
    assert "missing from the roster (330000, 430000, 540000)" in html


def test_programme_uses_the_wild_cluster_bootstrap_with_its_method_line(
    db: Session, source: FakeFlowSource
) -> None:
    ev = evaluate(session=db, source=source, scope="programme", key="all")
    assert ev.did is not None and ev.did.method == (
        f"wild cluster bootstrap (rademacher weights), 999 draws, {ev.did.n_clusters} provinces")
    assert ev.did.ci_low < ev.did.analytic_ci[0] or ev.did.ci_high > ev.did.analytic_ci[1]


def test_a_withheld_indicator_says_which_count_was_small_and_when(db: Session) -> None:
    """Grade-4 share against 2017 (2 of 7 surgeries): withheld, and the report says why."""
    source = SmallCellSource(projects.project_table(session=db))
    html = build_report(session=db, source=source, regions=regions.region_table(session=db),
                        scope="project", key=_pediatrics_project(db), min_cell=10,
                        baseline_year=2017).html
    assert ("Headline withheld 不公布原因: fewer than 10 手术 surgeries / 四级手术 grade-4 "
            "surgeries in 2017 (baseline 基线)") in html
    assert "/ 7" not in html.split("Headline withheld")[1][:200]  # the reason gives no count
    # an indicator whose counts allow it is shown, with no reason
    html = _small_cell_report(db, 10)
    assert "Headline withheld" not in html.split("<h3>Grade-4 surgery share")[1].split("<h3>")[0]

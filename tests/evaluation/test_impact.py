"""The staggered DiD recovers a known effect, finds none where there is none, and the
before/after table pools rates the way the report says it does."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nrmc.evaluation.impact import (
    InsufficientData,
    _points,
    _wide,
    before_after,
    placebo_inference,
    staggered_did,
)
from nrmc.evaluation.panel import did_panel, outflow_panel, treatment_timing

from .builders import synthetic_outflow


def _panel(**kwargs: object) -> pd.DataFrame:
    outflow, projects = synthetic_outflow(**kwargs)  # type: ignore[arg-type]
    return did_panel(outflow_panel(outflow, treatment_timing(projects)))


def test_known_thirty_percent_fall_is_inside_the_interval() -> None:
    result = staggered_did(_panel(), weight="weight")
    low, high = result.effect_pct_ci
    assert low <= -0.30 <= high
    assert high < 0  # and the effect is detected
    assert result.pre_trend_p > 0.05
    assert result.n_clusters == 30


def test_no_effect_gives_an_interval_around_zero() -> None:
    result = staggered_did(_panel(effect=0.0, seed=11), weight="weight")
    assert result.ci_low <= 0 <= result.ci_high


def test_event_study_is_flat_before_and_down_after_opening() -> None:
    result = staggered_did(_panel(dynamic=True), weight="weight")
    es = result.event_study.set_index("event_time")
    assert es.loc[-1, "estimate"] == 0 and math.isnan(es.loc[-1, "se"])
    pre = es[es.index <= -2]
    assert (pre["ci_low"] <= 0).all() and (pre["ci_high"] >= 0).all()
    # phased in: half the log effect at opening, the full effect afterwards
    assert es.loc[0, "estimate"] == pytest.approx(np.log(0.7) / 2, abs=0.06)
    assert es.loc[2, "estimate"] == pytest.approx(np.log(0.7), abs=0.06)


def test_group_time_effect_equals_the_two_by_two_difference_of_weighted_means() -> None:
    panel = _panel()
    result = staggered_did(panel, weight="weight")
    row = result.group_time.query("cohort == 2022 and year == 2023").iloc[0]
    wide = panel.pivot_table(index="unit", columns="year", values="y")
    info = panel.groupby("unit")[["cohort", "weight"]].first()
    dy = wide[2023] - wide[2021]
    treated = info.index[info["cohort"] == 2022]
    control = info.index[(info["cohort"] == 0) | (info["cohort"] > 2023)]
    expected = np.average(dy[treated], weights=info.loc[treated, "weight"]) - np.average(
        dy[control], weights=info.loc[control, "weight"])
    assert row["att"] == pytest.approx(expected, abs=1e-10)


def test_already_treated_cells_never_serve_as_controls() -> None:
    result = staggered_did(_panel(), weight="weight")
    gt = result.group_time
    # in 2024 only never-treated cells are left as controls
    n_never = gt.query("year == 2024")["control_units"].unique()
    assert len(n_never) == 1
    assert (gt.query("year == 2021 and cohort == 2022")["control_units"]
            > n_never[0]).all()


def test_restricting_treated_units_to_one_cell_keeps_others_as_not_yet_treated_controls() -> None:
    panel = _panel()
    unit = panel.loc[panel["cohort"] == 2023, "unit"].iloc[0]
    result = staggered_did(panel, weight="weight", treated_units={unit})
    assert result.n_treated_units == 1
    assert set(result.group_time["cohort"]) == {2023}
    assert result.ci_low < result.att < result.ci_high


def test_placebo_opening_years_on_untreated_cells_find_nothing() -> None:
    panel = _panel()
    untreated = panel[panel["cohort"] == 0].copy()
    rng = np.random.default_rng(3)
    units = untreated["unit"].unique()
    fake = dict(zip(units, rng.choice([0, 2020, 2022, 2023], size=len(units)), strict=True))
    untreated["cohort"] = untreated["unit"].map(fake)
    result = staggered_did(untreated, weight="weight")
    assert result.ci_low <= 0 <= result.ci_high


def test_no_controls_is_refused_with_a_named_error() -> None:
    panel = _panel(treated_share=1.0, cohorts=(2020,))
    with pytest.raises(InsufficientData):
        staggered_did(panel, weight="weight")


def test_before_after_pools_rates_and_computes_year_on_year_change() -> None:
    frame = pd.DataFrame({
        "year": [2019, 2019, 2020, 2020, 2021],
        "out": [10, 30, 20, 10, 18], "n": [100, 100, 100, 100, 100],
    })
    result = before_after(frame, metric="outflow", baseline_year=2019, numerator="out",
                          denominator="n")
    table = result.table.set_index("year")
    assert table.loc[2019, "value"] == pytest.approx(0.20)
    assert table.loc[2020, "value"] == pytest.approx(0.15)
    assert table.loc[2021, "change_pct"] == pytest.approx(0.18 / 0.20 - 1)
    assert table.loc[2021, "yoy_change_pct"] == pytest.approx(0.18 / 0.15 - 1)
    assert math.isnan(table.loc[2019, "yoy_change"])
    assert (result.before, result.after, result.after_year) == (0.2, 0.18, 2021)


def test_before_after_without_the_baseline_year_says_so() -> None:
    frame = pd.DataFrame({"year": [2020], "out": [1]})
    with pytest.raises(InsufficientData, match="2019"):
        before_after(frame, metric="x", baseline_year=2019, numerator="out")


def test_one_treated_cell_gets_a_placebo_interval_not_a_degenerate_cluster_one() -> None:
    panel = _panel()
    units = panel.loc[panel["cohort"] > 0, "unit"].unique()[:8]
    covered = 0
    for unit in units:
        clustered = staggered_did(panel, weight="weight", treated_units={unit})
        placebo = placebo_inference(panel, clustered, treated_units={unit})
        assert placebo.inference == "placebo" and placebo.placebo_draws >= 50
        assert placebo.att == clustered.att
        assert placebo.ci_high - placebo.ci_low > 3 * (clustered.ci_high - clustered.ci_low)
        assert 0 < placebo.pre_trend_p <= 1
        covered += placebo.ci_low <= np.log(0.7) <= placebo.ci_high
    assert covered >= 6


def test_fast_point_estimates_equal_the_regression_coefficients() -> None:
    panel = _panel()
    wide, cohorts, w = _wide(panel, "y", "weight")
    treated = {u: int(g) for u, g in cohorts.items() if g > 0}
    assert _points(wide, cohorts, w, treated, 3)[0] == pytest.approx(
        staggered_did(panel, weight="weight").att, abs=1e-12)

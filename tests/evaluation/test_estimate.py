"""The evaluation's DiD: clean controls, wild bootstrap by province, whole-province placebos,
the never-treated sensitivity and the few-provinces warning."""

from __future__ import annotations

import pandas as pd
import pytest

from nrmc.evaluation.estimate import estimate
from nrmc.evaluation.panel import clean_controls, did_panel, outflow_panel, treatment_timing

from .builders import SPECIALTIES, synthetic_outflow


def _panel(**kwargs: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    outflow, projects = synthetic_outflow(**kwargs)  # type: ignore[arg-type]
    return did_panel(outflow_panel(outflow, treatment_timing(projects))), projects


def test_programme_estimate_has_a_bootstrap_interval_and_the_analytic_one_beside_it() -> None:
    panel, _ = _panel()
    res = estimate(panel, draws=499, seed=1)
    assert res.inference == "wild bootstrap"
    assert res.method == "wild cluster bootstrap (rademacher weights), 499 draws, 30 provinces"
    low, high = res.effect_pct_ci
    assert low <= -0.30 <= high
    assert res.ci_low < res.att < res.ci_high
    assert res.analytic_ci[0] < res.att < res.analytic_ci[1]
    assert res.analytic_ci != (res.ci_low, res.ci_high)
    es = res.event_study.set_index("event_time")
    assert es.loc[-1, "estimate"] == 0 and es["ci_low"].drop(-1).notna().all()
    assert 0 <= res.pre_trend_p <= 1


def test_never_treated_controls_are_reported_beside_not_yet_treated_ones() -> None:
    panel, _ = _panel()
    res = estimate(panel, draws=199)
    assert set(res.sensitivity) == {"never_att", "never_ci_low", "never_ci_high"}
    assert res.sensitivity["never_att"] == pytest.approx(res.att, abs=0.05)
    assert res.sensitivity["never_att"] != res.att


def test_one_treated_province_gets_a_whole_province_placebo_with_its_draw_count() -> None:
    panel, _ = _panel()
    province = panel.loc[panel["cohort"] > 0, "province"].iloc[0]
    cells = set(panel.loc[(panel["province"] == province) & (panel["cohort"] > 0), "unit"])
    res = estimate(panel, treated_units=cells, draws=199)
    assert res.inference == "province placebo" and res.treated_clusters == 1
    assert 10 <= res.placebo_draws <= 29  # at most one draw per other province
    assert "block-permutation placebo over whole provinces" in res.method
    assert "distinct" in res.method
    assert res.ci_low < res.att < res.ci_high


def test_cells_of_unknown_timing_and_unrostered_host_provinces_leave_the_controls() -> None:
    panel, projects = _panel()
    untreated = sorted(set(panel.loc[panel["cohort"] == 0, "province"])
                       - set(projects["province_code"]))
    assert untreated, "the builder leaves some provinces without centres"
    unknown = projects.iloc[:1].copy()
    unknown["id"], unknown["opening_year"], unknown["batch"] = 999, pd.NA, pd.NA
    unknown["province_code"] = untreated[0]
    unknown["specialty"] = SPECIALTIES[0]
    table = pd.concat([projects, unknown], ignore_index=True)
    kept, note = clean_controls(panel, table, list(SPECIALTIES),
                                non_hosts=frozenset(untreated[1:]))
    assert note.unknown_timing_cells == 1 and note.unknown_timing_projects == 1
    assert note.incomplete_provinces == ()
    assert f"{untreated[0]}:{SPECIALTIES[0]}" not in set(kept["unit"])
    # now say every province hosts centres: the ones without a rostered project all go
    kept, note = clean_controls(panel, projects, list(SPECIALTIES), non_hosts=frozenset())
    assert set(note.incomplete_provinces) == set(untreated)
    assert not set(kept["province"]) & set(untreated)
    assert note.incomplete_province_cells == panel.loc[
        panel["province"].isin(untreated), "unit"].nunique()
    assert "missing from the roster" in note.describe()

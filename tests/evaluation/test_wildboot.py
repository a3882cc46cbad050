"""Wild cluster bootstrap-t: seeded, analytic interval beside it, Webb weights for few clusters,
and intervals that cover a truth with province-year shocks about as often as they claim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nrmc.evaluation.coverage import coverage_table, replicate, roster_design
from nrmc.evaluation.csdid import did
from nrmc.evaluation.wildboot import bootstrap, draw_weights, method_line


def _panel(n_clusters: int, seed: int = 1) -> pd.DataFrame:
    """Units in clusters with a common cluster-year shock; half the clusters treated in 2021."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clusters):
        shock = rng.normal(0, 0.2, size=5)
        cohort = 2021 if c % 2 == 0 else 0
        for u in range(6):
            for j, year in enumerate(range(2018, 2023)):
                effect = -0.1 if cohort and year >= cohort else 0.0
                rows.append({"unit": f"{c}-{u}", "cluster": c, "year": year, "cohort": cohort,
                             "y": shock[j] + effect + rng.normal(0, 0.05)})
    return pd.DataFrame(rows)


def _did(panel: pd.DataFrame):  # type: ignore[no-untyped-def]
    return did(panel, unit="unit", time="year", cohort="cohort", outcome="y", cluster="cluster")


def test_bootstrap_is_reproducible_from_its_seed_and_keeps_the_analytic_se() -> None:
    res = _did(_panel(20))
    first, again = bootstrap(res, seed=5), bootstrap(res, seed=5)
    other = bootstrap(res, seed=6)
    for name in ("simple", "dynamic", "group", "calendar"):
        a, b = first[name], again[name]
        assert not isinstance(a, list) and not isinstance(b, list)
        assert (a.ci_low, a.ci_high, a.p_value) == (b.ci_low, b.ci_high, b.p_value)
        assert a.se == pytest.approx(res.aggregations[name].se, rel=1e-12)
        assert a.ci_low < a.att < a.ci_high and a.draws == 999
    s1, s2 = first["simple"], other["simple"]
    assert not isinstance(s1, list) and not isinstance(s2, list)
    assert s1.ci_low != s2.ci_low


def test_every_event_time_row_gets_its_own_bootstrap_interval() -> None:
    res = _did(_panel(20))
    rows = bootstrap(res, seed=1)["dynamic_rows"]
    assert isinstance(rows, list)
    dynamic = res.aggregations["dynamic"].rows
    assert dynamic is not None and len(rows) == len(dynamic)
    for r, att in zip(rows, dynamic["att"], strict=True):
        assert r.att == pytest.approx(att, abs=1e-12)
        assert np.isfinite([r.ci_low, r.ci_high]).all() and r.ci_low < r.att < r.ci_high


def test_few_clusters_use_webb_weights_and_say_how_many_draws_exist() -> None:
    weights, kind, distinct = draw_weights(999, 8, seed=0)
    assert kind == "webb" and distinct == 6.0**8 and len(np.unique(weights)) == 6
    weights, kind, distinct = draw_weights(999, 24, seed=0)
    assert kind == "rademacher" and distinct == 2.0**24 and set(np.unique(weights)) == {-1, 1}
    boot = bootstrap(_did(_panel(8)), seed=0)["simple"]
    assert not isinstance(boot, list) and boot.weights == "webb"
    assert method_line(boot, 8) == "wild cluster bootstrap (webb weights), 999 draws, 8 provinces"


def test_bootstrap_interval_is_wider_than_the_analytic_one_with_few_clusters() -> None:
    res = _did(_panel(8, seed=3))
    boot = bootstrap(res, seed=0)["simple"]
    analytic = res.aggregations["simple"]
    assert not isinstance(boot, list)
    assert boot.ci_high - boot.ci_low > analytic.ci_high - analytic.ci_low


def test_intervals_cover_the_synthetic_truth_under_province_shocks() -> None:
    """A small version of benchmarks/did_coverage.py (the full study runs 200+ replications)."""
    design = roster_design()
    assert design.treated_provinces >= 20 and design.unknown
    reps = [replicate(design, seed=100 + r, draws=199) for r in range(12)]
    table = coverage_table(reps).set_index("interval")
    assert table.loc["wild cluster bootstrap-t", "coverage"] >= 10 / 12
    assert abs(table.loc["wild cluster bootstrap-t", "bias"]) < 0.02
    assert all(-0.09 < r.truth < -0.01 for r in reps)  # the −9%/0 build-up truth, in log points

"""What a siting answer means for people (reach, uncovered, gains) and the scale check."""

from __future__ import annotations

import numpy as np
import pytest

from nrmc.planning import beds
from nrmc.planning import scenarios as sc
from nrmc.planning.errors import InvalidInput


def test_reach_counts_people_by_hour_and_leaves_unreachable_out_of_the_mean():
    r = sc.reach(np.array([59.0, 61.0, 121.0, 181.0, np.inf]),
                 np.array([10.0, 20.0, 30.0, 40.0, 50.0]))
    assert r.within == {1: 10.0, 2: 30.0, 3: 60.0}
    assert r.unreachable == 50.0 and r.total == 150.0
    assert r.mean_minutes == pytest.approx((590 + 1220 + 3630 + 7240) / 100)
    assert r.p95_minutes == 181.0


def test_weighted_95th_percentile_follows_the_people_not_the_rows():
    minutes = np.array([10.0, 500.0])
    assert sc.weighted_quantile(minutes, np.array([99.0, 1.0]), 0.95) == 10.0
    assert sc.weighted_quantile(minutes, np.array([90.0, 10.0]), 0.95) == 500.0


def test_uncovered_and_gain_are_summed_per_group():
    groups = ["甲", "甲", "乙"]
    people = np.array([100.0, 50.0, 7.0])
    assert sc.uncovered_by(groups, np.array([30.0, 200.0, 130.0]), people, 120) == {
        "甲": 50.0, "乙": 7.0}
    gained = sc.gain_by(groups, np.array([200.0, 200.0, 100.0]), np.array([60.0, 200.0, 150.0]),
                        people, 120)
    assert gained == {"甲": 100.0, "乙": -7.0}


def test_beds_for_occupancy_is_the_first_bed_count_at_the_target():
    s = beds.beds_for_occupancy(3650, 5, 0.85)
    assert s.occupancy <= 0.85
    a = s.load
    c = s.beds - 1
    assert a * (1 - beds.erlang_b(a, c)) / c > 0.85


@pytest.mark.parametrize("planned, verdict", [(400, "over"), (10, "under"), (None, "unknown")])
def test_scale_check_says_over_or_under_built_by_how_many_beds(planned, verdict):
    check = beds.check_scale(planned, 12000, 8.5)
    assert check.verdict == verdict
    if planned is None:
        assert check.difference is None
    else:
        assert check.difference == planned - check.needed.beds


def test_scale_check_refuses_a_fractional_or_negative_bed_count():
    with pytest.raises(InvalidInput):
        beds.check_scale(-1, 1000, 5)
    with pytest.raises(InvalidInput):
        beds.beds_for_occupancy(1000, 5, 1.5)


def test_summary_survives_a_scenario_nobody_can_reach():
    from types import SimpleNamespace

    from nrmc.domains.planning import report

    results = {"within": {"1h": 0.0, "2h": 0.0, "3h": 0.0}, "population": 5.0,
               "mean_minutes": None, "p95_minutes": None,
               "demand": {"note_en": "d", "note_zh": "需"}, "sites": [],
               "units": [{"code": "1", "minutes": None, "site": "x", "population": 5.0,
                          "prefecture_zh": "甲"}]}
    a = SimpleNamespace(name="A", province_code="620000", results=results)
    en, zh = report.summary([a, a])  # type: ignore[list-item]
    assert "mean — min" in en[0] and "0 more people" in en[2]

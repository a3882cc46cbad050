from __future__ import annotations

import math

import numpy as np
import pytest

from nrmc.planning.beds import (
    beds_for_block,
    beds_for_wait,
    erlang_b,
    erlang_c,
    offered_load,
    simulate,
)
from nrmc.planning.errors import InvalidInput


def closed_form_b(a: float, c: int) -> float:
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


# Erlang B table (traffic in erlangs giving 1% blocking; standard telephony tables)
@pytest.mark.parametrize("load, servers", [(4.46, 10), (12.03, 20), (37.90, 50)])
def test_erlang_b_matches_published_one_percent_table(load, servers):
    assert erlang_b(load, servers) == pytest.approx(0.01, abs=2e-5)


@pytest.mark.parametrize("load, servers", [(0.5, 1), (2, 2), (7.3, 9), (30, 25)])
def test_erlang_b_recursion_equals_closed_form(load, servers):
    assert erlang_b(load, servers) == pytest.approx(closed_form_b(load, servers), rel=1e-12)


def test_erlang_b_is_stable_where_the_closed_form_overflows():
    b = erlang_b(5000.0, 5000)
    assert 0 < b < 0.02
    assert math.isfinite(b)


def test_erlang_c_table_values():
    assert erlang_c(2, 3) == pytest.approx(4 / 9)
    # Erlang C, 10 erlangs on 12 servers (call-centre tables: 0.4494)
    assert erlang_c(10, 12) == pytest.approx(0.4494, abs=5e-4)
    assert erlang_c(5, 5) == 1.0


def test_beds_for_block_is_the_smallest_count_meeting_the_target():
    s = beds_for_block(3650, 5, 0.01)
    assert s.load == pytest.approx(50)
    assert s.block_probability <= 0.01 < erlang_b(50, s.beds - 1)
    assert s.occupancy == pytest.approx(50 * (1 - s.block_probability) / s.beds)


def test_beds_for_wait_is_the_smallest_count_meeting_the_target():
    s = beds_for_wait(3650, 5, 0.1)
    assert s.wait_probability <= 0.1 < erlang_c(50, s.beds - 1)
    assert s.occupancy == pytest.approx(50 / s.beds)
    assert s.as_dict()["beds"] == s.beds


def test_small_unit_at_strict_target_breaks_the_85_percent_rule_the_other_way():
    big = beds_for_wait(365 * 400, 1, 0.2)  # 400 beds busy on average: economies of scale
    small = beds_for_wait(365 * 4, 1, 0.2)
    assert big.occupancy > 0.85 and not big.within_85_rule
    assert small.occupancy < 0.85 and small.within_85_rule


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5])
def test_target_outside_zero_one_is_refused(bad):
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        beds_for_wait(1000, 5, bad)


def test_non_positive_admissions_are_refused():
    with pytest.raises(InvalidInput, match="admissions_per_year"):
        offered_load(0, 5)


@pytest.mark.slow
def test_simulation_with_lognormal_stays_agrees_with_erlang_b():
    s = beds_for_block(3650, 5, 0.02)
    sim = simulate(3650, 5, s.beds, mode="block", los_cv=1.5, years=60, seed=1)
    assert sim.block_probability == pytest.approx(s.block_probability, rel=0.3)
    assert sim.occupancy == pytest.approx(s.occupancy, rel=0.03)


def _wait_interval(beds: int, replications: int = 12) -> tuple[float, float]:
    """Mean waiting probability over independent seeded runs of an M/M/c ward, ± 2.58 s.e. (99 %)."""
    runs = [simulate(730, 3, beds, mode="wait", stays="exponential", years=4, warmup_years=0.5,
                     seed=seed).wait_probability for seed in range(replications)]
    mean = float(np.mean(runs))
    half = 2.58 * float(np.std(runs, ddof=1)) / math.sqrt(replications)
    return mean - half, mean + half


def test_simulated_waiting_probability_agrees_with_erlang_c():
    """2 admissions a day × 3-day exponential stays = 6 erlangs on 8 beds: Erlang C is the exact
    waiting probability of this M/M/c ward, so the simulation's interval must contain it."""
    low, high = _wait_interval(8)
    assert low <= erlang_c(6.0, 8) <= high
    assert high - low < 0.1  # the interval is narrow enough to mean something


def test_the_erlang_c_check_can_tell_a_wrong_bed_count():
    """The same check refuses Erlang C for 9 beds: it has the power to catch a sizing error."""
    low, high = _wait_interval(8)
    assert not low <= erlang_c(6.0, 9) <= high



from __future__ import annotations

import numpy as np
import pytest

from nrmc.planning.errors import InvalidInput
from nrmc.planning.travel import (
    great_circle_km,
    matrix_from_pairs,
    minutes_from_km,
    nearby_pairs,
    travel_minutes,
)


def test_great_circle_quarter_meridian():
    # equator to pole along a meridian: a quarter of the circumference
    assert great_circle_km(0, 0, 0, 90) == pytest.approx(np.pi * 6371.0088 / 2)


def test_minutes_apply_circuity_and_speed():
    # 100 km straight → 130 km of road at 60 km/h = 130 minutes
    assert minutes_from_km(100.0) == pytest.approx(130.0)
    assert minutes_from_km(100.0, circuity=1.0, speed_kmh=100) == pytest.approx(60.0)


def test_circuity_below_one_is_refused():
    with pytest.raises(InvalidInput, match="circuity"):
        minutes_from_km(1.0, circuity=0.9)


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    o = np.column_stack([rng.uniform(75, 130, 400), rng.uniform(20, 50, 400)])
    return o, o[rng.choice(400, 60, replace=False)]


def test_pairs_within_radius_are_exactly_the_dense_ones(points):
    o, d = points
    full = travel_minutes(o, d)
    pairs = nearby_pairs(o, d, max_minutes=180)
    assert len(pairs) == int((full <= 180).sum())
    dense = pairs.to_dense()
    np.testing.assert_allclose(dense[full <= 180], full[full <= 180])
    assert np.isinf(dense[full > 180]).all()


def test_k_nearest_pairs_are_the_k_smallest(points):
    o, d = points
    full = travel_minutes(o, d)
    pairs = nearby_pairs(o, d, k_nearest=4)
    assert len(pairs) == 400 * 4
    got = np.sort(pairs.to_dense(), axis=1)[:, :4]
    np.testing.assert_allclose(got, np.sort(full, axis=1)[:, :4])


def test_k_nearest_within_radius_keeps_both_conditions(points):
    o, d = points
    pairs = nearby_pairs(o, d, k_nearest=4, max_minutes=120)
    assert (pairs.minutes <= 120).all()
    assert np.bincount(pairs.rows, minlength=400).max() <= 4


def test_user_matrix_replaces_the_model_and_leaves_gaps_unreachable():
    m = matrix_from_pairs(["a", "b"], ["x", "y"], ["a", "b", "zz"], ["y", "x", "x"],
                          [10, 20, 5])
    assert m[0, 1] == 10 and m[1, 0] == 20
    assert np.isinf(m[0, 0]) and np.isinf(m[1, 1])


def test_user_matrix_with_negative_minutes_is_refused():
    with pytest.raises(InvalidInput, match="pair 1"):
        matrix_from_pairs(["a"], ["x"], ["a"], ["x"], [-1])


def test_bad_coordinates_are_refused():
    with pytest.raises(InvalidInput, match="NaN"):
        travel_minutes([[np.nan, 30.0]], [[100.0, 30.0]])
    with pytest.raises(InvalidInput, match="lat"):
        travel_minutes([[100.0, 95.0]], [[100.0, 30.0]])

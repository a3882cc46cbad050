from __future__ import annotations

import numpy as np
import pytest

from nrmc.planning.accessibility import (
    enhanced_two_stage_fca,
    gaussian_weight,
    gravity_weight,
    step_weight,
    three_stage_fca,
    two_stage_fca,
    weighted_catchment,
    weighted_mean_by_group,
)
from nrmc.planning.errors import InvalidInput
from nrmc.planning.travel import CostPairs

DEMAND = np.array([1000.0, 2000.0, 500.0])
SUPPLY = np.array([10.0, 5.0])
COST = np.array([[5.0, 40.0], [10.0, 15.0], [50.0, 8.0]])


def test_two_stage_fca_hand_computed():
    # site 0 serves rows 0, 1 (3000 people): R0 = 10/3000; site 1 rows 1, 2 (2500): R1 = 5/2500
    got = two_stage_fca(DEMAND, SUPPLY, COST, max_cost=20)
    np.testing.assert_allclose(got, [1 / 300, 1 / 300 + 0.002, 0.002], rtol=1e-12)


def test_enhanced_two_stage_fca_hand_computed_with_default_steps():
    # weights: 5, 10, 8 → 1; 15 → 0.68; 40, 50 → 0.  R1 = 5 / (2000·0.68 + 500)
    r1 = 5 / 1860
    got = enhanced_two_stage_fca(DEMAND, SUPPLY, COST)
    np.testing.assert_allclose(got, [1 / 300, 1 / 300 + 0.68 * r1, r1], rtol=1e-12)


def test_supply_is_conserved_when_everyone_is_in_reach():
    # with W ≡ 1 and every pair reachable, Σ demand × A = Σ supply
    got = two_stage_fca(DEMAND, SUPPLY, COST, max_cost=100)
    assert float(DEMAND @ got) == pytest.approx(SUPPLY.sum())


def test_unreached_rows_and_empty_catchments_get_zero():
    got = two_stage_fca(DEMAND, np.array([10.0, 0.0]), COST, max_cost=6)
    np.testing.assert_allclose(got, [0.01, 0.0, 0.0])


def test_step_weight_matches_access_semantics():
    w = step_weight({20: 1, 40: 0.68, 60: 0.22})
    np.testing.assert_allclose(w(np.arange(0, 71, 10.0)), [1, 1, 1, 0.68, 0.68, 0.22, 0.22, 0])


def test_gravity_and_gaussian_weights_match_access_examples():
    g = gravity_weight(scale=20, alpha=-2, min_dist=1)
    np.testing.assert_allclose(g(np.array([0, 1, 2, 20, 40.0])), [400, 400, 100, 1, 0.25])
    np.testing.assert_allclose(gaussian_weight(20)(np.array([20.0])), [np.exp(-0.5)])


def test_weighted_catchment_is_gravity_potential():
    got = weighted_catchment(SUPPLY, COST, max_cost=20, weight=gravity_weight(10, -1))
    np.testing.assert_allclose(got, [10 * 2, 10 * 1 + 5 / 1.5, 5 / 0.8])


def test_three_stage_selection_weights_split_each_rows_demand():
    # one row, two equidistant sites: G = 1/2 each, so each site sees half the row
    got = three_stage_fca([100.0], [1.0, 1.0], np.array([[5.0, 5.0]]), max_cost=60)
    w = 0.962
    r = 1 / (100 * w * 0.5)
    assert got[0] == pytest.approx(2 * r * w * 0.5)


def test_cost_pairs_give_the_same_answer_as_a_dense_matrix():
    rows, cols = np.nonzero(COST <= 20)
    pairs = CostPairs(COST.shape, rows, cols, COST[rows, cols])
    np.testing.assert_allclose(two_stage_fca(DEMAND, SUPPLY, pairs),
                               two_stage_fca(DEMAND, SUPPLY, COST, max_cost=20))


def test_scalar_weight_functions_are_accepted():
    def scalar_step(x):
        if x > 20:
            raise TypeError("scalar only")
        return 1.0 if x <= 10 else 0.5

    got = two_stage_fca(DEMAND, SUPPLY, COST, max_cost=20, weight=scalar_step)
    want = two_stage_fca(DEMAND, SUPPLY, COST, max_cost=20, weight=step_weight({10: 1, 20: 0.5}))
    np.testing.assert_allclose(got, want)


def test_population_weighted_summary_per_province():
    labels, means, pops = weighted_mean_by_group([1.0, 3.0, 10.0], [100, 300, 50],
                                                 ["110000", "110000", "120000"])
    assert labels.tolist() == ["110000", "120000"]
    np.testing.assert_allclose(means, [2.5, 10.0])
    np.testing.assert_allclose(pops, [400, 50])


def test_bad_inputs_are_refused():
    with pytest.raises(InvalidInput, match="NaN"):
        two_stage_fca(DEMAND, SUPPLY, np.where(COST > 40, np.nan, COST), 20)
    with pytest.raises(InvalidInput, match="≥ 0"):
        two_stage_fca(-DEMAND, SUPPLY, COST, 20)
    with pytest.raises(InvalidInput, match="rows"):
        two_stage_fca(DEMAND[:2], SUPPLY, COST, 20)


@pytest.fixture(scope="module")
def random_access_case():
    access = pytest.importorskip("access")
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(42)
    n, m = 120, 80
    cost = rng.uniform(0, 70, (n, m))
    d = rng.integers(1, 1000, n).astype(float)
    s = rng.integers(0, 20, m).astype(float)
    model = access.Access(
        demand_df=pd.DataFrame({"geoid": np.arange(n), "pop": d}), demand_index="geoid",
        demand_value="pop",
        supply_df=pd.DataFrame({"geoid": np.arange(m), "doc": s}), supply_index="geoid",
        supply_value="doc",
        cost_df=pd.DataFrame({"origin": np.repeat(np.arange(n), m),
                              "dest": np.tile(np.arange(m), n), "cost": cost.ravel()}),
        cost_origin="origin", cost_dest="dest", cost_name="cost")
    return access, model, cost, d, s, n


def _theirs(series, n):
    return series.reindex(np.arange(n)).fillna(0).to_numpy().ravel()


@pytest.mark.filterwarnings("ignore")
def test_same_numbers_as_pysal_access(random_access_case):
    access, model, cost, d, s, n = random_access_case
    g = access.weights.gravity(scale=60, alpha=-1)
    cases = [
        (two_stage_fca(d, s, cost, 25), model.two_stage_fca(max_cost=25)),
        (enhanced_two_stage_fca(d, s, cost), model.enhanced_two_stage_fca()),
        (three_stage_fca(d, s, cost, 30), model.three_stage_fca(max_cost=30)),
        (two_stage_fca(d, s, cost, 40, gravity_weight(60, -1)),
         model.two_stage_fca(max_cost=40, weight_fn=g)),
    ]
    for ours, theirs in cases:
        np.testing.assert_allclose(ours, _theirs(theirs, n), rtol=0, atol=1e-9)
    ours = weighted_catchment(s, cost, 40, gravity_weight(60, -1))
    np.testing.assert_allclose(ours, _theirs(model.weighted_catchment(weight_fn=g, max_cost=40), n),
                               rtol=1e-12)

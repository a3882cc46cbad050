from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from nrmc.planning import _lagrange
from nrmc.planning.errors import InfeasibleProblem, InvalidInput
from nrmc.planning.siting import LSCP, MCLP, HighsOptions, PMedian, Recapture


def brute_pmedian(cost, w, p, existing=()):
    best = None
    for combo in itertools.combinations(range(cost.shape[1]), p):
        if not set(existing) <= set(combo):
            continue
        val = float((w * cost[:, list(combo)].min(axis=1)).sum())
        if best is None or val < best[0] - 1e-9:
            best = (val, combo)
    return best


def random_instance(seed, n=30, m=8):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    return np.linalg.norm(a[:, None] - b[None], axis=2), rng.integers(1, 50, n).astype(float)


# --- published San Francisco values (spopt's test suite) ---------------------------------------

def test_sf_mclp_leaves_21_of_205_tracts_uncovered(sf_instance):
    cost, pop = sf_instance
    r = MCLP.from_cost_matrix(cost, pop, service_radius=5000, p_facilities=4).solve()
    assert r.status == "optimal"
    assert int((r.assignment < 0).sum()) == 21
    assert 100 * (r.assignment >= 0).mean() == pytest.approx(89.75609756097561)


def test_sf_pmedian_mean_distance_matches_spopt(sf_instance):
    cost, pop = sf_instance
    r = PMedian.from_cost_matrix(cost, pop, p_facilities=4).solve()
    assert r.mean_cost == pytest.approx(2982.1268579890657, rel=1e-9)
    assert r.objective == pytest.approx(float((pop * cost[np.arange(205), r.assignment]).sum()))


def test_sf_pmedian_sparse_start_reaches_the_same_optimum(sf_instance):
    cost, pop = sf_instance
    r = PMedian.from_cost_matrix(cost, pop, p_facilities=4).solve(neighbours=2, reduce=False)
    assert r.mean_cost == pytest.approx(2982.1268579890657, rel=1e-9)
    assert r.iterations > 1


def test_sf_lscp_covers_every_tract(sf_instance):
    cost, _ = sf_instance
    r = LSCP.from_cost_matrix(cost, service_radius=8000).solve()
    assert ((cost[:, r.selected] <= 8000).any(axis=1)).all()
    assert r.objective == len(r.selected)


# --- agreement with brute force ----------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_pmedian_matches_enumeration(seed):
    cost, w = random_instance(seed)
    val, combo = brute_pmedian(cost, w, 3)
    r = PMedian.from_cost_matrix(cost, w, 3).solve()
    assert r.objective == pytest.approx(val)
    assert r.selected.tolist() == sorted(combo)
    assert r.gap <= 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_pmedian_restricted_neighbourhoods_still_prove_the_optimum(seed):
    cost, w = random_instance(seed, n=60, m=12)
    val, _ = brute_pmedian(cost, w, 3)
    model = PMedian.from_cost_matrix(cost, w, 3)
    assert model.solve(neighbours=1, reduce=False).objective == pytest.approx(val)


@pytest.mark.parametrize("seed", range(5))
def test_lagrangian_reduction_keeps_the_optimum(seed):
    cost, w = random_instance(seed, n=200, m=40)
    model = PMedian.from_cost_matrix(cost, w, 5, existing=[seed])
    fast, plain = model.solve(), model.solve(reduce=False)
    assert fast.objective == pytest.approx(plain.objective, rel=1e-9)
    assert seed in fast.selected
    assert fast.objective == pytest.approx(float((w * cost[np.arange(200), fast.assignment]).sum()))


@pytest.mark.parametrize("seed", range(3))
def test_lagrangian_reduction_with_unreachable_pairs(seed):
    cost, w = random_instance(seed, n=150, m=30)
    cost[cost > 45] = np.inf  # sparse reach, as with a travel-time cut-off
    model = PMedian.from_cost_matrix(cost, w, 6)
    fast, plain = model.solve(), model.solve(reduce=False)
    assert fast.objective == pytest.approx(plain.objective, rel=1e-9)


def test_pmedian_keeps_existing_sites_open():
    cost, w = random_instance(7)
    val, combo = brute_pmedian(cost, w, 3, existing=(5,))
    r = PMedian.from_cost_matrix(cost, w, 3, existing=[5]).solve()
    assert 5 in r.selected
    assert r.objective == pytest.approx(val)


def test_capacitated_pmedian_respects_capacity():
    cost = np.array([[0, 10], [1, 9], [2, 8], [10, 0]], dtype=float)
    w = np.array([5.0, 5, 5, 1])
    free = PMedian.from_cost_matrix(cost, w, 2).solve()
    assert free.assignment.tolist() == [0, 0, 0, 1]
    cap = PMedian.from_cost_matrix(cost, w, 2, capacities=[10, 10]).solve()
    load = np.bincount(cap.assignment, weights=w, minlength=2)
    assert (load <= 10 + 1e-9).all()
    assert cap.assignment.tolist() == [0, 0, 1, 1]
    assert cap.objective == pytest.approx(0 + 5 + 40 + 0)


def test_mclp_coverage_matches_enumeration():
    cost, w = random_instance(3, n=40, m=9)
    r = MCLP.from_cost_matrix(cost, w, service_radius=25, p_facilities=3).solve()
    best = max(float(w[(cost[:, list(c)] <= 25).any(axis=1)].sum())
               for c in itertools.combinations(range(9), 3))
    assert r.covered_weight == pytest.approx(best)
    covered = (cost[:, r.selected] <= 25).any(axis=1)
    assert ((r.assignment >= 0) == covered).all()


def test_recapture_weights_by_outflow_not_by_counting_points():
    cost = np.array([[1, 50], [1, 50], [1, 50], [50, 1]], dtype=float)
    outflow = np.array([1.0, 1, 1, 100])
    r = Recapture.from_cost_matrix(cost, outflow, service_radius=10, p_facilities=1).solve()
    assert r.model == "recapture"
    assert r.selected.tolist() == [1]
    assert r.covered_weight == 100
    assert r.covered_share == pytest.approx(100 / 103)


def test_result_is_immutable():
    cost, w = random_instance(1)
    r = PMedian.from_cost_matrix(cost, w, 2).solve()
    with pytest.raises(ValueError):
        r.selected[0] = 3
    with pytest.raises(AttributeError):
        r.objective = 0  # type: ignore[misc]


# --- time limits: one deadline for the whole solve, honest status and gap -----------------------

# A solve stops at its first check after the limit: HiGHS checks its clock between nodes and a
# numpy step of these sizes takes well under a second; the sort and greedy that make a first
# answer possible always run (0.1 s here at load 6), so this tolerance holds on a loaded
# 2-core machine.
LIMIT_TOLERANCE_S = 1.5


def test_time_limit_holds_for_the_whole_solve_and_returns_the_best_solution_with_its_gap():
    cost, w = random_instance(11, n=1000, m=1000)
    model = PMedian.from_cost_matrix(cost, w, 30)
    t = time.perf_counter()
    r = model.solve(HighsOptions(time_limit=1.0))
    wall = time.perf_counter() - t
    assert wall <= 1.0 + LIMIT_TOLERANCE_S
    assert r.seconds <= wall
    assert r.status == "time_limit"  # far too large to prove in a second
    assert len(r.selected) == 30
    assert r.objective == pytest.approx(float((w * cost[np.arange(1000), r.assignment]).sum()))
    assert 0 <= r.dual_bound <= r.objective
    assert r.gap == pytest.approx((r.objective - r.dual_bound) / r.objective)
    assert r.gap > 1e-6


def test_neighbourhood_rounds_share_one_deadline_rather_than_one_limit_each():
    cost, w = random_instance(5, n=1200, m=300)
    model = PMedian.from_cost_matrix(cost, w, 12)
    t = time.perf_counter()
    r = model.solve(HighsOptions(time_limit=1.0), neighbours=1, reduce=False)
    wall = time.perf_counter() - t
    assert wall <= 1.0 + LIMIT_TOLERANCE_S
    assert r.status in {"optimal", "time_limit"}
    if r.status == "optimal":
        assert r.gap <= 1e-6
    else:
        assert r.gap == pytest.approx((r.objective - r.dual_bound) / r.objective)


def test_a_spent_time_limit_still_answers_with_a_feasible_solution_and_a_true_bound():
    cost, w = random_instance(3, n=40, m=9)
    best, _ = brute_pmedian(cost, w, 3)
    r = PMedian.from_cost_matrix(cost, w, 3).solve(HighsOptions(time_limit=0))
    assert r.status == "time_limit"  # never "optimal" without the proof
    assert len(r.selected) == 3
    assert r.dual_bound <= best + 1e-9 <= r.objective + 2e-9
    assert r.gap == pytest.approx((r.objective - r.dual_bound) / r.objective)


def test_time_limited_solve_that_finishes_is_optimal_with_zero_gap():
    cost, w = random_instance(2)
    best, _ = brute_pmedian(cost, w, 2)
    r = PMedian.from_cost_matrix(cost, w, 2).solve(HighsOptions(time_limit=30))
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best)
    assert r.gap <= 1e-6
    assert r.dual_bound == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("build", [
    lambda c, w: LSCP.from_cost_matrix(c, service_radius=60),
    lambda c, w: MCLP.from_cost_matrix(c, w, service_radius=25, p_facilities=3),
    lambda c, w: PMedian.from_cost_matrix(c, w, 3),
], ids=["lscp", "mclp", "pmedian"])
def test_every_result_carries_status_gap_and_wall_seconds(build):
    cost, w = random_instance(4, n=60, m=12)
    t = time.perf_counter()
    r = build(cost, w).solve()
    wall = time.perf_counter() - t
    assert r.status == "optimal"
    assert 0 <= r.gap <= 1e-6
    assert 0 < r.seconds <= wall
    assert np.isfinite(r.objective) and np.isfinite(r.dual_bound)


# --- zero weights and unreachable rows never make a NaN objective ------------------------------

def test_zero_weight_row_out_of_reach_of_the_open_site_leaves_the_objective_finite():
    cost = np.array([[0, 10], [1, 10], [np.inf, 0]])
    r = PMedian.from_cost_matrix(cost, [5.0, 5.0, 0.0], 1).solve()
    assert r.status == "optimal"
    assert r.selected.tolist() == [0]
    assert r.objective == 5.0
    assert r.assignment.tolist() == [0, 0, -1]
    assert r.gap == 0


def test_zero_weight_row_that_reaches_no_candidate_is_left_unassigned():
    cost = np.array([[0, 10], [10, 0], [np.inf, np.inf]])
    r = PMedian.from_cost_matrix(cost, [5.0, 1.0, 0.0], 1).solve()
    assert r.status == "optimal"
    assert r.objective == 10.0
    assert r.assignment[2] == -1


def test_all_zero_weights_give_objective_zero_not_nan():
    cost, _ = random_instance(1)
    r = PMedian.from_cost_matrix(cost, np.zeros(30), 2, existing=[4]).solve()
    assert r.objective == 0.0 and r.mean_cost == 0.0
    assert r.status == "optimal" and r.gap == 0.0
    assert len(r.selected) == 2 and 4 in r.selected


# --- the Lagrangian's fast evaluation is the textbook formula ----------------------------------

def test_sorted_prefix_evaluation_equals_the_dense_lagrangian():
    cost, w = random_instance(9, n=80, m=20)
    wc = w[:, None] * cost
    lam = np.random.default_rng(0).uniform(0, wc.max(), 80)
    existing = np.zeros(20, dtype=bool)
    existing[3] = True
    lb, rho, y, g = _lagrange._Relaxation(_lagrange.SortedCosts(wc), 4, existing).evaluate(lam)
    dense_rho = np.minimum(0.0, wc - lam[:, None]).sum(axis=0)
    assert rho == pytest.approx(dense_rho)
    assert y[3] and y.sum() == 4
    assert lb == pytest.approx(lam.sum() + dense_rho[y].sum())
    assert g == pytest.approx(1.0 - ((wc < lam[:, None]) & y[None, :]).sum(axis=1))


# --- bad input ---------------------------------------------------------------------------------

def test_negative_weights_are_refused():
    with pytest.raises(InvalidInput, match="≥ 0"):
        PMedian.from_cost_matrix(np.ones((2, 2)), [1, -1], 1)


def test_p_larger_than_candidates_is_refused():
    with pytest.raises(InvalidInput, match="larger than the 2 candidate"):
        MCLP.from_cost_matrix(np.ones((2, 2)), [1, 1], 1, 3)


def test_nan_costs_are_refused():
    cost = np.ones((2, 2))
    cost[1, 0] = np.nan
    with pytest.raises(InvalidInput, match="NaN"):
        PMedian.from_cost_matrix(cost, [1, 1], 1)


def test_more_existing_sites_than_p_is_refused():
    with pytest.raises(InvalidInput, match="existing"):
        PMedian.from_cost_matrix(np.ones((2, 3)), [1, 1], 1, existing=[0, 1])


def test_total_capacity_below_demand_is_infeasible_and_says_so():
    with pytest.raises(InfeasibleProblem, match="total capacity 5 is below total demand 10"):
        PMedian.from_cost_matrix(np.ones((2, 2)), [5, 5], 2, capacities=[2, 3])


def test_capacity_of_p_sites_below_demand_is_infeasible():
    with pytest.raises(InfeasibleProblem, match="largest capacity 1 sites"):
        PMedian.from_cost_matrix(np.ones((2, 2)), [5, 5], 1, capacities=[6, 6])


def test_lscp_with_an_unreachable_row_is_infeasible():
    with pytest.raises(InfeasibleProblem, match="no candidate within"):
        LSCP.from_cost_matrix(np.array([[1.0, 2], [50, 60]]), service_radius=10)


def test_row_that_reaches_no_candidate_cannot_be_assigned():
    with pytest.raises(InfeasibleProblem, match="cannot reach"):
        PMedian.from_cost_matrix(np.array([[1.0, 2], [np.inf, np.inf]]), [1, 1], 1)


def test_counting_pairs_below_a_level_agrees_past_the_scanned_head():
    rng = np.random.default_rng(1)
    wc = rng.uniform(0, 1, (50, 2 * _lagrange.HEAD + 100))
    sc = _lagrange.SortedCosts(wc)
    for level in (np.full(50, 0.05), np.full(50, 0.9), rng.uniform(0, 1, 50)):
        assert sc.count(level).tolist() == (wc < level[:, None]).sum(axis=1).tolist()
        assert sc.gains(level) == pytest.approx(np.maximum(0, level[:, None] - wc).sum(axis=0))

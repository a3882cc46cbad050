"""The p-median solve behind :class:`nrmc.planning.siting.PMedian`, under one deadline.

Pipeline (uncapacitated): greedy + interchange incumbent → Lagrangian bound and fixing
(:mod:`._lagrange`) → exact MIP on the sites left, by neighbourhoods. The neighbourhood scheme
gives each row only its k nearest candidates plus an overflow variable priced at the cost of its
(k+1)-th nearest, a relaxation of the full model: if no row uses its overflow the solution is
feasible for the full model at the relaxation's value, hence optimal; otherwise k is doubled for
the rows that did and the model is solved again. Every dual bound met on the way (Lagrangian or
HiGHS on a relaxation) is a valid lower bound of the full problem, so when the deadline stops
the solve the best solution is returned with the gap to the best of those bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _lagrange
from ._clock import Deadline
from ._highs import INF, solve_milp
from .errors import SolverFailed

# share of the time left that the Lagrangian may use when a limit is set; the MIP gets the rest
LAGRANGE_SHARE = 0.6
# with a time limit, the MIP is tried only when the Lagrangian leaves at most this many sites;
# beyond it the neighbourhood MIP (hundreds of thousands of pairs) cannot finish in the time
MIP_MAX_SITES = 600


@dataclass(frozen=True)
class Outcome:
    selected: np.ndarray
    assignment: np.ndarray | None  # set only when capacities decide it
    status: str  # "optimal" | "time_limit"
    lower_bound: float
    iterations: int


@dataclass(frozen=True)
class Options:
    time_limit: float | None
    mip_rel_gap: float
    threads: int | None


def solve(cost: np.ndarray, weights: np.ndarray, p: int, existing: np.ndarray,
          capacities: np.ndarray | None, opts: Options, clock: Deadline,
          neighbours: int | None, reduce: bool) -> Outcome:
    n, m = cost.shape
    active = weights > 0
    if not active.any():  # nothing to serve: any p sites (the existing first) cost nothing
        rest = np.setdiff1d(np.arange(m), existing)[: p - existing.size]
        return Outcome(np.sort(np.concatenate([existing, rest])), None, "optimal", 0.0, 0)
    if capacities is not None:
        sel, assign, status, lb, it = _exact(cost, weights, p, existing, capacities, opts,
                                             clock, neighbours, None)
        if sel is None:
            raise SolverFailed(f"the time limit ({opts.time_limit} s) ran out before HiGHS found "
                               "an assignment within the capacities; allow more time")
        return Outcome(sel, assign, status, lb, it)
    c = cost[active]
    wc = np.where(np.isfinite(c), weights[active, None] * c, _lagrange.BIG)
    sc = _lagrange.SortedCosts(wc)
    incumbent = _lagrange.heuristic(sc, p, existing, passes=30 if reduce else 0, deadline=clock)
    ub = _lagrange.objective(wc, incumbent)
    lb, iterations = 0.0, 0
    keep, fixed = np.arange(m), existing
    if reduce and p < m and ub < _lagrange.BIG and not clock.expired():
        share = clock.share(LAGRANGE_SHARE)
        red = _lagrange.reduce(sc, p, existing, ub, incumbent,
                               deadline=None if share is None else Deadline(share))
        if share is not None and (~red.closed).sum() > MIP_MAX_SITES:
            # too many sites left for HiGHS to finish in the time left: a tighter bound is the
            # better use of it
            red = _lagrange.reduce(sc, p, existing, red.ub, red.sites, iterations=100_000,
                                   deadline=clock, multipliers=red.multipliers)
        incumbent, ub, lb = red.sites, red.ub, max(lb, red.lb)
        if ub - lb <= opts.mip_rel_gap * abs(ub):
            return Outcome(incumbent, None, "optimal", lb, 0)
        keep = np.flatnonzero(~red.closed)
        fixed = np.flatnonzero(np.isin(keep, existing) | red.opened[keep])
    if clock.expired():
        return Outcome(incumbent, None, "time_limit", lb, 0)
    local = np.searchsorted(keep, incumbent)
    # a closed site is never in a solution worth ≤ UB, nor a site proven open missing from it;
    # not expected to fail, but a wrong start would be refused by HiGHS anyway
    ok = np.isin(incumbent, keep).all() and np.isin(fixed, local).all()
    start = local if ok else None
    sel, _, status, mip_lb, iterations = _exact(cost[:, keep], weights, p, fixed, None, opts,
                                                clock, neighbours, start)
    lb = max(lb, mip_lb)
    if sel is not None:
        found = keep[sel]
        value = _lagrange.objective(wc, found)
        if value <= ub or status == "optimal":
            incumbent, ub = found, value
    if ub >= _lagrange.BIG:
        raise SolverFailed(f"the time limit ({opts.time_limit} s) ran out before a set of sites "
                           "reaching every demand row was found; allow more time")
    return Outcome(incumbent, None, status, lb, iterations)


def _exact(cost, weights, p, existing, capacities, opts: Options, clock: Deadline,
           neighbours: int | None, start: np.ndarray | None):
    """(selected or None, assignment or None, status, lower bound, iterations)."""
    n, m = cost.shape
    order = np.argsort(cost, axis=1, kind="stable")
    reachable = np.isfinite(cost).sum(axis=1)
    if neighbours is None:
        neighbours = m if n * m <= 50_000 else max(16, int(np.ceil(2 * m / p)))
    k = np.minimum(reachable, max(1, int(neighbours)))
    if start is not None and capacities is None:
        # make room for the incumbent's assignment (twice its rank): the first round then
        # rarely needs its overflow, and a second full MIP round is saved
        assigned = cost[:, start].min(axis=1)
        rank = (cost < assigned[:, None]).sum(axis=1)
        k = np.maximum(k, np.minimum(reachable, 2 * (rank + 1)))
    lb, iterations, sel, assign = 0.0, 0, None, None
    while True:
        iterations += 1
        out, overflow, x_pairs = _restricted(cost, weights, p, existing, capacities, order, k,
                                             reachable, opts, clock, start)
        if out.dual_bound > lb and np.isfinite(out.dual_bound):
            lb = float(out.dual_bound)
        if out.x is not None and (capacities is None or not overflow.any()):
            sel = np.flatnonzero(out.x[:m] > 0.5).astype(np.int64)
            if capacities is not None:
                rows, cols, xv = x_pairs
                assign = np.full(n, -1, dtype=np.int64)
                hit = xv > 0.5
                assign[rows[hit]] = cols[hit]
        if out.status != "optimal":
            return sel, assign, "time_limit", lb, iterations
        if not overflow.any():
            return sel, assign, "optimal", lb, iterations
        if clock.expired():
            return sel, assign, "time_limit", lb, iterations
        k = np.where(overflow, np.minimum(reachable, 2 * k), k)
        start = sel if capacities is None else None


def _start_point(rows, cols, u_rows, m, n_cols, x0, u0, start: np.ndarray,
                 existing: np.ndarray) -> np.ndarray | None:
    """A feasible column vector for the restricted model with the sites ``start`` open."""
    open_mask = np.zeros(m, dtype=bool)
    open_mask[start] = True
    if not open_mask[existing].all():
        return None
    x = np.zeros(n_cols)
    x[:m] = open_mask
    hit = np.flatnonzero(open_mask[cols])
    served_rows, first = np.unique(rows[hit], return_index=True)
    x[x0 + hit[first]] = 1.0
    need = np.setdiff1d(np.unique(rows), served_rows)
    if need.size:
        u_pos = np.searchsorted(u_rows, need)
        if (u_pos >= u_rows.size).any() or (u_rows[np.minimum(u_pos, u_rows.size - 1)] != need).any():
            return None  # a row served only beyond its list, and it has no overflow
        x[u0 + u_pos] = 1.0
    return x


def _restricted(cost, weights, p, existing, capacities, order, k, reachable, opts: Options,
                clock: Deadline, start: np.ndarray | None):
    n, m = cost.shape
    active = np.flatnonzero(weights > 0)
    ka = k[active]
    rows = np.repeat(active, ka)
    starts = np.repeat(np.cumsum(ka) - ka, ka)
    rank = np.arange(rows.size) - starts
    cols = order[rows, rank]
    pair_cost = cost[rows, cols]
    has_u = ka < reachable[active]
    u_rows = active[has_u]
    u_cost = cost[u_rows, order[u_rows, k[u_rows]]]
    local = np.full(n, -1)
    local[active] = np.arange(active.size)
    na, npairs, nu = active.size, rows.size, u_rows.size
    # columns: y (m) | x pairs | u ;  rows: assign (na) | link (npairs) | Σy (1) | capacity
    x0, u0 = m, m + npairs
    parts_r = [local[rows], local[u_rows], na + np.arange(npairs), na + np.arange(npairs),
               np.full(m, na + npairs)]
    parts_c = [x0 + np.arange(npairs), u0 + np.arange(nu), x0 + np.arange(npairs), cols,
               np.arange(m)]
    parts_v = [np.ones(npairs), np.ones(nu), np.ones(npairs), -np.ones(npairs), np.ones(m)]
    p_row = np.array([float(p)])
    lo_r: list[np.ndarray] = [np.ones(na), np.full(npairs, -INF), p_row]
    hi_r: list[np.ndarray] = [np.ones(na), np.zeros(npairs), p_row]
    n_rows = na + npairs + 1
    if capacities is not None:
        parts_r += [n_rows + cols, n_rows + np.arange(m), np.full(m, n_rows + m)]
        parts_c += [x0 + np.arange(npairs), np.arange(m), np.arange(m)]
        parts_v += [weights[rows], -capacities, capacities]
        lo_r += [np.full(m, -INF), np.array([weights.sum()])]
        hi_r += [np.zeros(m), np.array([INF])]
        n_rows += m + 1
    n_cols = m + npairs + nu
    a = sp.csr_matrix((np.concatenate(parts_v),
                       (np.concatenate(parts_r), np.concatenate(parts_c))),
                      shape=(n_rows, n_cols))
    lo, hi = np.zeros(m), np.ones(m)
    lo[existing] = 1.0
    integer = np.zeros(n_cols, dtype=bool)
    integer[:m] = True
    if capacities is not None:
        integer[:] = True
    x_start = None
    if start is not None and capacities is None:
        x_start = _start_point(rows, cols, u_rows, m, n_cols, x0, u0, start, existing)
    out = solve_milp(
        np.concatenate([np.zeros(m), weights[rows] * pair_cost, weights[u_rows] * u_cost]),
        a, np.concatenate(lo_r), np.concatenate(hi_r),
        np.concatenate([lo, np.zeros(npairs + nu)]), np.concatenate([hi, np.ones(npairs + nu)]),
        integer, time_limit=clock.remaining(), mip_rel_gap=opts.mip_rel_gap,
        threads=opts.threads, start=x_start)
    overflow = np.zeros(n, dtype=bool)
    if out.x is None:
        return out, overflow, (rows, cols, np.zeros(npairs))
    sel = np.flatnonzero(out.x[:m] > 0.5)
    open_mask = np.zeros(m, dtype=bool)
    open_mask[sel] = True
    if capacities is None:
        # a row is fine when one of its k nearest is open (its overflow price is ≥ that cost)
        served = np.zeros(n, dtype=bool)
        np.logical_or.at(served, rows, open_mask[cols])
        overflow[active] = ~served[active] & (ka < reachable[active])
    else:
        overflow[u_rows] = out.x[u0:] > 0.5
    return out, overflow, (rows, cols, out.x[x0:u0])

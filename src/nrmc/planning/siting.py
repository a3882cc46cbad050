"""Facility siting on a cost matrix, solved with HiGHS: LSCP, MCLP, p-median, outflow recapture.

spopt-compatible in spirit: every model is built from a cost matrix with ``from_cost_matrix``
(the one canonical constructor), ``solve()`` takes the solver options, and the answer is an
immutable :class:`SitingResult` instead of attributes set on the model. ``cost[i, j]`` is the
cost from demand row ``i`` to candidate column ``j``; ``inf`` means unreachable, NaN is refused.
``p_facilities`` counts the ``existing`` sites that must stay open (as in spopt).

>>> import numpy as np
>>> cost = np.array([[0, 5, 9], [4, 0, 6], [9, 5, 0], [8, 6, 1]], dtype=float)
>>> w = np.array([10, 1, 1, 10])
>>> r = PMedian.from_cost_matrix(cost, w, p_facilities=2).solve()
>>> r.selected.tolist(), r.assignment.tolist(), r.objective
([0, 2], [0, 0, 2, 2], 14.0)
>>> MCLP.from_cost_matrix(cost, w, service_radius=1, p_facilities=1).solve().covered_weight
11.0
>>> LSCP.from_cost_matrix(cost, service_radius=5).solve().selected.tolist()
[1, 2]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _lagrange
from . import _validate as v
from ._highs import INF, solve_milp
from .errors import InfeasibleProblem, InvalidInput


@dataclass(frozen=True)
class HighsOptions:
    """Solver options passed to ``solve``; the default proves optimality (gap 1e-6)."""

    time_limit: float | None = None
    mip_rel_gap: float = 1e-6
    threads: int | None = None


@dataclass(frozen=True)
class SitingResult:
    """The answer of a siting model; arrays are read-only.

    ``assignment[i]`` is the open column serving row ``i`` (-1 when no open site reaches it, or,
    for coverage models, when the nearest open site is beyond the radius).
    """

    model: str
    objective: float
    selected: np.ndarray
    assignment: np.ndarray
    covered_weight: float | None
    total_weight: float
    status: str
    gap: float
    dual_bound: float
    seconds: float
    iterations: int = 1

    @property
    def mean_cost(self) -> float:
        """Weighted mean cost of the assignment (spopt's ``mean_dist`` for the p-median)."""
        return self.objective / self.total_weight if self.total_weight else 0.0

    @property
    def covered_share(self) -> float | None:
        if self.covered_weight is None:
            return None
        return self.covered_weight / self.total_weight if self.total_weight else 0.0


def _nearest_open(cost: np.ndarray, selected: np.ndarray, radius: float = np.inf) -> np.ndarray:
    sub = cost[:, selected]
    best = np.argmin(sub, axis=1)
    best_cost = sub[np.arange(cost.shape[0]), best]
    out = selected[best].astype(np.int64)
    out[~(best_cost <= radius)] = -1
    return out


def _selected(x: np.ndarray, m: int) -> np.ndarray:
    return np.flatnonzero(x[:m] > 0.5).astype(np.int64)


def _y_bounds(m: int, existing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.zeros(m), np.ones(m)
    lo[existing] = 1.0
    return lo, hi


@dataclass(frozen=True)
class LSCP:
    """Location set covering: the fewest sites so that every row is within ``service_radius``.

    min Σ_j y_j  s.t.  Σ_{j: c_ij ≤ r} y_j ≥ 1 ∀i;  y_j = 1 for existing j;  y ∈ {0,1}.
    Rows with no candidate within the radius make it infeasible (named in the error).
    """

    cost: np.ndarray
    service_radius: float
    existing: np.ndarray

    @classmethod
    def from_cost_matrix(cls, cost, service_radius: float,
                         existing: Iterable[int] | None = None) -> LSCP:
        c = v.cost_matrix(cost)
        r = v.radius(service_radius)
        ex = v.existing_indices(existing, c.shape[1])
        reach = (c <= r).any(axis=1)
        if not reach.all():
            bad = np.flatnonzero(~reach)
            raise InfeasibleProblem(
                f"{bad.size} demand row(s) have no candidate within {r:g} (first: "
                f"{bad[:10].tolist()}); no set of sites can cover them")
        return cls(v.frozen(c), r, v.frozen(ex))

    def solve(self, solver: HighsOptions | None = None) -> SitingResult:
        s = solver or HighsOptions()
        n, m = self.cost.shape
        a = sp.csr_matrix((self.cost <= self.service_radius).astype(np.float64))
        lo, hi = _y_bounds(m, self.existing)
        out = solve_milp(np.ones(m), a, np.ones(n), np.full(n, INF), lo, hi,
                         np.ones(m, dtype=bool), time_limit=s.time_limit,
                         mip_rel_gap=s.mip_rel_gap, threads=s.threads)
        sel = _selected(out.x, m)
        return SitingResult("lscp", float(sel.size), v.frozen(sel),
                            v.frozen(_nearest_open(self.cost, sel)), None, float(n),
                            out.status, out.gap, out.dual_bound, out.seconds)


@dataclass(frozen=True)
class MCLP:
    """Maximal covering: open p sites to maximise the weight within ``service_radius``.

    max Σ_i w_i z_i  s.t.  z_i ≤ Σ_{j: c_ij ≤ r} y_j ∀i;  Σ_j y_j = p;  y_j = 1 for existing j;
    y ∈ {0,1}, 0 ≤ z ≤ 1 (z is integral at an optimum once y is). A row is covered when its cost
    to an open site is ≤ r. Only the pairs within the radius enter the model, so large sparse
    instances stay small; rows with zero weight or no candidate in reach are left out.
    """

    cost: np.ndarray
    weights: np.ndarray
    service_radius: float
    p_facilities: int
    existing: np.ndarray

    name = "mclp"

    @classmethod
    def from_cost_matrix(cls, cost, weights, service_radius: float, p_facilities: int,
                         existing: Iterable[int] | None = None):
        c = v.cost_matrix(cost)
        w = v.weights(weights, c.shape[0])
        r = v.radius(service_radius)
        p, ex = v.p_and_existing(p_facilities, c.shape[1], existing)
        return cls(v.frozen(c), v.frozen(w), r, p, v.frozen(ex))

    def solve(self, solver: HighsOptions | None = None) -> SitingResult:
        s = solver or HighsOptions()
        n, m = self.cost.shape
        within = self.cost <= self.service_radius
        rows = np.flatnonzero((self.weights > 0) & within.any(axis=1))
        # rows with the same set of candidates in reach are one row with the summed weight:
        # exact, and it shrinks dense urban instances a lot
        packed = np.packbits(within[rows], axis=1)
        _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
        group_w = np.bincount(inverse.ravel(), weights=self.weights[rows])
        rows = rows[first]
        k = rows.size
        ri, cj = np.nonzero(within[rows])
        # rows 0..k-1: z_i - Σ y_j ≤ 0 ; row k: Σ y_j = p.  columns: y (m) then z (k)
        a = sp.csr_matrix((
            np.concatenate([np.ones(k), -np.ones(ri.size), np.ones(m)]),
            (np.concatenate([np.arange(k), ri, np.full(m, k)]),
             np.concatenate([m + np.arange(k), cj, np.arange(m)])),
        ), shape=(k + 1, m + k))
        row_lo = np.concatenate([np.full(k, -INF), [self.p_facilities]])
        row_hi = np.concatenate([np.zeros(k), [self.p_facilities]])
        lo, hi = _y_bounds(m, self.existing)
        out = solve_milp(np.concatenate([np.zeros(m), group_w]), a, row_lo, row_hi,
                         np.concatenate([lo, np.zeros(k)]), np.concatenate([hi, np.ones(k)]),
                         np.arange(m + k) < m, maximize=True, time_limit=s.time_limit,
                         mip_rel_gap=s.mip_rel_gap, threads=s.threads)
        sel = _selected(out.x, m)
        assign = _nearest_open(self.cost, sel, self.service_radius)
        covered = float(self.weights[assign >= 0].sum())
        return SitingResult(self.name, covered, v.frozen(sel), v.frozen(assign), covered,
                            float(self.weights.sum()), out.status, out.gap, out.dual_bound,
                            out.seconds)


class Recapture(MCLP):
    """Outflow recapture: choose p candidate hospitals to maximise the outflow within reach.

    ``weights`` are outflow counts per demand row (residents treated outside their province in
    a specialty, from the flows metrics); the formulation is the MCLP's with those weights, so
    ``covered_weight`` is the outflow living within ``service_radius`` of a chosen hospital —
    the patients a new centre could plausibly keep in the province.
    """

    name = "recapture"


@dataclass(frozen=True)
class PMedian:
    """p-median: open p sites and assign every row to one, minimising Σ weight × cost.

    min Σ_ij w_i c_ij x_ij  s.t.  Σ_j x_ij = 1 ∀i;  x_ij ≤ y_j;  Σ_j y_j = p;
    y_j = 1 for existing j;  y ∈ {0,1}.  With ``capacities``: Σ_i w_i x_ij ≤ cap_j y_j and
    x ∈ {0,1} (each row served by one site, as in spopt); without, x is continuous (it is
    integral at an optimum once y is).

    National instances are solved sparsely and still to proven optimality: each row gets only
    its k nearest candidates plus an overflow variable priced at the cost of its (k+1)-th
    nearest, a relaxation of the full model. If no row uses its overflow, the solution is
    feasible for the full model at the relaxation's value, hence optimal; otherwise k is doubled
    for the rows that did and the model is solved again.
    """

    cost: np.ndarray
    weights: np.ndarray
    p_facilities: int
    existing: np.ndarray
    capacities: np.ndarray | None

    @classmethod
    def from_cost_matrix(cls, cost, weights, p_facilities: int,
                         existing: Iterable[int] | None = None, capacities=None) -> PMedian:
        c = v.cost_matrix(cost)
        n, m = c.shape
        w = v.weights(weights, n)
        p, ex = v.p_and_existing(p_facilities, m, existing)
        reach = np.isfinite(c).any(axis=1)
        if not reach.all():
            bad = np.flatnonzero(~reach)
            raise InfeasibleProblem(f"{bad.size} demand row(s) cannot reach any candidate "
                                    f"(first: {bad[:10].tolist()}); every row must be assigned")
        cap = None
        if capacities is not None:
            cap = v.weights(capacities, m, "capacities") if np.ndim(capacities) else None
            if cap is None or cap.shape[0] != m:
                raise InvalidInput(f"capacities must have one value per candidate ({m})")
            _check_capacity(c, w, p, ex, cap)
        return cls(v.frozen(c), v.frozen(w), p, v.frozen(ex),
                   None if cap is None else v.frozen(cap))

    def solve(self, solver: HighsOptions | None = None, neighbours: int | None = None,
              reduce: bool = True) -> SitingResult:
        """Solve to proven optimality (within the solver gap).

        ``reduce`` first closes (or opens) the sites a Lagrangian bound proves closed (open) in
        every optimal solution, uncapacitated only; ``neighbours`` is the initial k (default:
        all candidates when n·m ≤ 50,000, else max(16, 2m/p)).
        """
        s = solver or HighsOptions()
        n, m = self.cost.shape
        if not reduce or self.capacities is not None or self.p_facilities >= m:
            return self._solve_exact(s, neighbours)
        active = self.weights > 0
        if not active.any():
            return self._solve_exact(s, neighbours)
        c = self.cost[active]
        wc = np.where(np.isfinite(c), self.weights[active, None] * c, _lagrange.BIG)
        start = _lagrange.heuristic(wc, self.p_facilities, self.existing, passes=30)
        ub = float(wc[:, start].min(axis=1).sum())
        if ub >= _lagrange.BIG:
            return self._solve_exact(s, neighbours)
        closed, opened, _, _ = _lagrange.reduce(wc, self.p_facilities, self.existing, ub)
        keep = np.flatnonzero(~closed)
        if keep.size == m:
            return self._solve_exact(s, neighbours)
        fixed = np.flatnonzero(np.isin(keep, self.existing) | opened[keep])
        sub = PMedian(self.cost[:, keep], self.weights, self.p_facilities, fixed, None)
        r = sub._solve_exact(s, neighbours)
        assign = np.where(r.assignment >= 0, keep[np.maximum(r.assignment, 0)], -1)
        return SitingResult("pmedian", r.objective, v.frozen(keep[r.selected]),
                            v.frozen(assign), None, r.total_weight, r.status, r.gap,
                            r.dual_bound, r.seconds, r.iterations)

    def _solve_exact(self, s: HighsOptions, neighbours: int | None) -> SitingResult:
        n, m = self.cost.shape
        order = np.argsort(self.cost, axis=1, kind="stable")
        reachable = np.isfinite(self.cost).sum(axis=1)
        if neighbours is None:
            neighbours = m if n * m <= 50_000 else max(16, int(np.ceil(2 * m / self.p_facilities)))
        k = np.minimum(reachable, max(1, int(neighbours)))
        iterations = 0
        while True:
            iterations += 1
            out, overflow, x_pairs = self._solve_restricted(order, k, reachable, s)
            if not overflow.any():
                break
            k = np.where(overflow, np.minimum(reachable, 2 * k), k)
        sel = _selected(out.x, m)
        if self.capacities is None:
            assign = _nearest_open(self.cost, sel)
        else:
            assign = _nearest_open(self.cost, sel)
            rows, cols, xv = x_pairs
            hit = xv > 0.5
            assign[rows[hit]] = cols[hit]
        objective = float((self.weights * self.cost[np.arange(n), assign]).sum())
        return SitingResult("pmedian", objective, v.frozen(sel), v.frozen(assign), None,
                            float(self.weights.sum()), out.status, out.gap, out.dual_bound,
                            out.seconds, iterations)

    def _solve_restricted(self, order, k, reachable, s: HighsOptions):
        n, m = self.cost.shape
        active = np.flatnonzero(self.weights > 0)
        ka = k[active]
        rows = np.repeat(active, ka)
        starts = np.repeat(np.cumsum(ka) - ka, ka)
        rank = np.arange(rows.size) - starts
        cols = order[rows, rank]
        pair_cost = self.cost[rows, cols]
        has_u = ka < reachable[active]
        u_rows = active[has_u]
        u_cost = self.cost[u_rows, order[u_rows, k[u_rows]]]
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
        p_row = np.array([float(self.p_facilities)])
        lo_r: list[np.ndarray] = [np.ones(na), np.full(npairs, -INF), p_row]
        hi_r: list[np.ndarray] = [np.ones(na), np.zeros(npairs), p_row]
        n_rows = na + npairs + 1
        if self.capacities is not None:
            parts_r += [n_rows + cols, n_rows + np.arange(m), np.full(m, n_rows + m)]
            parts_c += [x0 + np.arange(npairs), np.arange(m), np.arange(m)]
            parts_v += [self.weights[rows], -self.capacities, self.capacities]
            lo_r += [np.full(m, -INF), np.array([self.weights.sum()])]
            hi_r += [np.zeros(m), np.array([INF])]
            n_rows += m + 1
        a = sp.csr_matrix((np.concatenate(parts_v),
                           (np.concatenate(parts_r), np.concatenate(parts_c))),
                          shape=(n_rows, m + npairs + nu))
        lo, hi = _y_bounds(m, self.existing)
        n_cols = m + npairs + nu
        integer = np.zeros(n_cols, dtype=bool)
        integer[:m] = True
        if self.capacities is not None:
            integer[:] = True
        out = solve_milp(
            np.concatenate([np.zeros(m), self.weights[rows] * pair_cost,
                            self.weights[u_rows] * u_cost]),
            a, np.concatenate(lo_r), np.concatenate(hi_r),
            np.concatenate([lo, np.zeros(npairs + nu)]),
            np.concatenate([hi, np.ones(npairs + nu)]),
            integer, time_limit=s.time_limit, mip_rel_gap=s.mip_rel_gap, threads=s.threads)
        sel = _selected(out.x, m)
        open_mask = np.zeros(m, dtype=bool)
        open_mask[sel] = True
        overflow = np.zeros(n, dtype=bool)
        if self.capacities is None:
            # a row is fine when one of its k nearest is open (its overflow price is ≥ that cost)
            served = np.zeros(n, dtype=bool)
            np.logical_or.at(served, rows, open_mask[cols])
            overflow[active] = ~served[active] & (ka < reachable[active])
        else:
            overflow[u_rows] = out.x[u0:] > 0.5
        return out, overflow, (rows, cols, out.x[x0:u0])


def _check_capacity(c: np.ndarray, w: np.ndarray, p: int, ex: np.ndarray,
                    cap: np.ndarray) -> None:
    """Refuse capacitated instances that cannot be feasible, saying why."""
    demand = float(w.sum())
    if cap.sum() < demand:
        raise InfeasibleProblem(f"total capacity {cap.sum():g} is below total demand {demand:g}")
    others = np.setdiff1d(np.arange(cap.size), ex)
    best = cap[ex].sum() + np.sort(cap[others])[::-1][: p - ex.size].sum()
    if best < demand:
        raise InfeasibleProblem(f"the largest capacity {p} sites can offer ({best:g}, counting "
                                f"the existing ones) is below total demand {demand:g}")
    reach_cap = np.where(np.isfinite(c), cap[None, :], 0.0).max(axis=1)
    bad = np.flatnonzero(w > reach_cap)
    if bad.size:
        raise InfeasibleProblem(f"demand row {bad[0]} (weight {w[bad[0]]:g}) exceeds the capacity "
                                "of every candidate it can reach; each row goes to one site")

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

from . import _pmedian
from . import _validate as v
from ._clock import Deadline
from ._highs import INF, MilpOutcome, solve_milp
from .errors import InfeasibleProblem, InvalidInput, SolverFailed


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

    Every result says how far it can be trusted: ``status`` is "optimal" (proven within the
    requested relative gap) or "time_limit" (the best solution found when the limit ran out,
    never labelled optimal); ``dual_bound`` is the best proven bound on the optimum and ``gap``
    the relative distance of ``objective`` from it; ``seconds`` is the wall time of the whole
    solve. ``objective`` is always a finite number: rows with zero weight add nothing, even
    where no open site reaches them. ``iterations`` counts the p-median's MIP rounds (0 when the
    Lagrangian bound alone proved the answer or the time ran out before the MIP).
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
    """Each row's cheapest open site; -1 beyond ``radius`` or where no open site is reachable."""
    sub = cost[:, selected]
    best = np.argmin(sub, axis=1)
    best_cost = sub[np.arange(cost.shape[0]), best]
    out = selected[best].astype(np.int64)
    out[~((best_cost <= radius) & np.isfinite(best_cost))] = -1
    return out


def _incumbent(out: MilpOutcome, time_limit: float | None) -> np.ndarray:
    """The solution HiGHS returned; a time limit with none found is an error that says so."""
    if out.x is None:
        raise SolverFailed(f"the time limit ({time_limit} s) ran out before HiGHS found any "
                           "solution; allow more time")
    return out.x


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
        clock = Deadline(s.time_limit)
        n, m = self.cost.shape
        a = sp.csr_matrix((self.cost <= self.service_radius).astype(np.float64))
        lo, hi = _y_bounds(m, self.existing)
        out = solve_milp(np.ones(m), a, np.ones(n), np.full(n, INF), lo, hi,
                         np.ones(m, dtype=bool), time_limit=clock.remaining(),
                         mip_rel_gap=s.mip_rel_gap, threads=s.threads)
        sel = _selected(_incumbent(out, s.time_limit), m)
        return SitingResult("lscp", float(sel.size), v.frozen(sel),
                            v.frozen(_nearest_open(self.cost, sel)), None, float(n),
                            out.status, out.gap, out.dual_bound, clock.elapsed())


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
        clock = Deadline(s.time_limit)
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
                         np.arange(m + k) < m, maximize=True, time_limit=clock.remaining(),
                         mip_rel_gap=s.mip_rel_gap, threads=s.threads)
        sel = _selected(_incumbent(out, s.time_limit), m)
        assign = _nearest_open(self.cost, sel, self.service_radius)
        covered = float(self.weights[assign >= 0].sum())
        return SitingResult(self.name, covered, v.frozen(sel), v.frozen(assign), covered,
                            float(self.weights.sum()), out.status, out.gap, out.dual_bound,
                            clock.elapsed())


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

    Large instances go through a greedy + interchange incumbent, a Lagrangian bound that
    closes the sites it proves useless, and a sparse MIP in which each row sees only its k
    nearest candidates plus an overflow priced at its (k+1)-th nearest (a relaxation; k grows
    for the rows that use it until none does, which proves optimality). See
    :mod:`nrmc.planning._pmedian`.
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
        # a row with no weight costs nothing wherever it goes, so only weighted rows must reach
        # a candidate; an unweighted row that reaches none is left unassigned (-1)
        reach = np.isfinite(c).any(axis=1) | (w == 0)
        if not reach.all():
            bad = np.flatnonzero(~reach)
            raise InfeasibleProblem(f"{bad.size} demand row(s) with weight cannot reach any "
                                    f"candidate (first: {bad[:10].tolist()}); every such row "
                                    "must be assigned")
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
        """Solve to proven optimality (within ``mip_rel_gap``) or until ``time_limit``.

        ``reduce`` first closes (or opens) the sites a Lagrangian bound proves closed (open) in
        every optimal solution, uncapacitated only; ``neighbours`` is the initial k (default:
        all candidates when n·m ≤ 50,000, else max(16, 2m/p)). The time limit covers the whole
        solve (heuristic, Lagrangian and every MIP call); when it runs out the result holds the
        best solution found, status "time_limit" and the gap to the best proven lower bound.
        """
        s = solver or HighsOptions()
        clock = Deadline(s.time_limit)
        out = _pmedian.solve(self.cost, self.weights, self.p_facilities, self.existing,
                             self.capacities, _pmedian.Options(s.time_limit, s.mip_rel_gap,
                                                               s.threads),
                             clock, neighbours, reduce)
        sel = np.sort(out.selected)
        assign = _nearest_open(self.cost, sel) if out.assignment is None else out.assignment
        served = (assign >= 0) & (self.weights > 0)
        objective = float((self.weights[served] * self.cost[served, assign[served]]).sum())
        lb = min(max(out.lower_bound, 0.0), objective)  # costs are ≥ 0, so 0 is always a bound
        gap = (objective - lb) / objective if objective > 0 else 0.0
        return SitingResult("pmedian", objective, v.frozen(sel), v.frozen(assign), None,
                            float(self.weights.sum()), out.status, gap, lb, clock.elapsed(),
                            out.iterations)


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

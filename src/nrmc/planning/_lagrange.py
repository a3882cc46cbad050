"""Lagrangian bounds that shrink a p-median before it reaches the MIP solver.

Relaxing the assignment rows Σ_j x_ij = 1 with multipliers λ gives, for any λ,
    L(λ) = Σ_i λ_i + min_{Σy = p} Σ_j ρ_j y_j,   ρ_j = Σ_i min(0, w_i c_ij − λ_i),
a lower bound on the optimum (Cornuéjols, Fisher & Nemhauser 1977). Subgradient steps raise it
towards the LP bound. With an upper bound UB from a greedy + interchange heuristic, any site
whose opening forces L above UB is closed in every optimal solution (and any chosen site whose
closing does so is open): the exact MIP then only sees the sites that are left.

Each row's costs are sorted once, so an evaluation of L touches only the pairs with
w_i c_ij < λ_i (about n·m/p of them) instead of all n·m: national instances (2,849 × 2,849)
take tens of milliseconds per step. Every loop here honours a :class:`Deadline`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._clock import Deadline

BIG = 1e30
STALL = 20  # steps without a better bound before the step size is halved
HEAD = 512  # sorted columns scanned first when counting the pairs below a level


def objective(wc: np.ndarray, sites: np.ndarray) -> float:
    """Σ_i min_{j ∈ sites} wc_ij: the p-median value of a set of open sites."""
    return float(wc[:, sites].min(axis=1).sum())


class SortedCosts:
    """Each row's weighted costs sorted once; sums over the pairs cheaper than a per-row level.

    Both the interchange heuristic and the Lagrangian need, for a level b_i per row,
    ``gains(b)_j = Σ_i max(0, b_i − wc_ij)``. Only the pairs below b_i contribute, a prefix of
    each sorted row, so one evaluation reads about n·m/p entries instead of n·m.
    """

    def __init__(self, wc: np.ndarray) -> None:
        self.wc = wc
        self.n, self.m = wc.shape
        order = np.argsort(wc, axis=1, kind="stable")
        self.sorted = np.take_along_axis(wc, order, axis=1)
        self.order = order.astype(np.int32 if self.m < 2**31 else np.int64).ravel()
        self.flat = self.sorted.ravel()
        # the levels the Lagrangian and the interchange use sit near each row's assigned cost,
        # a few hundred ranks in at most: counting in the first columns only is several times
        # faster on national matrices (the full count is the fallback)
        self.head = np.ascontiguousarray(self.sorted[:, :HEAD]) if self.m > 2 * HEAD else None

    def count(self, level: np.ndarray) -> np.ndarray:
        """Per row, how many pairs have wc_ij < level_i."""
        if self.head is not None:
            count = (self.head < level[:, None]).sum(axis=1)
            if (count < HEAD).all():
                return count
        return (self.sorted < level[:, None]).sum(axis=1)

    def below(self, level: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, flat position) of every pair with wc_ij < level_i."""
        count = self.count(level)
        total = int(count.sum())
        rows = np.repeat(np.arange(self.n), count)
        pos = rows * self.m + (np.arange(total) - np.repeat(np.cumsum(count) - count, count))
        return rows, self.order[pos], pos

    def gains(self, level: np.ndarray) -> np.ndarray:
        rows, cols, pos = self.below(level)
        return np.bincount(cols, weights=level[rows] - self.flat[pos], minlength=self.m)


def heuristic(wc: np.ndarray | SortedCosts, p: int, existing: np.ndarray, passes: int = 200,
              start: np.ndarray | None = None, deadline: Deadline | None = None) -> np.ndarray:
    """Greedy addition then interchange (Teitz & Bart): a good upper bound.

    Each pass visits every open site and makes the best swap for it, if that improves.

    ``start`` (a set of sites, e.g. the Lagrangian's choice) replaces the greedy phase. The
    greedy phase always completes (it is what makes an answer possible); the interchange stops
    when ``deadline`` expires.
    """
    sc = wc if isinstance(wc, SortedCosts) else SortedCosts(wc)
    w = sc.wc
    n, m = w.shape
    chosen = [int(j) for j in (existing if start is None else start)]
    if chosen:
        best = w[:, chosen].min(axis=1)
    else:
        best = np.full(n, BIG)
        if len(chosen) < p:
            j = int(np.argmin(w.sum(axis=0)))
            chosen.append(j)
            best = w[:, j].copy()
    while len(chosen) < p:
        gain = sc.gains(best)
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        chosen.append(j)
        best = np.minimum(best, w[:, j])
    fixed = set(int(j) for j in existing)
    rows = np.arange(n)
    for _ in range(passes):  # one pass tries the best swap for every open site in turn
        improved = False
        for pos in range(p):
            if chosen[pos] in fixed:
                continue
            if deadline is not None and deadline.expired():
                return np.array(sorted(chosen), dtype=np.int64)
            sub = w[:, chosen]
            order = np.argsort(sub, axis=1)[:, :2]
            d1 = sub[rows, order[:, 0]]
            d2 = sub[rows, order[:, 1]] if p > 1 else np.full(n, BIG)
            base = np.where(order[:, 0] == pos, d2, d1)
            total = base.sum() - sc.gains(base)
            total[chosen] = np.inf
            j_in = int(np.argmin(total))
            if total[j_in] < d1.sum() * (1 - 1e-12):
                chosen[pos] = j_in
                improved = True
        if not improved:
            break
    return np.array(sorted(chosen), dtype=np.int64)


class _Relaxation:
    """L(λ) and a subgradient, evaluated on the pairs below λ only."""

    def __init__(self, sc: SortedCosts, p: int, existing_mask: np.ndarray) -> None:
        self.sc = sc
        self.n, self.m = sc.n, sc.m
        self.existing = existing_mask
        self.free = np.flatnonzero(~existing_mask)
        self.k_free = p - int(existing_mask.sum())

    def evaluate(self, lam: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """(L(λ), ρ, the relaxation's open sites y, subgradient of L at λ)."""
        rows, cols, pos = self.sc.below(lam)
        rho = -np.bincount(cols, weights=lam[rows] - self.sc.flat[pos], minlength=self.m)
        y = self.existing.copy()
        if self.k_free > 0:
            free_rho = rho[self.free]
            if self.k_free < self.free.size:
                pick = np.argpartition(free_rho, self.k_free - 1)[: self.k_free]
            else:
                pick = np.arange(self.free.size)
            y[self.free[pick]] = True
        lb = float(lam.sum() + rho[y].sum())
        g = 1.0 - np.bincount(rows, weights=y[cols].astype(np.float64), minlength=self.n)
        return lb, rho, y, g


@dataclass(frozen=True)
class Reduction:
    """What the Lagrangian proved: sites closed / open at every optimum, the bounds, the best
    solution it met (``sites``, worth ``ub``)."""

    closed: np.ndarray
    opened: np.ndarray
    lb: float
    ub: float
    sites: np.ndarray
    iterations: int
    multipliers: np.ndarray  # the λ of the best bound, to continue from


def reduce(wc: np.ndarray | SortedCosts, p: int, existing: np.ndarray, ub: float,
           sites: np.ndarray, iterations: int = 2000, deadline: Deadline | None = None,
           multipliers: np.ndarray | None = None) -> Reduction:
    """Subgradient ascent on L(λ) from the incumbent ``sites`` (worth ``ub``), then fixing.

    The sites the relaxation picks are also tried as solutions, which often lowers UB to the
    optimum and makes the fixing far more effective. Stops early on ``deadline``;
    ``multipliers`` (from an earlier call) continue an ascent instead of starting afresh.
    """
    sc = wc if isinstance(wc, SortedCosts) else SortedCosts(wc)
    wc = sc.wc
    n, m = wc.shape
    existing_mask = np.zeros(m, dtype=bool)
    existing_mask[existing] = True
    relax = _Relaxation(sc, p, existing_mask)
    if multipliers is None:
        # a customary start: the (p+1)-th smallest cost, among reachable sites only, so no
        # multiplier is anywhere near BIG (that would swamp the bound in rounding error)
        reachable = (sc.sorted < BIG).sum(axis=1)
        lam = sc.sorted[np.arange(n), np.clip(np.minimum(p, reachable - 1), 0, m - 1)].copy()
    else:
        lam = np.array(multipliers, dtype=np.float64)
    best_lb, best_lam, theta, stall = -np.inf, lam.copy(), 2.0, 0
    best_sites = np.asarray(sites, dtype=np.int64)
    done = 0
    for it in range(iterations):
        if deadline is not None and deadline.expired():
            break
        done = it + 1
        lb, rho, y, g = relax.evaluate(lam)
        value = objective(wc, np.flatnonzero(y))
        if value < ub:
            ub, best_sites = value, np.flatnonzero(y)
        if it % 100 == 99:  # polish the relaxation's choice now and then: a tighter UB
            polished = heuristic(sc, p, existing, passes=3, start=np.flatnonzero(y),
                                 deadline=deadline)
            value = objective(wc, polished)
            if value < ub:
                ub, best_sites = value, polished
        if lb > best_lb + 1e-12 * abs(best_lb if np.isfinite(best_lb) else 1):
            best_lb, best_lam, stall = lb, lam.copy(), 0
        else:
            stall += 1
            if stall >= STALL:
                theta, stall = theta / 2, 0
        if theta < 1e-4 or ub - best_lb <= 1e-9 * abs(ub):
            break
        norm = float(g @ g)
        if norm == 0:
            break
        lam = lam + theta * (ub - lb) / norm * g
    lb, rho, y, _ = relax.evaluate(best_lam)
    if deadline is None or not deadline.expired():
        polished = heuristic(sc, p, existing, passes=50, start=np.flatnonzero(y),
                             deadline=deadline)
        value = objective(wc, polished)
        if value < ub:
            ub, best_sites = value, polished
    free = ~existing_mask
    ranked = np.sort(rho[free & ~y]) if (free & ~y).any() else np.array([np.inf])
    chosen_free = np.sort(rho[free & y]) if (free & y).any() else np.array([-np.inf])
    worst_in = chosen_free[-1]
    best_out = ranked[0]
    tol = 1e-7 * max(1.0, abs(ub))
    closed = free & ~y & (lb - worst_in + rho > ub + tol)
    opened = free & y & (lb - rho + best_out > ub + tol)
    return Reduction(closed, opened, lb, ub, np.sort(best_sites), done, best_lam)

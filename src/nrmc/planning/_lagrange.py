"""Lagrangian bounds that shrink a p-median before it reaches the MIP solver.

Relaxing the assignment rows Σ_j x_ij = 1 with multipliers λ gives, for any λ,
    L(λ) = Σ_i λ_i + min_{Σy = p} Σ_j ρ_j y_j,   ρ_j = Σ_i min(0, w_i c_ij − λ_i),
a lower bound on the optimum (Cornuéjols, Fisher & Nemhauser 1977). Subgradient steps raise it
close to the LP bound in a few hundred numpy passes. With an upper bound UB from a greedy +
interchange heuristic, any site whose opening forces L above UB is closed in every optimal
solution (and any chosen site whose closing does so is open): the exact MIP then only sees the
sites that are left, typically a small fraction of the candidates.
"""

from __future__ import annotations

import numpy as np

BIG = 1e30


def heuristic(wc: np.ndarray, p: int, existing: np.ndarray, passes: int = 200,
              start: np.ndarray | None = None) -> np.ndarray:
    """Greedy addition then first-improvement interchange (Teitz & Bart); a good upper bound.

    ``start`` (a set of sites, e.g. the Lagrangian's choice) replaces the greedy phase.
    """
    n, m = wc.shape
    chosen = [int(j) for j in (existing if start is None else start)]
    best = wc[:, chosen].min(axis=1) if chosen else np.full(n, BIG)
    while len(chosen) < p:
        total = np.minimum(best[:, None], wc).sum(axis=0)
        total[chosen] = np.inf
        j = int(np.argmin(total))
        chosen.append(j)
        best = np.minimum(best, wc[:, j])
    fixed = set(int(j) for j in existing)
    rows = np.arange(n)
    for _ in range(passes):
        sub = wc[:, chosen]
        order = np.argsort(sub, axis=1)[:, :2]
        d1 = sub[rows, order[:, 0]]
        d2 = sub[rows, order[:, 1]] if p > 1 else np.full(n, BIG)
        current = d1.sum()
        improved = False
        for pos, j_out in enumerate(chosen):
            if j_out in fixed:
                continue
            base = np.where(order[:, 0] == pos, d2, d1)
            total = np.minimum(base[:, None], wc).sum(axis=0)
            total[chosen] = np.inf
            j_in = int(np.argmin(total))
            if total[j_in] < current * (1 - 1e-12):
                chosen[pos] = j_in
                improved = True
                break
        if not improved:
            break
    return np.array(sorted(chosen), dtype=np.int64)


def _inner(wc, lam, p, existing_mask):
    rho = np.minimum(0.0, wc - lam[:, None]).sum(axis=0)
    free = np.flatnonzero(~existing_mask)
    k = p - int(existing_mask.sum())
    pick = free[np.argsort(rho[free], kind="stable")[:k]]
    y = existing_mask.copy()
    y[pick] = True
    return lam.sum() + rho[y].sum(), rho, y


def reduce(wc: np.ndarray, p: int, existing: np.ndarray, ub: float,
           iterations: int = 400) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(closed, opened, lower bound, upper bound): sites provably closed / open at every optimum.

    The sites the relaxation picks are also tried as solutions, which often lowers UB to the
    optimum and makes the fixing far more effective.
    """
    n, m = wc.shape
    existing_mask = np.zeros(m, dtype=bool)
    existing_mask[existing] = True
    srt = np.sort(wc, axis=1)
    # a customary start: the (p+1)-th smallest cost, among reachable sites only, so no
    # multiplier is anywhere near BIG (that would swamp the bound in rounding error)
    reachable = (wc < BIG).sum(axis=1)
    lam = srt[np.arange(n), np.clip(np.minimum(p, reachable - 1), 0, m - 1)].copy()
    best_lb, best_lam, theta, stall = -np.inf, lam.copy(), 2.0, 0
    for it in range(iterations):
        lb, rho, y = _inner(wc, lam, p, existing_mask)
        ub = min(ub, float(wc[:, y].min(axis=1).sum()))
        if it % 100 == 99:  # polish the relaxation's choice now and then: a tighter UB
            polished = heuristic(wc, p, existing, passes=50, start=np.flatnonzero(y))
            ub = min(ub, float(wc[:, polished].min(axis=1).sum()))
        if lb > best_lb + 1e-12 * abs(best_lb if np.isfinite(best_lb) else 1):
            best_lb, best_lam, stall = lb, lam.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
        if theta < 1e-4 or ub - best_lb <= 1e-9 * abs(ub):
            break
        served = ((wc - lam[:, None]) < 0) & y[None, :]
        g = 1.0 - served.sum(axis=1)
        norm = float(g @ g)
        if norm == 0:
            break
        lam = lam + theta * (ub - lb) / norm * g
    lb, rho, y = _inner(wc, best_lam, p, existing_mask)
    polished = heuristic(wc, p, existing, passes=50, start=np.flatnonzero(y))
    ub = min(ub, float(wc[:, polished].min(axis=1).sum()))
    free = ~existing_mask
    ranked = np.sort(rho[free & ~y]) if (free & ~y).any() else np.array([np.inf])
    chosen_free = np.sort(rho[free & y]) if (free & y).any() else np.array([-np.inf])
    worst_in = chosen_free[-1]
    best_out = ranked[0]
    tol = 1e-7 * max(1.0, abs(ub))
    closed = free & ~y & (lb - worst_in + rho > ub + tol)
    opened = free & y & (lb - rho + best_out > ub + tol)
    return closed, opened, lb, ub

"""Spatial accessibility: 2SFCA, enhanced 2SFCA, 3SFCA and weighted (gravity) catchments.

Definitions follow PySAL ``access`` 1.1 exactly (same inputs give the same numbers), written
from the formulas with numpy / scipy.sparse over the reachable pairs only:

* **2SFCA** (Luo & Wang 2003): for supply site j, R_j = S_j / Σ_{i: c_ij ≤ d0} D_i W(c_ij);
  for demand i, A_i = Σ_{j: c_ij ≤ d0} R_j W(c_ij). W ≡ 1 in the original method.
* **E2SFCA** (Luo & Qi 2009): the same with a step weight, default {10: 1, 20: 0.68, 30: 0.22}
  (cost ≤ 10 → 1, ≤ 20 → 0.68, ≤ 30 → 0.22, beyond → 0).
* **3SFCA** (Wan, Zou & Sternberg 2012): a selection weight G_ij = W_ij / Σ_k W_ik over every
  reachable site k of demand i (not only those within d0, as in ``access``) multiplies W in
  both stages. Default step weight {10: 0.962, 20: 0.704, 30: 0.377, 60: 0.042}.
* **Weighted catchment** (``access.weighted_catchment``): A_i = Σ_{j: c_ij ≤ d0} S_j W(c_ij);
  with :func:`gravity_weight` this is the gravity potential.

Two edge cases differ on purpose: where no supply is in reach ``access`` leaves NaN and a site
whose catchment holds zero demand yields ∞; here both give 0 (nobody can use that supply).
``cost`` is a dense (n, m) array with ``inf`` for unreachable pairs, or a
:class:`~nrmc.planning.travel.CostPairs`.

>>> import numpy as np
>>> cost = np.array([[5.0, 20.0], [15.0, 5.0]])
>>> two_stage_fca(np.array([100.0, 300.0]), np.array([2.0, 6.0]), cost, max_cost=10).tolist()
[0.02, 0.02]
>>> two_stage_fca(np.array([100.0, 300.0]), np.array([2.0, 6.0]), cost, max_cost=30).tolist()
[0.02, 0.02]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from . import _validate as v
from .errors import InvalidInput
from .travel import CostPairs

Weight = Callable[[np.ndarray], np.ndarray]

E2SFCA_STEPS: dict[float, float] = {10: 1.0, 20: 0.68, 30: 0.22}
THREE_STAGE_STEPS: dict[float, float] = {10: 0.962, 20: 0.704, 30: 0.377, 60: 0.042}


def step_weight(steps: Mapping[float, float]) -> Weight:
    """W(c) = the value of the smallest threshold ≥ c; 0 beyond the largest (as access.step_fn)."""
    if not steps:
        raise InvalidInput("step weights need at least one threshold")
    keys = np.array(sorted(steps), dtype=np.float64)
    vals = np.array([steps[k] for k in sorted(steps)], dtype=np.float64)
    if (vals < 0).any():
        raise InvalidInput("step weights must be ≥ 0")
    padded = np.append(vals, 0.0)

    def weight(c: np.ndarray) -> np.ndarray:
        return padded[np.searchsorted(keys, np.asarray(c, dtype=np.float64), side="left")]

    return weight


def gaussian_weight(sigma: float) -> Weight:
    """W(c) = exp(−c² / 2σ²), unnormalised so W(0) = 1 (as access.weights.gaussian)."""
    if sigma == 0:
        raise InvalidInput("sigma must be non-zero")
    return lambda c: np.exp(-np.square(c) / (2.0 * sigma * sigma))


def gravity_weight(scale: float, alpha: float, min_dist: float = 0.0) -> Weight:
    """W(c) = (max(c, min_dist) / scale) ** alpha; alpha < 0 decays (as access's gravity)."""
    if scale == 0:
        raise InvalidInput("scale must be non-zero")
    return lambda c: np.power(np.maximum(c, min_dist) / scale, alpha)


def _pairs(cost, max_cost: float | None = None):
    """Reachable pairs (rows, cols, cost), only those within ``max_cost`` when given.

    Filtering a dense matrix before extracting pairs is what keeps national instances fast:
    one vectorised comparison instead of materialising every finite pair.
    """
    limit = None if max_cost is None else v.radius(max_cost, "max_cost")
    if isinstance(cost, CostPairs):
        if np.isnan(cost.minutes).any() or (cost.minutes < 0).any():
            raise InvalidInput("cost pairs have NaN or negative minutes")
        keep = np.isfinite(cost.minutes)
        if limit is not None:
            keep &= cost.minutes <= limit
        return cost.shape, cost.rows[keep], cost.cols[keep], cost.minutes[keep]
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2 or not (c >= 0).all():  # one pass; NaN fails ≥ 0 too
        c = v.cost_matrix(c)  # raises the precise error
    mask = np.isfinite(c) if limit is None else (c <= limit)
    # flat indices, then divmod: 2-D np.nonzero costs ~10x more on a national matrix
    flat = np.flatnonzero(mask)
    rows, cols = np.divmod(flat, c.shape[1])
    return c.shape, rows, cols, c.ravel()[flat]


def _apply(weight: Weight | None, c: np.ndarray) -> np.ndarray:
    if weight is None:
        return np.ones_like(c)
    try:
        out = np.asarray(weight(c), dtype=np.float64)
        if out.shape != c.shape:
            raise TypeError
    except (TypeError, ValueError):
        # a scalar-only function (e.g. access.weights.step_fn): correct, just slower
        out = np.fromiter((weight(x) for x in c), dtype=np.float64, count=c.size)
    if np.isnan(out).any() or (out < 0).any():
        raise InvalidInput("the weight function returned NaN or negative values")
    return out


def _inputs(demand, supply, cost, max_cost=None):
    shape, rows, cols, c = _pairs(cost, max_cost)
    n, m = shape
    d = v.weights(demand, n, "demand")
    s = v.weights(supply, m, "supply")
    return n, m, d, s, rows, cols, c


def _within(rows, cols, c, max_cost):
    if max_cost is None:
        return rows, cols, c, np.ones(c.size, dtype=bool)
    keep = c <= v.radius(max_cost, "max_cost")
    return rows[keep], cols[keep], c[keep], keep


def _ratio(supply: np.ndarray, catchment_demand: np.ndarray) -> np.ndarray:
    out = np.zeros_like(supply)
    np.divide(supply, catchment_demand, out=out, where=catchment_demand > 0)
    return out


def _two_stage(n, m, d, s, rows, cols, w) -> np.ndarray:
    catchment = np.bincount(cols, weights=d[rows] * w, minlength=m)
    r = _ratio(s, catchment)
    return np.bincount(rows, weights=r[cols] * w, minlength=n)


def two_stage_fca(demand, supply, cost, max_cost: float | None = None,
                  weight: Weight | None = None) -> np.ndarray:
    """2SFCA accessibility per demand row (supply per head within reach)."""
    n, m, d, s, rows, cols, c = _inputs(demand, supply, cost, max_cost)
    return _two_stage(n, m, d, s, rows, cols, _apply(weight, c))


def enhanced_two_stage_fca(demand, supply, cost, max_cost: float | None = None,
                           weight: Weight | None = None) -> np.ndarray:
    """E2SFCA: 2SFCA with step distance decay (default Luo & Qi's {10: 1, 20: .68, 30: .22})."""
    return two_stage_fca(demand, supply, cost, max_cost,
                         weight if weight is not None else step_weight(E2SFCA_STEPS))


def three_stage_fca(demand, supply, cost, max_cost: float | None = None,
                    weight: Weight | None = None) -> np.ndarray:
    """3SFCA: E2SFCA with Wan et al.'s selection weights G shrinking over-counted demand."""
    n, m, d, s, rows, cols, c = _inputs(demand, supply, cost)
    w_all = _apply(weight if weight is not None else step_weight(THREE_STAGE_STEPS), c)
    total = np.bincount(rows, weights=w_all, minlength=n)
    g = np.zeros_like(w_all)
    np.divide(w_all, total[rows], out=g, where=total[rows] > 0)
    rows, cols, c, keep = _within(rows, cols, c, max_cost)
    return _two_stage(n, m, d, s, rows, cols, (w_all * g)[keep])


def weighted_catchment(supply, cost, max_cost: float | None = None,
                       weight: Weight | None = None) -> np.ndarray:
    """Supply within reach of each row, weighted by W (with gravity_weight: gravity potential)."""
    shape, rows, cols, c = _pairs(cost, max_cost)
    s = v.weights(supply, shape[1], "supply")
    return np.bincount(rows, weights=s[cols] * _apply(weight, c), minlength=shape[0])


def weighted_mean_by_group(values, population, groups) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    """Population-weighted mean of ``values`` per group label: (labels, means, populations).

    Used to summarise county accessibility per province (and the country): a province's figure is
    what its average resident experiences, not the mean over counties.
    """
    vals = np.asarray(values, dtype=np.float64)
    pop = v.weights(population, vals.size, "population")
    labels, idx = np.unique(np.asarray(groups), return_inverse=True)
    tot = np.bincount(idx, weights=pop, minlength=labels.size)
    num = np.bincount(idx, weights=pop * vals, minlength=labels.size)
    means = np.zeros_like(tot)
    np.divide(num, tot, out=means, where=tot > 0)
    return labels, means, tot

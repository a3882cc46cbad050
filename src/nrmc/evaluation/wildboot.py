"""Wild cluster bootstrap-t for every aggregate of :func:`nrmc.evaluation.csdid.did`.

Cluster-robust (sandwich) intervals are too narrow when the clusters are few (here: provinces,
~31, of which 6–26 treated). The wild cluster bootstrap perturbs each province's residuals by
one random weight ``v_c`` per draw (Rademacher ±1; Webb's six-point weights when there are
fewer than ``WEBB_BELOW`` clusters, where Rademacher has too few distinct draws), re-estimates
and re-studentises. Because every ATT(g, t) is a difference of weighted means, a draw is
linear in ``v`` and is computed for all draws at once (numpy, no refits):

    θ*_b − θ̂ = Σ_c v_bc Φ_c,      Φ_c = Σ_{i∈c} φ_i   (the aggregate's influence),
    s_bc = v_bc Φ_c − Σ_k λ_k (m^T_kb B^T_kc − m^C_kb B^C_kc),
    m^T_kb = Σ_c v_bc A^T_kc      (the perturbed treated mean residual of cell k),

``s_bc`` being cluster c's score after the group means are re-estimated in draw b, so
``se*_b = sqrt(G/(G−1) Σ_c s_bc²)`` and ``t*_b = (θ*_b − θ̂)/se*_b``. The interval is the
symmetric bootstrap-t ``θ̂ ± q_{1−α}(|t*|) · se`` and the p-value ``mean(|t*| ≥ |θ̂/se|)``
(unrestricted, WCU: inverting a restricted bootstrap for an interval costs a search per
aggregate; the coverage study in ``benchmarks/did_coverage.py`` measures what WCU gives here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .csdid import Aggregate, DidResult, cluster_sums

DRAWS = 999
WEBB_BELOW = 12
_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


@dataclass(frozen=True)
class BootInterval:
    att: float
    se: float  # analytic cluster-robust
    ci_low: float
    ci_high: float
    p_value: float
    draws: int
    distinct_draws: float  # 2^G or 6^G: how many different weight vectors exist
    weights: str  # rademacher | webb


def draw_weights(n_draws: int, n_clusters: int, *, seed: int) -> tuple[np.ndarray, str, float]:
    """``n_draws × G`` cluster weights; Webb's when G < WEBB_BELOW, else Rademacher."""
    rng = np.random.default_rng(seed)
    if n_clusters < WEBB_BELOW:
        return rng.choice(_WEBB, size=(n_draws, n_clusters)), "webb", 6.0**n_clusters
    return rng.choice([-1.0, 1.0], size=(n_draws, n_clusters)), "rademacher", 2.0**n_clusters


def bootstrap(result: DidResult, *, draws: int = DRAWS, seed: int = 0
              ) -> dict[str, BootInterval | list[BootInterval]]:
    """Bootstrap-t intervals for each aggregate (key) and each of its rows (``key + "_rows"``).

    Clusters are ``result.clusters`` (one per unit when the estimate was not clustered).
    The same draws serve every aggregate, so results are reproducible from ``seed``.
    """
    n_clusters = result.n_clusters
    v, kind, distinct = draw_weights(draws, n_clusters, seed=seed)
    cells = result.cells
    codes = result.clusters
    a_t = cluster_sums(cells.a_treat, codes, n_clusters)  # G × K
    b_t = cluster_sums(cells.b_treat, codes, n_clusters)
    a_c = cluster_sums(cells.a_ctrl, codes, n_clusters)
    b_c = cluster_sums(cells.b_ctrl, codes, n_clusters)
    m_t, m_c = v @ a_t, v @ a_c  # draws × K
    att = result.group_time["att"].to_numpy(float)
    scale = n_clusters / (n_clusters - 1)

    def one(lam: np.ndarray, wif: np.ndarray) -> BootInterval:
        theta = float(lam @ att)
        phi = (a_t - a_c) @ lam + cluster_sums(wif, codes, n_clusters)
        se = math.sqrt(scale * float(phi @ phi))
        if se <= 0:
            return BootInterval(theta, math.nan, math.nan, math.nan, math.nan, draws, distinct,
                                kind)
        delta = v @ phi
        scores = v * phi[None, :] - (m_t * lam) @ b_t.T + (m_c * lam) @ b_c.T
        se_star = np.sqrt(scale * np.sum(scores**2, axis=1))
        t_star = np.abs(delta / np.where(se_star > 0, se_star, np.nan))
        q = float(np.nanquantile(t_star, 1 - result.alpha))
        t_hat = abs(theta / se)
        p = float((1 + np.sum(t_star >= t_hat)) / (1 + np.sum(np.isfinite(t_star))))
        return BootInterval(theta, se, theta - q * se, theta + q * se, p, draws, distinct, kind)

    out: dict[str, BootInterval | list[BootInterval]] = {}
    for name, agg in result.aggregations.items():
        out[name] = one(agg.weights, agg.wif)
        if agg.rows is not None:
            out[name + "_rows"] = [one(lam, wif) for lam, wif in agg.rows.attrs["parts"]]
    return out


def with_bootstrap(agg: Aggregate, boot: BootInterval) -> dict[str, float]:
    """An aggregate's analytic and bootstrap figures side by side (for JSON and reports)."""
    return {"att": agg.att, "se": agg.se, "ci_low": agg.ci_low, "ci_high": agg.ci_high,
            "boot_ci_low": boot.ci_low, "boot_ci_high": boot.ci_high, "boot_p": boot.p_value}


def method_line(boot: BootInterval, n_clusters: int, unit: str = "provinces") -> str:
    """The one line a reader needs: "wild cluster bootstrap, 999 draws, 24 provinces"."""
    return (f"wild cluster bootstrap ({boot.weights} weights), {boot.draws} draws, "
            f"{n_clusters} {unit}")

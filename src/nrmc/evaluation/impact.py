"""Impact statistics: before/after tables and a staggered difference-in-differences.

Everything here is pure: plain DataFrames in, frozen dataclasses out. Where the data come
from (flows, projects) is ``panel``'s business; what the numbers mean is documented here and
in ``docs/evaluation.md``.

Difference-in-differences under staggered adoption
--------------------------------------------------
(Pages, reports and commands now use ``csdid`` + ``wildboot`` via ``estimate``; the stacked
regression below is kept as an independent cross-check of the same point estimates, and its
``_points`` serve the placebo draws.)

Units are (province, specialty) cells; a cell's *cohort* ``g`` is the first year a programme
centre in that province and specialty is open. Two-way fixed-effects regressions are biased
when adoption is staggered and effects vary over time (already-treated cells become
controls), so we estimate Callaway & Sant'Anna (2021) group-time effects with not-yet-treated
controls and a universal base period ``g − 1``::

    ATT(g, t) = E_w[Y_t − Y_{g−1} | G = g] − E_w[Y_t − Y_{g−1} | G > max(t, g) or never]

(``E_w`` a weighted mean with the unit weights). Every 2×2 comparison is one block of a single
stacked weighted least-squares regression

    ΔY_{i,k} = α_k + ATT_k · D_{i,k} + ε_{i,k},   k = (g, t),

fitted by statsmodels with standard errors clustered by province, so the covariance between
all ``ATT(g, t)`` (a province appears in many blocks) is estimated in one sandwich. The
aggregates are linear combinations of the ``ATT_k`` with cohort-size weights
``π_g = Σ_{i∈g} w_i``:

* event time ``e``: ``θ(e) = Σ_g π_g ATT(g, g+e) / Σ_g π_g`` over cohorts observed at ``e``;
  ``θ(−1) = 0`` by construction (the base period);
* overall: ``θ = Σ_{(g,t): t≥g} π_g ATT(g, t) / Σ π_g``, the CS "simple" aggregate;
* pre-trend check: a cluster-robust Wald test that ``θ(e) = 0`` for the ``pre_window``
  periods before the base year (``e = −2 … −1−pre_window``), Hotelling-scaled for few
  clusters (``_pre_trend_test``).

With a log outcome a coefficient ``θ`` is in log points; the proportional effect is
``exp(θ) − 1`` and its interval ``exp(θ ± t·se) − 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..core.errors import NrmcError


class InsufficientData(NrmcError):
    """The panel cannot identify the requested comparison (no treated or no control units)."""


# --------------------------------------------------------------------------- before / after


@dataclass(frozen=True)
class BeforeAfter:
    """One metric by year against a baseline year.

    ``table`` has ``year, value, numerator, denominator, change, change_pct`` (against the
    baseline year) and
    ``yoy_change, yoy_change_pct`` (against the previous year present). ``after`` is the value
    in the last year observed (``after_year``); percentages are fractions (−0.3 = −30%).
    """

    metric: str
    baseline_year: int
    after_year: int
    before: float
    after: float
    change_pct: float
    table: pd.DataFrame = field(repr=False)


def before_after(
    frame: pd.DataFrame,
    *,
    metric: str,
    baseline_year: int,
    numerator: str,
    denominator: str | None = None,
    year: str = "year",
) -> BeforeAfter:
    """Aggregate a metric by year and compare every year with ``baseline_year``.

    Rates are pooled, not averaged: with several rows per year (several projects, several
    specialties) ``value_t = Σ numerator / Σ denominator``, so a big cell counts for what it
    weighs. Without ``denominator`` the value is the sum of ``numerator`` (a count).

    ``change_pct = value_t / value_baseline − 1``; ``yoy_change_pct = value_t / value_{t−1} − 1``.
    """
    columns = [numerator] + ([denominator] if denominator else [])
    sums = frame.groupby(year)[columns].sum(min_count=1).sort_index()
    if denominator:
        value = sums[numerator] / sums[denominator].where(sums[denominator] > 0)
    else:
        value = sums[numerator].astype(float)
    table = pd.DataFrame({"year": sums.index.astype(int), "value": value.to_numpy(float),
                          "numerator": sums[numerator].to_numpy(float),
                          "denominator": (sums[denominator] if denominator
                                          else sums[numerator]).to_numpy(float)})
    if baseline_year not in set(table["year"]):
        raise InsufficientData(f"{metric}: no data for baseline year {baseline_year}")
    base = float(table.loc[table["year"] == baseline_year, "value"].iloc[0])
    table["change"] = table["value"] - base
    table["change_pct"] = table["value"] / base - 1 if base else np.nan
    previous = table["value"].shift(1)
    table["yoy_change"] = table["value"] - previous
    table["yoy_change_pct"] = table["value"] / previous.where(previous != 0) - 1
    last = table.iloc[-1]
    return BeforeAfter(
        metric=metric, baseline_year=int(baseline_year), after_year=int(last["year"]),
        before=base, after=float(last["value"]),
        change_pct=float(last["value"] / base - 1) if base else math.nan,
        table=table.reset_index(drop=True),
    )


# --------------------------------------------------------------------------- staggered DiD


@dataclass(frozen=True)
class StaggeredDiD:
    """Result of :func:`staggered_did` (coefficients in the outcome's units, log points here).

    ``event_study``: ``event_time, estimate, se, ci_low, ci_high, cohorts, treated_units``
    (``event_time = −1`` is the reference, 0 with no interval). ``group_time``: ``cohort,
    year, event_time, att, se, treated_units, control_units``.
    """

    att: float
    se: float
    ci_low: float
    ci_high: float
    pre_trend_f: float
    pre_trend_df: int
    pre_trend_p: float
    n_units: int
    n_treated_units: int
    n_clusters: int
    alpha: float
    outcome: str
    event_study: pd.DataFrame = field(repr=False)
    group_time: pd.DataFrame = field(repr=False)
    inference: str = "cluster"  # "wild bootstrap", "province placebo" (estimate.py), "placebo"
    placebo_draws: int = 0
    method: str = ""  # the line a reader needs: "wild cluster bootstrap …, 999 draws, 24 provinces"
    analytic_ci: tuple[float, float] = (math.nan, math.nan)  # cluster-robust, beside the bootstrap
    treated_clusters: int = 0  # provinces with a treated cell in the scope
    sensitivity: dict[str, float] = field(default_factory=dict)  # never-treated controls instead

    @property
    def effect_pct(self) -> float:
        """Proportional effect ``exp(att) − 1`` (for a log outcome)."""
        return math.expm1(self.att)

    @property
    def effect_pct_ci(self) -> tuple[float, float]:
        return math.expm1(self.ci_low), math.expm1(self.ci_high)


def staggered_did(
    panel: pd.DataFrame,
    *,
    outcome: str = "y",
    unit: str = "unit",
    time: str = "year",
    cohort: str = "cohort",
    cluster: str = "province",
    weight: str | None = None,
    treated_units: set[str] | None = None,
    alpha: float = 0.05,
    pre_window: int = 3,
) -> StaggeredDiD:
    """Callaway–Sant'Anna group-time effects, aggregated, with province-clustered errors.

    ``panel`` has one row per unit and year with the outcome, the unit's ``cohort`` (first
    treated year; NaN or 0 for never treated), its ``cluster`` and optionally a fixed
    ``weight``. Units missing any year are dropped (the estimator needs a balanced panel).
    ``treated_units`` narrows the treated side to some units (one project's cell, one batch):
    the other treated units still serve as controls while not yet treated, never after.

    Example (known effect −0.3 log points from the 2020 cohort)::

        >>> res = staggered_did(panel)          # doctest: +SKIP
        >>> round(res.att, 2), res.pre_trend_p > 0.05
        (-0.3, True)
    """
    needed = [unit, time, cohort, cluster, outcome] + ([weight] if weight else [])
    missing = [c for c in needed if c not in panel.columns]
    if missing:
        raise ValueError(f"panel lacks columns {missing}")
    data = panel[needed].dropna(subset=[outcome])
    years = sorted(int(y) for y in data[time].unique())
    wide = data.pivot_table(index=unit, columns=time, values=outcome, aggfunc="first")
    wide = wide.dropna()  # balanced panel only
    info = data.groupby(unit).first().loc[wide.index]
    cohorts_of = pd.to_numeric(info[cohort], errors="coerce").fillna(0).astype(int)
    cohorts_of = cohorts_of.where(cohorts_of > 0, 0)  # 0 = never treated
    w = info[weight].astype(float) if weight else pd.Series(1.0, index=wide.index)
    if (w <= 0).any() or w.isna().any():
        raise ValueError("weights must be positive")
    focus = pd.Series(True, index=wide.index)
    if treated_units is not None:
        focus = pd.Series(wide.index.isin(list(treated_units)), index=wide.index)

    blocks: list[pd.DataFrame] = []
    cells: list[dict[str, float]] = []
    used: list[set[str]] = []
    cohort_list = sorted(g for g in cohorts_of.unique() if g > 0)
    for g in cohort_list:
        base = g - 1
        if base not in wide.columns:
            continue  # treated from before the data start: no untreated base year
        treated = wide.index[(cohorts_of == g) & focus]
        if len(treated) == 0:
            continue
        for t in years:
            if t == base or t not in wide.columns:
                continue
            controls = wide.index[(cohorts_of == 0) | (cohorts_of > max(t, g))]
            if len(controls) == 0:
                continue
            members = treated.append(controls)
            k = len(cells)
            blocks.append(pd.DataFrame({
                "k": k, "d": np.r_[np.ones(len(treated)), np.zeros(len(controls))],
                "dy": (wide.loc[members, t] - wide.loc[members, base]).to_numpy(float),
                "w": w.loc[members].to_numpy(float),
                "cluster": info.loc[members, cluster].astype(str).to_numpy(),
            }))
            used.append(set(members))
            cells.append({"cohort": g, "year": t, "event_time": t - g,
                          "treated_units": len(treated), "control_units": len(controls),
                          "pi": float(w.loc[treated].sum())})
    if not cells:
        raise InsufficientData("no cohort has both an untreated base year and control units")

    stacked = pd.concat(blocks, ignore_index=True)
    stacked_units = sorted(set().union(*used))
    n_cells = len(cells)
    design = np.zeros((len(stacked), 2 * n_cells))
    rows = np.arange(len(stacked))
    design[rows, stacked["k"].to_numpy()] = 1.0  # α_k
    design[rows, n_cells + stacked["k"].to_numpy()] = stacked["d"].to_numpy()  # ATT_k
    groups = pd.factorize(stacked["cluster"])[0]
    fit = sm.WLS(stacked["dy"].to_numpy(), design, weights=stacked["w"].to_numpy(),
                 hasconst=True).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )

    gt = pd.DataFrame(cells)
    gt["att"] = fit.params[n_cells:]
    gt["se"] = fit.bse[n_cells:]

    def contrast(mask: np.ndarray) -> np.ndarray:
        vec = np.zeros(2 * n_cells)
        pi = gt["pi"].to_numpy() * mask
        vec[n_cells:] = pi / pi.sum()
        return vec

    es_rows = []
    pre_rows = []
    for e in sorted(gt["event_time"].unique()):
        mask = (gt["event_time"] == e).to_numpy()
        vec = contrast(mask)
        test = fit.t_test(vec[None, :])
        low, high = np.asarray(test.conf_int(alpha=alpha)).ravel()
        es_rows.append({"event_time": int(e), "estimate": float(np.squeeze(test.effect)),
                        "se": float(np.squeeze(test.sd)), "ci_low": float(low),
                        "ci_high": float(high), "cohorts": int(mask.sum()),
                        "treated_units": int(gt.loc[mask, "treated_units"].sum())})
        if -1 - pre_window <= e <= -2:
            pre_rows.append(vec)
    es_rows.append({"event_time": -1, "estimate": 0.0, "se": np.nan, "ci_low": np.nan,
                    "ci_high": np.nan, "cohorts": 0, "treated_units": 0})
    event_study = pd.DataFrame(es_rows).sort_values("event_time").reset_index(drop=True)

    post = (gt["event_time"] >= 0).to_numpy()
    if not post.any():
        raise InsufficientData("no treated cell is observed after its opening year")
    overall = fit.t_test(contrast(post)[None, :])
    low, high = np.asarray(overall.conf_int(alpha=alpha)).ravel()

    n_clusters = int(info.loc[stacked_units, cluster].nunique())
    pre_f, pre_df, pre_p = _pre_trend_test(fit, pre_rows, n_clusters)

    treated_all = wide.index[(cohorts_of > 0) & focus]
    return StaggeredDiD(
        att=float(np.squeeze(overall.effect)), se=float(np.squeeze(overall.sd)),
        ci_low=float(low), ci_high=float(high),
        pre_trend_f=pre_f, pre_trend_df=pre_df, pre_trend_p=pre_p,
        n_units=len(wide), n_treated_units=len(treated_all),
        n_clusters=n_clusters, alpha=alpha, outcome=outcome,
        event_study=event_study, group_time=gt.drop(columns="pi"),
    )


def _pre_trend_test(
    fit: sm.regression.linear_model.RegressionResultsWrapper, rows: list[np.ndarray],
    n_clusters: int,
) -> tuple[float, int, float]:
    """Joint test that the pre-period event-time effects are zero, small-cluster adjusted.

    A cluster-robust Wald statistic ``W`` over ``q`` restrictions with ``G`` clusters rejects
    far too often when ``G`` is ~30 (the q×q covariance is itself estimated from G clusters),
    so we use the Hotelling T² scaling ``F = (G − q) / (q (G − 1)) · W ~ F(q, G − q)`` and test
    only the ``pre_window`` periods nearest the opening, where several cohorts contribute.
    Returns ``(F, q, p)``; NaN when there is no pre-period to test.
    """
    q = len(rows)
    if q == 0 or n_clusters - q < 1:
        return math.nan, q, math.nan
    wald = fit.wald_test(np.vstack(rows), use_f=False, scalar=True)
    statistic = float(wald.statistic)
    f_value = (n_clusters - q) / (q * (n_clusters - 1)) * statistic
    return f_value, q, float(stats.f.sf(f_value, q, n_clusters - q))


# --------------------------------------------------------------------------- few treated cells


def _wide(panel: pd.DataFrame, outcome: str, weight: str | None) -> tuple[pd.DataFrame, pd.Series,
                                                                          pd.Series]:
    wide = panel.pivot_table(index="unit", columns="year", values=outcome,
                             aggfunc="first").dropna()
    info = panel.groupby("unit").first().loc[wide.index]
    cohorts = pd.to_numeric(info["cohort"], errors="coerce").fillna(0).astype(int).clip(lower=0)
    w = info[weight].astype(float) if weight else pd.Series(1.0, index=wide.index)
    return wide, cohorts, w


def _points(wide: pd.DataFrame, cohorts: pd.Series, w: pd.Series, treated: dict[str, int],
            pre_window: int) -> tuple[float, float, dict[int, float]]:
    """Point estimates only (overall ATT, mean pre-period θ, θ(e)) for a given treated set.

    The same weighted 2×2 differences as :func:`staggered_did` (there proved equal to the
    regression coefficients), in numpy, so hundreds of placebo draws stay fast. ``treated``
    maps unit → cohort; ``cohorts`` gives every other unit's own cohort (0 = never).
    """
    values = wide.to_numpy(float)
    col = {int(y): i for i, y in enumerate(wide.columns)}
    own = cohorts.to_numpy().copy()
    weights = w.to_numpy(float)
    index = {u: i for i, u in enumerate(wide.index)}
    for u, g in treated.items():  # a placebo cell is treated (not a control) from its fake year
        own[index[u]] = g
    by_cohort: dict[int, list[int]] = {}
    for u, g in treated.items():
        by_cohort.setdefault(int(g), []).append(index[u])
    es_num: dict[int, float] = {}
    es_den: dict[int, float] = {}
    for g, members in by_cohort.items():
        if g - 1 not in col:
            continue
        pi = weights[members].sum()
        for t in col:
            if t == g - 1:
                continue
            controls = (own == 0) | (own > max(t, g))
            if not controls.any():
                continue
            dy = values[:, col[t]] - values[:, col[g - 1]]
            att = (np.average(dy[members], weights=weights[members])
                   - np.average(dy[controls], weights=weights[controls]))
            es_num[t - g] = es_num.get(t - g, 0.0) + pi * att
            es_den[t - g] = es_den.get(t - g, 0.0) + pi
    theta = {e: es_num[e] / es_den[e] for e in es_num}
    post = [e for e in es_num if e >= 0]
    overall = (sum(es_num[e] for e in post) / sum(es_den[e] for e in post)) if post else math.nan
    pre = [theta[e] for e in theta if -1 - pre_window <= e <= -2]
    return overall, (float(np.mean(pre)) if pre else math.nan), theta


def placebo_inference(
    panel: pd.DataFrame,
    result: StaggeredDiD,
    *,
    treated_units: set[str],
    weight: str | None = "weight",
    outcome: str = "y",
    pre_window: int = 3,
    draws: int = 199,
    seed: int = 0,
) -> StaggeredDiD:
    """Intervals for one or a few treated cells from placebo centres (Conley & Taber 2011).

    Cluster-robust errors need many treated clusters; with one treated cell its own noise is
    not estimable from itself (the sandwich gives an absurdly narrow interval). Instead we
    give never-treated cells the treated cells' opening years, re-estimate, and read the
    sampling error off the distribution of these placebo effects ``θ̃_r`` (true effect 0):

        CI = [θ̂ − q_{1−α/2}(θ̃), θ̂ − q_{α/2}(θ̃)],   se = sd(θ̃),

    each ``θ̃_r`` rescaled by ``sqrt(Σ w_placebo / Σ w_treated)`` because the noise of a
    weighted log-outflow mean shrinks like ``1/sqrt(Σ w)`` (Ferman & Pinto's adjustment for
    cells of unequal size). The pre-trend p-value is the share of placebo draws whose mean
    pre-period θ is at least as far from 0 as the treated cells' (a permutation test).
    Assumes the treated cells' errors are drawn like the never-treated cells'.
    """
    wide, cohorts, w = _wide(panel, outcome, weight)
    # sorted: set order varies between processes (string hashing), the draws must not
    treated = {u: int(cohorts[u]) for u in sorted(treated_units)
               if u in cohorts.index and cohorts[u] > 0}
    if not treated:
        return result
    pool = [u for u in wide.index if cohorts[u] == 0]
    k = len(treated)
    if len(pool) < max(k, 10):
        return result
    actual_overall, actual_pre, actual_theta = _points(wide, cohorts, w, treated, pre_window)
    rest = wide.drop(index=list(treated))
    rng = np.random.default_rng(seed)
    w_treated = sum(w[u] for u in treated)
    draws_list = ([[u] for u in pool[:draws]] if k == 1 and len(pool) <= draws
                  else [list(rng.choice(pool, size=k, replace=False)) for _ in range(draws)])
    rest_cohorts, rest_w = cohorts.drop(index=list(treated)), w.drop(index=list(treated))
    overall, pre, theta = [], [], []
    for chosen in draws_list:
        fake = dict(zip(chosen, treated.values(), strict=True))
        scale = math.sqrt(sum(w[u] for u in chosen) / w_treated)
        o, p, th = _points(rest, rest_cohorts, rest_w, fake, pre_window)
        overall.append(o * scale)
        pre.append(p * scale)
        theta.append({e: v * scale for e, v in th.items()})
    overall_a, low_q, high_q, es, pre_p = placebo_intervals(result, overall, pre, theta,
                                                            actual_pre)
    return replace(
        result, se=float(np.nanstd(overall_a, ddof=1)),
        ci_low=float(result.att - high_q), ci_high=float(result.att - low_q),
        pre_trend_f=math.nan, pre_trend_df=0, pre_trend_p=pre_p, event_study=es,
        inference="placebo", placebo_draws=len(draws_list),
    )


def placebo_intervals(result: StaggeredDiD, overall: list[float], pre: list[float],
                      theta: list[dict[int, float]], actual_pre: float, *, min_finite: int = 1
                      ) -> tuple[np.ndarray, float, float, pd.DataFrame, float]:
    """From placebo draws: the overall draws, their α/2 and 1−α/2 quantiles, the event study
    with placebo intervals (event times with fewer than ``min_finite`` finite draws keep NaN),
    and the pre-trend permutation p (share of placebo pre-trends at least as large)."""
    a = result.alpha
    overall_a = np.asarray(overall)
    low_q, high_q = np.nanquantile(overall_a, [a / 2, 1 - a / 2])
    es = result.event_study.copy()
    for i, e in enumerate(es["event_time"]):
        if e == -1:
            continue
        sample = np.asarray([d.get(int(e), np.nan) for d in theta])
        if np.isfinite(sample).sum() < min_finite:
            continue
        lo, hi = np.nanquantile(sample, [a / 2, 1 - a / 2])
        es.loc[i, ["se", "ci_low", "ci_high"]] = [np.nanstd(sample, ddof=1),
                                                  es.loc[i, "estimate"] - hi,
                                                  es.loc[i, "estimate"] - lo]
    pre_a = np.asarray(pre)
    pre_p = (float((1 + np.sum(np.abs(pre_a) >= abs(actual_pre))) / (1 + len(pre_a)))
             if not math.isnan(actual_pre) else math.nan)
    return overall_a, float(low_q), float(high_q), es, pre_p

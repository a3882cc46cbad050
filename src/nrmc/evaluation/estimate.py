"""The programme's DiD as reports show it: C&S estimate, wild cluster bootstrap, province placebo.

``estimate(panel, treated_units=…)`` runs :func:`csdid.did` on the (province × specialty) cell
panel (not-yet-treated controls, universal base ``g − 1``, clustered by province, weighted by
pre-programme outflow) and returns the :class:`impact.StaggeredDiD` every page, report and
command reads, with:

* the interval of the overall effect and of every event time from the **wild cluster
  bootstrap-t** (``wildboot``, 999 draws, seeded), the analytic cluster interval beside it
  (``analytic_ci``) and the method line ("wild cluster bootstrap (rademacher weights), 999
  draws, 24 provinces");
* with treated cells in fewer than ``MIN_TREATED_PROVINCES`` provinces, the interval comes from
  a **block-permutation placebo** instead: the scope's pattern of (specialty, opening year) is
  moved onto whole other provinces, onto their never-treated cells in those specialties (or,
  lacking one, their never-treated cell nearest in size) — a
  province-year shock moves all cells of a province at once, so drawing cells one by one would
  miss it. The number of distinct draws (ordered choices of provinces) is reported; the p-value
  and interval cannot be finer than it allows;
* a **warning** when fewer than ``WARN_TREATED_PROVINCES`` provinces are treated;
* the never-treated-controls estimate beside the not-yet-treated one (``sensitivity``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from .csdid import DidResult, cluster_sums, did
from .impact import StaggeredDiD, _points, _wide, placebo_intervals
from .wildboot import DRAWS, BootInterval, bootstrap, method_line

MIN_TREATED_PROVINCES = 6
WARN_TREATED_PROVINCES = 10
PRE_WINDOW = 3
PLACEBO_DRAWS = 999


def _pre_trend(result: DidResult, pre_window: int) -> tuple[float, int, float]:
    """Hotelling-scaled cluster Wald test that θ(e) = 0 for e = −2 … −1−pre_window."""
    dyn = result.aggregations["dynamic"].rows
    if dyn is None:
        return math.nan, 0, math.nan
    parts = dyn.attrs["parts"]
    keep = [j for j, e in enumerate(dyn["event_time"]) if -1 - pre_window <= e <= -2]
    q, n_c = len(keep), result.n_clusters
    if q == 0 or n_c - q < 1:
        return math.nan, q, math.nan
    psi = result.cells.psi
    phi = np.column_stack([psi @ parts[j][0] + parts[j][1] for j in keep])
    sums = cluster_sums(phi, result.clusters, n_c)
    cov = n_c / (n_c - 1) * sums.T @ sums
    theta = dyn["att"].to_numpy(float)[keep]
    try:
        wald = float(theta @ np.linalg.solve(cov, theta))
    except np.linalg.LinAlgError:
        return math.nan, q, math.nan
    f_value = (n_c - q) / (q * (n_c - 1)) * wald
    return f_value, q, float(stats.f.sf(f_value, q, n_c - q))


def _fit(panel: pd.DataFrame, treated_units: set[str] | None, control: str) -> DidResult:
    return did(panel, unit="unit", time="year", cohort="cohort", outcome="y", cluster="province",
               weight="weight", control=control, base="universal",  # type: ignore[arg-type]
               treated_units=treated_units)


def estimate(
    panel: pd.DataFrame,
    *,
    treated_units: set[str] | None = None,
    draws: int = DRAWS,
    seed: int = 0,
    alpha: float = 0.05,
) -> StaggeredDiD:
    """The scope's (or, without ``treated_units``, the programme's) DiD with its inference."""
    result = _fit(panel, treated_units, "notyet")
    boot = bootstrap(result, draws=draws, seed=seed)
    simple, dyn = result.aggregations["simple"], result.aggregations["dynamic"]
    overall = boot["simple"]
    rows = boot["dynamic_rows"]
    assert isinstance(overall, BootInterval) and isinstance(rows, list) and dyn.rows is not None
    gt = result.group_time
    es = pd.DataFrame({
        "event_time": dyn.rows["event_time"].astype(int),
        "estimate": dyn.rows["att"], "se": dyn.rows["se"],
        "ci_low": [r.ci_low for r in rows], "ci_high": [r.ci_high for r in rows],
        "cohorts": [int(((gt["event_time"] == e) & (gt["control_units"] > 0)).sum())
                    for e in dyn.rows["event_time"]],
        "treated_units": [int(gt.loc[(gt["event_time"] == e) & (gt["control_units"] > 0),
                                     "treated_units"].sum()) for e in dyn.rows["event_time"]],
    })
    es.loc[es["event_time"] == -1, ["se", "ci_low", "ci_high"]] = np.nan
    pre_f, pre_df, pre_p = _pre_trend(result, PRE_WINDOW)
    try:
        never = _fit(panel, treated_units, "never").aggregations["simple"]
        sensitivity = {"never_att": never.att, "never_ci_low": never.ci_low,
                       "never_ci_high": never.ci_high}
    except Exception:  # no never-treated controls: the sensitivity cannot be run
        sensitivity = {"never_att": math.nan, "never_ci_low": math.nan,
                       "never_ci_high": math.nan}
    n_treated = int(((result.cohorts > 0) & (
        np.ones(len(result.units), bool) if treated_units is None
        else result.units.isin(list(treated_units)))).sum())
    out = StaggeredDiD(
        att=simple.att, se=simple.se, ci_low=overall.ci_low, ci_high=overall.ci_high,
        pre_trend_f=pre_f, pre_trend_df=pre_df, pre_trend_p=pre_p,
        n_units=result.n_units, n_treated_units=n_treated, n_clusters=result.n_clusters,
        alpha=alpha, outcome="y", event_study=es,
        group_time=gt[["cohort", "year", "event_time", "att", "se", "treated_units",
                       "control_units"]],
        inference="wild bootstrap", placebo_draws=0,
        method=method_line(overall, result.n_clusters),
        analytic_ci=(simple.ci_low, simple.ci_high),
        treated_clusters=result.n_treated_clusters,
        sensitivity=sensitivity,
    )
    if treated_units is not None and result.n_treated_clusters < MIN_TREATED_PROVINCES:
        out = province_placebo(panel, out, treated_units=treated_units, seed=seed)
    return out


def province_placebo(
    panel: pd.DataFrame,
    result: StaggeredDiD,
    *,
    treated_units: set[str],
    draws: int = PLACEBO_DRAWS,
    seed: int = 0,
) -> StaggeredDiD:
    """Interval and pre-trend p from whole-province placebos (block permutation).

    The treated provinces' cells are removed; each draw assigns each treated province's
    (specialty → opening year) pattern to a distinct other province, on those of its cells that
    are never treated; the placebo effect is rescaled by ``sqrt(Σ w_placebo / Σ w_treated)``
    (noise of a weighted log-outflow mean shrinks like ``1/sqrt(Σ w)``). All ordered choices
    are used when there are at most ``draws`` of them, else ``draws`` random ones.
    ``CI = [θ̂ − q_{1−α/2}(θ̃), θ̂ − q_{α/2}(θ̃)]``.
    """
    wide, cohorts, w = _wide(panel, "y", "weight")
    info = panel.groupby("unit")[["province", "specialty"]].first().loc[wide.index]
    treated = {u: int(cohorts[u]) for u in sorted(treated_units)
               if u in cohorts.index and cohorts[u] > 0}
    if not treated:
        return result
    patterns: dict[str, dict[str, int]] = {}
    for u, g in treated.items():
        patterns.setdefault(str(info.loc[u, "province"]), {})[str(info.loc[u, "specialty"])] = g
    treated_provs = sorted(patterns)
    rest_index = wide.index[~info["province"].isin(treated_provs)]
    rest, rest_cohorts, rest_w = wide.loc[rest_index], cohorts.loc[rest_index], w.loc[rest_index]
    rest_info = info.loc[rest_index]
    cell_of = {(str(p), str(s)): u for u, p, s in zip(rest_index, rest_info["province"],
                                                       rest_info["specialty"], strict=True)}
    # a province's never-treated cells by size, to stand in for a specialty it lacks
    never_of: dict[str, list[str]] = {}
    for u, p in zip(rest_index, rest_info["province"], strict=True):
        if rest_cohorts[u] == 0:
            never_of.setdefault(str(p), []).append(u)
    candidates = sorted(never_of)  # provinces with a never-treated cell to place a placebo on
    k = len(treated_provs)
    distinct = math.perm(len(candidates), k) if len(candidates) >= k else 0
    if distinct == 0:
        choices: list[tuple[str, ...]] = []
    elif distinct <= draws:
        choices = list(itertools.permutations(candidates, k))
    else:
        rng = np.random.default_rng(seed)
        choices = [tuple(rng.choice(candidates, size=k, replace=False)) for _ in range(draws)]
    w_treated = sum(w[u] for u in treated)
    overall, pre, theta = [], [], []
    for chosen in choices:
        fake: dict[str, int] = {}
        for real, target in zip(treated_provs, chosen, strict=True):
            for spec, g in patterns[real].items():
                cell = cell_of.get((str(target), spec))
                if cell is None or rest_cohorts[cell] != 0 or cell in fake:
                    # same specialty not available there: its never-treated cell nearest in size
                    size = w[f"{real}:{spec}"] if f"{real}:{spec}" in w.index else w.mean()
                    spare = [u for u in never_of.get(str(target), []) if u not in fake]
                    cell = min(spare, key=lambda u: abs(w[u] - size)) if spare else None
                if cell is not None:
                    fake[cell] = g
        if not fake:
            continue
        scale = math.sqrt(sum(w[u] for u in fake) / w_treated)
        o, p, th = _points(rest, rest_cohorts, rest_w, fake, PRE_WINDOW)
        overall.append(o * scale)
        pre.append(p * scale)
        theta.append({e: v * scale for e, v in th.items()})
    if len(overall) < 10:  # a one-province bootstrap is degenerate: publish no interval
        es = result.event_study.copy()
        es[["se", "ci_low", "ci_high"]] = math.nan
        return replace(result, se=math.nan, ci_low=math.nan, ci_high=math.nan,
                       pre_trend_p=math.nan, event_study=es, inference="none",
                       placebo_draws=len(overall),
                       method=(f"no interval: only {len(overall)} placebo province(s) for "
                               f"{k} treated province(s) (at least 10 needed)"))
    _, actual_pre, _ = _points(wide, cohorts, w, treated, PRE_WINDOW)
    overall_a, low_q, high_q, es, pre_p = placebo_intervals(result, overall, pre, theta,
                                                            actual_pre, min_finite=2)
    return replace(
        result, se=float(np.nanstd(overall_a, ddof=1)),
        ci_low=float(result.att - high_q), ci_high=float(result.att - low_q),
        pre_trend_f=math.nan, pre_trend_df=0, pre_trend_p=pre_p, event_study=es,
        inference="province placebo", placebo_draws=len(overall),
        method=(f"block-permutation placebo over whole provinces, {len(overall)} draws "
                f"({distinct:,} distinct), {k} treated province(s), {len(candidates)} "
                "with never-treated cells to compare"),
    )

"""Callaway & Sant'Anna (2021) group-time effects and their four aggregations, for any panel.

``did(panel, unit=, time=, cohort=, outcome=, …)`` is the generic estimator behind
``nrmc evaluate did`` and the programme's own evaluation. A panel has one row per unit and
period; ``cohort`` is the first treated period (0 or empty = never treated). Without
covariates every ATT(g, t) is a difference of (weighted) mean changes::

    ATT(g, t) = E_w[Y_t − Y_b | G = g] − E_w[Y_t − Y_b | control],

base period ``b = g − 1`` for ``t ≥ g``; for ``t < g`` ``b = t − 1`` (``base="varying"``, the
C&S default) or ``g − 1`` (``"universal"``, which adds a zero row at ``t = g − 1``). Controls
are the never-treated (``control="never"``) or, in addition, units not yet treated by
``max(t, b)`` (``"notyet"``). Units treated in the first period are dropped (no base);
units first treated after the last period count as never treated. Only a balanced panel is
used (units missing a period are dropped and counted).

The aggregations are those of C&S §3 and R's ``did::aggte`` — same definitions, same
weights ``P(G = g)`` (weighted shares of units):

* ``simple``: Σ_{t≥g} P(G=g) ATT(g,t) / Σ_{t≥g} P(G=g);
* ``dynamic``: θ(e) = Σ_g P(G=g | g+e observed) ATT(g, g+e); overall = mean of θ(e), e ≥ 0;
* ``group``: θ(g) = mean_{t≥g} ATT(g,t); overall = Σ_g P(G=g) θ(g) / Σ_g P(G=g);
* ``calendar``: θ(t) = Σ_{g≤t} P(G=g | G≤t) ATT(g,t); overall = mean of θ(t).

Standard errors come from influence functions. With ``ψ_ik`` unit i's influence on ATT_k
(``w_i D_ik (ΔY_i − μ_T)/W_T − w_i C_ik (ΔY_i − μ_C)/W_C``) and ``φ_i = Σ_k λ_k ψ_ik + wif_i``
for an aggregate with cell weights λ (``wif`` = the estimated weights' own influence, as in R),
``se = sqrt(Σ_i φ_i²)``, or clustered ``sqrt(G/(G−1) Σ_c (Σ_{i∈c} φ_i)²)``. Every aggregate
keeps ``(λ, wif)`` so ``wildboot`` can bootstrap it.

Example (the public ``mpdta`` panel; ``tests/evaluation/test_csdid_reference.py`` checks
these numbers against an independent implementation)::

    >>> res = did(mpdta, unit="countyreal", time="year", cohort="first.treat",
    ...           outcome="lemp")                                   # doctest: +SKIP
    >>> round(res.aggregations["simple"].att, 4)                    # doctest: +SKIP
    -0.04
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..core.errors import NrmcError

Control = Literal["never", "notyet"]
Base = Literal["varying", "universal"]
AGGREGATIONS = ("simple", "dynamic", "group", "calendar")


class InsufficientData(NrmcError):
    """The panel cannot identify the requested comparison (no treated or no control units)."""


@dataclass(frozen=True)
class Cells:
    """The 2×2 building blocks: one column per ATT(g, t), one row per unit.

    ``a_treat[i, k] = w_i D_ik (ΔY_i − μ_T)/W_T`` and ``b_treat[i, k] = w_i D_ik / W_T`` (and
    the same for controls): the influence of unit i on ATT_k is ``a_treat − a_ctrl``; the
    ``b`` shares let a wild bootstrap re-centre the group means in each draw.
    """

    table: pd.DataFrame  # cohort, year, event_time, base, att, treated_units, control_units
    a_treat: np.ndarray
    b_treat: np.ndarray
    a_ctrl: np.ndarray
    b_ctrl: np.ndarray

    @property
    def psi(self) -> np.ndarray:
        return self.a_treat - self.a_ctrl


@dataclass(frozen=True)
class Aggregate:
    """One aggregate effect: ``att = λ·ATT``; ``rows`` its per-e / per-g / per-t estimates."""

    kind: str
    att: float
    se: float
    ci_low: float
    ci_high: float
    weights: np.ndarray = field(repr=False)  # λ over the group-time cells
    wif: np.ndarray = field(repr=False)  # per-unit influence of the estimated weights
    rows: pd.DataFrame | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DidResult:
    """``group_time``: ``cohort, year, event_time, att, se, treated_units, control_units``."""

    group_time: pd.DataFrame
    aggregations: dict[str, Aggregate]
    cells: Cells = field(repr=False)
    clusters: np.ndarray = field(repr=False)  # cluster code per unit (row of the cell arrays)
    units: pd.Index = field(repr=False)
    cohorts: np.ndarray = field(repr=False)
    n_units: int
    n_clusters: int
    n_treated_clusters: int
    n_dropped_unbalanced: int
    control: str
    base: str
    alpha: float
    clustered: bool

    def to_dict(self) -> dict[str, object]:
        """The JSON of ``nrmc evaluate did --format json``."""
        def rows(frame: pd.DataFrame | None) -> list[dict[str, object]]:
            if frame is None:
                return []
            return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]

        gt = self.group_time[["cohort", "year", "event_time", "att", "se", "treated_units",
                              "control_units"]]
        return {
            "group_time": rows(gt),
            "aggregations": {
                name: {"att": _plain(a.att), "se": _plain(a.se), "ci_low": _plain(a.ci_low),
                       "ci_high": _plain(a.ci_high),
                       **({"rows": rows(a.rows)} if name != "simple" else {})}
                for name, a in self.aggregations.items()
            },
            "n_units": self.n_units, "n_clusters": self.n_clusters,
            "n_treated_clusters": self.n_treated_clusters,
            "dropped_unbalanced_units": self.n_dropped_unbalanced,
            "control": self.control, "base": self.base, "alpha": self.alpha,
            "clustered": self.clustered,
        }


def _plain(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) else float(value)
    return value


# --------------------------------------------------------------------------- group-time cells


def _cells(y: np.ndarray, periods: list[int], g: np.ndarray, w: np.ndarray, focus: np.ndarray,
           control: Control, base: Base) -> Cells:
    col = {t: j for j, t in enumerate(periods)}
    rows: list[dict[str, float]] = []
    at, bt, ac, bc = [], [], [], []
    for cohort in sorted(int(v) for v in np.unique(g[(g > 0) & focus])):
        treated = (g == cohort) & focus
        for t in periods:
            if base == "universal" or t >= cohort:
                b = cohort - 1
            else:
                b = t - 1
            if t == b or b not in col:
                continue
            if base == "universal" and t == cohort - 1:
                continue
            ctrl = g == 0
            if control == "notyet":
                ctrl = ctrl | ((g > max(t, b)) & (g != cohort))
            if not ctrl.any():
                continue
            dy = y[:, col[t]] - y[:, col[b]]
            wt, wc = w * treated, w * ctrl
            mu_t = float(wt @ dy / wt.sum())
            mu_c = float(wc @ dy / wc.sum())
            at.append(wt * (dy - mu_t) / wt.sum())
            bt.append(wt / wt.sum())
            ac.append(wc * (dy - mu_c) / wc.sum())
            bc.append(wc / wc.sum())
            rows.append({"cohort": cohort, "year": t, "event_time": t - cohort, "base": b,
                         "att": mu_t - mu_c, "treated_units": int(treated.sum()),
                         "control_units": int(ctrl.sum())})
    if base == "universal":  # the reference period, zero by construction (as R's did reports it)
        for cohort in sorted({int(r["cohort"]) for r in rows}):
            if cohort - 1 in col:
                rows.append({"cohort": cohort, "year": cohort - 1, "event_time": -1,
                             "base": cohort - 1, "att": 0.0,
                             "treated_units": int(((g == cohort) & focus).sum()),
                             "control_units": 0})
                zero = np.zeros(len(g))
                for parts in (at, bt, ac, bc):
                    parts.append(zero)
    if not rows:
        raise InsufficientData("no cohort has both an untreated base period and control units")
    order = sorted(range(len(rows)), key=lambda k: (rows[k]["cohort"], rows[k]["year"]))
    table = pd.DataFrame([rows[k] for k in order]).astype(
        {"cohort": int, "year": int, "event_time": int, "base": int})

    def stack(parts: list[np.ndarray]) -> np.ndarray:
        return np.column_stack([parts[k] for k in order])

    return Cells(table, stack(at), stack(bt), stack(ac), stack(bc))


# --------------------------------------------------------------------------- aggregations


def _wif(keep: np.ndarray, pg: np.ndarray, cell_cohort: np.ndarray, g: np.ndarray,
         w: np.ndarray) -> np.ndarray:
    """Influence of estimating the weights ``P(G=g)/Σ P(G=g)`` (R ``did``'s ``wif``), N×|keep|.

    ``w`` are the unit weights normalised to mean 1; returned in the ψ scale (divided by n).
    """
    n = len(g)
    pk = pg[keep]
    total = pk.sum()
    ind = (g[:, None] == cell_cohort[keep][None, :]) * w[:, None] - pk[None, :]
    wif = ind / total - ind.sum(axis=1, keepdims=True) * (pk / total**2)[None, :]
    return wif / n


def _aggregate_parts(table: pd.DataFrame, g: np.ndarray, w: np.ndarray
                     ) -> dict[str, tuple[np.ndarray, np.ndarray, pd.DataFrame | None]]:
    """(λ, wif·att, rows) for each aggregation; rows carry their own (λ, wif) in lists."""
    att = table["att"].to_numpy(float)
    cohort = table["cohort"].to_numpy(int)
    year = table["year"].to_numpy(int)
    e = table["event_time"].to_numpy(int)
    k_n = len(table)
    pg_of = {c: float(np.mean(w * (g == c))) for c in np.unique(cohort)}
    pg = np.array([pg_of[c] for c in cohort])

    def weighted(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = np.flatnonzero(mask)
        lam = np.zeros(k_n)
        lam[keep] = pg[keep] / pg[keep].sum()
        return lam, _wif(keep, pg, cohort, g, w) @ att[keep]

    out: dict[str, tuple[np.ndarray, np.ndarray, pd.DataFrame | None]] = {}
    post = year >= cohort
    if not post.any():
        raise InsufficientData("no treated unit is observed after its first treated period")
    out["simple"] = (*weighted(post), None)

    def rows_of(key: str, values: list[int], parts: list[tuple[np.ndarray, np.ndarray]]
                ) -> pd.DataFrame:
        frame = pd.DataFrame({key: values})
        frame.attrs["parts"] = parts
        return frame

    # dynamic: θ(e) over every event time; overall = mean over e ≥ 0
    es = sorted(int(v) for v in np.unique(e))
    dyn = [weighted(e == v) for v in es]
    pos = [p for v, p in zip(es, dyn, strict=True) if v >= 0]
    out["dynamic"] = (np.mean([p[0] for p in pos], axis=0), np.mean([p[1] for p in pos], axis=0),
                      rows_of("event_time", es, dyn))

    # group: θ(g) = mean of its post cells; overall weighted by P(G=g) with its wif
    groups = sorted(int(v) for v in np.unique(cohort[post]))
    grp = []
    for c in groups:
        lam = np.zeros(k_n)
        mask = post & (cohort == c)
        lam[mask] = 1.0 / mask.sum()
        grp.append((lam, np.zeros(len(g))))
    pgg = np.array([pg_of[c] for c in groups])
    theta_g = np.array([p[0] @ att for p in grp])
    lam_g = sum(pgg[j] / pgg.sum() * grp[j][0] for j in range(len(groups)))
    wif_g = _wif(np.arange(len(groups)), pgg, np.array(groups), g, w) @ theta_g
    out["group"] = (np.asarray(lam_g), wif_g, rows_of("cohort", groups, grp))

    # calendar: θ(t) over treated cells of period t; overall = mean over t
    times = sorted(int(v) for v in np.unique(year[post]))
    cal = [weighted(post & (year == t)) for t in times]
    out["calendar"] = (np.mean([p[0] for p in cal], axis=0), np.mean([p[1] for p in cal], axis=0),
                       rows_of("year", times, cal))
    return out


def cluster_sums(values: np.ndarray, clusters: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum the rows of ``values`` (units × …) within clusters (codes 0..G−1)."""
    out = np.zeros((n_clusters,) + values.shape[1:])
    np.add.at(out, clusters, values)
    return out


def influence_se(phi: np.ndarray, clusters: np.ndarray, n_clusters: int, clustered: bool
                 ) -> float:
    """``sqrt(Σ φ²)``, or with clusters ``sqrt(G/(G−1) Σ_c (Σ_{i∈c} φ_i)²)``."""
    if not clustered:
        return float(np.sqrt(np.sum(phi**2)))
    sums = cluster_sums(phi, clusters, n_clusters)
    return float(np.sqrt(n_clusters / (n_clusters - 1) * np.sum(sums**2)))


# --------------------------------------------------------------------------- the estimator


def did(
    panel: pd.DataFrame,
    *,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    cluster: str | None = None,
    weight: str | None = None,
    control: Control = "notyet",
    base: Base = "varying",
    treated_units: set[str] | None = None,
    alpha: float = 0.05,
) -> DidResult:
    """Group-time ATTs and the simple/dynamic/group/calendar aggregations, analytic errors.

    ``treated_units`` narrows the treated side (one project's cells): other treated units
    remain controls while not yet treated (``notyet``) and are never controls afterwards.
    Errors are clustered by ``cluster`` when given (t critical values with G − 1 df), else
    per unit (normal). Raises ``InsufficientData`` when nothing can be compared.
    """
    needed = [unit, time, cohort, outcome] + [c for c in (cluster, weight) if c]
    missing = [c for c in needed if c not in panel.columns]
    if missing:
        raise ValueError(f"panel lacks columns {missing}")
    if control not in ("never", "notyet") or base not in ("varying", "universal"):
        raise ValueError("control must be never|notyet and base varying|universal")
    data = panel[needed].copy()
    periods_raw = pd.to_numeric(data[time], errors="coerce")
    if periods_raw.isna().any():
        row = int(np.flatnonzero(periods_raw.isna().to_numpy())[0])
        raise ValueError(f"row {row + 1}: {time} is not a whole number "
                         f"({data[time].iloc[row]!r})")
    data[time] = periods_raw.astype(int)
    twice = data.duplicated([unit, time], keep="first").to_numpy()
    if twice.any():
        row = int(np.flatnonzero(twice)[0])
        raise ValueError(f"row {row + 1}: a second row for {unit}={data[unit].iloc[row]!r}, "
                         f"{time}={data[time].iloc[row]} (one row per unit and period)")
    data = data.dropna(subset=[outcome])
    wide = data.pivot_table(index=unit, columns=time, values=outcome, aggfunc="first")
    n_all = len(wide)
    wide = wide.dropna()
    periods = sorted(int(t) for t in wide.columns)
    info = data.groupby(unit).first().loc[wide.index]
    g = pd.to_numeric(info[cohort], errors="coerce").fillna(0).to_numpy(float).astype(int)
    g = np.where((g < 0) | (g > periods[-1]), 0, g)  # treated after the data end: never treated
    keep = ~((g > 0) & (g <= periods[0]))  # treated from the start: no untreated base period
    wide, info, g = wide[keep], info[keep], g[keep]
    w = info[weight].to_numpy(float) if weight else np.ones(len(wide))
    if not np.all(np.isfinite(w)) or (w <= 0).any():
        raise ValueError("weights must be positive")
    w = w / w.mean()
    focus = (np.ones(len(wide), bool) if treated_units is None
             else wide.index.isin(list(treated_units)))
    y = wide.to_numpy(float)
    cells = _cells(y, periods, g, w, focus, control, base)

    clustered = cluster is not None
    codes = (pd.factorize(info[cluster].astype(str))[0] if clustered
             else np.arange(len(wide)))
    n_clusters = int(codes.max()) + 1
    if clustered and n_clusters < 2:
        raise InsufficientData("clustered errors need at least two clusters")
    treated_mask = (g > 0) & focus
    n_treated_clusters = int(len(np.unique(codes[treated_mask])))
    crit = (stats.t.ppf(1 - alpha / 2, n_clusters - 1) if clustered
            else stats.norm.ppf(1 - alpha / 2))

    psi = cells.psi
    table = cells.table.copy()
    table["se"] = [influence_se(psi[:, k], codes, n_clusters, clustered)
                   if table["event_time"].iloc[k] != -1 or base == "varying" or
                   table["control_units"].iloc[k] > 0 else math.nan
                   for k in range(len(table))]

    def make(kind: str, lam: np.ndarray, wif: np.ndarray, rows: pd.DataFrame | None
             ) -> Aggregate:
        att = float(lam @ table["att"].to_numpy(float))
        se = influence_se(psi @ lam + wif, codes, n_clusters, clustered)
        if rows is not None:
            parts = rows.attrs.pop("parts")
            ests = [float(p[0] @ table["att"].to_numpy(float)) for p in parts]
            ses = [influence_se(psi @ p[0] + p[1], codes, n_clusters, clustered)
                   for p in parts]
            rows = rows.assign(att=ests, se=ses)
            rows["se"] = rows["se"].where(rows["se"] > 0)
            rows["ci_low"] = rows["att"] - crit * rows["se"]
            rows["ci_high"] = rows["att"] + crit * rows["se"]
            rows.attrs["parts"] = parts
        return Aggregate(kind, att, se, att - crit * se, att + crit * se, lam, wif, rows)

    parts = _aggregate_parts(table, g, w)
    aggregations = {name: make(name, *parts[name]) for name in AGGREGATIONS}
    return DidResult(
        group_time=table, aggregations=aggregations, cells=cells, clusters=codes,
        units=wide.index, cohorts=g, n_units=len(wide), n_clusters=n_clusters,
        n_treated_clusters=n_treated_clusters, n_dropped_unbalanced=n_all - len(wide) + 0,
        control=control, base=base, alpha=alpha, clustered=clustered,
    )


def read_panel(path: str) -> pd.DataFrame:
    """A CSV or Parquet panel file (by extension)."""
    if str(path).lower().endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    return pd.read_csv(path)

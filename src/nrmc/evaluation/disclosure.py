"""What an evaluation may publish: its counts and shares after small-cell suppression.

``service.evaluate`` returns raw numbers (for analysts: ``nrmc evaluate``). Reports, the
evaluation page and its API show what this module makes of them, so no published figure gives
back a count of 1 to ``min_cell − 1`` patients. The rule and its helpers are
``nrmc.core.privacy``'s; this module only says where they apply:

* **Before/after tables**, per year: a small denominator withholds the whole row; a small
  numerator withholds itself and the share. A change (against the baseline or the previous
  year) is withheld when either of its two shares is, since one published share plus the
  change gives the other back. Headline and KPI figures are shares of the same tables and
  follow them. No complementary suppression is needed here: a row's cells are a numerator and
  its denominator, the complement (denominator − numerator) is not printed, and years are not
  summed, so no printed total isolates a withheld numerator.
* **Origins** (patients treated in the host city by prefecture of residence): the total is
  derivable (any count divided by its share), so the prefectures form one row with a total and
  get complementary suppression (``withheld_cells``); a withheld count withholds its share;
  the "from other prefectures" share is withheld when it or the host city's count is. Only a
  small count is marked ``<min_cell``: one withheld to protect it is not small, and says so
  by showing the plain withheld mark.
* **Operations KPIs** that count patients (surgeries, outpatients, cases, referrals) are
  withheld when small, and the grade-3/4 share when its surgeries or grade-3/4 count is small.
  Counts of expert teams, expert-days, technologies and trainees are not counts of patients
  and are published.

Model estimates (effects, intervals, p-values) and counts of province × specialty cells are
not counts of patients and are never withheld.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import pandas as pd

from ..core.privacy import (
    WITHHELD,
    WithheldLedger,
    count_marker,
    is_small,
    share_withheld,
    withheld_cells,
)
from .impact import BeforeAfter
from .kpis import Kpi
from .service import Evaluation


@dataclass(frozen=True)
class PublishedBeforeAfter(BeforeAfter):
    """A :class:`BeforeAfter` as published: withheld figures are NaN.

    ``table`` gains ``numerator_withheld, denominator_withheld, value_withheld,
    change_withheld`` (vs the baseline) and ``yoy_withheld``; ``withheld`` names the headline
    figures withheld among ``before``, ``after`` and ``change_pct``.
    """

    withheld: frozenset[str] = field(default_factory=frozenset)


def publish_before_after(result: BeforeAfter, min_cell: int, *,
                         carried: Mapping[int, Collection[str]] | None = None) -> PublishedBeforeAfter:
    """``carried``: by year, the figures (``numerator``, ``denominator``) earlier releases
    withheld; they stay withheld (see ``nrmc.core.privacy.WithheldLedger``)."""
    table = result.table.copy()
    before = [frozenset((carried or {}).get(int(y), ())) for y in table["year"]]
    denominator = pd.Series([is_small(d, min_cell) or "denominator" in b
                             for d, b in zip(table["denominator"], before, strict=True)],
                            index=table.index, dtype=bool)
    numerator = pd.Series([is_small(n, min_cell) or "numerator" in b
                           for n, b in zip(table["numerator"], before, strict=True)],
                          index=table.index, dtype=bool)
    value = numerator | denominator | pd.Series(
        [share_withheld(n, d, min_cell) for n, d in
         zip(table["numerator"], table["denominator"], strict=True)],
        index=table.index, dtype=bool)
    base = bool(value[table["year"] == result.baseline_year].iloc[0])
    change = value | base
    yoy = value | value.shift(1, fill_value=False).astype(bool)
    for flag, columns in ((numerator, ["numerator"]), (denominator, ["denominator"]),
                          (value, ["value"]), (change, ["change", "change_pct"]),
                          (yoy, ["yoy_change", "yoy_change_pct"])):
        table.loc[flag, columns] = math.nan
    table["numerator_withheld"], table["denominator_withheld"] = numerator, denominator
    table["value_withheld"], table["change_withheld"], table["yoy_withheld"] = value, change, yoy
    headline = {"before": base, "after": bool(value.iloc[-1]),
                "change_pct": bool(change.iloc[-1])}
    raw = {f.name: getattr(result, f.name) for f in fields(BeforeAfter)}
    raw.update(table=table, **{name: math.nan for name, hidden in headline.items() if hidden})
    return PublishedBeforeAfter(**raw, withheld=frozenset(n for n, h in headline.items() if h))


def withheld_by_year(published: PublishedBeforeAfter) -> dict[int, frozenset[str]]:
    """Which counts a published before/after table withheld, by year (for the ledger)."""
    table = published.table
    return {int(y): frozenset(k for k, hidden in (("numerator", n), ("denominator", d)) if hidden)
            for y, n, d in zip(table["year"], table["numerator_withheld"],
                               table["denominator_withheld"], strict=True)}


def publish_all(before_after: Mapping[str, BeforeAfter], min_cell: int, *,
                ledger: WithheldLedger | None = None,
                prefix: str = "") -> dict[str, PublishedBeforeAfter]:
    """Every metric's table as published. With a ``ledger``, figures withheld by an earlier
    release (keys ``evaluation|<prefix>|<metric>|<year>``) stay withheld, and this release's
    withheld figures are added, so two releases around a load cannot be differenced."""
    remembered = ledger.read() if ledger is not None else {}
    out: dict[str, PublishedBeforeAfter] = {}
    fresh: dict[str, frozenset[str]] = {}
    for name, result in before_after.items():
        key = f"evaluation|{prefix}|{name}|"
        carried = {int(k.rsplit("|", 1)[1]): v for k, v in remembered.items()
                   if k.startswith(key) and k.rsplit("|", 1)[1].isdigit()}
        out[name] = publish_before_after(result, min_cell, carried=carried)
        fresh.update({f"{key}{year}": kinds for year, kinds in withheld_by_year(out[name]).items()})
    if ledger is not None:
        ledger.remember(fresh)
    return out


def publish(evaluation: Evaluation, min_cell: int, *, ledger: WithheldLedger | None = None,
            prefix: str = "") -> Evaluation:
    """The evaluation with every before/after result as published (``summary()`` follows)."""
    shown: dict[str, BeforeAfter] = dict(publish_all(
        evaluation.before_after, min_cell, ledger=ledger, prefix=prefix))
    return replace(evaluation, before_after=shown)


def publish_kpis(kpis: list[Kpi], min_cell: int) -> list[Kpi]:
    """KPIs with small patient counts, and shares resting on one, withheld (``withheld_as``)."""
    out = []
    for k in kpis:
        if k.unit == "%" and share_withheld(k.numerator, k.denominator, min_cell):
            k = replace(k, value=None, withheld_as=WITHHELD)
        elif k.patients and is_small(k.value, min_cell):
            k = replace(k, value=None, withheld_as=count_marker(min_cell))
        out.append(k)
    return out


@dataclass(frozen=True)
class PublishedOrigins:
    """Origins as published: ``table`` has ``origin, origin_name, discharges, share, withheld,
    small`` (withheld counts and shares NaN; ``small``: withheld for being small, not to
    protect another cell), largest first; ``outside_share`` is None when withheld."""

    table: pd.DataFrame = field(repr=False)
    outside_share: float | None
    outside_withheld: bool

    @property
    def any_withheld(self) -> bool:
        return self.outside_withheld or bool(self.table["withheld"].any())


def publish_origins(origins: pd.DataFrame, *, city: str, min_cell: int) -> PublishedOrigins:
    """Patients by prefecture of residence (``FlowSource.origins``) as a report may show them."""
    table = origins.sort_values("discharges", ascending=False).reset_index(drop=True)
    counts = table["discharges"].astype(float)
    total = float(counts.sum())
    withheld = withheld_cells(list(counts), min_cell)
    if is_small(total, min_cell):  # every cell is small, and so is the total they give
        withheld = [c > 0 for c in counts]
    table = table.assign(share=counts / total if total else math.nan, withheld=withheld,
                         small=[is_small(c, min_cell) for c in counts])
    table.loc[table["withheld"], ["discharges", "share"]] = math.nan
    table["discharges"] = table["discharges"].astype(float)
    host = table["origin"].astype(str) == str(city)
    host_count = float(counts[host].sum())
    outside_withheld = (bool(table.loc[host, "withheld"].any())
                        or share_withheld(total - host_count, total, min_cell))
    outside = None if outside_withheld or not total else 1 - host_count / total
    return PublishedOrigins(table=table, outside_share=outside, outside_withheld=outside_withheld)


# what each before/after metric counts, for saying why a figure is withheld (中文 English)
COUNTED = {
    "outflow_rate": ("外省就医人次 residents treated in another province", "出院人次 discharges"),
    "transfer_rate": ("转出人次 transfers out", "出院人次 discharges"),
    "level4_share": ("四级手术 grade-4 surgeries", "手术 surgeries"),
    "outside_city_share": ("外市患者 patients from other cities", "出院人次 discharges"),
}


def withheld_reason(metric: str, published: PublishedBeforeAfter, min_cell: int) -> str:
    """Why a metric's headline figures are withheld, e.g. "fewer than 10 手术 surgeries in
    2023 (baseline)" — which count was small, never how small. Empty when nothing is."""
    if not published.withheld:
        return ""
    numerator, denominator = COUNTED.get(metric, ("cases", "cases"))
    table = published.table
    years = {published.baseline_year: "baseline 基线", published.after_year: "last year 末年"}
    parts = []
    for year, label in years.items():
        row = table[table["year"] == year]
        if row.empty:
            continue
        small = [name for name, flag in ((denominator, "denominator_withheld"),
                                         (numerator, "numerator_withheld"))
                 if bool(row[flag].iloc[0])]
        if small:
            parts.append(f"fewer than {min_cell} {' / '.join(small)} in {year} ({label})")
    return "; ".join(parts)


_LEDGER_HEAD = b'{"cells": {'
_EVALUATION_KEY = b'"evaluation|'


def evaluation_cells(path: Path) -> dict[str, frozenset[str]]:
    """The ledger's evaluation entries (keys ``evaluation|…``) without parsing the rest.

    ``WithheldLedger`` writes ``{"cells": {key: [kinds], …}}`` with sorted keys, so the
    evaluation keys sit in one stretch between the county and prefecture outflow cells, which
    are most of the file (hundreds of thousands on a national dataset: a full parse takes about
    a second). That stretch is parsed on its own; a file not in that shape is read whole by
    ``WithheldLedger.read`` (which refuses a damaged ledger rather than forget what it holds).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    body = raw.rstrip()
    first = raw.find(_EVALUATION_KEY)
    if not body.startswith(_LEDGER_HEAD) or not body.endswith(b"}}"):
        return _evaluation_only(WithheldLedger(path).read())
    if first < 0:
        return {}
    last = raw.rfind(_EVALUATION_KEY)
    end = raw.find(b"]", last)
    try:
        cells = json.loads(b"{" + raw[first:end + 1] + b"}")
    except ValueError:
        return _evaluation_only(WithheldLedger(path).read())
    return _evaluation_only({str(k): frozenset(v) for k, v in cells.items()})


def _evaluation_only(cells: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {k: v for k, v in cells.items() if k.startswith("evaluation|")}

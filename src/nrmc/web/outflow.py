"""Patient outflow for the pages and the API: the flows engine's report, cached per process
and filtered to the regions the caller may open.

`nrmc.flows` takes plain tables and never sees a user, so scope is applied here, on its
output: a provincial officer gets the rows of its own province (and its prefectures), a
hospital user those of the regions around its hospital, national roles everything. The
report is recomputed when the dataset's manifest version changes (a new load was published).

What is published is prepared once per dataset version, every level at once (:func:`publish`):
each row's small cells are withheld (``nrmc.core.privacy``), and then, because the pages, the
API and the downloads publish a region's all-specialties row beside its specialty rows, and a
unit's row beside its child units' rows (province → prefecture → county, same year and
specialty), complementary suppression sees to it that no withheld count comes back by
subtraction: in any such group left with exactly one withheld count, the next-smallest
published count of the group is withheld too. The levels are prepared together because a
cell withheld to protect a county can leave its prefecture's or its province's group with a
single withheld cell. Requests only look rows up and filter them by scope, so every caller
sees the same published figures, and the preparation (six reports, see docs/web.md for its
cost) is paid once per dataset version: the first process to need it stores the tables beside
the dataset (web/outflow_store.py) and every other worker, and the next start, reads them.
"""

from __future__ import annotations

import hashlib
import threading
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.privacy import (
    DEFAULT_MIN_CELL,
    LEDGER_FILE,
    WithheldLedger,
    suppress_outflow_rows,
    withheld_kinds,
)
from ..domains.regions import service as regions
from ..domains.regions.models import Region
from ..domains.users.scope import Scope
from ..flows import engine as flows_engine
from ..flows import store
from ..flows.geo import LEVELS, units_table
from . import outflow_store

ALL = "all"  # all specialties together
WITHHELD_LEDGER = LEDGER_FILE  # beside the manifest: what releases have withheld
EACH = "each"  # every specialty, one row each

Rows = list[dict[str, Any]]
Sliced = dict[tuple[str, int], Rows]  # (specialty or ALL, year) → rows of one level


Codes = dict[tuple[str, int], "list[str] | None"]  # slice → its rows' region codes, or None


@dataclass
class OutflowCache:
    flows_dir: Path
    engine: str = "duckdb"
    min_cell: int = DEFAULT_MIN_CELL
    # version → level → ({(specialty or ALL, year): [row, ...]}, {same key: region codes}): the
    # rows the pages and the API ask for, suppressed and split once so a request only looks them
    # up, and each slice's region codes (ascending) so it finds a region or a prefix by bisection.
    _published: dict[int, dict[str, tuple[Sliced, Codes]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def available(self) -> bool:
        return bool(store.read_manifest(self.flows_dir).files)

    def sliced(self, session: Session, *, level: str) -> Sliced:
        """Published rows of `level` by (specialty or ALL, year); {} when no discharges are
        loaded. The first call for a dataset version computes the report at every level, with
        and without specialties, and prepares them together (see the module docstring); later
        calls look up."""
        return self.indexed(session, level=level)[0]

    def indexed(self, session: Session, *, level: str) -> tuple[Sliced, Codes]:
        """`sliced(level)` and the region codes of each slice (None where a slice is not sorted
        by region: then it is scanned)."""
        manifest = store.read_manifest(self.flows_dir)
        if not manifest.files:
            return {}, {}
        version = manifest.version
        if version not in self._published:
            with self._lock:  # one computation at a time; later callers reuse it
                if version not in self._published:
                    table = regions.region_table(session=session)
                    digest = hashlib.sha256(pd.util.hash_pandas_object(
                        table, index=False).to_numpy().tobytes()).hexdigest()[:16]

                    def make() -> dict[str, Sliced]:
                        frames = {(lv, by): flows_engine.run_outflow(
                            self.flows_dir, table, level=lv, by_specialty=by,
                            engine=self.engine)  # type: ignore[arg-type]
                            for lv in LEVELS for by in (False, True)}
                        return publish(frames, units_table(table), self.min_cell,
                                       ledger=WithheldLedger(self.flows_dir / WITHHELD_LEDGER))

                    made = outflow_store.load_or_make(
                        self.flows_dir, f"{version}-{self.min_cell}-{digest}", make)
                    self._published = {version: {lv: (parts, {key: _ascending(part)
                                                              for key, part in parts.items()})
                                                 for lv, parts in made.items()}}
        return self._published[version].get(level, ({}, {}))


def _ascending(part: Rows) -> list[str] | None:
    """The rows' region codes if they are strictly ascending (the report's order), else None."""
    codes = [r["region"] for r in part]
    if all(isinstance(c, str) for c in codes) and all(a < b for a, b in pairwise(codes)):
        return codes
    return None


def publish(frames: Mapping[tuple[str, bool], pd.DataFrame], units: pd.DataFrame,
            min_cell: int, *, ledger: WithheldLedger | None = None) -> dict[str, Sliced]:
    """Every level's outflow rows as published, by level and (specialty or ALL, year).

    ``frames``: ``run_outflow`` reports keyed by (level, by_specialty); ``units``:
    ``flows.geo.units_table`` (which prefecture-level unit a county belongs to). Rows get
    primary and complementary suppression (``nrmc.core.privacy.suppress_outflow_rows``) over
    two kinds of additive group: a region-year's specialty rows with its all-specialties row
    as the total, and a unit's child units (same year, specialty or all) with the unit as the
    total.

    With a ``ledger``, a cell withheld by any earlier release stays withheld (suppression on
    the union, so two releases cannot be differenced), and what this release withholds is added.
    """
    rows: Rows = []
    index: dict[tuple[str, str, int, str], int] = {}  # (level, region, year, specialty or ALL)
    for (level, split), frame in frames.items():
        for record in _records(frame):
            spec = record["specialty"] if split else ALL
            index[(level, record["region"], record["year"], spec)] = len(rows)
            rows.append(record)
    parent_of = {"prefecture": ("province", dict(zip(units["code"], units["province"],
                                                     strict=True))),
                 "county": ("prefecture", dict(zip(units["code"], units["prefecture"],
                                                   strict=True)))}
    by_specialty: dict[int, list[int]] = {}
    by_region: dict[int, list[int]] = {}
    for (level, region, year, spec), i in index.items():
        if spec != ALL:
            total = index.get((level, region, year, ALL))
            if total is not None:
                by_specialty.setdefault(total, []).append(i)
        if level in parent_of:
            parent_level, parents = parent_of[level]
            parent = index.get((parent_level, parents.get(region, ""), year, spec))
            if parent is not None:
                by_region.setdefault(parent, []).append(i)
    keys = [""] * len(rows)
    for (level, region, year, spec), i in index.items():
        keys[i] = f"{level}|{region}|{year}|{spec}"
    before = ledger.read() if ledger is not None else {}
    published = suppress_outflow_rows(rows, min_cell, by_specialty=list(by_specialty.items()),
                                      by_region=list(by_region.items()),
                                      carried=[before.get(k, frozenset()) for k in keys])
    if ledger is not None:
        ledger.remember({k: withheld_kinds(raw, out)
                         for k, raw, out in zip(keys, rows, published, strict=True)})
    out: dict[str, Sliced] = {}
    for (level, _, year, spec), i in index.items():
        out.setdefault(level, {}).setdefault((spec, year), []).append(published[i])
    return out


def _records(frame: pd.DataFrame) -> Rows:
    """Plain rows of a report frame: None for missing values, counts as int. Column by column:
    several times faster than ``DataFrame.to_dict`` on the county × specialty report."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        values = column.astype(object).where(column.notna(), None).tolist() if column.hasnans \
            else column.tolist()
        if name in ("year", "discharges", "treated_outside") and column.dtype.kind != "i":
            values = [None if v is None else int(v) for v in values]
        columns.append(values)
    names = list(frame.columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def visible_codes(session: Session, scope: Scope) -> set[str] | None:
    """Region codes the caller may see (None: all of them); asked once per request (session)
    however many outflow tables the page shows."""
    if scope.national:
        return None
    key = ("nrmc.visible_codes", scope)
    found = session.info.get(key)
    if found is None:
        found = session.info[key] = set(session.scalars(select(Region.code).where(
            regions.visible_clause(session=session, scope=scope))))
    return found


def rows(
    cache: OutflowCache, session: Session, scope: Scope, *, level: str = "province",
    specialty: str = ALL, year: int | None = None, within: str | None = None,
) -> list[dict[str, Any]]:
    """Outflow rows for one specialty (or all) and year (or every year), scope-filtered;
    `within` keeps units inside one province or prefecture."""
    return [r for run in runs(cache, session, scope, level=level, specialty=specialty,
                              year=year, within=within) for r in run]


def page(
    cache: OutflowCache, session: Session, scope: Scope, *, level: str = "province",
    specialty: str = ALL, year: int | None = None, within: str | None = None,
    limit: int, offset: int = 0,
) -> tuple[Rows, int]:
    """(rows[offset:offset + limit], len(rows)) of :func:`rows`, without gathering the rows
    outside the page (a national county × specialty table holds a quarter of a million)."""
    out: Rows = []
    total = 0
    for run in runs(cache, session, scope, level=level, specialty=specialty, year=year,
                    within=within):
        start = max(offset - total, 0)
        if len(out) < limit and start < len(run):
            out.extend(run[start:start + limit - len(out)])
        total += len(run)
    return out, total


def runs(
    cache: OutflowCache, session: Session, scope: Scope, *, level: str, specialty: str,
    year: int | None, within: str | None,
) -> Iterator[Rows]:
    """The rows of :func:`rows` as consecutive runs, one per (specialty, year) slice, slices by
    year. A slice is sorted by region (``run_outflow`` sorts by region, year, specialty), so the
    rows inside a prefix (`within`, a province's scope) are one bisected range and a short list
    of visible codes is looked up one by one."""
    sliced, codes = cache.indexed(session, level=level)

    def wanted(spec: str) -> bool:
        return spec != ALL if specialty == EACH else spec == specialty

    allowed = visible_codes(session, scope)
    prefix = within or ""
    if scope.province is not None and allowed is not None:  # every visible code has it
        if scope.province.startswith(prefix):
            prefix = scope.province
        elif not prefix.startswith(scope.province):
            return
    for (spec, y), part in sorted(sliced.items(), key=lambda kv: kv[0][1]):
        if not wanted(spec) or (year is not None and y != year):
            continue
        keys = codes.get((spec, y))
        if keys is None:  # not in region order: scan
            yield [r for r in part if (not prefix or r["region"].startswith(prefix))
                   and (allowed is None or r["region"] in allowed)]
            continue
        lo = bisect_left(keys, prefix) if prefix else 0
        hi = bisect_left(keys, prefix + "\uffff", lo) if prefix else len(keys)
        if allowed is None:
            run = part[lo:hi] if hi - lo < len(part) else part
        elif len(allowed) < hi - lo:
            found = []
            for code in sorted(c for c in allowed if c.startswith(prefix)):
                i = bisect_left(keys, code, lo, hi)
                if i < hi and keys[i] == code:
                    found.append(part[i])
            run = found
        else:
            run = [r for r in part[lo:hi] if r["region"] in allowed]
        if run:
            yield run


def years(cache: OutflowCache, session: Session) -> list[int]:
    return sorted({y for (spec, y) in cache.sliced(session, level="province") if spec == ALL})

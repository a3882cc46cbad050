"""Patient outflow for the pages and the API: the flows engine's report, cached per process
and filtered to the regions the caller may open.

`nrmc.flows` takes plain tables and never sees a user, so scope is applied here, on its
output: a provincial officer gets the rows of its own province (and its prefectures), a
hospital user those of the regions around its hospital, national roles everything. The
report is recomputed when the dataset's manifest version changes (a new load was published).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.privacy import DEFAULT_MIN_CELL, suppress_outflow_row
from ..domains.regions import service as regions
from ..domains.regions.models import Region
from ..domains.users.scope import Scope
from ..flows import engine as flows_engine
from ..flows import store

ALL = "all"  # all specialties together
EACH = "each"  # every specialty, one row each


@dataclass
class OutflowCache:
    flows_dir: Path
    engine: str = "duckdb"
    min_cell: int = DEFAULT_MIN_CELL
    _frames: dict[tuple[str, bool, int], pd.DataFrame] = field(default_factory=dict)
    # (level, version) → {(specialty or ALL, year): [row, ...]}: the rows the pages and the API
    # ask for, split once so a request only looks them up and filters by scope.
    _slices: dict[tuple[str, int], dict[tuple[str, int], list[dict[str, Any]]]] = field(
        default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def available(self) -> bool:
        return bool(store.read_manifest(self.flows_dir).files)

    def frame(self, session: Session, *, level: str, by_specialty: bool) -> pd.DataFrame | None:
        """The whole outflow report at `level` (None when no discharges are loaded)."""
        manifest = store.read_manifest(self.flows_dir)
        if not manifest.files:
            return None
        key = (level, by_specialty, manifest.version)
        with self._lock:  # one computation at a time; later callers reuse it
            if key not in self._frames:
                table = regions.region_table(session=session)
                self._frames = {k: v for k, v in self._frames.items() if k[2] == manifest.version}
                self._frames[key] = flows_engine.run_outflow(
                    self.flows_dir, table, level=level, by_specialty=by_specialty,
                    engine=self.engine)  # type: ignore[arg-type]
            return self._frames[key]

    def sliced(self, session: Session, *, level: str) -> dict[tuple[str, int], list[dict[str, Any]]]:
        """Rows by (specialty or ALL, year) for `level`; {} when no discharges are loaded."""
        version = store.read_manifest(self.flows_dir).version
        key = (level, version)
        if key not in self._slices:
            out: dict[tuple[str, int], list[dict[str, Any]]] = {}
            for by_specialty in (False, True):
                frame = self.frame(session, level=level, by_specialty=by_specialty)
                if frame is None:
                    return {}
                for record in _records(frame, self.min_cell):
                    spec = record["specialty"] if by_specialty else ALL
                    out.setdefault((spec, record["year"]), []).append(record)
            with self._lock:
                self._slices = {k: v for k, v in self._slices.items() if k[1] == version}
                self._slices[key] = out
        return self._slices[key]


def _records(frame: pd.DataFrame, min_cell: int) -> list[dict[str, Any]]:
    """Plain rows as published: small cells withheld (nrmc.core.privacy)."""
    out = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    ints = ("year", "discharges", "treated_outside")
    return [suppress_outflow_row({k: (int(v) if k in ints and v is not None else v)
                                  for k, v in row.items()}, min_cell) for row in out]


def published(frame: pd.DataFrame, min_cell: int) -> list[dict[str, Any]]:
    """Rows of a report frame as pages may show them (small cells withheld)."""
    return _records(frame, min_cell)


def visible_codes(session: Session, scope: Scope) -> set[str] | None:
    """Region codes the caller may see (None: all of them)."""
    if scope.national:
        return None
    return set(session.scalars(select(Region.code).where(
        regions.visible_clause(session=session, scope=scope))))


def rows(
    cache: OutflowCache, session: Session, scope: Scope, *, level: str = "province",
    specialty: str = ALL, year: int | None = None, within: str | None = None,
) -> list[dict[str, Any]]:
    """Outflow rows for one specialty (or all) and year (or every year), scope-filtered;
    `within` keeps units inside one province or prefecture."""
    sliced = cache.sliced(session, level=level)
    def wanted(spec: str) -> bool:
        return spec != ALL if specialty == EACH else spec == specialty

    found = [r for (spec, y), part in sorted(sliced.items(), key=lambda kv: kv[0][1])
             if wanted(spec) and (year is None or y == year) for r in part]
    if within:
        found = [r for r in found if r["region"].startswith(within)]
    allowed = visible_codes(session, scope)
    if allowed is not None:
        found = [r for r in found if r["region"] in allowed]
    return found


def years(cache: OutflowCache, session: Session) -> list[int]:
    return sorted({y for (spec, y) in cache.sliced(session, level="province") if spec == ALL})

"""County medical communities' within-county treatment rate (县域内就诊率) against the 90 % goal.

The rate is the flows metric (`flows.metrics.within_county`, run by `flows.engine`) for the
county each community is registered in; it is computed once per published dataset version and
kept in memory. A county-year with fewer discharges (or fewer treated within) than the
small-cell threshold is withheld (`nrmc.core.privacy.share_withheld`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import AllianceKind
from ...core.privacy import share_withheld
from ...flows import engine as flows_engine
from ...flows import store
from ..alliances import service as alliances
from ..alliances.models import Alliance
from ..regions import service as regions
from ..users.scope import Scope

GOAL = 0.90
_cache: dict[tuple[str, int], pd.DataFrame] = {}
_lock = threading.Lock()


def _rates(session: Session, flows_dir: Path, engine: str) -> pd.DataFrame | None:
    manifest = store.read_manifest(flows_dir)
    if not manifest.files:
        return None
    key = (str(flows_dir), manifest.version)
    with _lock:
        if key not in _cache:
            _cache.clear()
            _cache[key] = flows_engine.run_within_county(
                flows_dir, regions.region_table(session=session), engine=engine)  # type: ignore[arg-type]
    return _cache[key]


def community_rates(*, session: Session, scope: Scope, flows_dir: Path, engine: str = "duckdb",
                    min_cell: int = 10, goal: float = GOAL) -> list[dict[str, Any]]:
    """Visible county medical communities with their county's latest within-county rate."""
    found, _ = alliances.list_visible(session=session, scope=scope)
    communities = [a for a in found if a.kind == AllianceKind.county_medical_community.value]
    if not communities:
        return []
    frame = _rates(session, flows_dir, engine)
    names = dict(session.execute(select(Alliance.id, Alliance.name_zh)
                                 .where(Alliance.id.in_([a.id for a in communities]))).all())
    out = []
    for a in communities:
        row: dict[str, Any] = {"alliance_id": a.id, "name": names[a.id], "county": a.region_code,
                               "year": None, "discharges": None, "within_rate": None,
                               "withheld": False, "goal": goal, "met": None}
        if frame is not None:
            mine = frame[frame["region"] == a.region_code].sort_values("year")
            if len(mine):
                last = mine.iloc[-1]
                row.update(year=int(last["year"]), discharges=int(last["discharges"]))
                if share_withheld(last["treated_within"], last["discharges"], min_cell):
                    row["withheld"] = True
                else:
                    row["within_rate"] = float(last["within_rate"])
                    row["met"] = row["within_rate"] >= goal
        out.append(row)
    return out

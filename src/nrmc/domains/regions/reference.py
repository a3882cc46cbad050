"""Keep a store's regions in step with the shipped table (regions.csv), on every upgrade.

The regions are reference data, not user data: `nrmc db upgrade` inserts units that are missing,
rewrites the shipped columns of units that changed (the 2020 census populations replaced the
equal-split estimates; 容城县, 安新县 and 雄县 moved under 雄安新区), and retires units the table no
longer carries, re-filing whatever pointed at them to their successor first (两江新区 → 渝北区).
Running it twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ...data import read_csv
from .models import Region

# Units the shipped table no longer carries → the unit that takes over their references.
# 两江新区 is a national new area over parts of 江北区, 渝北区 and 北碚区, not a county-level unit;
# its administrative committee sits in 渝北区.
RETIRED = {"500157": "500112"}

_LEVEL_ORDER = {"province": 0, "prefecture": 1, "county": 2}


@dataclass(frozen=True)
class SyncReport:
    added: int
    updated: int
    retired: int


def _int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


def shipped_rows() -> list[dict[str, Any]]:
    """regions.csv as ORM column values, parents before children."""
    rows = read_csv("regions.csv")
    rows.sort(key=lambda r: (_LEVEL_ORDER[r["level"]], r["code"]))
    return [
        {
            "code": r["code"], "name_zh": r["name_zh"], "name_en": r["name_en"],
            "level": r["level"], "parent_code": r["parent_code"] or None,
            "lon": float(r["lon"]), "lat": float(r["lat"]),
            "coords_from_parent": r["coords_from_parent"] == "1",
            "coords_from": r["coords_from"],
            "population": int(r["population"]),
            "population_estimated": r["population_estimated"] == "1",
            "population_method": r["population_method"],
            "population_census": _int(r["population_census"]),
            "urban": _int(r["urban"]), "rural": _int(r["rural"]),
            "share_65_plus": _float(r["share_65_plus"]),
            "leaf": r["leaf"] == "1",
        }
        for r in rows
    ]


def sync(*, session: Session) -> SyncReport:
    """Bring the store's regions to the shipped table (idempotent)."""
    rows = shipped_rows()
    existing = {r.code: r for r in session.scalars(select(Region))}
    added = updated = 0
    new_rows: list[dict[str, Any]] = []
    for row in rows:
        region = existing.get(row["code"])
        if region is None:
            new_rows.append(row)
            continue
        changed = {k: v for k, v in row.items() if getattr(region, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(region, key, value)
            updated += 1
    if new_rows:
        session.add_all(Region(**row) for row in new_rows)
        added = len(new_rows)
    session.flush()
    retired = 0
    shipped = {r["code"] for r in rows}
    for old, successor in RETIRED.items():
        if old in existing and old not in shipped:
            _refile(session, old, successor)
            session.execute(delete(Region).where(Region.code == old))
            retired += 1
    session.flush()
    return SyncReport(added, updated, retired)


def _refile(session: Session, old: str, successor: str) -> None:
    """Point every reference to a retired unit at its successor (every table with a foreign key
    to regions.code is listed here)."""
    from ..alliances.models import Alliance
    from ..gaps.models import Gap
    from ..hospitals.models import Hospital
    from ..projects.models import Project

    session.execute(update(Hospital).where(Hospital.region_code == old)
                    .values(region_code=successor))
    session.execute(update(Alliance).where(Alliance.region_code == old)
                    .values(region_code=successor))
    session.execute(update(Project).where(Project.city_code == old).values(city_code=successor))
    session.execute(update(Gap).where(Gap.region_code == old).values(region_code=successor))
    session.execute(update(Region).where(Region.parent_code == old)
                    .values(parent_code=successor))

"""Regions: the real GB/T 2260 tree shipped with nrmc, and lookups on it."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ...core import codes
from ...core.errors import NotFound
from ...data import read_csv
from .models import Region
from .schemas import RegionDetail, RegionOut


def seed(*, session: Session) -> int:
    """Load the shipped regions table if the store has none; returns rows added."""
    if session.scalar(select(func.count()).select_from(Region)):
        return 0
    rows = read_csv("regions.csv")
    # Parents before children so foreign keys hold while inserting.
    order = {"province": 0, "prefecture": 1, "county": 2}
    rows.sort(key=lambda r: (order[r["level"]], r["code"]))
    session.execute(
        insert(Region),
        [
            {
                "code": r["code"], "name_zh": r["name_zh"], "name_en": r["name_en"],
                "level": r["level"], "parent_code": r["parent_code"] or None,
                "lon": float(r["lon"]), "lat": float(r["lat"]),
                "coords_from_parent": r["coords_from_parent"] == "1",
                "population": int(r["population"]),
                "population_estimated": r["population_estimated"] == "1",
                "leaf": r["leaf"] == "1",
            }
            for r in rows
        ],
    )
    return len(rows)


def get(*, session: Session, code: str) -> Region:
    try:
        key = codes.normalize(code)
    except ValueError as exc:
        raise NotFound(str(exc)) from exc
    region = session.get(Region, key)
    if region is None:
        raise NotFound(f"no region with code {code}")
    return region


def detail(*, session: Session, code: str) -> RegionDetail:
    """A region with its prefecture and province resolved (for `regions show`)."""
    region = get(session=session, code=code)
    chain: dict[str, Region] = {}
    parent_code = region.parent_code
    while parent_code:
        parent = session.get(Region, parent_code)
        if parent is None:
            break
        chain[parent.level] = parent
        parent_code = parent.parent_code
    children = session.scalar(
        select(func.count()).select_from(Region).where(Region.parent_code == region.code)
    )
    out = RegionDetail.model_validate(region, from_attributes=True)
    return out.model_copy(update={
        "prefecture": RegionOut.model_validate(chain["prefecture"]) if "prefecture" in chain
        else None,
        "province": RegionOut.model_validate(chain["province"]) if "province" in chain else None,
        "children": children or 0,
    })


def list_regions(
    *, session: Session, parent: str | None = None, level: str | None = None,
    within: str | None = None,
) -> list[Region]:
    """Regions filtered by direct parent, level, and/or membership in a province (`within`)."""
    query = select(Region).order_by(Region.code)
    if parent is not None:
        query = query.where(Region.parent_code == get(session=session, code=parent).code)
    if level is not None:
        query = query.where(Region.level == level)
    if within is not None:
        province = codes.province_of(get(session=session, code=within).code)
        query = query.where(Region.code.like(province[:2] + "%"))
    return list(session.scalars(query))


def province_of(*, session: Session, code: str) -> Region:
    return get(session=session, code=codes.province_of(get(session=session, code=code).code))


def region_table(*, session: Session) -> pd.DataFrame:
    """All regions as a plain table (for flows and planning, which take tables, not sessions)."""
    rows = session.execute(select(Region.__table__)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows])


def to_out(region: Region) -> dict[str, object]:
    return RegionOut.model_validate(region).model_dump()

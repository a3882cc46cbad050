"""Regions: the real GB/T 2260 tree shipped with nrmc, and lookups on it."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from ...core import codes
from ...core.errors import NotFound
from ..users.scope import Scope
from .models import Region
from .schemas import RegionDetail, RegionOut


def seed(*, session: Session) -> int:
    """Bring the store's regions to the shipped table (see reference.sync); returns rows added."""
    from .reference import sync

    return sync(session=session).added


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


def parents_within(*, session: Session, code: str) -> dict[str, str | None]:
    """Code → parent code of every region in `code`'s province (two columns, not regions)."""
    province = codes.province_of(get(session=session, code=code).code)
    return dict(session.execute(select(Region.code, Region.parent_code).where(
        Region.code.like(province[:2] + "%"))).tuples().all())


def province_of(*, session: Session, code: str) -> Region:
    return get(session=session, code=codes.province_of(get(session=session, code=code).code))


def region_table(*, session: Session) -> pd.DataFrame:
    """All regions as a plain table (for flows and planning, which take tables, not sessions)."""
    rows = session.execute(select(Region.__table__)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows])


def to_out(region: Region) -> dict[str, object]:
    return RegionOut.model_validate(region).model_dump()


# --- scope-filtered access (web and API) -------------------------------------------------------

def _chain(session: Session, code: str) -> list[str]:
    """The code and every ancestor (county → prefecture → province)."""
    out: list[str] = []
    current: str | None = code
    while current:
        out.append(current)
        region = session.get(Region, current)
        current = region.parent_code if region is not None else None
    return out


def visible_clause(*, session: Session, scope: Scope) -> ColumnElement[bool]:
    """Regions a caller may open: all (national), one province's tree (provincial officer), or
    the county/prefecture/province chain around the caller's hospital (hospital roles)."""
    if scope.national:
        return true()
    if scope.province is not None:
        return Region.code.like(scope.province + "%")
    if scope.hospital is not None:
        from ..hospitals.models import Hospital

        hospital = session.get(Hospital, scope.hospital)
        if hospital is not None:
            return Region.code.in_(_chain(session, hospital.region_code))
    return false()


def get_visible(*, session: Session, scope: Scope, code: str) -> Region:
    """A region in scope; NotFound (same message as a missing code) otherwise."""
    region = get(session=session, code=code)
    allowed = session.scalar(select(Region.code).where(
        Region.code == region.code, visible_clause(session=session, scope=scope)))
    if allowed is None:
        raise NotFound(f"no region with code {code}")
    return region


def list_visible(
    *, session: Session, scope: Scope, parent: str | None = None, level: str | None = None,
    limit: int | None = None, offset: int = 0,
) -> tuple[list[Region], int]:
    query = select(Region).where(visible_clause(session=session, scope=scope))
    if parent is not None:
        query = query.where(Region.parent_code == get_visible(
            session=session, scope=scope, code=parent).code)
    if level is not None:
        query = query.where(Region.level == level)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(Region.code)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query)), total


def code_prefix(region: Region) -> str:
    """The code prefix every unit inside the region shares (62 for Gansu, 6209 for Jiuquan).

    Only for provinces and true prefectures: a county directly under a province (placeholder
    prefecture block) shares its 4-digit block with siblings, so callers walk parents instead.
    """
    return region.code[: {"province": 2, "prefecture": 4}.get(region.level, 6)]

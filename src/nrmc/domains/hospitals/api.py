"""JSON API for hospitals, filtered by the caller's scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ...core.enums import Tier
from ...web.deps import ApiScope, CurrentHospital, SessionDep
from ...web.read_cache import cached_read
from ...web.tables import DOWNLOADS, EXPORT_LIMIT, FormatQuery, Limit, Offset, Page, TableFormat, download
from . import search, service
from .schemas import HospitalDetail, HospitalOut
from .search import HospitalPick

router = APIRouter(prefix="/api/v1/hospitals", tags=["hospitals"])


@router.get("", response_model=Page[HospitalOut], responses=DOWNLOADS)
@cached_read
def list_hospitals(
    session: SessionDep, scope: ApiScope, region: str | None = None, tier: Tier | None = None,
    synthetic: bool | None = None, limit: Limit = 50, offset: Offset = 0,
    fmt: FormatQuery = TableFormat.json,
) -> Page[HospitalOut] | Response:
    """Hospitals in scope; `region` is a province, prefecture or county code."""
    if fmt != TableFormat.json:
        limit, offset = EXPORT_LIMIT, 0
    items, total = service.list_visible(session=session, scope=scope, region=region, tier=tier,
                                        synthetic=synthetic, limit=limit, offset=offset)
    out = [HospitalOut.model_validate(h) for h in items]
    if fmt != TableFormat.json:
        return download(out, fmt, "hospitals", columns=list(HospitalOut.model_fields))
    return Page(items=out, total=total, limit=limit, offset=offset)


@router.get("/search", response_model=list[HospitalPick])
def search_hospitals(
    session: SessionDep, scope: ApiScope,
    q: Annotated[str, Query(max_length=search.MAX_QUERY)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[HospitalPick]:
    """Hospitals matching `q` by code, name or pinyin initials ("lzdy" → 兰州大学第一医院), with
    county and city, best first. The hospitals a referral may be sent to: the caller's scope,
    and for a hospital's staff also its province and its alliance and project partners."""
    from ..referrals.service import targets_clause

    return search.search(session=session, q=q, limit=limit,
                         where=targets_clause(session, scope))


@router.get("/{code}", response_model=HospitalDetail)
@cached_read
def get_hospital(hospital: CurrentHospital) -> HospitalDetail:
    return HospitalDetail.model_validate(hospital)

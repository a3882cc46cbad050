"""JSON API for regions: the GB/T 2260 tree as the caller's scope shows it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ...core.enums import Level
from ...web import outflow
from ...web.deps import ApiScope, CurrentRegion, SessionDep
from ...web.read_cache import cached_read
from ...web.tables import DOWNLOADS, EXPORT_LIMIT, FormatQuery, Limit, Offset, Page, TableFormat, download
from ..hospitals import service as hospitals
from . import service
from .schemas import RegionDetail, RegionOut

router = APIRouter(prefix="/api/v1/regions", tags=["regions"])


class RegionStats(RegionOut):
    """A region with the visible hospitals and beds inside it (for drill-down tables)."""

    hospitals: int
    beds: int


@router.get("", response_model=Page[RegionOut], responses=DOWNLOADS)
@cached_read
def list_regions(
    session: SessionDep, scope: ApiScope, parent: Annotated[str | None, Query()] = None,
    level: Level | None = None, limit: Limit = 50, offset: Offset = 0,
    fmt: FormatQuery = TableFormat.json,
) -> Page[RegionOut] | Response:
    if fmt != TableFormat.json:
        limit, offset = EXPORT_LIMIT, 0
    items, total = service.list_visible(session=session, scope=scope, parent=parent,
                                        level=level, limit=limit, offset=offset)
    out = [RegionOut.model_validate(r) for r in items]
    if fmt != TableFormat.json:
        return download(out, fmt, "regions", columns=list(RegionOut.model_fields))
    return Page(items=out, total=total, limit=limit, offset=offset)


@router.get("/{code}", response_model=RegionDetail)
@cached_read
def get_region(region: CurrentRegion, session: SessionDep) -> RegionDetail:
    return service.detail(session=session, code=region.code)


def child_stats(session: SessionDep, scope: ApiScope, code: str) -> list[RegionStats]:
    """The region's direct children with visible hospitals and beds summed over each subtree."""
    region = service.get_visible(session=session, scope=scope, code=code)
    children, _ = service.list_visible(session=session, scope=scope, parent=region.code)
    counts = hospitals.counts_by_region(session=session, scope=scope,
                                        codes_like=service.code_prefix(region))
    parents = service.parents_within(session=session, code=region.code)
    totals: dict[str, list[int]] = {c.code: [0, 0] for c in children}
    for place, (n, beds) in counts.items():
        node: str | None = place
        while node is not None and node not in totals:
            node = parents.get(node)
        if node is not None:
            totals[node][0] += n
            totals[node][1] += beds
    return [RegionStats(**RegionOut.model_validate(c).model_dump(), hospitals=totals[c.code][0],
                        beds=totals[c.code][1]) for c in children]


@router.get("/{code}/children", response_model=list[RegionStats], responses=DOWNLOADS)
@cached_read
def get_children(code: str, session: SessionDep, scope: ApiScope,
                 fmt: FormatQuery = TableFormat.json) -> list[RegionStats] | Response:
    """Direct children (prefectures of a province, counties of a prefecture) with hospitals."""
    rows = child_stats(session, scope, code)
    if fmt != TableFormat.json:
        return download(rows, fmt, f"regions-{code}", columns=list(RegionStats.model_fields))
    return rows


class OutflowRow(BaseModel):
    """Residents' discharges of one unit, year and specialty, and the share treated elsewhere."""

    region: str
    region_name: str | None
    year: int
    specialty: str | None
    discharges: int | None
    treated_outside: int | None
    outflow_rate: float | None
    top_destination: str | None
    top_destination_share: float | None
    suppressed: bool = False


metrics = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])


@metrics.get("/outflow", response_model=Page[OutflowRow], responses=DOWNLOADS)
@cached_read
def get_outflow(
    request: Request, session: SessionDep, scope: ApiScope,
    level: Annotated[Level, Query()] = Level.province,
    specialty: Annotated[str, Query(max_length=32, description="a specialty; all (together) "
                                    "or each (one row per specialty)")] = "all",
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    within: Annotated[str | None, Query(pattern=r"^[0-9]{2,6}$")] = None,
    limit: Limit = 500, offset: Offset = 0, fmt: FormatQuery = TableFormat.json,
) -> Page[OutflowRow] | Response:
    """Patient outflow rate by region × year (× specialty), from the loaded discharges;
    only regions in the caller's scope. Empty when no discharges are loaded. Cells with fewer
    than NRMC_MIN_CELL_SIZE patients are withheld (null, `suppressed: true`), and so is the
    next-smallest cell where a total (all specialties, or the parent unit) would give a lone
    withheld cell back."""
    cache = request.app.state.outflow
    if fmt != TableFormat.json:
        found = outflow.rows(cache, session, scope, level=level.value, specialty=specialty,
                             year=year, within=within)
        return download([OutflowRow(**r) for r in found], fmt, "outflow",
                        columns=list(OutflowRow.model_fields))
    # Only the page's rows become models: the county × specialty table is a quarter million.
    shown, total = outflow.page(cache, session, scope, level=level.value, specialty=specialty,
                                year=year, within=within, limit=limit, offset=offset)
    return Page(items=[OutflowRow(**r) for r in shown], total=total, limit=limit, offset=offset)

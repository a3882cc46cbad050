"""Pages: the national overview (map + programme numbers) and the region drill-down
(province → prefecture → county) with centres, alliances and hospitals in scope."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...web.deps import PageUser, SessionDep
from ...web.render import render
from ..alliances import service as alliances
from ..hospitals import service as hospitals
from ..projects import service as projects
from ..projects.api import programme_summary
from ..users.scope import Scope
from . import service
from .api import child_stats

router = APIRouter(include_in_schema=False)
MAPS = Path(__file__).parents[2] / "web" / "static" / "maps"


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    scope = Scope.for_user(user)
    summary = programme_summary(session, scope)
    map_rows = [{"code": p.code, "name": f"{p.name_zh} {p.name_en}", "value": p.projects}
                for p in summary.by_province]
    return render(request, "regions/overview.html", user, summary=summary, map_rows=map_rows)


@router.get("/regions/{code}", response_class=HTMLResponse)
def region_page(code: str, request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    scope = Scope.for_user(user)
    region = service.get_visible(session=session, scope=scope, code=code)
    detail = service.detail(session=session, code=region.code)
    children = child_stats(session, scope, region.code)
    centres: list = []
    if region.level == "province":
        centres, _ = projects.list_visible(session=session, scope=scope, province=region.code)
    elif region.level == "prefecture":
        centres = [p for p in projects.list_visible(session=session, scope=scope,
                                                    province=region.code)[0]
                   if p.city_code == region.code]
    found, _ = alliances.list_visible(session=session, scope=scope, region=region.code)
    county_hospitals: list = []
    if region.level == "county":
        county_hospitals, _ = hospitals.list_visible(session=session, scope=scope,
                                                     region=region.code, limit=500)
    has_map = region.level == "province" and (MAPS / f"{region.code}.json").exists()
    map_rows = [{"code": c.code, "name": f"{c.name_zh} {c.name_en}", "value": c.hospitals}
                for c in children]
    return render(
        request, "regions/region.html", user, region=detail, children=children,
        centres=[projects.to_out(session, p) for p in centres],
        alliances=[alliances.to_out(session, a) for a in found], hospitals=county_hospitals,
        has_map=has_map, map_rows=map_rows)

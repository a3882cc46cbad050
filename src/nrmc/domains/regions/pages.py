"""Pages: the national overview (map + programme numbers) and the region drill-down
(province → prefecture → county) with centres, alliances and hospitals in scope."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...core.enums import Role, Specialty
from ...web import outflow
from ...web.deps import PageUser, SessionDep
from ...web.read_cache import cached_read
from ...web.render import render
from ..alliances import service as alliances
from ..hospitals import service as hospitals
from ..projects import service as projects
from ..projects.api import programme_summary
from ..users.scope import Scope
from . import service
from .api import child_stats
from .models import Region

router = APIRouter(include_in_schema=False)
MAPS = Path(__file__).parents[2] / "web" / "static" / "maps"


@router.get("/", response_class=HTMLResponse)
@cached_read
def overview(
    request: Request, session: SessionDep, user: PageUser,
    specialty: Annotated[str, Query(max_length=32)] = outflow.ALL,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
) -> Response:
    """The national map: outflow rate by province for a specialty and year when discharges
    are loaded (else the programme's projects per province), and programme numbers by batch."""
    scope = Scope.for_user(user)
    if scope.role == Role.clinician:  # a clinician's work is the referral inbox
        return RedirectResponse("/referrals", status_code=303)
    summary = programme_summary(session, scope)
    cache = request.app.state.outflow
    years = outflow.years(cache, session)
    if specialty != outflow.ALL and specialty not in Specialty.__members__:
        specialty = outflow.ALL
    flows = None
    if years:
        year = year if year in years else years[-1]
        found = outflow.rows(cache, session, scope, level="province", specialty=specialty,
                             year=year)
        map_rows = [{"code": r["region"], "name": r["region_name"], "value": r["outflow_rate"]}
                    for r in found]
        flows = {"years": years, "year": year, "specialty": specialty, "rows": found,
                 "specialties": list(Specialty)}
    else:
        map_rows = [{"code": p.code, "name": f"{p.name_zh} {p.name_en}", "value": p.projects}
                    for p in summary.by_province]
    return render(request, "regions/overview.html", user, summary=summary, map_rows=map_rows,
                  flows=flows)


@router.get("/regions/{code}", response_class=HTMLResponse)
@cached_read
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
    flows = _region_flows(request, session, scope, region, children)
    if flows and flows["children"]:
        map_rows = [{"code": r["region"], "name": r["region_name"], "value": r["outflow_rate"]}
                    for r in flows["children"]]
    return render(
        request, "regions/region.html", user, region=detail, children=children,
        centres=[projects.to_out(session, p) for p in centres],
        alliances=alliances.to_outs(session, found), hospitals=county_hospitals,
        has_map=has_map, map_rows=map_rows, flows=flows)


def _region_flows(request: Request, session: SessionDep, scope: Scope, region: Region,
                  children: list) -> dict | None:
    """Outflow of the region by specialty and of each child unit (all specialties), latest
    year. The region itself is in scope (it was opened through get_visible)."""
    cache = request.app.state.outflow
    years = outflow.years(cache, session)
    if not years or region.level == "county":
        return None
    year = years[-1]
    mine = [r for r in outflow.rows(cache, session, scope, level=region.level,
                                    specialty=outflow.EACH, year=year, within=region.code)
            if r["region"] == region.code]
    by_specialty = sorted(mine, key=lambda r: -(r["outflow_rate"] if r["outflow_rate"] is not None
                                                else -1))
    child_level = "prefecture" if region.level == "province" else "county"
    codes = {c.code for c in children}
    kids = [r for r in outflow.rows(cache, session, scope, level=child_level, year=year,
                                    within=service.code_prefix(region)) if r["region"] in codes]
    total = [r for r in outflow.rows(cache, session, scope, level=region.level, year=year,
                                     within=region.code) if r["region"] == region.code]
    return {"year": year, "by_specialty": by_specialty, "children": kids,
            "total": total[0] if total else None}

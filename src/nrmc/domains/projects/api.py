"""JSON API for programme projects and the programme numbers the overview charts."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...core.enums import ProjectStatus
from ...core.inputs import Beds, LongText, Text
from ...web.deps import ApiScope, CurrentProject, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.tables import (
    DOWNLOADS,
    EXPORT_LIMIT,
    DbId,
    FormatQuery,
    Limit,
    Offset,
    Page,
    TableFormat,
    download,
)
from ..regions import service as regions
from . import service
from .schemas import ProjectDetail, ProjectOut

router = APIRouter(tags=["projects"])


class ProjectUpdate(BaseModel):
    """Fields a project's owners may change; every change is audited."""

    status: ProjectStatus | None = None
    planned_beds: Beds | None = None
    notes: LongText | None = None
    visit_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                 description="the site visit justifying approval or the warning list")
    reason: Text = ""


class BatchCount(BaseModel):
    batch: int | None
    projects: int


class ProvinceCount(BaseModel):
    code: str
    name_zh: str
    name_en: str
    projects: int
    by_batch: dict[str, int]


class ProgrammeSummary(BaseModel):
    """Projects by batch and by province (the overview's programme numbers and its map)."""

    projects: int
    by_batch: list[BatchCount]
    by_province: list[ProvinceCount]


@router.get("/api/v1/projects", response_model=Page[ProjectOut], responses=DOWNLOADS)
@cached_read
def list_projects(
    session: SessionDep, scope: ApiScope, batch: Annotated[int | None, Query(ge=1, le=5)] = None,
    province: str | None = None,
    limit: Limit = 50, offset: Offset = 0, fmt: FormatQuery = TableFormat.json,
) -> Page[ProjectOut] | Response:
    if fmt != TableFormat.json:
        limit, offset = EXPORT_LIMIT, 0
    items, total = service.list_visible(session=session, scope=scope, batch=batch,
                                        province=province, limit=limit, offset=offset)
    _loaded = service.prefetch_hospitals(session=session, projects=items)
    out = [service.to_out(session, p) for p in items]
    if fmt != TableFormat.json:
        return download(out, fmt, "projects", columns=list(ProjectOut.model_fields))
    return Page(items=out, total=total, limit=limit, offset=offset)


@router.get("/api/v1/projects/{project_id}", response_model=ProjectDetail)
@cached_read
def get_project(project: CurrentProject, session: SessionDep) -> ProjectDetail:
    return service.to_detail(session, project)


@router.patch("/api/v1/projects/{project_id}", response_model=ProjectDetail,
              responses={403: {"description": "read-only role"}, 404: {"description": "not found"}})
def update_project(project_id: DbId, body: ProjectUpdate, session: SessionDep, scope: ApiScope,
                   source: SourceDep) -> ProjectDetail:
    """Change status, planned beds or notes (audited with before/after and the client)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True,
                              exclude={"visit_id", "reason"})
    project = service.update(session=session, scope=scope, project_id=project_id,
                             changes=changes, source=source, visit_id=body.visit_id,
                             reason=body.reason)
    detail = service.to_detail(session, project)
    session.commit()
    return detail


def programme_summary(session: SessionDep, scope: ApiScope) -> ProgrammeSummary:
    rows = service.counts_by_province_and_batch(session=session, scope=scope)
    by_batch: dict[int | None, int] = defaultdict(int)
    by_province: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for province, batch, n in rows:
        by_batch[batch] += n
        by_province[province]["unknown" if batch is None else str(batch)] += n
    names = {r.code: r for r in regions.list_regions(session=session, level="province")}
    provinces = [ProvinceCount(code=code, name_zh=names[code].name_zh, name_en=names[code].name_en,
                               projects=sum(b.values()), by_batch=dict(sorted(b.items())))
                 for code, b in sorted(by_province.items())]
    batches = [BatchCount(batch=b, projects=n) for b, n in
               sorted(by_batch.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))]
    return ProgrammeSummary(projects=sum(by_batch.values()), by_batch=batches, by_province=provinces)

"""JSON API of construction milestones: per project, for the programme, add and update."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ...core.inputs import RecordDate, today_beijing
from ...web.deps import ApiScope, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.tables import DOWNLOADS, DbId, FormatQuery, TableFormat, download
from . import service
from .schemas import MilestoneIn, MilestoneOut, MilestoneUpdate, ProjectTimeline

router = APIRouter(tags=["milestones"])
AsOf = Annotated[RecordDate | None, Query(description="date lateness is judged on (default today)")]


def timelines(session: SessionDep, scope: ApiScope, as_of, province: str | None,  # type: ignore[no-untyped-def]
              batch: int | None) -> list[ProjectTimeline]:
    day = as_of or today_beijing()
    found = service.programme_rows(session=session, scope=scope, as_of=day, province=province,
                                   batch=batch)
    names = service.hospital_names(session=session, codes={p.project_hospital_code for p, _ in found})
    out = []
    for project, rows in found:
        status, origin = service.derived_status(project, rows, day)
        out.append(ProjectTimeline(
            project_id=project.id, province_code=project.province_code, batch=project.batch,
            name=names.get(project.project_hospital_code, project.project_hospital_code),
            status=status,
            status_source=origin, late=sum(1 for m in rows if m.late), milestones=rows))
    return out


@router.get("/api/v1/milestones", response_model=list[ProjectTimeline], responses=DOWNLOADS)
@cached_read
def programme_timeline(
    session: SessionDep, scope: ApiScope, as_of: AsOf = None,
    province: Annotated[str | None, Query(pattern=r"^\d{2}(\d{4})?$")] = None,
    batch: Annotated[int | None, Query(ge=1, le=5)] = None,
    late_only: bool = False, fmt: FormatQuery = TableFormat.json,
) -> list[ProjectTimeline] | Response:
    """Every visible project's milestones (planned and actual), its derived status and how many
    milestones are late; `?format=csv|xlsx` downloads one row per milestone."""
    found = timelines(session, scope, as_of, province, batch)
    if late_only:
        found = [t for t in found if t.late]
    if fmt != TableFormat.json:
        rows = [{"project_id": t.project_id, "province_code": t.province_code, "batch": t.batch,
                 "status": t.status, **m.model_dump(exclude={"project_id"})}
                for t in found for m in t.milestones]
        return download(rows, fmt, "milestones", columns=["project_id", *MilestoneOut.model_fields])
    return found


@router.get("/api/v1/projects/{project_id}/milestones", response_model=list[MilestoneOut])
@cached_read
def project_milestones(project_id: DbId, session: SessionDep, scope: ApiScope,
                       as_of: AsOf = None) -> list[MilestoneOut]:
    return service.for_project(session=session, scope=scope, project_id=project_id,
                               as_of=as_of or today_beijing())


@router.post("/api/v1/projects/{project_id}/milestones", response_model=MilestoneOut,
             status_code=201, responses={403: {"description": "read-only role"},
                                         409: {"description": "already recorded"}})
def add_milestone(project_id: DbId, body: MilestoneIn, session: SessionDep, scope: ApiScope,
                  source: SourceDep) -> MilestoneOut:
    row = service.record(session=session, scope=scope, project_id=project_id, data=body,
                         source=source)
    out = service.to_out(row, today_beijing())
    session.commit()
    return out


@router.patch("/api/v1/milestones/{milestone_id}", response_model=MilestoneOut)
def change_milestone(milestone_id: DbId, body: MilestoneUpdate, session: SessionDep,
                     scope: ApiScope, source: SourceDep) -> MilestoneOut:
    """Record the actual date (or move the planned one); audited."""
    row = service.update(session=session, scope=scope, milestone_id=milestone_id, data=body,
                         source=source)
    out = service.to_out(row, today_beijing())
    session.commit()
    return out

"""Construction milestones: planned against actual, late flags, and the project status they
imply on any date.

A milestone is late on `as_of` when its planned date has passed and it either has not
happened yet or happened after the planned date; `days_late` counts to the actual date (or
to `as_of` while it is still open). A project's derived status on `as_of` is the status the
furthest milestone that actually happened by then implies (`schemas.STATUS_AFTER`);
projects without any milestone row keep their registry status (`status_source` says which).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ...core.errors import Conflict, NotFound
from ..audit import service as audit
from ..hospitals.models import Hospital
from ..projects import service as projects
from ..projects.models import Project
from ..users.scope import Scope
from .models import Milestone
from .schemas import ORDER, STATUS_AFTER, MilestoneIn, MilestoneKind, MilestoneOut, MilestoneUpdate


def lateness(planned_on: date, actual_on: date | None, as_of: date) -> int | None:
    """Days late on `as_of` (None when not late)."""
    if actual_on is not None:
        return (actual_on - planned_on).days if actual_on > planned_on else None
    return (as_of - planned_on).days if as_of > planned_on else None


def to_out(row: Milestone, as_of: date) -> MilestoneOut:
    late = lateness(row.planned_on, row.actual_on, as_of)
    return MilestoneOut(id=row.id, project_id=row.project_id, kind=row.kind,
                        label=MilestoneKind(row.kind).label, seq=row.seq,
                        planned_on=row.planned_on, actual_on=row.actual_on, late=late is not None,
                        days_late=late, note=row.note, synthetic=row.synthetic)


def derived_statuses(*, session: Session, project_ids: Select[Any], as_of: date) -> dict[int, str]:
    """Project id → status implied by the milestones that happened by `as_of` (one query;
    projects without milestones are absent: the caller falls back to the registry)."""
    rows = session.execute(
        select(Milestone.project_id, Milestone.kind,
               func.min(Milestone.actual_on).label("first"), func.count())
        .where(Milestone.project_id.in_(project_ids))
        .group_by(Milestone.project_id, Milestone.kind)).all()
    furthest: dict[int, int] = {}
    for project_id, kind, first, _n in rows:
        furthest.setdefault(project_id, -1)
        if first is not None and first <= as_of:
            furthest[project_id] = max(furthest[project_id], ORDER.index(MilestoneKind(kind)))
    return {pid: ("candidate" if rank < 0 else STATUS_AFTER[ORDER[rank]])
            for pid, rank in furthest.items()}


def milestone_dates(*, session: Session, project_ids: Select[Any], kind: MilestoneKind
                    ) -> dict[int, date]:
    """Project id → first actual date of one milestone kind (e.g. when each project opened)."""
    return {pid: first for pid, first in session.execute(  # type: ignore[misc]
        select(Milestone.project_id, func.min(Milestone.actual_on))
        .where(Milestone.project_id.in_(project_ids), Milestone.kind == kind.value,
               Milestone.actual_on.is_not(None))
        .group_by(Milestone.project_id))}


def for_project(*, session: Session, scope: Scope, project_id: int, as_of: date
                ) -> list[MilestoneOut]:
    projects.get_visible(session=session, scope=scope, project_id=project_id)
    rows = session.scalars(select(Milestone).where(Milestone.project_id == project_id))
    ordered = sorted(rows, key=lambda m: (ORDER.index(MilestoneKind(m.kind)), m.seq))
    return [to_out(m, as_of) for m in ordered]


def programme_rows(*, session: Session, scope: Scope, as_of: date, province: str | None = None,
                   batch: int | None = None) -> list[tuple[Project, list[MilestoneOut]]]:
    """Every visible project with its milestones, in two queries (projects, then milestones)."""
    found, _ = projects.list_visible(session=session, scope=scope, province=province, batch=batch)
    by_project: dict[int, list[Milestone]] = defaultdict(list)
    ids = [p.id for p in found]
    if ids:
        for m in session.scalars(select(Milestone).where(Milestone.project_id.in_(ids))):
            by_project[m.project_id].append(m)
    out = []
    for project in found:
        rows = sorted(by_project[project.id], key=lambda m: (ORDER.index(MilestoneKind(m.kind)), m.seq))
        out.append((project, [to_out(m, as_of) for m in rows]))
    return out


def hospital_names(*, session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Hospital.code, Hospital.name_zh)
                                .where(Hospital.code.in_(codes))).all())


def derived_status(project: Project, milestones: list[MilestoneOut], as_of: date) -> tuple[str, str]:
    """(status, where it came from) for one project from its already loaded milestones."""
    if not milestones:
        return project.status, "registry"
    reached = [ORDER.index(MilestoneKind(m.kind)) for m in milestones
               if m.actual_on is not None and m.actual_on <= as_of]
    if project.status == "warning_list":
        return "warning_list", "registry"
    return (STATUS_AFTER[ORDER[max(reached)]] if reached else "candidate"), "milestones"


def record(*, session: Session, scope: Scope, project_id: int, data: MilestoneIn,
           source: str = "") -> Milestone:
    """Add a milestone (a repeated kind, such as a second site visit, takes the next `seq`
    when the given one is taken by a different planned date)."""
    projects.get_visible(session=session, scope=scope, project_id=project_id)
    scope.require_write()
    taken = session.scalars(select(Milestone).where(
        Milestone.project_id == project_id, Milestone.kind == data.kind.value,
        Milestone.seq == data.seq)).first()
    if taken is not None:
        raise Conflict(f"milestone {data.kind.value} #{data.seq} already exists for project "
                       f"{project_id}; change it instead")
    row = Milestone(project_id=project_id, kind=data.kind.value, seq=data.seq,
                    planned_on=data.planned_on, actual_on=data.actual_on, note=data.note)
    session.add(row)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="milestone.create",
                 object_type="milestone", object_id=row.id,
                 after=data.model_dump(mode="json"), source=source)
    return row


def update(*, session: Session, scope: Scope, milestone_id: int, data: MilestoneUpdate,
           source: str = "") -> Milestone:
    row = session.get(Milestone, milestone_id)
    if row is None:
        raise NotFound(f"no milestone with id {milestone_id}")
    projects.get_visible(session=session, scope=scope, project_id=row.project_id)
    scope.require_write()
    changes = data.model_dump(exclude_none=True)
    before = {k: getattr(row, k) for k in changes}
    for key, value in changes.items():
        setattr(row, key, value)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="milestone.update",
                 object_type="milestone", object_id=row.id,
                 before={k: str(v) for k, v in before.items()},
                 after={k: str(v) for k, v in changes.items()}, source=source)
    return row

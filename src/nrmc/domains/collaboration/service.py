"""Expert dispatch: who the output hospital sends to a project, in which role, when.

A person is identified by name and home hospital; one person cannot be in two places at once,
so overlapping dispatches of the same expert are refused (whatever the project).
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ...core.errors import Conflict, NotFound
from ..audit import service as audit
from ..hospitals import service as hospitals
from ..users.scope import Scope
from . import review
from .access import visible_project, visible_project_ids, writable_project
from .models import Dispatch, Expert, ExpertTeam
from .schemas import DispatchIn, DispatchOut


def expert_for(*, session: Session, name: str, home_hospital: str, department: str = "",
               title: str = "") -> Expert:
    """The expert with this name at this hospital, created on first mention; a newer department
    or title replaces the stored one (people get promoted)."""
    hospitals.get(session=session, code=home_hospital)
    expert = session.scalars(select(Expert).where(
        Expert.name == name, Expert.home_hospital_code == home_hospital)).first()
    if expert is None:
        expert = Expert(name=name, home_hospital_code=home_hospital, department=department,
                        title=title)
        session.add(expert)
        session.flush()
    else:
        expert.department = department or expert.department
        expert.title = title or expert.title
    return expert


def team_for(*, session: Session, project_id: int, name: str) -> ExpertTeam:
    team = session.scalars(select(ExpertTeam).where(
        ExpertTeam.project_id == project_id, ExpertTeam.name == name)).first()
    if team is None:
        team = ExpertTeam(project_id=project_id, name=name)
        session.add(team)
        session.flush()
    return team


def add_dispatch(*, session: Session, scope: Scope, data: DispatchIn, source: str = "") -> Dispatch:
    """Record a dispatch; Conflict if the expert is already dispatched on any of those days."""
    scope.require_write()
    project = writable_project(session, scope, data.project_id)
    review.check_open(session, project.id, [data.start_date])
    expert = expert_for(session=session, name=data.name, home_hospital=data.home_hospital,
                        department=data.department, title=data.title)
    clash = session.scalars(select(Dispatch).where(
        Dispatch.expert_id == expert.id, Dispatch.start_date <= data.end_date,
        Dispatch.end_date >= data.start_date)).first()
    if clash is not None:
        raise Conflict(f"{expert.name} is already dispatched from {clash.start_date} to "
                       f"{clash.end_date} (dispatch {clash.id}, project {clash.project_id})")
    team = team_for(session=session, project_id=project.id, name=data.team) if data.team else None
    dispatch = Dispatch(project_id=project.id, expert_id=expert.id,
                        team_id=team.id if team else None, role=data.role.value,
                        start_date=data.start_date, end_date=data.end_date)
    session.add(dispatch)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="dispatch.create",
                 object_type="dispatch", object_id=dispatch.id,
                 after=data.model_dump(mode="json"), source=source)
    return dispatch


def get_dispatch(*, session: Session, scope: Scope, dispatch_id: int) -> Dispatch:
    dispatch = session.get(Dispatch, dispatch_id)
    if dispatch is None:
        raise NotFound(f"no dispatch with id {dispatch_id}")
    try:
        visible_project(session, scope, dispatch.project_id)
    except NotFound as exc:
        raise NotFound(f"no dispatch with id {dispatch_id}") from exc
    return dispatch


Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


def _dispatches(session: Session, scope: Scope, what: Query, *, project_id: int | None,
                on: date | None = None, expert_id: int | None = None,
                check: bool = True) -> Query:
    """`what` (dispatches or their columns) of the dispatches the caller may see; NotFound
    when `project_id` is out of scope (unless `check` is off: the caller checked)."""
    query = what.where(Dispatch.project_id.in_(visible_project_ids(scope)))
    if project_id is not None:
        if check:
            visible_project(session, scope, project_id)
        query = query.where(Dispatch.project_id == project_id)
    if on is not None:
        query = query.where(Dispatch.start_date <= on, Dispatch.end_date >= on)
    if expert_id is not None:
        query = query.where(Dispatch.expert_id == expert_id)
    return query


def list_dispatches(
    *, session: Session, scope: Scope, project_id: int | None = None,
    on: date | None = None, expert_id: int | None = None, limit: int | None = None,
    offset: int = 0,
) -> list[Dispatch]:
    """Dispatches the caller may see, by start date; `on` keeps those on site that day."""
    query = _dispatches(session, scope, select(Dispatch), project_id=project_id, on=on,
                        expert_id=expert_id).order_by(Dispatch.start_date, Dispatch.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def page_dispatches(*, session: Session, scope: Scope, project_id: int, on: date | None = None,
                    limit: int, offset: int = 0) -> tuple[list[Dispatch], int]:
    """One page of `list_dispatches` and how many there are in all (only the page is loaded)."""
    shown = list_dispatches(session=session, scope=scope, project_id=project_id, on=on,
                            limit=limit, offset=offset)
    total = session.scalar(_dispatches(session, scope, select(func.count(Dispatch.id)),
                                       project_id=project_id, on=on, check=False)) or 0
    return shown, total


class DispatchDates(NamedTuple):
    start_date: date
    end_date: date


def dispatch_dates(*, session: Session, scope: Scope, project_id: int) -> list[DispatchDates]:
    """When each visible dispatch of a project began and ended, in list order: what the
    timeline and the active years need, without loading dispatches, experts and teams."""
    query = _dispatches(session, scope, select(Dispatch.start_date, Dispatch.end_date),
                        project_id=project_id).order_by(Dispatch.start_date, Dispatch.id)
    return [DispatchDates(*row) for row in session.execute(query)]


def latest_dispatches(*, session: Session, scope: Scope, project_id: int,
                      limit: int) -> list[Dispatch]:
    """The last `limit` dispatches of `list_dispatches`, newest first."""
    return list(session.scalars(_dispatches(session, scope, select(Dispatch),
                                            project_id=project_id)
                                .order_by(Dispatch.start_date.desc(), Dispatch.id.desc())
                                .limit(limit)))


def to_out(session: Session, dispatch: Dispatch) -> DispatchOut:
    team, expert = dispatch.team, dispatch.expert  # both loaded with the dispatch (joined)
    return DispatchOut(
        id=dispatch.id, project_id=dispatch.project_id, expert_id=expert.id, name=expert.name,
        department=expert.department, title=expert.title,
        home_hospital=expert.home_hospital_code, role=dispatch.role, team_id=dispatch.team_id,
        team=team.name if team else None, start_date=dispatch.start_date,
        end_date=dispatch.end_date, days=(dispatch.end_date - dispatch.start_date).days + 1,
    )


def dispatch_row(session: Session, dispatch: Dispatch) -> dict[str, Any]:
    return to_out(session, dispatch).model_dump()

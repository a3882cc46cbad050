"""Site visits (expert field investigations) and the project-status moves they justify.

The programme grades projects after field visits: a project is approved, or put on the warning
list, on the evidence of a visit. So those two moves require a recorded visit of that project,
named in the move and kept in the audit entry.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import ActionStatus, ProjectStatus
from ...core.errors import Conflict, NotFound
from ...core.inputs import today_beijing
from ..audit import service as audit
from ..projects import status as rule
from ..projects.models import Project
from ..users.scope import Scope
from . import review
from .access import visible_project, writable_project
from .models import FollowUpAction, SiteVisit
from .schemas import ActionIn, ActionOut, SiteVisitIn, SiteVisitOut


def record_visit(*, session: Session, scope: Scope, data: SiteVisitIn, source: str = "") -> SiteVisit:
    scope.require_write()
    writable_project(session, scope, data.project_id)
    review.check_open(session, data.project_id, [data.visited_on])
    visit = SiteVisit(project_id=data.project_id, visited_on=data.visited_on, lead=data.lead,
                      members=list(data.members), findings=data.findings, score=data.score,
                      created_at=datetime.now(UTC))
    visit.actions = [new_action(a) for a in data.actions]
    session.add(visit)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="site_visit.create",
                 object_type="site_visit", object_id=visit.id,
                 after=data.model_dump(mode="json"), source=source)
    return visit


def new_action(data: ActionIn) -> FollowUpAction:
    done = data.done
    return FollowUpAction(description=data.description, owner=data.owner, due_on=data.due_on,
                          status=(ActionStatus.done if done else ActionStatus.open).value,
                          closed_on=today_beijing() if done else None)


def get_visit(*, session: Session, scope: Scope, visit_id: int) -> SiteVisit:
    visit = session.get(SiteVisit, visit_id)
    if visit is None:
        raise NotFound(f"no site visit with id {visit_id}")
    try:
        visible_project(session, scope, visit.project_id)
    except NotFound as exc:
        raise NotFound(f"no site visit with id {visit_id}") from exc
    return visit


def list_visits(*, session: Session, scope: Scope, project_id: int) -> list[SiteVisit]:
    visible_project(session, scope, project_id)
    return list(session.scalars(select(SiteVisit).where(SiteVisit.project_id == project_id)
                                .order_by(SiteVisit.visited_on, SiteVisit.id)))


def add_action(*, session: Session, scope: Scope, visit_id: int, data: ActionIn,
               source: str = "") -> FollowUpAction:
    scope.require_write()
    visit = get_visit(session=session, scope=scope, visit_id=visit_id)
    writable_project(session, scope, visit.project_id)
    action = new_action(data)
    action.visit_id = visit.id
    session.add(action)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="follow_up.create",
                 object_type="follow_up_action", object_id=action.id,
                 after=data.model_dump(mode="json") | {"visit_id": visit.id}, source=source)
    return action


def close_action(*, session: Session, scope: Scope, action_id: int, on: date,
                 reason: str = "", source: str = "") -> FollowUpAction:
    scope.require_write()
    action = session.get(FollowUpAction, action_id)
    if action is None:
        raise NotFound(f"no follow-up action with id {action_id}")
    visit = get_visit(session=session, scope=scope, visit_id=action.visit_id)
    writable_project(session, scope, visit.project_id)
    if action.status == ActionStatus.done.value:
        raise Conflict(f"follow-up action {action_id} is already done")
    action.status, action.closed_on = ActionStatus.done.value, on
    session.flush()
    audit.record(session=session, actor=scope.actor, action="follow_up.done",
                 object_type="follow_up_action", object_id=action.id,
                 before={"status": "open"}, after={"status": "done", "closed_on": on.isoformat()},
                 reason=reason, source=source)
    return action


def change_project_status(
    *, session: Session, scope: Scope, project_id: int, status: ProjectStatus | str,
    visit_id: int | None = None, reason: str = "", source: str = "",
) -> Project:
    """Set a project's status (the rule in domains/projects/status.py)."""
    return rule.change_status(session=session, scope=scope, project_id=project_id, status=status,
                              visit_id=visit_id, reason=reason, source=source)


def to_out(visit: SiteVisit, *, today: date | None = None) -> SiteVisitOut:
    day = today or today_beijing()
    return SiteVisitOut(
        id=visit.id, project_id=visit.project_id, visited_on=visit.visited_on, lead=visit.lead,
        members=list(visit.members), findings=visit.findings, score=visit.score,
        actions=[ActionOut(id=a.id, description=a.description, owner=a.owner, due_on=a.due_on,
                           status=ActionStatus(a.status), closed_on=a.closed_on,
                           overdue=a.status == ActionStatus.open.value and a.due_on < day)
                 for a in visit.actions],
    )

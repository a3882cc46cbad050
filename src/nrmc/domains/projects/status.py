"""Who may move a project to which status, and on what evidence: the one rule that the page,
the API (PATCH) and the CLI all call.

- Each target status names the roles allowed to set it; a provincial admin only within the
  project hospital's province, a hospital manager only for its own project hospital.
- Leaving the warning list is for national and provincial admins only: a hospital cannot take
  its own project off the list.
- Approval and the warning list are decisions on the evidence of a site visit, so those two
  moves name a recorded visit of this project (kept in the audit entry).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ...core.enums import ProjectStatus, Role
from ...core.errors import Conflict, Forbidden
from ..audit import service as audit
from ..collaboration.access import may_record, visible_project
from ..collaboration.models import SiteVisit
from ..users.scope import Scope
from .models import Project

ADMINS = frozenset({Role.national_admin, Role.provincial_officer})
MAY_SET: dict[ProjectStatus, frozenset[Role]] = {
    ProjectStatus.candidate: frozenset({Role.national_admin}),
    ProjectStatus.approved: ADMINS,
    ProjectStatus.under_construction: ADMINS | {Role.hospital_manager},
    ProjectStatus.operating: ADMINS | {Role.hospital_manager},
    ProjectStatus.warning_list: ADMINS,
}
MAY_LEAVE_WARNING = ADMINS
NEEDS_VISIT = frozenset({ProjectStatus.approved, ProjectStatus.warning_list})


def allowed_targets(session: Session, scope: Scope, project: Project) -> list[ProjectStatus]:
    """The statuses this caller may move the project to (the page offers only these)."""
    if scope.role not in ADMINS | {Role.hospital_manager} or not may_record(session, scope, project):
        return []
    if project.status == ProjectStatus.warning_list and scope.role not in MAY_LEAVE_WARNING:
        return []
    return [s for s in ProjectStatus if scope.role in MAY_SET[s]]


def check_move(session: Session, scope: Scope, project: Project, target: ProjectStatus,
               visit_id: int | None) -> None:
    """Raise Forbidden (role) or Conflict (evidence) unless the move is allowed."""
    scope.require_write()
    if not may_record(session, scope, project) or scope.role not in MAY_SET[target]:
        raise Forbidden(f"{scope.role.value} may not set project {project.id} to {target.value} "
                        f"/ 该角色无权将项目状态改为 {target.value}")
    if project.status == ProjectStatus.warning_list and scope.role not in MAY_LEAVE_WARNING:
        raise Forbidden("only national and provincial admins take a project off the warning "
                        "list / 只有国家级和省级管理员可以将项目移出预警名单")
    if target in NEEDS_VISIT:
        if visit_id is None:
            raise Conflict(f"moving project {project.id} to {target} needs a recorded site visit "
                           f"/ 需要一次现场调研记录")
        visit = session.get(SiteVisit, visit_id)
        if visit is None:
            raise Conflict(f"no site visit with id {visit_id} / 没有该现场调研记录")
        if visit.project_id != project.id:
            raise Conflict(f"site visit {visit_id} is of project {visit.project_id}, "
                           f"not {project.id} / 该调研不属于本项目")


def change_status(
    *, session: Session, scope: Scope, project_id: int, status: ProjectStatus | str,
    visit_id: int | None = None, reason: str = "", source: str = "",
) -> Project:
    """Set a project's status by the rule above; audited with before/after, visit and reason."""
    project = visible_project(session, scope, project_id)
    target = ProjectStatus(status)
    check_move(session, scope, project, target, visit_id)
    before = {"status": project.status}
    project.status = target.value
    session.flush()
    audit.record(session=session, actor=scope.actor, action="project.status",
                 object_type="project", object_id=project.id, before=before,
                 after={"status": target.value, "visit_id": visit_id}, reason=reason,
                 source=source)
    return project

"""Which projects a caller may see: a project is visible to whoever may see its project
hospital or its output hospital (a province sees the centres in it and the centres its own
hospitals run elsewhere). Everything in the ledger inherits its project's visibility."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from ...core.enums import Role
from ...core.errors import Forbidden, NotFound
from ..hospitals.models import Hospital
from ..projects.models import Project
from ..users.scope import Scope


def project_visible(session: Session, scope: Scope, project: Project) -> bool:
    if scope.national:
        return True
    for code in (project.project_hospital_code, project.output_hospital_code):
        hospital = session.get(Hospital, code)
        if hospital is not None and scope.allows_hospital(hospital.code, hospital.region_code):
            return True
    return False


def visible_project(session: Session, scope: Scope, project_id: int) -> Project:
    """The project, or NotFound when it does not exist or is outside the scope."""
    project = session.get(Project, project_id)
    if project is None or not project_visible(session, scope, project):
        raise NotFound(f"no project with id {project_id}")
    return project


# Built once (see referrals.service._SENDER).
_HOST = aliased(Hospital, name="ledger_host")
_OUTPUT = aliased(Hospital, name="ledger_output")


def visible_project_ids(scope: Scope) -> Select[int]:
    """A sub-select of the ids of visible projects (for filtering ledger lists in SQL)."""
    host, output = _HOST, _OUTPUT
    return (select(Project.id)
            .join(host, host.code == Project.project_hospital_code)
            .join(output, output.code == Project.output_hospital_code)
            .where(scope.hospital_clause(host.code, host.region_code)
                   | scope.hospital_clause(output.code, output.region_code)))


def may_record(session: Session, scope: Scope, project: Project) -> bool:
    """Who records a project's work: national admins, the admins of the project hospital's
    province, and the project hospital's own managers; nobody else (not the output hospital,
    not clinicians, not analysts)."""
    if scope.role == Role.national_admin:
        return True
    if scope.role == Role.provincial_officer and scope.province:
        host = session.get(Hospital, project.project_hospital_code)
        return host is not None and host.region_code[:2] == scope.province
    return scope.role == Role.hospital_manager and scope.hospital == project.project_hospital_code


def writable_project(session: Session, scope: Scope, project_id: int) -> Project:
    """The project if the caller may record its work; NotFound outside the scope (as for a
    read), Forbidden when visible but not theirs to write."""
    project = visible_project(session, scope, project_id)
    if not may_record(session, scope, project):
        raise Forbidden("only the project hospital's managers and the provincial and national "
                        "admins may record this project's work / 只有项目医院管理员及省级、国家级管理员"
                        "可以填报本项目")
    return project

"""Which projects a caller may see: a project is visible to whoever may see its project
hospital or its output hospital (a province sees the centres in it and the centres its own
hospitals run elsewhere). Everything in the ledger inherits its project's visibility."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from ...core.errors import NotFound
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


def visible_project_ids(scope: Scope) -> Select[int]:
    """A sub-select of the ids of visible projects (for filtering ledger lists in SQL)."""
    host, output = aliased(Hospital), aliased(Hospital)
    return (select(Project.id)
            .join(host, host.code == Project.project_hospital_code)
            .join(output, output.code == Project.output_hospital_code)
            .where(scope.hospital_clause(host.code, host.region_code)
                   | scope.hospital_clause(output.code, output.region_code)))

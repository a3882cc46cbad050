"""Import every slice's models so Base.metadata is complete (for Alembic and tests)."""

from ..domains.alliances.models import Alliance, AllianceMember
from ..domains.audit.models import AuditEntry
from ..domains.hospitals.models import Hospital
from ..domains.projects.models import Project
from ..domains.regions.models import Region
from ..domains.users.models import User

__all__ = ["Alliance", "AllianceMember", "AuditEntry", "Hospital", "Project", "Region", "User"]

"""Import every slice's models so Base.metadata is complete (for Alembic and tests)."""

from ..domains.alliances.models import Alliance, AllianceMember
from ..domains.audit.models import AuditEntry
from ..domains.collaboration.models import (
    Activity,
    Dispatch,
    Expert,
    ExpertTeam,
    FollowUpAction,
    SiteVisit,
    Technology,
    Trainee,
)
from ..domains.hospitals.models import Hospital
from ..domains.planning.models import PlanningScenario
from ..domains.projects.models import Project
from ..domains.referrals.models import Referral
from ..domains.regions.models import Region
from ..domains.users.models import LoginThrottle, User
from .revision import data_revision

__all__ = ["Activity", "Alliance", "AllianceMember", "AuditEntry", "Dispatch", "Expert",
           "ExpertTeam", "FollowUpAction", "Hospital", "LoginThrottle", "PlanningScenario", "Project",
           "Referral", "Region",
           "SiteVisit", "Technology", "Trainee", "User", "data_revision"]

"""Import every slice's models so Base.metadata is complete (for Alembic and tests)."""

from ..domains.alliances.models import Alliance, AllianceMember
from ..domains.audit.models import AuditEntry
from ..domains.collaboration.models import (
    Activity,
    Dispatch,
    Expert,
    ExpertTeam,
    FollowUpAction,
    LedgerUpload,
    MonthReview,
    SiteVisit,
    Technology,
    Trainee,
)
from ..domains.hospitals.models import Hospital
from ..domains.projects.models import Project
from ..domains.referrals.models import Referral
from ..domains.regions.models import Region
from ..domains.users.models import User
from .revision import data_revision

__all__ = ["Activity", "Alliance", "AllianceMember", "AuditEntry", "Dispatch", "Expert",
           "ExpertTeam", "FollowUpAction", "Hospital", "LedgerUpload", "MonthReview", "Project",
           "Referral", "Region",
           "SiteVisit", "Technology", "Trainee", "User", "data_revision"]

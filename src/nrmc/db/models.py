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
from ..domains.gaps.models import Gap, TechnologyGap
from ..domains.hospitals.models import Hospital
from ..domains.milestones.models import Milestone
from ..domains.planning.models import PlanningScenario
from ..domains.programme.models import ProgrammeTarget
from ..domains.projects.models import Project
from ..domains.referrals.models import Referral
from ..domains.regions.models import Region
from ..domains.trusteeships.models import Trusteeship, TrusteeshipReport
from ..domains.users.models import LoginThrottle, User
from .revision import data_revision

__all__ = ["Activity", "Alliance", "AllianceMember", "AuditEntry", "Dispatch", "Expert",
           "ExpertTeam", "FollowUpAction", "Gap", "Hospital", "LedgerUpload", "LoginThrottle",
           "Milestone", "MonthReview", "PlanningScenario", "ProgrammeTarget", "Project", "Referral",
           "Region", "SiteVisit", "Technology", "TechnologyGap", "Trainee", "Trusteeship",
           "TrusteeshipReport", "User", "data_revision"]

"""Every router the app serves, in one list (a slice that lands adds its line here)."""

from __future__ import annotations

from fastapi import APIRouter

from ..domains.alliances import api as alliances_api
from ..domains.audit import api as audit_api
from ..domains.audit import pages as audit_pages
from ..domains.collaboration import api as collaboration_api
from ..domains.collaboration import entry_api as ledger_entry_api
from ..domains.collaboration import kpi_pages as ledger_kpi_pages
from ..domains.collaboration import pages as ledger_pages
from ..domains.gaps import api as gaps_api
from ..domains.gaps import pages as gaps_pages
from ..domains.hospitals import api as hospitals_api
from ..domains.milestones import api as milestones_api
from ..domains.milestones import pages as milestones_pages
from ..domains.planning import api as planning_api
from ..domains.planning import pages as planning_pages
from ..domains.programme import api as programme_api
from ..domains.programme import pages as programme_pages
from ..domains.projects import api as projects_api
from ..domains.projects import pages as projects_pages
from ..domains.referrals import api as referrals_api
from ..domains.referrals import pages as referrals_pages
from ..domains.regions import api as regions_api
from ..domains.regions import pages as regions_pages
from ..domains.trusteeships import api as trusteeships_api
from ..domains.trusteeships import entry_pages as trusteeship_entry_pages
from ..domains.trusteeships import pages as trusteeships_pages
from ..domains.users import api as users_api
from ..domains.users import pages as users_pages
from . import auth, evaluation, language


def routers() -> list[APIRouter]:
    return [
        auth.router, users_api.router, regions_api.router, regions_api.metrics, hospitals_api.router,
        projects_api.router, alliances_api.router, audit_api.router, referrals_api.router,
        collaboration_api.router, ledger_entry_api.router, planning_api.router,
        planning_api.projects_router, evaluation.api,
        regions_pages.router, projects_pages.router, ledger_pages.router, ledger_kpi_pages.router,
        audit_pages.router, referrals_pages.router,
        planning_pages.router, evaluation.pages, users_pages.router, language.router,
        programme_api.router, milestones_api.router, trusteeships_api.router, gaps_api.router,
        programme_pages.router, milestones_pages.router, trusteeship_entry_pages.router,
        trusteeships_pages.router,
        gaps_pages.router,
    ]

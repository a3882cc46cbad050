"""A workspace: the store migrated to the latest schema and holding the real reference data.

`nrmc db upgrade` on an empty store leaves it with the real geography and the programme roster;
the demo adds only synthetic or illustrative rows on top.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from .db import session_scope
from .db.migrate import upgrade
from .domains.programme import targets
from .domains.projects import roster
from .domains.regions import service as regions


@dataclass(frozen=True)
class UpgradeReport:
    regions_added: int
    projects_added: int


def upgrade_workspace(engine: Engine) -> UpgradeReport:
    """Migrate to head, then load reference data that is missing (idempotent)."""
    upgrade(engine)
    with session_scope(engine) as session:
        added_regions = regions.seed(session=session)
        session.flush()
        added_projects = roster.seed(session=session)
        targets.seed(session=session)
    return UpgradeReport(added_regions, added_projects)

"""A workspace: the store migrated to the latest schema and holding the real reference data.

`nrmc db upgrade` on an empty store leaves it with the real geography (2020 census populations),
the programme roster and the real grade-3A hospitals; on an existing store it brings the
geography up to the shipped table and adds what is missing. The demo adds only synthetic or
illustrative rows on top.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from .db import session_scope
from .db.migrate import upgrade
from .domains.hospitals import reference as tertiary
from .domains.programme import targets
from .domains.projects import roster
from .domains.regions import reference as regions


@dataclass(frozen=True)
class UpgradeReport:
    regions_added: int
    projects_added: int
    regions_updated: int = 0
    regions_retired: int = 0
    hospitals_added: int = 0


def upgrade_workspace(engine: Engine) -> UpgradeReport:
    """Migrate to head, then load reference data that is missing (idempotent)."""
    upgrade(engine)
    with session_scope(engine) as session:
        geography = regions.sync(session=session)
        session.flush()
        added_projects = roster.seed(session=session)
        added_hospitals, _ = tertiary.seed(session=session)
        targets.seed(session=session)
    return UpgradeReport(geography.added, added_projects, geography.updated, geography.retired,
                         added_hospitals)

"""The national summary `make run` prints: what the workspace holds, at a glance."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .domains.alliances.models import Alliance
from .domains.hospitals.models import Hospital
from .domains.projects.models import Project
from .domains.regions.models import Region


def national_summary(session: Session) -> dict[str, Any]:
    regions = dict(session.execute(select(Region.level, func.count()).group_by(Region.level)).all())
    population = session.scalar(select(func.sum(Region.population))
                                .where(Region.level == "province")) or 0
    tiers = dict(session.execute(select(Hospital.tier, func.count()).group_by(Hospital.tier)).all())
    beds = session.scalar(select(func.sum(Hospital.beds))) or 0
    synthetic = session.scalar(select(func.count()).select_from(Hospital)
                               .where(Hospital.synthetic.is_(True))) or 0
    batches = dict(session.execute(select(Project.batch, func.count()).group_by(Project.batch)).all())
    provinces = session.scalar(select(func.count(func.distinct(Project.province_code)))) or 0
    return {
        "regions": regions,
        "population": int(population),
        "hospitals_by_tier": tiers,
        "hospitals_synthetic": synthetic,
        "beds": int(beds),
        "beds_per_1000": round(beds / population * 1000, 2) if population else None,
        "projects_by_batch": {("unknown" if k is None else k): v for k, v in batches.items()},
        "projects": sum(batches.values()),
        "project_provinces": provinces,
        "alliances": session.scalar(select(func.count()).select_from(Alliance)) or 0,
    }

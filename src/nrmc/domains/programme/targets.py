"""Targets of the programme indicators: seeded with their sources, editable by national admins.

Seeds come from /work/shared/data/indicators.md and health_statistics.md (section 7) where those
name a figure; the published figures for the first 50 projects quoted in issue 15 are seeded
with verification U because no retrieved source backs them yet.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import Role
from ...core.errors import Forbidden, NotFound
from ..audit import service as audit
from ..users.scope import Scope
from .models import ProgrammeTarget
from .schemas import BY_KEY, TargetIn, TargetOut

ISSUE = ("published figures for the first 50 projects as quoted in nrmc issue 15 "
         "(no retrieved source yet)")
TELLER = ("NHC via tellerreport.com (indicators.md A): https://www.tellerreport.com/highlights/news/"
          "national-health-commission--the-treatment-rate-for-common-and-frequently-occurring-"
          "diseases-in-the-county-reaches-over-90-.HJ-CaUvh2a.html")
# key → (target, direction, source, verification, note)
SEEDS: dict[str, tuple[float, str, str, str, str]] = {
    "projects_approved": (125, "at_least",
                          "NHC 2024-05-07: 125 national regional medical centres "
                          "(health_statistics.md §7): http://www.chinadaily.com.cn/a/202405/07/"
                          "WS6639fb60a31082fc043c5bf0.html", "V", "all five batches"),
    "provinces_covered": (28, "at_least",
                          "every province except Beijing, Shanghai, Tianjin (health_statistics.md §7):"
                          " http://www.beijingwanbaoa.com/wbjj/16980.html", "V", "31 − 3"),
    "planned_beds": (60000, "at_least", ISSUE, "U", "more than 60,000 beds (first 50 projects)"),
    "co_directors": (3000, "at_least", ISSUE, "U", "more than 3,000 under the dual-director system"),
    "staff_trained": (50000, "at_least", ISSUE, "U", "more than 50,000 local staff trained"),
    "outpatients": (300000, "at_least", ISSUE, "U", "in five months (+45% year on year)"),
    "surgeries": (100000, "at_least", ISSUE, "U", "in five months"),
    "grade4_share": (0.35, "at_least", ISSUE + "; direction per 国考 indicator 6 "
                     "出院患者四级手术比例 (indicators.md B)", "U", "above 35%"),
    "rare_disease_cases": (1200, "at_least", ISSUE, "U", "1,200 cases (+25%)"),
    "new_technologies": (6200, "at_least", TELLER, "V",
                         "first four batches (76 projects): more than 6,200 new technologies"),
    "gaps_filled": (57, "at_least", ISSUE, "U", "126 new technologies filling 57 gaps"),
    "outflow_change": (-0.30, "at_most", TELLER, "V",
                       "patients transferred out down ~30% vs before construction; the first "
                       "pilot provinces: −9% (2021 vs 2019, issue 15, U)"),
    "within_county_rate": (0.90, "at_least",
                           "县域内就诊率 ≈ 90% (国办发〔2015〕70号, U); NHC: over 90% (" + TELLER + ")",
                           "P", "county medical communities"),
}
LABELS = {"within_county_rate": ("县域内就诊率", "within-county treatment rate", "share")}


def seed(*, session: Session) -> int:
    """Add the seed targets that are missing (never overwrites an edited one)."""
    have = set(session.scalars(select(ProgrammeTarget.key)))
    now = datetime.now(UTC)
    added = 0
    for key, (target, direction, source, verification, note) in SEEDS.items():
        if key not in have:
            session.add(ProgrammeTarget(key=key, target=target, direction=direction, source=source,
                                        verification=verification, note=note, updated_at=now,
                                        updated_by="seed"))
            added += 1
    session.flush()
    return added


def all_targets(*, session: Session) -> dict[str, ProgrammeTarget]:
    return {t.key: t for t in session.scalars(select(ProgrammeTarget))}


def _labels(key: str) -> tuple[str, str, str]:
    if key in BY_KEY:
        d = BY_KEY[key]
        return d.label_zh, d.label_en, d.unit
    return LABELS.get(key, (key, key, ""))


def to_out(t: ProgrammeTarget) -> TargetOut:
    zh, en, unit = _labels(t.key)
    return TargetOut(key=t.key, label_zh=zh, label_en=en, unit=unit, target=t.target,
                     direction=t.direction, source=t.source, verification=t.verification,
                     note=t.note, updated_by=t.updated_by)


def list_targets(*, session: Session) -> list[TargetOut]:
    order = [d.key for d in BY_KEY.values()] + list(LABELS)
    found = all_targets(session=session)
    return [to_out(found[k]) for k in sorted(found, key=lambda k: (order.index(k)
                                                                  if k in order else 99, k))]


def set_target(*, session: Session, scope: Scope, key: str, data: TargetIn,
               source: str = "") -> ProgrammeTarget:
    """Change (or create) one indicator's target; national admins only; audited."""
    if scope.role != Role.national_admin:
        raise Forbidden("only national administrators set programme targets")
    if key not in BY_KEY and key not in LABELS:
        raise NotFound(f"no indicator {key!r}")
    row = session.get(ProgrammeTarget, key)
    before = None
    if row is None:
        row = ProgrammeTarget(key=key, updated_at=datetime.now(UTC))
        session.add(row)
    else:
        before = {"target": row.target, "direction": row.direction, "source": row.source}
    row.target, row.direction, row.source = data.target, data.direction.value, data.source
    row.verification, row.note = data.verification, data.note
    row.updated_at, row.updated_by = datetime.now(UTC), scope.actor
    session.flush()
    audit.record(session=session, actor=scope.actor, action="programme_target.set",
                 object_type="programme_target", object_id=key, before=before,
                 after={"target": row.target, "direction": row.direction, "source": row.source},
                 source=source)
    return row

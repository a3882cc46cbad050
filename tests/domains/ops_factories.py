"""Builders for the operations tests: a tiny referral pyramid and a project to hang a ledger on."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nrmc.core.enums import Role
from nrmc.domains.hospitals import service as hospitals
from nrmc.domains.projects.models import Project
from nrmc.domains.referrals import service as referrals
from nrmc.domains.referrals.schemas import ReferralCreate
from nrmc.domains.users.scope import Scope

SYSTEM = Scope.system()
COUNTY = "T-COUNTY"  # secondary, Jinta
TOWNSHIP = "T-TOWN"  # township health centre, Jinta
OTHER = "T-OTHER"  # secondary, Lanzhou (outside Jiuquan)
CITY = "NRMC-P031"  # Jiuquan project hospital, tertiary
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

county_doctor = Scope(role=Role.clinician, username="jinta-doc", hospital=COUNTY)
township_doctor = Scope(role=Role.clinician, username="town-doc", hospital=TOWNSHIP)
outsider = Scope(role=Role.hospital_manager, username="outsider", hospital=OTHER)
analyst = Scope(role=Role.national_analyst, username="analyst")


def pyramid(session: Session) -> None:
    rows = [
        (COUNTY, "secondary", "620921"),
        (TOWNSHIP, "township_health_centre", "620921"),
        (OTHER, "secondary", "620102"),
    ]
    hospitals.upsert(
        session=session,
        rows=[
            {
                "code": code,
                "name_zh": code,
                "name_en": code,
                "region_code": region,
                "tier": tier,
                "grade": "a",
                "beds": 10,
                "lon": 98.9,
                "lat": 40.0,
                "synthetic": True,
                "specialties": [],
                "source": "test",
            }
            for code, tier, region in rows
        ],
    )


def refer(
    session: Session,
    *,
    frm: str = TOWNSHIP,
    to: str = COUNTY,
    key: str | None = None,
    scope: Scope = SYSTEM,
    now: datetime = T0,
    **extra: str,
):  # type: ignore[no-untyped-def]
    data = ReferralCreate(
        from_hospital=frm,
        to_hospital=to,
        specialty=extra.pop("specialty", "cardiovascular"),
        diagnosis=extra.pop("diagnosis", "I21.0"),
        **extra,
    )
    return referrals.create(session=session, scope=scope, data=data, idempotency_key=key, now=now)


def jiuquan(session: Session) -> Project:
    return session.scalars(select(Project).where(Project.city_code == "620900")).one()

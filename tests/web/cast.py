"""The fixed cast the web tests use: the demo's five users on the Jiuquan story, plus a Henan
officer and a Henan alliance so every role has something out of its scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from nrmc.core.enums import AllianceKind, Role
from nrmc.demo import alliances as demo_alliances
from nrmc.demo import users as demo_users
from nrmc.domains.alliances import service as alliances
from nrmc.domains.collaboration import ledger
from nrmc.domains.collaboration import service as collaboration
from nrmc.domains.collaboration.schemas import DispatchIn, TechnologyIn
from nrmc.domains.hospitals import service as hospitals
from nrmc.domains.projects.models import Project
from nrmc.domains.referrals import service as referrals
from nrmc.domains.referrals.schemas import ReferralCreate
from nrmc.domains.users import service as users
from nrmc.domains.users.scope import Scope

PASSWORD = demo_users.DEMO_PASSWORD
JINTA = demo_alliances.JINTA_HOSPITAL


@dataclass(frozen=True)
class Cast:
    jiuquan_project: int
    jiuquan_hospital: str
    jiuquan_region: str
    gansu_other_project: int
    henan_project: int
    henan_hospital: str
    jinta_alliance: int
    jiuquan_alliance: int
    henan_alliance: int
    jinta_referral: int
    henan_referral: int


def build(session: Session) -> Cast:
    community, group = demo_alliances.build(session)
    demo_users.build(session)
    jiuquan = demo_alliances.jiuquan_project(session)
    other = session.scalars(select(Project).where(Project.province_code == "620000",
                                                  Project.id != jiuquan.id)).first()
    henan = session.scalars(select(Project).where(Project.province_code == "410000")).first()
    assert other is not None and henan is not None
    henan_alliance = alliances.create(
        session=session, name_zh="河南专科联盟", name_en="Henan specialist alliance",
        kind=AllianceKind.specialist_alliance, lead_hospital_code=henan.project_hospital_code,
        valid_from=date(2023, 1, 1))
    users.create(session=session, username="henan", password=PASSWORD,
                 role=Role.provincial_officer, scope_code="410000")
    host = hospitals.get(session=session, code=jiuquan.project_hospital_code)
    henan_other = session.scalars(select(Project).where(Project.province_code == "410000",
                                                        Project.id != henan.id)).first()
    assert henan_other is not None
    system = Scope.system()
    up = referrals.create(session=session, scope=system, data=ReferralCreate(
        from_hospital=JINTA, to_hospital=host.code, specialty="cardiovascular",
        diagnosis="I21.0", reason="STEMI, needs PCI"))
    lateral = referrals.create(session=session, scope=system, data=ReferralCreate(
        from_hospital=henan.project_hospital_code, to_hospital=henan_other.project_hospital_code,
        specialty="oncology", diagnosis="C34.9"))
    for year in (2024, 2025):
        collaboration.add_dispatch(session=session, scope=system, data=DispatchIn(
            project_id=jiuquan.id, name=f"专家{year}", department="心内科", title="主任医师",
            home_hospital=jiuquan.output_hospital_code, start_date=date(year, 3, 1),
            end_date=date(year, 5, 31), team=f"第{year - 2023}批"))
    ledger.add_technology(session=session, scope=system, data=TechnologyIn(
        project_id=jiuquan.id, name="经皮冠状动脉介入治疗 PCI", department="心内科",
        first_case_on=date(2024, 4, 2), cases_since=12, gap_level="city"))
    session.flush()
    return Cast(jiuquan_project=jiuquan.id, jiuquan_hospital=host.code,
                jiuquan_region=host.region_code, gansu_other_project=other.id,
                henan_project=henan.id, henan_hospital=henan.project_hospital_code,
                jinta_alliance=community, jiuquan_alliance=group, henan_alliance=henan_alliance.id,
                jinta_referral=up.id, henan_referral=lateral.id)

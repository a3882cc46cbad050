"""Illustrative alliances around the Jiuquan centre (Shanghai General Hospital → Jiuquan).

Jinta County (金塔县) is a real county of Jiuquan; its people's hospital, township health
centres and community station are added as illustrative (synthetic-flagged) institutions, named
after Jinta's real towns, because the registry holds no real primary-care roster.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.enums import AllianceKind, MemberRole, Tier
from ..domains.alliances import service as alliances
from ..domains.hospitals import service as hospitals
from ..domains.projects.models import Project
from ..domains.regions import service as regions

JINTA = "620921"
TOWNS = [("金塔镇", "Jinta Town"), ("鼎新镇", "Dingxin Town"), ("东坝镇", "Dongba Town"),
         ("航天镇", "Hangtian Town"), ("大庄子镇", "Dazhuangzi Town"), ("西坝镇", "Xiba Town"),
         ("中东镇", "Zhongdong Town"), ("古城乡", "Gucheng Township")]
JINTA_HOSPITAL = "DEMO-620921-01"
JINTA_STATION = "DEMO-620921-C1"


def jiuquan_project(session: Session) -> Project:
    return session.scalars(select(Project).where(Project.city_code == "620900")).one()


def build(session: Session) -> list[int]:
    """Create Jinta's county medical community and Jiuquan's specialist alliance."""
    county = regions.get(session=session, code=JINTA)
    rows = [{
        "code": JINTA_HOSPITAL, "name_zh": "金塔县人民医院", "name_en": "Jinta County People's Hospital",
        "region_code": JINTA, "tier": Tier.secondary.value, "grade": "a", "beds": 420,
        "lon": county.lon, "lat": county.lat, "synthetic": True, "specialties": [],
        "source": "illustrative demo institution",
    }, {
        "code": JINTA_STATION, "name_zh": "金塔镇城区社区卫生服务站",
        "name_en": "Jinta Town Urban Community Health Station", "region_code": JINTA,
        "tier": Tier.community_health_station.value, "grade": "ungraded", "beds": 0,
        "lon": county.lon + 0.01, "lat": county.lat - 0.01, "synthetic": True,
        "specialties": [], "source": "illustrative demo institution",
    }]
    for i, (zh, en) in enumerate(TOWNS, start=1):
        rows.append({
            "code": f"DEMO-620921-T{i}", "name_zh": f"金塔县{zh}卫生院",
            "name_en": f"{en} Health Centre, Jinta County", "region_code": JINTA,
            "tier": Tier.township_health_centre.value, "grade": "ungraded", "beds": 20,
            "lon": county.lon + 0.15 * (i % 4 - 1.5), "lat": county.lat + 0.12 * (i // 4 - 0.5),
            "synthetic": True, "specialties": [], "source": "illustrative demo institution",
        })
    hospitals.upsert(session=session, rows=rows)
    project = jiuquan_project(session)
    start = date(2021, 1, 1)
    community = alliances.create(
        session=session, name_zh="金塔县县域医共体", name_en="Jinta County Medical Community",
        kind=AllianceKind.county_medical_community, lead_hospital_code=JINTA_HOSPITAL,
        valid_from=start, synthetic=True,
    )
    for i in range(1, len(TOWNS) + 1):
        # One township centre left the community in 2022 and rejoined in 2023, to show history.
        if i == len(TOWNS):
            alliances.add_member(session=session, alliance_id=community.id,
                                 hospital_code=f"DEMO-620921-T{i}", valid_from=start,
                                 valid_to=date(2022, 6, 30))
            alliances.add_member(session=session, alliance_id=community.id,
                                 hospital_code=f"DEMO-620921-T{i}", valid_from=date(2023, 1, 1))
        else:
            alliances.add_member(session=session, alliance_id=community.id,
                                 hospital_code=f"DEMO-620921-T{i}", valid_from=start)
    alliances.add_member(session=session, alliance_id=community.id, hospital_code=JINTA_STATION,
                         valid_from=date(2022, 3, 1))
    group = alliances.create(
        session=session, name_zh="酒泉市人民医院医疗集团", name_en="Jiuquan People's Hospital Medical Group",
        kind=AllianceKind.urban_medical_group, lead_hospital_code=project.project_hospital_code,
        valid_from=date(2023, 7, 1), project_id=project.id, synthetic=True,
    )
    alliances.add_member(session=session, alliance_id=group.id, hospital_code=JINTA_HOSPITAL,
                         valid_from=date(2023, 7, 1))
    alliances.add_member(session=session, alliance_id=group.id,
                         hospital_code=project.output_hospital_code, role=MemberRole.affiliate,
                         valid_from=date(2023, 7, 1))
    return [community.id, group.id]

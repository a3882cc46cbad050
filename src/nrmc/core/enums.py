"""Enumerations of the programme's vocabulary, with bilingual labels."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Administrative level of a GB/T 2260 division."""

    province = "province"
    prefecture = "prefecture"
    county = "county"


class Tier(StrEnum):
    """Kind of health institution, from the top of the referral pyramid down."""

    tertiary = "tertiary"
    secondary = "secondary"
    primary = "primary"
    township_health_centre = "township_health_centre"
    community_health_station = "community_health_station"
    village_clinic = "village_clinic"

    @property
    def rank(self) -> int:
        """Higher means more specialised care; used to derive referral direction."""
        return _TIER_RANK[self]

    @property
    def label_zh(self) -> str:
        return _TIER_ZH[self]


_TIER_RANK = {
    Tier.tertiary: 5,
    Tier.secondary: 4,
    Tier.primary: 3,
    Tier.township_health_centre: 2,
    Tier.community_health_station: 2,
    Tier.village_clinic: 1,
}
_TIER_ZH = {
    Tier.tertiary: "三级医院",
    Tier.secondary: "二级医院",
    Tier.primary: "一级医院",
    Tier.township_health_centre: "乡镇卫生院",
    Tier.community_health_station: "社区卫生服务站",
    Tier.village_clinic: "村卫生室",
}


class Grade(StrEnum):
    """Hospital grade within a tier (甲/乙/丙); primary-care institutions are ungraded."""

    a = "a"
    b = "b"
    c = "c"
    ungraded = "ungraded"

    @property
    def label_zh(self) -> str:
        return {"a": "甲等", "b": "乙等", "c": "丙等", "ungraded": "未定等"}[self.value]


class ProjectStatus(StrEnum):
    candidate = "candidate"
    approved = "approved"
    under_construction = "under_construction"
    operating = "operating"
    warning_list = "warning_list"


class Verification(StrEnum):
    """How well the roster row is backed by its public source (V full, P partial, U none)."""

    verified = "V"
    partial = "P"
    unverified = "U"


class AllianceKind(StrEnum):
    urban_medical_group = "urban_medical_group"
    county_medical_community = "county_medical_community"
    specialist_alliance = "specialist_alliance"
    telemedicine_network = "telemedicine_network"

    @property
    def label_zh(self) -> str:
        return {
            "urban_medical_group": "城市医疗集团",
            "county_medical_community": "县域医共体",
            "specialist_alliance": "专科联盟",
            "telemedicine_network": "远程医疗协作网",
        }[self.value]


class MemberRole(StrEnum):
    lead = "lead"
    member = "member"
    affiliate = "affiliate"


class Specialty(StrEnum):
    """Clinical specialty used by the programme roster, flows and planning."""

    comprehensive = "comprehensive"
    cardiovascular = "cardiovascular"
    oncology = "oncology"
    neurology = "neurology"
    respiratory = "respiratory"
    pediatrics = "pediatrics"
    obstetrics_gynecology = "obstetrics_gynecology"
    trauma_orthopedics = "trauma_orthopedics"
    tcm = "tcm"
    infectious = "infectious"
    psychiatry = "psychiatry"
    stomatology = "stomatology"
    general_surgery = "general_surgery"
    internal_medicine = "internal_medicine"
    other = "other"

    @property
    def label_zh(self) -> str:
        return _SPECIALTY_ZH[self]


_SPECIALTY_ZH = {
    Specialty.comprehensive: "综合",
    Specialty.cardiovascular: "心血管",
    Specialty.oncology: "肿瘤",
    Specialty.neurology: "神经",
    Specialty.respiratory: "呼吸",
    Specialty.pediatrics: "儿科",
    Specialty.obstetrics_gynecology: "妇产",
    Specialty.trauma_orthopedics: "创伤骨科",
    Specialty.tcm: "中医",
    Specialty.infectious: "传染病",
    Specialty.psychiatry: "精神",
    Specialty.stomatology: "口腔",
    Specialty.general_surgery: "普通外科",
    Specialty.internal_medicine: "内科",
    Specialty.other: "其他",
}


class Role(StrEnum):
    """User roles; scope is a province code or a hospital code where the role needs one."""

    national_admin = "national_admin"
    national_analyst = "national_analyst"
    provincial_officer = "provincial_officer"
    hospital_manager = "hospital_manager"
    clinician = "clinician"


class Sex(StrEnum):
    """Sex as coded on the inpatient front page (GB/T 2261.1): 1 male, 2 female, 9 unknown."""

    male = "1"
    female = "2"
    unknown = "9"


class SurgeryLevel(StrEnum):
    """National operation grading (手术分级): 0 no operation, 1–4 rising complexity and risk."""

    none = "0"
    level1 = "1"
    level2 = "2"
    level3 = "3"
    level4 = "4"


class AdmissionRoute(StrEnum):
    """入院途径 on the front page; ``referred`` marks a patient sent in by another institution."""

    emergency = "1"
    outpatient = "2"
    referred = "3"
    other = "9"


class DischargeRoute(StrEnum):
    """离院方式 on the front page; ``transferred`` is an upward or lateral transfer out."""

    routine = "1"
    transferred = "2"
    to_primary_care = "3"
    against_advice = "4"
    death = "5"
    other = "9"

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


# --- operations: expert dispatch, activity ledger, technologies, site visits, referrals ---


class DispatchRole(StrEnum):
    """What an expert is sent to do; dual-director and executive-dean posts are standing roles."""

    visiting_expert = "visiting_expert"
    resident_expert = "resident_expert"
    dual_director = "dual_director"  # 双主任: department head at both hospitals
    executive_dean = "executive_dean"  # 执行院长

    @property
    def label_zh(self) -> str:
        return {"visiting_expert": "巡诊专家", "resident_expert": "驻点专家",
                "dual_director": "双主任", "executive_dean": "执行院长"}[self.value]


class ActivityKind(StrEnum):
    """A line of the activity ledger; `count` means operations, patients or attendees by kind."""

    surgery = "surgery"
    outpatient = "outpatient"
    consultation = "consultation"
    ward_round = "ward_round"
    lecture = "lecture"
    training = "training"
    teleconsultation = "teleconsultation"
    teaching = "teaching"  # count = teaching sessions held (教学查房, 授课)
    rare_disease = "rare_disease"  # count = rare-disease cases seen (罕见病)

    @property
    def label_zh(self) -> str:
        return {"surgery": "手术", "outpatient": "门诊", "consultation": "会诊/多学科会诊",
                "ward_round": "查房", "lecture": "讲座", "training": "培训",
                "teleconsultation": "远程会诊", "teaching": "教学",
                "rare_disease": "罕见病"}[self.value]


class GapLevel(StrEnum):
    """Which gap a newly introduced technology fills: first in the city, province or nation."""

    city = "city"
    province = "province"
    national = "national"

    @property
    def label_zh(self) -> str:
        return {"city": "市内", "province": "省内", "national": "国内"}[self.value]


class ActionStatus(StrEnum):
    """A site visit's follow-up action."""

    open = "open"
    done = "done"


class MonthStatus(StrEnum):
    """A project's month of ledger rows in the province's review (data approval)."""

    open = "open"
    submitted = "submitted"
    reviewed = "reviewed"  # locked: no write dated in the month until reopened
    returned = "returned"  # sent back to the hospital with a comment

    @property
    def label_zh(self) -> str:
        return {"open": "填报中", "submitted": "已提交", "reviewed": "已审核",
                "returned": "已退回"}[self.value]


class ReferralStatus(StrEnum):
    """Two-way referral states; the allowed moves live in domains/referrals/service.py."""

    requested = "requested"
    accepted = "accepted"
    rejected = "rejected"
    scheduled = "scheduled"
    arrived = "arrived"
    completed = "completed"
    returned = "returned"  # returned down to the sending hospital after treatment
    cancelled = "cancelled"


class Direction(StrEnum):
    """Referral direction, derived from the tiers of the two hospitals (Tier.rank)."""

    up = "up"
    down = "down"
    lateral = "lateral"

    @classmethod
    def between(cls, from_tier: Tier | str, to_tier: Tier | str) -> Direction:
        a, b = Tier(from_tier).rank, Tier(to_tier).rank
        return cls.up if b > a else cls.down if b < a else cls.lateral


class Urgency(StrEnum):
    routine = "routine"
    urgent = "urgent"
    emergency = "emergency"

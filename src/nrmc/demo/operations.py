"""Demo operations: expert dispatches, activity ledgers, technologies, trainees and site visits
for a few real projects, and two-way referrals in Jinta's county medical community.

Shanghai General Hospital → Jiuquan (batch 5) reproduces the figures the hospitals reported
(≥100 expert teams, 268 surgeries, 3,600 outpatients, 158 complex-case consultations;
https://eng.shgh.cn/n/24744). They are not stored as totals: the demo enters individual
dispatches and dated activities, and the KPI functions add them back up. The people, dates,
grades and the other projects' ledgers are illustrative (deterministic for a seed).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..core.enums import ActivityKind, DispatchRole, GapLevel, Specialty, Urgency
from ..domains.audit import service as audit
from ..domains.collaboration.models import (
    Activity,
    Dispatch,
    Expert,
    ExpertTeam,
    Technology,
    Trainee,
)
from ..domains.collaboration.schemas import ActionIn, SiteVisitIn
from ..domains.collaboration.visits import record_visit
from ..domains.projects.models import Project
from ..domains.referrals import service as referrals
from ..domains.referrals.schemas import ReferralCreate
from ..domains.users.scope import Scope
from .alliances import JINTA_HOSPITAL, JINTA_STATION, TOWNS, jiuquan_project

JIUQUAN_FIGURES = {"teams": 104, "surgeries": 268, "outpatients": 3600, "complex_cases": 158}
SURGICAL = ["心胸外科", "普外科", "骨科", "神经外科", "泌尿外科", "妇产科"]
MEDICAL = ["心内科", "呼吸与危重症医学科", "消化内科", "肿瘤科", "儿科", "重症医学科", "医学影像科"]
TITLES = ["主任医师", "副主任医师", "主治医师"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰晨曦宇浩然"
TECHNIQUES = ["经导管主动脉瓣置换术", "ECMO", "达芬奇机器人辅助手术", "超声支气管镜引导下穿刺活检",
              "冠脉内旋磨术", "神经内镜下血肿清除术", "腹腔镜胰十二指肠切除术", "全髋关节置换术",
              "经皮肾镜碎石术", "射频消融术", "胸腔镜肺段切除术", "脑动脉瘤介入栓塞术"]
SYSTEM = Scope.system()


def build(session: Session, *, seed: int) -> str:
    """Fill the ledger for Jiuquan and three other projects, and Jinta's referrals."""
    rng = random.Random(seed)
    jiuquan = jiuquan_project(session)
    counts = _ledger(session, rng, jiuquan, start=date(2023, 3, 1), end=date(2025, 10, 31),
                     **JIUQUAN_FIGURES)
    visit = record_visit(session=session, scope=SYSTEM, source="demo", data=SiteVisitIn(
        project_id=jiuquan.id, visited_on=date(2023, 2, 16), lead="国家卫生健康委专家组",
        members=["医政司", "规划司", "上海市第一人民医院"], score=88.0,
        findings="site, staffing plan and partner commitment meet the batch-5 requirements",
        actions=[ActionIn(description="complete the cardiac catheterisation lab",
                          due_on=date(2023, 12, 31)),
                 ActionIn(description="recruit resident ICU team", due_on=date(2024, 6, 30))]))
    others = session.scalars(select(Project).where(Project.batch == 1)
                             .order_by(Project.id).limit(3)).all()
    for project in others:
        _ledger(session, rng, project, start=date(2020, 6, 1), end=date(2025, 6, 30),
                teams=rng.randint(20, 40), surgeries=rng.randint(80, 200),
                outpatients=rng.randint(900, 2500), complex_cases=rng.randint(30, 90))
    made = _referrals(session, rng, jiuquan.project_hospital_code)
    audit.record(session=session, actor=None, action="demo.operations", object_type="demo",
                 object_id=seed, after={"projects": [jiuquan.id, *(p.id for p in others)],
                                        "site_visit": visit.id, "referrals": made},
                 source="demo")
    return (f"Jiuquan ledger: {counts['dispatches']} dispatches in {counts['teams']} teams, "
            f"{counts['activities']} activities; {len(others)} more projects; "
            f"{made} referrals in Jinta")


def _person(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        if name not in taken:
            taken.add(name)
            return name


def _ledger(session: Session, rng: random.Random, project: Project, *, start: date, end: date,
            teams: int, surgeries: int, outpatients: int, complex_cases: int) -> dict[str, int]:
    """Individual dispatches and activities for one project whose sums are the given figures."""
    home = project.output_hospital_code
    taken = set(session.scalars(select(Expert.name).where(Expert.home_hospital_code == home)))
    pool: list[Expert] = []
    free_from: dict[int, date] = {}

    def expert(department: str | None = None) -> Expert:
        dept = department or rng.choice(SURGICAL + MEDICAL)
        made = Expert(name=_person(rng, taken), department=dept, title=rng.choice(TITLES),
                      home_hospital_code=home)
        pool.append(made)
        session.add(made)
        return made

    team_rows = [ExpertTeam(project_id=project.id, name=f"第{i}批专家团队") for i in range(1, teams + 1)]
    lead_team = ExpertTeam(project_id=project.id, name="管理与双主任团队")
    session.add_all([*team_rows, lead_team])
    for _ in range(teams * 2):
        expert()
    session.flush()
    dispatches: list[Dispatch] = []
    # Standing posts: an executive dean and dual-director department heads for the whole span.
    for role, dept in [(DispatchRole.executive_dean, "院办"),
                       *((DispatchRole.dual_director, d) for d in ("心胸外科", "心内科", "重症医学科"))]:
        person = expert(dept)
        session.flush()
        dispatches.append(Dispatch(project_id=project.id, expert_id=person.id, team_id=lead_team.id,
                                   role=role.value, start_date=start, end_date=end))
        free_from[person.id] = end + timedelta(days=1)
    span = (end - start).days - 60
    for i, team in enumerate(team_rows):
        begins = start + timedelta(days=int(span * i / teams) + rng.randint(0, 5))
        length = rng.choice([7, 14, 14, 21, 30, 30, 45])
        finishes = begins + timedelta(days=length - 1)
        members = [e for e in rng.sample(pool, len(pool)) if free_from.get(e.id, date.min) <= begins]
        while len(members) < 2:  # everyone is away: the output hospital sends new people
            members.append(expert())
            session.flush()
        for person in members[:rng.randint(2, 4)]:
            free_from[person.id] = finishes + timedelta(days=1)
            role = DispatchRole.resident_expert if length >= 30 else DispatchRole.visiting_expert
            dispatches.append(Dispatch(project_id=project.id, expert_id=person.id,
                                       team_id=team.id, role=role.value, start_date=begins,
                                       end_date=finishes))
    session.add_all(dispatches)
    session.flush()
    by_id = {e.id: e for e in pool}
    surgical = [d for d in dispatches if by_id[d.expert_id].department in SURGICAL]
    rows: list[dict[str, Any]] = []

    def line(d: Dispatch, kind: ActivityKind, count: int = 1, **extra: Any) -> None:
        day = d.start_date + timedelta(days=rng.randint(0, (d.end_date - d.start_date).days))
        rows.append({"project_id": project.id, "dispatch_id": d.id, "occurred_on": day,
                     "kind": kind.value, "count": count, "surgery_grade": None,
                     "complex_case": False, "note": ""} | extra)

    for _ in range(surgeries):
        line(rng.choice(surgical), ActivityKind.surgery,
             surgery_grade=rng.choices([1, 2, 3, 4], weights=[8, 22, 40, 30])[0])
    left = outpatients
    while left > 0:
        seen = min(left, rng.randint(8, 30))
        line(rng.choice(dispatches), ActivityKind.outpatient, seen)
        left -= seen
    for _ in range(complex_cases):
        line(rng.choice(dispatches), ActivityKind.consultation, complex_case=True)
    for _ in range(complex_cases // 2):
        line(rng.choice(dispatches), ActivityKind.consultation)
    for kind, n, low, high in ((ActivityKind.ward_round, teams * 2, 10, 40),
                               (ActivityKind.lecture, teams // 2, 20, 120),
                               (ActivityKind.training, teams // 2, 8, 40),
                               (ActivityKind.teleconsultation, teams // 3, 1, 1)):
        for _ in range(n):
            line(rng.choice(dispatches), kind, rng.randint(low, high))
    session.execute(insert(Activity), rows)
    for name in rng.sample(TECHNIQUES, rng.randint(6, len(TECHNIQUES))):
        session.add(Technology(
            project_id=project.id, name=name, department=rng.choice(SURGICAL + MEDICAL),
            first_case_on=start + timedelta(days=rng.randint(30, (end - start).days - 30)),
            cases_since=rng.randint(3, 120),
            gap_level=rng.choices(list(GapLevel), weights=[5, 3, 1])[0].value))
    for _ in range(teams // 2):
        session.add(Trainee(project_id=project.id, name=_person(rng, set()),
                            programme=rng.choice(["进修", "规培", "专科护士培训", "管理培训"]),
                            hours=float(rng.choice([40, 80, 160, 320])),
                            trained_on=start + timedelta(days=rng.randint(0, (end - start).days))))
    session.flush()
    return {"dispatches": len(dispatches), "teams": teams + 1, "activities": len(rows)}


def _referrals(session: Session, rng: random.Random, city_hospital: str) -> int:
    """Referrals up and down Jinta's county medical community and up to Jiuquan, in every state;
    a few requests are left unanswered past the 24-hour SLA (overdue now)."""
    towns = [f"DEMO-620921-T{i}" for i in range(1, len(TOWNS) + 1)]
    routes = ([(t, JINTA_HOSPITAL) for t in towns] + [(JINTA_STATION, JINTA_HOSPITAL)] * 2
              + [(JINTA_HOSPITAL, city_hospital)] * 6 + [(JINTA_HOSPITAL, t) for t in towns]
              + [(city_hospital, JINTA_HOSPITAL)] * 4 + [(towns[0], towns[1])])
    diagnoses = [("I21.0", Specialty.cardiovascular), ("I63.9", Specialty.neurology),
                 ("J44.1", Specialty.respiratory), ("C34.9", Specialty.oncology),
                 ("S72.0", Specialty.trauma_orthopedics), ("K35.8", Specialty.general_surgery),
                 ("O14.1", Specialty.obstetrics_gynecology), ("E11.9", Specialty.internal_medicine)]
    paths = [["accept"], ["reject"], ["accept", "schedule"], ["accept", "schedule", "arrive"],
             ["accept", "schedule", "arrive", "complete"],
             ["accept", "schedule", "arrive", "complete", "return"], ["cancel"],
             ["accept", "schedule", "arrive", "complete"]]
    now = datetime.now(UTC).replace(microsecond=0)
    made = 0
    for i in range(60):
        frm, to = rng.choice(routes)
        icd, specialty = rng.choice(diagnoses)
        overdue = i % 15 == 0  # four requests left waiting for 1-4 days
        at = (now - timedelta(hours=rng.randint(26, 96)) if overdue else
              datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 660)))
        referral = referrals.create(session=session, scope=SYSTEM, now=at, source="demo",
                                    idempotency_key=f"demo-{i}", data=ReferralCreate(
                                        from_hospital=frm, to_hospital=to, specialty=specialty,
                                        diagnosis=icd, patient_pseudonym=f"p-{rng.getrandbits(32):08x}",
                                        urgency=rng.choices(list(Urgency), weights=[6, 3, 1])[0],
                                        reason="beyond local capability" if to != towns[1] else "capacity"))
        made += 1
        if overdue:
            continue
        step_at = at
        for verb in rng.choice(paths):
            # Most answers come within hours; a few after the SLA.
            step_at += timedelta(hours=rng.choice([1, 2, 3, 5, 8, 12, 20, 30]))
            referrals.transition(
                session=session, scope=SYSTEM, referral_id=referral.id,
                to=referrals.ACTIONS[verb], version=referral.version, now=step_at, source="demo",
                reason={"reject": "no bed in the department", "cancel": "patient declined"}
                .get(verb, ""), scheduled_for=step_at + timedelta(days=1) if verb == "schedule" else None)
    return made

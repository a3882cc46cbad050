"""Demo programme layer: milestones, ledgers, gaps and trusteeships for every roster project.

Everything here is synthetic (flagged `synthetic` where the table has the flag; ledger rows
carry the note "synthetic demo"; planned beds filled in where the roster has none are noted on
the project) and deterministic for a seed and a date. Sizes follow the figures published for
the first 50 projects (issue 15, docs/programme.md): roughly 1,200 planned beds and 60
dual-director posts per centre, ~1,000 local staff trained each, ~1,200 outpatients and ~400
surgeries a month per opened centre growing ~45 % a year, a grade-4 share near 35 %, a few
rare-disease cases a month, technologies filling provincial gaps. Rows go in with bulk
inserts (one statement per table), so the whole layer takes a few seconds.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from ..core.enums import ActivityKind, DispatchRole, GapLevel, Specialty, Tier
from ..core.inputs import today_beijing
from ..domains.audit import service as audit
from ..domains.collaboration.models import Activity, Dispatch, Expert, Technology, Trainee
from ..domains.gaps.models import Gap, TechnologyGap
from ..domains.hospitals.models import Hospital
from ..domains.milestones.models import Milestone
from ..domains.projects.models import Project
from ..domains.trusteeships.models import Trusteeship, TrusteeshipReport
from ..domains.trusteeships.schemas import Grade
from .operations import MEDICAL, SURGICAL, SURNAMES, TECHNIQUES, TITLES

APPROVED_ON = {1: date(2019, 11, 20), 2: date(2021, 7, 20), 3: date(2022, 5, 18),
               4: date(2023, 1, 10), 5: date(2023, 7, 20)}
# days from approval to planned opening (first patient) by batch: early batches opened in
# existing buildings, later ones build first
OPENING_DAYS = {1: (200, 420), 2: (240, 540), 3: (300, 720), 4: (360, 900), 5: (540, 1400)}
MORE_TECHNIQUES = [
    "经导管二尖瓣缘对缘修复术", "左心耳封堵术", "冷冻球囊消融术", "无导线起搏器植入术",
    "机器人辅助全膝关节置换术", "单孔胸腔镜肺叶切除术", "经口内镜下肌切开术", "内镜黏膜下剥离术",
    "质子重离子放疗", "CAR-T 细胞治疗", "立体定向放射外科", "术中神经电生理监测",
    "颅内动脉取栓术", "脊髓电刺激术", "新生儿体外膜肺氧合", "儿童造血干细胞移植",
    "胎儿宫内治疗", "腹腔镜肝切除术", "肾移植", "肝移植", "人工耳蜗植入术", "角膜移植",
    "经皮椎间孔镜髓核摘除术", "超声内镜引导下引流术", "荧光腹腔镜淋巴结清扫",
]
ALL_TECHNIQUES = TECHNIQUES + MORE_TECHNIQUES
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰晨曦宇浩然峰琳颖博文斌"
NOTE = "synthetic demo"  # programme.service.SYNTHETIC_NOTE reads it


def build(session: Session, *, seed: int) -> str:
    """Add the programme layer on top of the roster and the operations demo."""
    rng = random.Random(seed * 7919 + 15)
    today = today_beijing()
    ledger_end = date(today.year, today.month, 1) - timedelta(days=1)
    projects = list(session.scalars(select(Project).order_by(Project.id)))
    have_ledger = set(session.scalars(select(Activity.project_id).distinct()))
    opened_on = _milestones(session, rng, projects, today)
    _planned_beds(session, rng, projects)
    counts: dict[str, int] = defaultdict(int)
    fresh = [p for p in projects if p.id in opened_on and p.id not in have_ledger
             and opened_on[p.id] <= ledger_end]
    _ledger(session, rng, fresh, opened_on, ledger_end, counts)
    gaps = _gaps_and_links(session, rng, projects, counts)
    trusteeships = _trusteeships(session, rng, projects, opened_on, ledger_end, counts)
    audit.record(session=session, actor=None, action="demo.programme", object_type="demo",
                 object_id=seed, after={**counts, "gaps": gaps, "trusteeships": trusteeships},
                 source="demo")
    return (f"{len(projects)} projects with milestones ({len(opened_on)} opened); ledgers for "
            f"{len(fresh)}: {counts['activities']:,} activity rows, {counts['co_directors']:,} "
            f"dual-director posts, {counts['trainees']:,} trainees, {counts['technologies']:,} "
            f"technologies; {gaps:,} gaps ({counts['links']:,} links); {trusteeships} trusteeships")


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]], *,
          with_ids: bool = False) -> list[int]:
    """One executemany on the table (no ORM bookkeeping); with `with_ids`, the rows get ids
    after the current maximum (the demo is the only writer while it builds)."""
    ids: list[int] = []
    if with_ids:
        first = (session.scalar(select(func.max(model.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
        rows = [row | {"id": i} for row, i in zip(rows, ids, strict=True)]
    session.execute(insert(model.__table__), rows)
    if with_ids and rows and session.get_bind().dialect.name == "postgresql":
        table = model.__tablename__  # explicit ids do not advance the serial: move it on
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT max(id) FROM {table}))"))
    return ids


def _shift(day: date, days: int) -> date:
    return day + timedelta(days=days)


def _milestones(session: Session, rng: random.Random, projects: list[Project],
                today: date) -> dict[int, date]:
    """Planned dates by batch; actual dates with a delay for about one project in four.
    Returns project id → actual opening date (for those opened by today)."""
    rows: list[dict[str, Any]] = []
    opened: dict[int, date] = {}
    for p in projects:
        batch = p.batch or 5
        approval = _shift(APPROVED_ON[batch], rng.randint(0, 20))
        open_plan = _shift(approval, rng.randint(*OPENING_DAYS[batch]))
        plan = {"site_visit": _shift(approval, -rng.randint(60, 120)), "approval": approval,
                "construction_start": _shift(approval, rng.randint(90, 180)),
                "building_completed": _shift(open_plan, -rng.randint(45, 90)),
                "opened": open_plan, "acceptance": _shift(open_plan, 365 + rng.randint(0, 90))}
        delay = 0
        slow = rng.random() < 0.25
        for kind in ("site_visit", "approval", "construction_start", "building_completed",
                     "opened", "acceptance"):
            if slow and kind in ("construction_start", "building_completed"):
                delay += rng.randint(30, 200)
            # mostly on time or early; one milestone in seven slips by up to three weeks
            jitter = rng.randint(1, 21) if rng.random() < 0.15 else -rng.randint(0, 15)
            actual = _shift(plan[kind], delay + jitter)
            if kind in ("approval", "site_visit"):
                actual = plan[kind]
            done = actual if actual <= today else None
            rows.append({"project_id": p.id, "kind": kind, "seq": 1, "planned_on": plan[kind],
                         "actual_on": done, "note": NOTE, "synthetic": True})
            if kind == "opened" and done is not None:
                opened[p.id] = done
        review = _shift(approval, 365 + rng.randint(0, 120))
        if review <= today:  # the annual expert assessment's visit
            rows.append({"project_id": p.id, "kind": "site_visit", "seq": 2, "planned_on": review,
                         "actual_on": _shift(review, rng.randint(0, 30)), "note": NOTE,
                         "synthetic": True})
    _bulk(session, Milestone, rows)
    return opened


def _planned_beds(session: Session, rng: random.Random, projects: list[Project]) -> None:
    """The roster has no planned beds; give each centre a synthetic figure (noted on it)."""
    for p in projects:
        if p.planned_beds is None:
            session.execute(update(Project).where(Project.id == p.id).values(
                planned_beds=rng.randrange(800, 1800, 50),
                notes=(p.notes + " " if p.notes else "") + "[planned_beds: synthetic demo value]"))


def _months(start: date, end: date) -> list[date]:
    out, day = [], date(start.year, start.month, 1)
    while day <= end:
        out.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def _ledger(session: Session, rng: random.Random, projects: list[Project],
            opened_on: dict[int, date], end: date, counts: dict[str, int]) -> None:
    """Monthly activity rows, dual-director posts, trainees and technologies per project."""
    activities: list[dict[str, Any]] = []
    trainees: list[dict[str, Any]] = []
    technologies: list[dict[str, Any]] = []
    experts: list[dict[str, Any]] = []
    posts: list[tuple[int, date, date]] = []
    taken: dict[str, set[str]] = defaultdict(set)
    for name, home in session.execute(select(Expert.name, Expert.home_hospital_code)):
        taken[home].add(name)
    last_month = date(end.year, end.month, 1)
    for p in projects:
        start = opened_on[p.id]
        size = rng.uniform(0.6, 1.4)
        silent_last_month = rng.random() < 0.12  # shows in "who has not reported"
        for month in _months(start, end):
            if month == last_month and silent_last_month:
                continue
            years_to_end = (end - month).days / 365.25
            growth, rare_growth = 1.45 ** -years_to_end, 1.25 ** -years_to_end
            day = min(_shift(month, rng.randint(9, 24)), end)
            if day < start:
                day = start
            outpatients = max(int(1200 * size * growth * rng.uniform(0.85, 1.15)), 1)
            surgeries = max(int(400 * size * growth * rng.uniform(0.85, 1.15)), 1)
            share4 = min(max(rng.gauss(0.36, 0.05), 0.15), 0.5)
            grades = {4: share4, 3: 0.40, 2: 1 - share4 - 0.45, 1: 0.05}
            row = {"project_id": p.id, "dispatch_id": None, "occurred_on": day,
                   "complex_case": False, "note": NOTE}
            activities.append(row | {"kind": ActivityKind.outpatient.value, "count": outpatients,
                                     "surgery_grade": None})
            for grade, share in grades.items():
                activities.append(row | {"kind": ActivityKind.surgery.value, "surgery_grade": grade,
                                         "count": int(round(surgeries * share))})
            activities.append(row | {"kind": ActivityKind.rare_disease.value, "surgery_grade": None,
                                     "count": rng.randint(2, 8) if rare_growth > 0.6 else rng.randint(1, 5)})
            activities.append(row | {"kind": ActivityKind.consultation.value, "surgery_grade": None,
                                     "count": rng.randint(10, 40), "complex_case": True})
            for _ in range(int(rng.uniform(22, 36) * size)):
                trainees.append({"project_id": p.id, "name": _name(rng),
                                 "programme": rng.choice(["进修", "规培", "专科护士培训", "管理培训"]),
                                 "hours": float(rng.choice([40, 80, 160, 320])),
                                 "trained_on": min(_shift(month, rng.randint(0, 27)), end)})
        home = p.output_hospital_code
        for _ in range(int(rng.uniform(40, 75))):
            begins = _shift(start, rng.randint(0, 540))
            if begins > end:
                continue
            name = _unique(rng, taken[home])
            experts.append({"name": name, "department": rng.choice(SURGICAL + MEDICAL),
                            "title": rng.choice(TITLES[:2]), "home_hospital_code": home})
            posts.append((p.id, begins, _shift(begins, rng.randint(3 * 365, 6 * 365))))
        for name in rng.sample(ALL_TECHNIQUES, rng.randint(18, len(ALL_TECHNIQUES))):
            first = _shift(start, rng.randint(20, max((end - start).days - 5, 21)))
            if first > end:
                continue
            technologies.append({"project_id": p.id, "name": name,
                                 "department": rng.choice(SURGICAL + MEDICAL),
                                 "first_case_on": first, "cases_since": rng.randint(3, 400),
                                 "gap_level": rng.choices(list(GapLevel), weights=[4, 5, 1])[0].value})
    if activities:
        _bulk(session, Activity, activities)
    if trainees:
        _bulk(session, Trainee, trainees)
    if technologies:
        _bulk(session, Technology, technologies)
    if experts:
        ids = _bulk(session, Expert, experts, with_ids=True)
        _bulk(session, Dispatch, [
            {"project_id": pid, "expert_id": eid, "team_id": None,
             "role": DispatchRole.dual_director.value, "start_date": s, "end_date": e}
            for eid, (pid, s, e) in zip(ids, posts, strict=True)])
    counts.update(activities=len(activities), trainees=len(trainees),
                  technologies=len(technologies), co_directors=len(posts))


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _unique(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        if name not in taken:
            taken.add(name)
            return name


def _gaps_and_links(session: Session, rng: random.Random, projects: list[Project],
                    counts: dict[str, int]) -> int:
    """Gaps per province (mostly the techniques the centres later bring), then links from
    technologies to the gap of the same name in their province."""
    provinces = sorted({p.province_code for p in projects})
    specialties = [s.value for s in Specialty if s.value != "other"]
    rows: list[dict[str, Any]] = []
    for province in provinces:
        for name in rng.sample(ALL_TECHNIQUES, rng.randint(12, 24)):
            level = rng.choices(["province", "city", "national"], weights=[6, 3, 1])[0]
            rows.append({"province_code": province, "region_code": province, "level": level,
                         "name": name, "specialty": rng.choice(specialties),
                         "identified_on": date(2019, rng.randint(1, 12), rng.randint(1, 28)),
                         "source": "synthetic demo: provincial health commission gap survey",
                         "synthetic": True})
    if not rows:
        return 0
    _bulk(session, Gap, rows)
    gap_id = {(g.province_code, g.name): g.id for g in session.scalars(
        select(Gap).where(Gap.synthetic.is_(True)))}
    links = []
    for tech_id, project_province, name in session.execute(
            select(Technology.id, Project.province_code, Technology.name)
            .join(Project, Project.id == Technology.project_id)):
        found = gap_id.get((project_province, name))
        if found is not None and rng.random() < 0.6:
            links.append({"technology_id": tech_id, "gap_id": found})
    if links:
        _bulk(session, TechnologyGap, links)
    counts["links"] = len(links)
    return len(rows)


def _trusteeships(session: Session, rng: random.Random, projects: list[Project],
                  opened_on: dict[int, date], end: date, counts: dict[str, int]) -> int:
    """One trusteeship per opened centre: its project hospital manages a synthetic secondary
    or township hospital of the province, aiming at two grades in five years; about a third
    fall behind their path."""
    candidates: dict[str, list[str]] = defaultdict(list)
    for code, region in session.execute(
            select(Hospital.code, Hospital.region_code).where(
                Hospital.synthetic.is_(True),
                Hospital.tier.in_([Tier.secondary.value, Tier.township_health_centre.value]))
            .order_by(Hospital.code)):
        candidates[region[:2]].append(code)
    made: list[dict[str, Any]] = []
    plans: list[tuple[date, date, bool, int, int, int]] = []
    for p in projects:
        pool = candidates.get(p.province_code[:2])
        if p.id not in opened_on or not pool:
            continue
        start = _shift(opened_on[p.id], rng.randint(30, 400))
        if start > end:
            continue
        first = rng.choice([Grade.primary, Grade.secondary_b])
        deadline = date(start.year + 5, start.month, min(start.day, 28))
        posts, departments = rng.randint(10, 30), rng.randint(4, 12)
        made.append({"managing_hospital_code": p.project_hospital_code,
                     "managed_hospital_code": rng.choice(pool), "province_code": p.province_code,
                     "project_id": p.id, "start_date": start, "term_years": 5,
                     "separated": rng.random() < 0.8, "start_grade": first.value,
                     "target_grade": list(Grade)[first.rank + 2].value, "goal_deadline": deadline,
                     "posts_planned": posts, "departments_planned": departments,
                     "note": "两年一级、五年两级 two grades in five years (synthetic demo)",
                     "synthetic": True})
        plans.append((start, deadline, rng.random() < 0.35, first.rank, posts, departments))
    if not made:
        return 0
    ids = _bulk(session, Trusteeship, made, with_ids=True)
    reports = []
    ladder = list(Grade)
    for tid, (start, deadline, lagging, rank, posts, departments) in zip(ids, plans, strict=True):
        span = (deadline - start).days
        pace = rng.uniform(0.4, 0.7) if lagging else rng.uniform(0.95, 1.15)
        technologies = 0
        for month in _months(_shift(start, 90), end)[::3]:
            elapsed = min((month - start).days / span, 1.0)
            done = min(elapsed * pace, 1.0)
            steps = 2 if done >= 0.9 else (1 if done >= 0.45 else 0)
            technologies += rng.randint(0, 3)
            reports.append({"trusteeship_id": tid, "reported_on": min(_shift(month, 20), end),
                            "grade": ladder[rank + steps].value,
                            "posts_filled": min(posts, int(posts * done * rng.uniform(0.9, 1.1))),
                            "departments_opened": min(departments, int(departments * done + 0.5)),
                            "technologies": technologies,
                            "outpatients": int(2500 * (1 + done) * rng.uniform(0.85, 1.15)),
                            "surgeries": int(120 * (1 + 2 * done) * rng.uniform(0.85, 1.15)),
                            "synthetic": True})
    if reports:
        _bulk(session, TrusteeshipReport, reports)
    counts["trusteeship_reports"] = len(reports)
    return len(made)

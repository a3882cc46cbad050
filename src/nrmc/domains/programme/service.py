"""The programme office's national figures, computed from rows on any date (nothing typed in).

Every indicator is an aggregate over the projects in view: the caller's visible projects,
narrowed to a province (a provincial officer always sees its own province only) and a batch.
Each query aggregates in SQL; the dashboard issues a fixed number of queries whatever the
number of projects. Definitions are in `schemas.INDICATORS` and docs/programme.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from ...core import codes
from ...core.enums import ActivityKind, DispatchRole
from ...core.inputs import today_beijing
from ..collaboration.models import Activity, Dispatch, Technology, Trainee
from ..gaps.models import Gap, TechnologyGap
from ..hospitals.models import Hospital
from ..milestones import service as milestones
from ..milestones.models import Milestone
from ..projects import service as projects
from ..projects.models import Project
from ..users.scope import Scope
from . import targets as target_service
from .schemas import (
    BY_KEY,
    BatchTimeline,
    Dashboard,
    IndicatorRow,
    NotReported,
    ProvinceCovered,
)

PERIOD_KINDS = (ActivityKind.outpatient, ActivityKind.surgery, ActivityKind.rare_disease)
APPROVED = {"approved", "under_construction", "operating", "warning_list"}
DEFAULT_BASELINE = 2019
PERIOD_MONTHS = 5  # the published figures cover five months
SYNTHETIC_NOTE = "synthetic demo"  # how the demo marks the ledger rows it makes


@dataclass(frozen=True)
class View:
    """Which projects and which dates: the dashboard's filters, resolved."""

    as_of: date
    period_start: date
    period_end: date
    province: str | None = None
    batch: int | None = None
    baseline_year: int = DEFAULT_BASELINE
    # The newest ledger date on or before `as_of`, when resolving the view already found it
    # (`as_of` defaulted to it): the dashboard then need not ask again.
    newest: date | None = None
    newest_known: bool = False


def year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def project_ids(scope: Scope, *, province: str | None = None, batch: int | None = None
                ) -> Select[Any]:
    """Ids of the projects in view. A provincial officer sees the centres in its province only
    (not those its hospitals run elsewhere, which the project pages also show)."""
    query = select(Project.id).where(projects.visible_clause(scope))
    if scope.province is not None:
        query = query.where(Project.province_code == scope.province + "0000")
    if province:
        try:
            query = query.where(Project.province_code == codes.province_of(province))
        except ValueError:
            query = query.where(false())
    if batch is not None:
        query = query.where(Project.batch == batch)
    return query


def newest_date(*, session: Session, ids: Select[Any], as_of: date | None = None) -> date | None:
    """The newest date of any ledger row of the projects in view (on or before `as_of`)."""
    limit = as_of or date.max
    candidates = [
        session.scalar(select(func.max(Activity.occurred_on)).where(
            Activity.project_id.in_(ids), Activity.occurred_on <= limit)),
        session.scalar(select(func.max(Technology.first_case_on)).where(
            Technology.project_id.in_(ids), Technology.first_case_on <= limit)),
        session.scalar(select(func.max(Trainee.trained_on)).where(
            Trainee.project_id.in_(ids), Trainee.trained_on <= limit)),
    ]
    found = [d for d in candidates if d is not None]
    return max(found) if found else None


def resolve_view(*, session: Session, scope: Scope, as_of: date | None = None,
                 province: str | None = None, batch: int | None = None,
                 period_start: date | None = None, period_end: date | None = None,
                 baseline_year: int = DEFAULT_BASELINE) -> View:
    """Defaults: `as_of` = the newest ledger date in view (today when there is none); the
    period = the five calendar months ending on `as_of`."""
    newest, known = None, False
    if as_of is None:
        newest = newest_date(session=session, ids=project_ids(scope, province=province,
                                                              batch=batch), as_of=today_beijing())
        # the newest date on or before itself is itself; none before today, none before today
        as_of, known = newest or today_beijing(), True
    end = period_end or as_of
    start = period_start or month_start(end, PERIOD_MONTHS - 1)
    return View(as_of=as_of, period_start=start, period_end=end, province=province, batch=batch,
                baseline_year=baseline_year, newest=newest, newest_known=known)


def dashboard(*, session: Session, scope: Scope, view: View,
              outflow_rows: Sequence[dict[str, Any]] = ()) -> Dashboard:
    """The indicators, batch timeline, covered provinces and who has not reported.

    `outflow_rows`: published province outflow rows (all specialties, every year) from the
    flows store (`web.outflow.rows`), already small-cell suppressed and scope-filtered."""
    ids = project_ids(scope, province=view.province, batch=view.batch)
    registry = session.execute(
        select(Project.id, Project.province_code, Project.batch, Project.planned_beds,
               Project.status).where(Project.id.in_(ids))).all()
    derived = milestones.derived_statuses(session=session, project_ids=ids, as_of=view.as_of)
    status = {pid: (reg if reg == "warning_list" else derived.get(pid, reg))
              for pid, _prov, _batch, _beds, reg in registry}
    with_milestones = set(derived)
    approved = [r for r in registry if status[r[0]] in APPROVED]
    opened = {r[0] for r in registry if status[r[0]] == "operating"}
    all_ids = {r[0] for r in registry}
    rows: dict[str, IndicatorRow] = {}
    newest_milestone = session.scalar(select(func.max(Milestone.actual_on)).where(
        Milestone.project_id.in_(ids), Milestone.actual_on <= view.as_of))

    def put(key: str, value: float | None, reporting: int, expected: int, as_of: date | None,
            **extra: Any) -> None:
        d = BY_KEY[key]
        extra.setdefault("source", d.source)
        rows[key] = IndicatorRow(key=key, label_zh=d.label_zh, label_en=d.label_en, value=value,
                                 unit=d.unit, target=None, projects_reporting=reporting,
                                 projects_expected=expected, as_of=as_of, **extra)

    n_all, n_ms = len(all_ids), len(with_milestones)
    put("projects_approved", len(approved), n_ms, n_all, newest_milestone)
    put("projects_under_construction",
        sum(1 for r in registry if status[r[0]] == "under_construction"), n_ms, n_all,
        newest_milestone)
    put("projects_opened", len(opened), n_ms, n_all, newest_milestone)
    put("provinces_covered", len({r[1] for r in approved}), n_ms, n_all, newest_milestone)
    beds = [r[3] for r in approved if r[3] is not None]
    put("planned_beds", sum(beds), len(beds), len(approved), newest_milestone)

    posts = session.execute(
        select(Dispatch.project_id, func.count(), func.max(Dispatch.start_date))
        .where(Dispatch.project_id.in_(ids), Dispatch.role == DispatchRole.dual_director.value,
               Dispatch.start_date <= view.as_of, Dispatch.end_date >= view.as_of)
        .group_by(Dispatch.project_id)).all()
    put("co_directors", sum(n for _p, n, _d in posts), len(posts), len(opened),
        max((d for *_x, d in posts), default=None))

    trained = session.execute(
        select(Trainee.project_id, func.count(), func.max(Trainee.trained_on))
        .where(Trainee.project_id.in_(ids), Trainee.trained_on <= view.as_of)
        .group_by(Trainee.project_id)).all()
    put("staff_trained", sum(n for _p, n, _d in trained), len(trained), len(opened),
        max((d for *_x, d in trained), default=None))

    _period_indicators(session, ids, view, opened, put)
    _technology_indicators(session, ids, view, opened, put)
    _outflow_indicator(view, approved, outflow_rows, n_all, put)

    saved = target_service.all_targets(session=session)
    # Targets are national: a province's or a batch's figures are shown beside them, not judged.
    national = scope.national and not view.province and view.batch is None
    out = []
    for key in BY_KEY:
        row = rows[key]
        t = saved.get(key)
        if t is not None:
            row.target, row.target_direction, row.target_source = t.target, t.direction, t.source
            if row.value is not None and national:
                row.met = row.value >= t.target if t.direction == "at_least" else row.value <= t.target
        out.append(row)
    newest = view.newest if view.newest_known else newest_date(session=session, ids=ids,
                                                                 as_of=view.as_of)
    synthetic = bool(session.scalar(select(
        select(Milestone.id).where(Milestone.project_id.in_(ids), Milestone.synthetic.is_(True))
        .exists())) or session.scalar(select(
            select(Activity.id).where(Activity.project_id.in_(ids), Activity.note == SYNTHETIC_NOTE)
            .exists())))
    return Dashboard(
        synthetic=synthetic,
        as_of=view.as_of, period_start=view.period_start, period_end=view.period_end,
        baseline_year=view.baseline_year, province=view.province, batch=view.batch,
        national=national,
        newest_data=max([d for d in (newest, newest_milestone) if d is not None], default=None),
        indicators=out, batches=_batches(registry, status), provinces=_provinces(session, approved),
        not_reported=not_reported(session=session, ids=ids, opened=opened, as_of=view.as_of),
        not_reported_month=f"{view.as_of:%Y-%m}")


def _period_indicators(session: Session, ids: Select[Any], view: View, opened: set[int],
                       put: Any) -> None:
    """Outpatients, surgeries, grade-4 share and rare-disease cases in the period, each with
    the same period a year before, and a monthly trend over the twelve months to its end."""
    before_start, before_end = year_before(view.period_start), year_before(view.period_end)
    now_clause = and_(Activity.occurred_on >= view.period_start,
                      Activity.occurred_on <= view.period_end)
    rows = session.execute(
        select(Activity.project_id, Activity.kind, Activity.surgery_grade,
               (Activity.occurred_on >= view.period_start).label("now"),
               func.sum(Activity.count), func.max(Activity.occurred_on))
        .where(Activity.project_id.in_(ids),
               Activity.kind.in_([k.value for k in PERIOD_KINDS]),
               or_(now_clause, and_(Activity.occurred_on >= before_start,
                                    Activity.occurred_on <= before_end)))
        .group_by(Activity.project_id, Activity.kind, Activity.surgery_grade, "now")).all()
    totals: Counter[tuple[str, bool]] = Counter()
    grade4: Counter[bool] = Counter()
    reporting: dict[str, set[int]] = defaultdict(set)
    newest: dict[str, date] = {}
    for pid, kind, grade, is_now, total, last in rows:
        is_now = bool(is_now)
        totals[(kind, is_now)] += int(total or 0)
        if kind == ActivityKind.surgery.value and grade == 4:
            grade4[is_now] += int(total or 0)
        if is_now:
            reporting[kind].add(pid)
            newest[kind] = max(newest.get(kind, last), last)
    trend = _monthly(session, ids, view.period_end)
    expected = len(opened)
    for key, kind in (("outpatients", "outpatient"), ("surgeries", "surgery"),
                      ("rare_disease_cases", "rare_disease")):
        value, previous = totals[(kind, True)], totals[(kind, False)]
        put(key, value, len(reporting[kind]), expected, newest.get(kind), previous=previous,
            change=(value / previous - 1) if previous else None, trend=trend.get(kind, []))
    share = grade4[True] / totals[("surgery", True)] if totals[("surgery", True)] else None
    share_before = (grade4[False] / totals[("surgery", False)]
                    if totals[("surgery", False)] else None)
    put("grade4_share", share, len(reporting["surgery"]), expected, newest.get("surgery"),
        previous=share_before,
        change=(share - share_before) if share is not None and share_before is not None else None)


def _monthly(session: Session, ids: Select[Any], end: date) -> dict[str, list[tuple[str, float]]]:
    """kind → [(YYYY-MM, total)] for the twelve months ending with `end`'s month (grouped by
    day in SQL, which both backends do alike, then by month here)."""
    start = month_start(end, 11)
    rows = session.execute(
        select(Activity.kind, Activity.occurred_on, func.sum(Activity.count))
        .where(Activity.project_id.in_(ids), Activity.kind.in_([k.value for k in PERIOD_KINDS]),
               Activity.occurred_on >= start, Activity.occurred_on <= end)
        .group_by(Activity.kind, Activity.occurred_on)).all()
    months = [f"{month_start(end, back):%Y-%m}" for back in range(11, -1, -1)]
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for kind, on, total in rows:
        by[kind][f"{on:%Y-%m}"] += int(total or 0)
    return {kind: [(m, float(c[m])) for m in months] for kind, c in by.items()}


def _technology_indicators(session: Session, ids: Select[Any], view: View, opened: set[int],
                           put: Any) -> None:
    techs = session.execute(
        select(Technology.project_id, Technology.gap_level, func.count(),
               func.max(Technology.first_case_on))
        .where(Technology.project_id.in_(ids), Technology.first_case_on <= view.as_of)
        .group_by(Technology.project_id, Technology.gap_level)).all()
    by_level: Counter[str] = Counter()
    for _pid, level, n, _last in techs:
        by_level[level] += n
    put("new_technologies", sum(by_level.values()), len({t[0] for t in techs}), len(opened),
        max((t[3] for t in techs), default=None),
        breakdown={k: float(v) for k, v in sorted(by_level.items())})
    filled = session.execute(
        select(Gap.level, func.count(func.distinct(Gap.id)), func.max(Technology.first_case_on),
               func.count(func.distinct(Technology.project_id)))
        .join(TechnologyGap, TechnologyGap.gap_id == Gap.id)
        .join(Technology, Technology.id == TechnologyGap.technology_id)
        .where(Technology.project_id.in_(ids), Technology.first_case_on <= view.as_of)
        .group_by(Gap.level)).all()
    gap_projects = session.scalar(
        select(func.count(func.distinct(Technology.project_id)))
        .join(TechnologyGap, TechnologyGap.technology_id == Technology.id)
        .where(Technology.project_id.in_(ids), Technology.first_case_on <= view.as_of)) or 0
    put("gaps_filled", sum(n for _l, n, _d, _p in filled), gap_projects, len(opened),
        max((d for _l, _n, d, _p in filled), default=None),
        breakdown={level: float(n) for level, n, _d, _p in sorted(filled)})


def _outflow_indicator(view: View, approved: list[Any], outflow_rows: Sequence[dict[str, Any]],
                       n_all: int, put: Any) -> None:
    """Mean relative change of the outflow rate of covered provinces, compare year (the latest
    year with data up to `as_of`) against the baseline year; withheld rates are left out."""
    covered = {r[1] for r in approved}
    rate: dict[tuple[str, int], float] = {
        (r["region"], int(r["year"])): float(r["outflow_rate"]) for r in outflow_rows
        if r.get("outflow_rate") is not None and r["region"] in covered}
    years = sorted({y for _c, y in rate if y <= view.as_of.year and y > view.baseline_year})
    if not years:
        put("outflow_change", None, 0, len(covered), None)
        return
    year = years[-1]
    changes = {c: rate[(c, year)] / rate[(c, view.baseline_year)] - 1 for c in covered
               if (c, year) in rate and rate.get((c, view.baseline_year))}
    value = sum(changes.values()) / len(changes) if changes else None
    put("outflow_change", value, len(changes), len(covered), date(year, 12, 31),
        breakdown={c: round(v, 4) for c, v in sorted(changes.items())},
        source=BY_KEY["outflow_change"].source + f" ({year} vs {view.baseline_year})")


def _batches(registry: Sequence[Any], status: dict[int, str]) -> list[BatchTimeline]:
    by: dict[int | None, BatchTimeline] = {}
    for pid, _prov, batch, beds, _reg in registry:
        row = by.setdefault(batch, BatchTimeline(batch=batch, approved=0, under_construction=0,
                                                 opened=0, planned_beds=0))
        s = status[pid]
        if s in APPROVED:
            row.approved += 1
            row.planned_beds += beds or 0
        row.under_construction += s == "under_construction"
        row.opened += s == "operating"
    return [by[b] for b in sorted(by, key=lambda b: (b is None, b or 0))]


def _provinces(session: Session, approved: Sequence[Any]) -> list[ProvinceCovered]:
    from ..regions.models import Region

    counts = Counter(r[1] for r in approved)
    names = dict(session.execute(select(Region.code, Region.name_zh)
                                 .where(Region.code.in_(list(counts)))).all()) if counts else {}
    return [ProvinceCovered(code=c, name=names.get(c, c), projects=n)
            for c, n in sorted(counts.items())]


def not_reported(*, session: Session, ids: Select[Any], opened: set[int], as_of: date
                 ) -> list[NotReported]:
    """Opened projects with no activity row in `as_of`'s calendar month (up to `as_of`)."""
    first = month_start(as_of)
    reported = set(session.scalars(select(Activity.project_id).distinct().where(
        Activity.project_id.in_(ids), Activity.occurred_on >= first,
        Activity.occurred_on <= as_of)))
    missing = sorted(opened - reported)
    if not missing:
        return []
    last = dict(session.execute(
        select(Activity.project_id, func.max(Activity.occurred_on))
        .where(Activity.project_id.in_(missing), Activity.occurred_on <= as_of)
        .group_by(Activity.project_id)).all())
    rows = session.execute(
        select(Project.id, Hospital.name_zh, Project.province_code, Project.batch)
        .join(Hospital, Hospital.code == Project.project_hospital_code)
        .where(Project.id.in_(missing)).order_by(Project.batch, Project.id)).all()
    return [NotReported(project_id=pid, name=name, province_code=prov, batch=batch,
                        last_reported=last.get(pid)) for pid, name, prov, batch in rows]


def coverage(*, session: Session, scope: Scope) -> dict[str, Any]:
    """Province × specialty matrix of centres in view: which specialties each province has a
    centre for, and where the programme's map has gaps (zero cells)."""
    from ...core.enums import Specialty
    from ..regions.models import Region

    ids = project_ids(scope)
    found = session.execute(select(Project.province_code, Project.specialties, Project.specialty)
                            .where(Project.id.in_(ids))).all()
    cells: Counter[tuple[str, str]] = Counter()
    for province, specialties, main in found:
        for spec in set(specialties or [main]):
            cells[(province, spec)] += 1
    query = select(Region.code, Region.name_zh, Region.name_en).where(Region.level == "province")
    if scope.province is not None:
        query = query.where(Region.code == scope.province + "0000")
    provinces = session.execute(query.order_by(Region.code)).all()
    specialties = [s.value for s in Specialty if s.value not in {"other"}]
    return {
        "specialties": specialties,
        "rows": [{"code": c, "name_zh": zh, "name_en": en,
                  "cells": {s: cells[(c, s)] for s in specialties},
                  "total": sum(cells[(c, s)] for s in specialties)} for c, zh, en in provinces],
        "gaps": sum(1 for c, *_ in provinces for s in specialties if not cells[(c, s)]),
    }


def default_as_of(session: Session, scope: Scope) -> date:
    return newest_date(session=session, ids=project_ids(scope), as_of=today_beijing()) \
        or today_beijing()

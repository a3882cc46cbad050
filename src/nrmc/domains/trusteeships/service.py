"""Trusteeships (托管): record them, report progress, and flag those behind their path.

The path is a straight line from the start grade (on the start date) to the target grade (on
the goal deadline): on any date the expected grade rank is
    start_rank + (target_rank − start_rank) × elapsed,  elapsed = clamp((d − start)/(deadline − start), 0, 1)
and the hospital is behind when the grade last reported is below the whole grades expected by
then (⌊expected⌋). Posts and departments are expected in proportion to elapsed time and are
behind below 80 % of that; a trusteeship without a report for 120 days is behind too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from ...core import codes
from ...core.enums import Role
from ...core.errors import Conflict, Forbidden, NotFound
from ...core.inputs import FieldError, field_error
from ..audit import service as audit
from ..hospitals.models import Hospital
from ..projects import service as projects
from ..users.scope import Scope
from ..users.service import Refused
from .models import Trusteeship, TrusteeshipReport
from .schemas import (
    Grade,
    Progress,
    ReportIn,
    ReportOut,
    TrusteeshipDetail,
    TrusteeshipIn,
    TrusteeshipOut,
)

STALE_DAYS = 120
SLACK = 0.8


def visible_clause(scope: Scope) -> ColumnElement[bool]:
    """A trusteeship is visible to whoever may see its managing or its managed hospital."""
    if scope.national:
        return true()
    managing, managed = aliased(Hospital), aliased(Hospital)
    return Trusteeship.id.in_(
        select(Trusteeship.id)
        .join(managing, managing.code == Trusteeship.managing_hospital_code)
        .join(managed, managed.code == Trusteeship.managed_hospital_code)
        .where(or_(scope.hospital_clause(managing.code, managing.region_code),
                   scope.hospital_clause(managed.code, managed.region_code))))


def end_date(t: Trusteeship) -> date:
    try:
        return t.start_date.replace(year=t.start_date.year + t.term_years)
    except ValueError:
        return t.start_date.replace(year=t.start_date.year + t.term_years, day=28)


def progress(t: Trusteeship, reports: list[TrusteeshipReport], as_of: date) -> Progress:
    span = max((t.goal_deadline - t.start_date).days, 1)
    elapsed = min(max((as_of - t.start_date).days / span, 0.0), 1.0)
    start, target = Grade(t.start_grade).rank, Grade(t.target_grade).rank
    expected = start + (target - start) * elapsed
    seen = [r for r in reports if r.reported_on <= as_of]
    last = max(seen, key=lambda r: r.reported_on) if seen else None
    grade = Grade(last.grade) if last else Grade(t.start_grade)
    posts = last.posts_filled if last else 0
    departments = last.departments_opened if last else 0
    posts_expected = math.floor(t.posts_planned * elapsed)
    departments_expected = math.floor(t.departments_planned * elapsed)
    behind = []
    if grade.rank < math.floor(expected + 1e-9):
        behind.append(f"等级落后于路径：应达{list(Grade)[math.floor(expected + 1e-9)].label_zh}，"
                      f"现为{grade.label_zh} / grade behind its path")
    if posts < SLACK * posts_expected:
        behind.append(f"派驻岗位 {posts}/{posts_expected} / posts filled behind")
    if departments < SLACK * departments_expected:
        behind.append(f"开设科室 {departments}/{departments_expected} / departments behind")
    if as_of >= t.start_date + timedelta(days=STALE_DAYS) and (
            last is None or (as_of - last.reported_on).days > STALE_DAYS):
        behind.append(f"超过{STALE_DAYS}天未报送 / no report for {STALE_DAYS} days")
    return Progress(as_of=as_of, elapsed=round(elapsed, 4), grade=grade.value,
                    expected_rank=round(expected, 3), posts_filled=posts,
                    posts_expected=posts_expected, departments_opened=departments,
                    departments_expected=departments_expected,
                    last_report=last.reported_on if last else None, behind=behind)


def _names(session: Session, rows: list[Trusteeship]) -> dict[str, str]:
    wanted = {t.managing_hospital_code for t in rows} | {t.managed_hospital_code for t in rows}
    if not wanted:
        return {}
    return dict(session.execute(select(Hospital.code, Hospital.name_zh)
                                .where(Hospital.code.in_(wanted))).all())


def _out(t: Trusteeship, names: dict[str, str], reports: list[TrusteeshipReport],
         as_of: date) -> TrusteeshipOut:
    return TrusteeshipOut(
        id=t.id, managing_hospital_code=t.managing_hospital_code,
        managing_hospital=names.get(t.managing_hospital_code, t.managing_hospital_code),
        managed_hospital_code=t.managed_hospital_code,
        managed_hospital=names.get(t.managed_hospital_code, t.managed_hospital_code),
        province_code=t.province_code, project_id=t.project_id, start_date=t.start_date,
        term_years=t.term_years, end_date=end_date(t), separated=t.separated,
        start_grade=t.start_grade, target_grade=t.target_grade, goal_deadline=t.goal_deadline,
        posts_planned=t.posts_planned, departments_planned=t.departments_planned, note=t.note,
        synthetic=t.synthetic, progress=progress(t, reports, as_of))


def list_visible(*, session: Session, scope: Scope, as_of: date, province: str | None = None,
                 behind_only: bool = False) -> list[TrusteeshipOut]:
    """Visible trusteeships with their progress (three queries whatever their number)."""
    query = select(Trusteeship).where(visible_clause(scope)).order_by(Trusteeship.id)
    if province:
        query = query.where(Trusteeship.province_code == codes.province_of(province))
    rows = list(session.scalars(query))
    reports: dict[int, list[TrusteeshipReport]] = defaultdict(list)
    if rows:
        for r in session.scalars(select(TrusteeshipReport).where(
                TrusteeshipReport.trusteeship_id.in_([t.id for t in rows]),
                TrusteeshipReport.reported_on <= as_of)):
            reports[r.trusteeship_id].append(r)
    names = _names(session, rows)
    out = [_out(t, names, reports[t.id], as_of) for t in rows]
    return [t for t in out if t.progress.behind] if behind_only else out


def get_visible(*, session: Session, scope: Scope, trusteeship_id: int) -> Trusteeship:
    found = session.scalars(select(Trusteeship).where(
        Trusteeship.id == trusteeship_id, visible_clause(scope))).first()
    if found is None:
        raise NotFound(f"no trusteeship with id {trusteeship_id}")
    return found


def detail(*, session: Session, scope: Scope, trusteeship_id: int, as_of: date) -> TrusteeshipDetail:
    t = get_visible(session=session, scope=scope, trusteeship_id=trusteeship_id)
    reports = list(session.scalars(select(TrusteeshipReport).where(
        TrusteeshipReport.trusteeship_id == t.id).order_by(TrusteeshipReport.reported_on)))
    out = _out(t, _names(session, [t]), reports, as_of)
    return TrusteeshipDetail(**out.model_dump(), reports=[ReportOut(
        reported_on=r.reported_on, grade=r.grade, posts_filled=r.posts_filled,
        departments_opened=r.departments_opened, technologies=r.technologies,
        outpatients=r.outpatients, surgeries=r.surgeries) for r in reports])


def may_create(scope: Scope) -> bool:
    """Whether the caller may record trusteeships at all: the rule `create` applies first, so
    the pages offer the form to exactly the callers the API accepts. A trusteeship is an
    agreement between hospitals' managements: officers and hospital managers record it,
    clinicians (who may write referrals) do not. Which hospitals a caller may name is checked
    per trusteeship (`problems`)."""
    return scope.role not in (Role.national_analyst, Role.clinician)


def require_create(scope: Scope) -> None:
    """Forbidden for callers `may_create` refuses."""
    if not may_create(scope):
        raise Forbidden("trusteeships are recorded by officers and hospital managers / "
                        "托管协议由卫生健康行政部门和医院管理人员录入")


def problems(*, session: Session, scope: Scope, data: TrusteeshipIn) -> list[FieldError]:
    """What the store refuses in `data`, by field: an unknown hospital, neither hospital within
    the caller's scope (one of them must be: a county's manager records the city hospital that
    runs it), a project the caller cannot see, or the same arrangement already recorded."""
    found = {h.code: h for h in session.scalars(select(Hospital).where(Hospital.code.in_(
        [data.managing_hospital_code, data.managed_hospital_code])))}
    out = [field_error(name, "hospital_not_found", text=code[:50])
           for name, code in (("managing_hospital_code", data.managing_hospital_code),
                              ("managed_hospital_code", data.managed_hospital_code))
           if code not in found]
    if not out and not any(scope.allows_hospital(h.code, h.region_code) for h in found.values()):
        out.append(field_error("managed_hospital_code", "trusteeship_out_of_scope"))
    if data.project_id is not None:
        try:
            projects.get_visible(session=session, scope=scope, project_id=data.project_id)
        except NotFound:
            out.append(field_error("project_id", "project_unknown", id=data.project_id))
    if not out:
        same = session.scalar(select(Trusteeship.id).where(
            Trusteeship.managing_hospital_code == data.managing_hospital_code,
            Trusteeship.managed_hospital_code == data.managed_hospital_code,
            Trusteeship.start_date == data.start_date).limit(1))
        if same is not None:
            out.append(field_error("start_date", "trusteeship_recorded", id=same))
    return out


def create(*, session: Session, scope: Scope, data: TrusteeshipIn, source: str = "") -> Trusteeship:
    """Record one trusteeship (audited); Forbidden for read-only callers, Refused (422 naming
    each field) for what `problems` finds."""
    require_create(scope)
    refused = problems(session=session, scope=scope, data=data)
    if refused:
        raise Refused(refused)
    managed = session.get(Hospital, data.managed_hospital_code)
    assert managed is not None  # checked by problems()
    row = Trusteeship(**data.model_dump(exclude={"start_grade", "target_grade"}),
                      start_grade=data.start_grade.value, target_grade=data.target_grade.value,
                      province_code=codes.province_of(managed.region_code))
    session.add(row)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="trusteeship.create",
                 object_type="trusteeship", object_id=row.id,
                 after=data.model_dump(mode="json"), source=source)
    return row


def add_report(*, session: Session, scope: Scope, trusteeship_id: int, data: ReportIn,
               source: str = "") -> TrusteeshipReport:
    t = get_visible(session=session, scope=scope, trusteeship_id=trusteeship_id)
    scope.require_write()
    taken = session.scalar(select(func.count()).select_from(TrusteeshipReport).where(
        TrusteeshipReport.trusteeship_id == t.id,
        TrusteeshipReport.reported_on == data.reported_on))
    if taken:
        raise Conflict(f"a report for {data.reported_on} already exists")
    row = TrusteeshipReport(trusteeship_id=t.id, **data.model_dump(exclude={"grade"}),
                            grade=data.grade.value)
    session.add(row)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="trusteeship.report",
                 object_type="trusteeship", object_id=t.id, after=data.model_dump(mode="json"),
                 source=source)
    return row

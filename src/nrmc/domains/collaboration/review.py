"""Monthly review (data approval) of a project's ledger, by the province.

A month is `open` until the hospital submits it; a reviewer (the national admin, or a
provincial admin of the project hospital's province) marks a submitted month `reviewed` or
`returned` with a comment. A reviewed month is locked: no ledger row dated in it may be added,
changed or deleted, by anyone, until the reviewer reopens it. Each move is audited.

A row's month is the month of its record date: an activity's date (the weekly sheet dates its
rows on the Monday), a dispatch's start, a technology's first case, a trainee's start and a
site visit's date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...core.enums import MonthStatus, Role
from ...core.errors import Conflict, Forbidden, InvalidTransition
from ...core.inputs import EARLIEST_DATE, today_beijing
from ..audit import service as audit
from ..hospitals.models import Hospital
from ..projects.models import Project
from ..users.scope import Scope
from .access import may_record, visible_project, writable_project
from .models import Activity, Dispatch, MonthReview, SiteVisit, Technology, Trainee

MONTH = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])$")
REVIEWERS = frozenset({Role.national_admin, Role.provincial_officer})


class MonthLocked(Conflict):
    """A write dated in a reviewed month."""


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(text: str) -> str:
    """A YYYY-MM month inside the recordable window, or Conflict naming the rule."""
    match = MONTH.match(text.strip())
    if not match:
        raise Conflict(f"{text!r} is not a month (YYYY-MM) / 月份格式应为 YYYY-MM")
    first = date(int(match[1]), int(match[2]), 1)
    if first < EARLIEST_DATE.replace(day=1) or first > today_beijing():
        raise Conflict(f"month {text} is outside 2019-01 to this month / 月份超出范围")
    return match[0]


@dataclass(frozen=True)
class MonthState:
    month: str
    status: MonthStatus
    comment: str = ""
    updated_by: str = ""
    updated_at: datetime | None = None


def states(session: Session, project_id: int, months: Iterable[str]) -> dict[str, MonthState]:
    """Each month's review state (open where nothing was recorded), in one query."""
    wanted = sorted(set(months))
    found = {r.month: r for r in session.scalars(select(MonthReview).where(
        MonthReview.project_id == project_id, MonthReview.month.in_(wanted)))}
    return {m: _state(m, found.get(m)) for m in wanted}


def _state(month: str, row: MonthReview | None) -> MonthState:
    if row is None:
        return MonthState(month, MonthStatus.open)
    return MonthState(month, MonthStatus(row.status), row.comment, row.updated_by, row.updated_at)


def check_open(session: Session, project_id: int, days: Iterable[date | None]) -> None:
    """Refuse a write dated in a reviewed month (MonthLocked, a 409 with a bilingual reason)."""
    months = {month_of(d) for d in days if d is not None}
    if not months:
        return
    locked = sorted(session.scalars(select(MonthReview.month).where(
        MonthReview.project_id == project_id, MonthReview.month.in_(months),
        MonthReview.status == MonthStatus.reviewed.value)))
    if locked:
        raise MonthLocked(
            f"{', '.join(locked)} of project {project_id} has been reviewed and is locked; ask "
            f"the provincial reviewer to reopen it / {', '.join(locked)} 的数据已审核锁定，"
            f"如需修改请联系省级审核人员重新开放")


def may_review(session: Session, scope: Scope, project: Project) -> bool:
    return scope.role in REVIEWERS and may_record(session, scope, project)


def _reviewable(session: Session, scope: Scope, project_id: int) -> Project:
    project = visible_project(session, scope, project_id)
    if not may_review(session, scope, project):
        raise Forbidden("only national admins and the admins of the project's province review "
                        "its months / 只有国家级管理员和项目所在省的管理员可以审核")
    return project


def _move(session: Session, scope: Scope, project_id: int, month: str, allowed_from: set[MonthStatus],
          to: MonthStatus, comment: str, source: str) -> MonthState:
    row = session.scalars(select(MonthReview).where(MonthReview.project_id == project_id,
                                                    MonthReview.month == month)).first()
    current = MonthStatus(row.status) if row else MonthStatus.open
    if current not in allowed_from:
        raise InvalidTransition(
            f"month {month} is {current.value}; it cannot become {to.value} / "
            f"该月状态为{current.label_zh}，不能改为{to.label_zh}")
    if row is None:
        row = MonthReview(project_id=project_id, month=month, status=to.value)
        session.add(row)
    row.status, row.comment = to.value, comment
    row.updated_by, row.updated_at = scope.actor, datetime.now(UTC)
    session.flush()
    audit.record(session=session, actor=scope.actor, action=f"month.{to.value}",
                 object_type="month_review", object_id=f"{project_id}:{month}",
                 before={"status": current.value}, after={"status": to.value, "comment": comment},
                 source=source)
    return _state(month, row)


def submit(*, session: Session, scope: Scope, project_id: int, month: str, source: str = "") -> MonthState:
    """The hospital hands a month in for review (again, after it was returned)."""
    scope.require_write()
    writable_project(session, scope, project_id)
    return _move(session, scope, project_id, parse_month(month),
                 {MonthStatus.open, MonthStatus.returned}, MonthStatus.submitted, "", source)


def decide(*, session: Session, scope: Scope, project_id: int, month: str, status: MonthStatus | str,
           comment: str = "", source: str = "") -> MonthState:
    """A reviewer marks a submitted month reviewed (locking it) or returns it with a comment;
    `open` reopens a reviewed month."""
    scope.require_write()
    _reviewable(session, scope, project_id)
    target = MonthStatus(status)
    month = parse_month(month)
    if target == MonthStatus.returned and not comment.strip():
        raise Conflict("say why the month is returned / 退回须填写意见")
    allowed = {MonthStatus.reviewed: {MonthStatus.submitted},
               MonthStatus.returned: {MonthStatus.submitted},
               MonthStatus.open: {MonthStatus.reviewed}}.get(target)
    if allowed is None:
        raise InvalidTransition(f"a reviewer cannot set {target.value} / 审核人员不能设为该状态")
    return _move(session, scope, project_id, month, allowed, target, comment.strip(), source)


def months_between(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@dataclass(frozen=True)
class OverviewLine:
    project_id: int
    hospital: str
    state: MonthState
    rows: int  # ledger rows dated in the month


def overview(*, session: Session, scope: Scope, month: str, limit: int = 500) -> list[OverviewLine]:
    """Every project the caller reviews, with the month's state and how many ledger rows are
    dated in it (a fixed handful of grouped queries, whatever the number of projects)."""
    if scope.role not in REVIEWERS:
        return []
    month = parse_month(month)
    first = date(int(month[:4]), int(month[5:]), 1)
    last = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    projects = session.execute(
        select(Project.id, Hospital.name_zh).join(Hospital, Hospital.code == Project.project_hospital_code)
        .where(scope.hospital_clause(Hospital.code, Hospital.region_code))
        .order_by(Project.id).limit(limit)).all()
    ids = [p for p, _ in projects]
    counts: dict[int, int] = {}
    for model, column in ((Activity, Activity.occurred_on), (Dispatch, Dispatch.start_date),
                          (Technology, Technology.first_case_on), (Trainee, Trainee.trained_on),
                          (SiteVisit, SiteVisit.visited_on)):
        for project_id, n in session.execute(
                select(model.project_id, func.count()).where(
                    model.project_id.in_(ids), column >= first, column < last)
                .group_by(model.project_id)):
            counts[project_id] = counts.get(project_id, 0) + int(n)
    found = {r.project_id: r for r in session.scalars(select(MonthReview).where(
        MonthReview.project_id.in_(ids), MonthReview.month == month))}
    return [OverviewLine(p, name, _state(month, found.get(p)), counts.get(p, 0))
            for p, name in projects]

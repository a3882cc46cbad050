"""The weekly activity sheet: one grid per week, a row per department, a column per figure.

Each filled cell is one activity line of the project dated on the week's Monday (so a week
belongs to the month its Monday is in, for the monthly review). Saving the sheet changes only
the cells that changed: a new figure adds a line, a changed one updates it, a cleared one
deletes it — each through entry.create/update/delete, so each is checked and audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import ActivityKind
from ...core.inputs import Count, FieldError, RecordDate, RequiredShortText, explain
from ..users.scope import Scope
from . import entry
from .access import visible_project
from .models import Activity
from .schemas import ActivityFields

K = ActivityKind


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    kind: ActivityKind
    grade: int | None = None
    complex_case: bool = False


FIGURES = (
    Figure("outpatients", "门诊人次 Outpatients", K.outpatient),
    Figure("surgery_1", "一级手术 Surgery grade 1", K.surgery, 1),
    Figure("surgery_2", "二级手术 Grade 2", K.surgery, 2),
    Figure("surgery_3", "三级手术 Grade 3", K.surgery, 3),
    Figure("surgery_4", "四级手术 Grade 4", K.surgery, 4),
    Figure("mdt", "疑难/多学科会诊 Complex & MDT consultations", K.consultation, None, True),
    Figure("remote", "远程会诊 Remote consultations", K.teleconsultation),
    Figure("teaching", "教学次数 Teaching sessions", K.teaching),
    Figure("rare", "罕见病例 Rare-disease cases", K.rare_disease),
)
ROWS = 12  # department lines on the sheet


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _figure_of(a: Activity) -> Figure | None:
    return next((f for f in FIGURES if f.kind.value == a.kind and f.grade == a.surgery_grade
                 and f.complex_case == bool(a.complex_case)), None)


def load(*, session: Session, scope: Scope, project_id: int, week: date) -> dict[str, dict[str, Activity]]:
    """department → figure key → the activity line stored for that cell (one query)."""
    visible_project(session, scope, project_id)
    found = session.scalars(select(Activity).where(
        Activity.project_id == project_id, Activity.occurred_on == week,
        Activity.dispatch_id.is_(None)).order_by(Activity.department, Activity.id))
    grid: dict[str, dict[str, Activity]] = {}
    for a in found:
        figure = _figure_of(a)
        if figure is not None:
            grid.setdefault(a.department, {}).setdefault(figure.key, a)
    return grid


def check_week(text: str) -> tuple[date | None, list[FieldError]]:
    try:
        return monday(TypeAdapter(RecordDate).validate_python(text)), []
    except ValidationError as exc:
        return None, [FieldError("week", e.code, e.message_zh, e.message_en) for e in explain(exc)]


def parse(form: Mapping[str, str]) -> tuple[dict[str, dict[str, int]], list[FieldError]]:
    """The typed sheet (fields `dept-<i>` and `<i>-<figure>`) as department → figure → count,
    with an error per refused cell (field named `<i>-<figure>` or `dept-<i>`)."""
    counts, errors = TypeAdapter(Count), []
    department = TypeAdapter(RequiredShortText)
    sheet: dict[str, dict[str, int]] = {}
    for i in range(ROWS):
        cells = {f.key: (form.get(f"{i}-{f.key}") or "").strip() for f in FIGURES}
        name_text = (form.get(f"dept-{i}") or "").strip()
        if not name_text and not any(cells.values()):
            continue
        try:
            name = department.validate_python(name_text)
        except ValidationError as exc:
            errors += [FieldError(f"dept-{i}", e.code, e.message_zh, e.message_en) for e in explain(exc)]
            continue
        row = sheet.setdefault(name, {})
        for key, text in cells.items():
            if not text:
                continue
            try:
                row[key] = counts.validate_python(text)
            except ValidationError as exc:
                errors += [FieldError(f"{i}-{key}", e.code, e.message_zh, e.message_en)
                           for e in explain(exc)]
    return sheet, errors


def save(*, session: Session, scope: Scope, project_id: int, week: date,
         sheet: dict[str, dict[str, int]], source: str = "") -> int:
    """Make the stored week equal the sheet; returns the number of lines changed.
    A department left off the sheet keeps nothing: its lines of that week are deleted."""
    kind = entry.KINDS["activities"]
    stored = load(session=session, scope=scope, project_id=project_id, week=week)
    changed = 0
    for department in sorted(set(stored) | set(sheet)):
        have, want = stored.get(department, {}), sheet.get(department, {})
        for figure in FIGURES:
            line, count = have.get(figure.key), want.get(figure.key)
            if line is not None and (count is None or count == 0):
                entry.delete(session=session, scope=scope, project_id=project_id, kind=kind,
                             row_id=line.id, source=source)
            elif count and line is None:
                entry.create(session=session, scope=scope, project_id=project_id, kind=kind,
                             data=_fields(figure, week, department, count), source=source)
            elif count and line is not None and line.count != count:
                entry.update(session=session, scope=scope, project_id=project_id, kind=kind,
                             row_id=line.id, data=_fields(figure, week, department, count),
                             source=source)
            else:
                continue
            changed += 1
    return changed


def _fields(figure: Figure, week: date, department: str, count: int) -> ActivityFields:
    return ActivityFields(occurred_on=week, kind=figure.kind, department=department, count=count,
                          surgery_grade=figure.grade, complex_case=figure.complex_case,
                          note="weekly sheet")


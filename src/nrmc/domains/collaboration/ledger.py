"""The activity ledger, technologies and trainees: dated rows from which KPIs are computed.

An activity tied to a dispatch belongs to that dispatch's project and must fall within the
dispatch's dates (an expert cannot operate at the project hospital before arriving). Imports
check every row, report every bad one with its row number and reason, and store all or nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import ActivityKind
from ...core.errors import Conflict, ImportRejected, NotFound, RowProblem
from ...core.tabular import check_columns, read_table
from ..audit import service as audit
from ..users.scope import Scope
from .access import visible_project, visible_project_ids
from .models import Activity, Dispatch, Technology, Trainee
from .schemas import ActivityIn, TechnologyIn, TraineeIn
from .service import get_dispatch

IMPORT_COLUMNS = ("date", "kind", "project_id", "dispatch_id", "count", "surgery_grade",
                  "complex_case", "note")
REQUIRED_COLUMNS = ("date", "kind")
TRUE = {"1", "true", "yes", "y", "是"}


def _resolve(session: Session, scope: Scope, data: ActivityIn) -> tuple[int, Dispatch | None]:
    """The activity's project and dispatch, checked: in scope, consistent, dated in the dispatch."""
    dispatch = None
    if data.dispatch_id is not None:
        dispatch = get_dispatch(session=session, scope=scope, dispatch_id=data.dispatch_id)
        if data.project_id is not None and data.project_id != dispatch.project_id:
            raise Conflict(f"dispatch {dispatch.id} belongs to project {dispatch.project_id}, "
                           f"not {data.project_id}")
        if not dispatch.start_date <= data.occurred_on <= dispatch.end_date:
            raise Conflict(f"{data.occurred_on} is outside dispatch {dispatch.id} "
                           f"({dispatch.start_date} to {dispatch.end_date})")
        return dispatch.project_id, dispatch
    assert data.project_id is not None  # the schema requires one of the two
    return visible_project(session, scope, data.project_id).id, None


def _row(data: ActivityIn, project_id: int) -> Activity:
    return Activity(project_id=project_id, dispatch_id=data.dispatch_id,
                    occurred_on=data.occurred_on, kind=data.kind.value, count=data.count,
                    surgery_grade=data.surgery_grade, complex_case=data.complex_case,
                    note=data.note)


def add_activity(*, session: Session, scope: Scope, data: ActivityIn, source: str = "") -> Activity:
    scope.require_write()
    project_id, _ = _resolve(session, scope, data)
    activity = _row(data, project_id)
    session.add(activity)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="activity.create",
                 object_type="activity", object_id=activity.id,
                 after=data.model_dump(mode="json") | {"project_id": project_id}, source=source)
    return activity


def list_activities(
    *, session: Session, scope: Scope, project_id: int | None = None,
    dispatch_id: int | None = None, kind: ActivityKind | str | None = None,
    start: date | None = None, end: date | None = None, limit: int | None = None,
) -> list[Activity]:
    query = (select(Activity).where(Activity.project_id.in_(visible_project_ids(scope)))
             .order_by(Activity.occurred_on, Activity.id))
    if project_id is not None:
        visible_project(session, scope, project_id)
        query = query.where(Activity.project_id == project_id)
    if dispatch_id is not None:
        query = query.where(Activity.dispatch_id == dispatch_id)
    if kind is not None:
        query = query.where(Activity.kind == ActivityKind(kind).value)
    if start is not None:
        query = query.where(Activity.occurred_on >= start)
    if end is not None:
        query = query.where(Activity.occurred_on <= end)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def import_activities(*, session: Session, scope: Scope, path: Path) -> int:
    """Add the activities of a CSV/XLSX file (columns IMPORT_COLUMNS) in one transaction.

    Every bad row is reported (ImportRejected lists row, field and reason) and then nothing is
    stored. Returns the number of rows added.
    """
    scope.require_write()
    rows = read_table(path)
    check_columns(path, rows, REQUIRED_COLUMNS)
    problems: list[RowProblem] = []
    parsed: list[Activity] = []
    for number, raw in rows:
        def problem(field: str, reason: str, _n: int = number) -> None:
            problems.append(RowProblem(str(path), _n, field, reason))

        values = {
            "occurred_on": raw.get("date", ""), "kind": raw.get("kind", "").strip().lower(),
            "project_id": raw.get("project_id") or None, "dispatch_id": raw.get("dispatch_id") or None,
            "count": raw.get("count") or 1, "surgery_grade": raw.get("surgery_grade") or None,
            "complex_case": raw.get("complex_case", "").strip().lower() in TRUE,
            "note": raw.get("note", ""),
        }
        try:
            data = ActivityIn.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                message = error["msg"].removeprefix("Value error, ")
                where = str(error["loc"][0]) if error["loc"] else _field_of(message)
                problem({"occurred_on": "date"}.get(where, where), message)
            continue
        try:
            project_id, _ = _resolve(session, scope, data)
        except (Conflict, NotFound) as exc:
            problem("dispatch_id" if data.dispatch_id is not None else "project_id", str(exc))
            continue
        parsed.append(_row(data, project_id))
    if problems:
        raise ImportRejected(str(path), problems)
    session.add_all(parsed)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="activity.import",
                 object_type="activity_import", object_id=path.name,
                 after={"rows": len(parsed), "ids": [a.id for a in parsed][:1000]},
                 source=str(path))
    return len(parsed)


def _field_of(message: str) -> str:
    """The column a whole-row rule is about (the schema reports those without a field)."""
    for word, field in (("grade", "surgery_grade"), ("complex", "complex_case"),
                        ("project_id", "project_id")):
        if word in message:
            return field
    return "row"


def add_technology(*, session: Session, scope: Scope, data: TechnologyIn,
                   source: str = "") -> Technology:
    scope.require_write()
    visible_project(session, scope, data.project_id)
    tech = Technology(project_id=data.project_id, name=data.name, department=data.department,
                      first_case_on=data.first_case_on, cases_since=data.cases_since,
                      gap_level=data.gap_level.value)
    session.add(tech)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="technology.create",
                 object_type="technology", object_id=tech.id,
                 after=data.model_dump(mode="json"), source=source)
    return tech


def list_technologies(*, session: Session, scope: Scope, project_id: int) -> list[Technology]:
    visible_project(session, scope, project_id)
    return list(session.scalars(select(Technology).where(Technology.project_id == project_id)
                                .order_by(Technology.first_case_on, Technology.id)))


def add_trainee(*, session: Session, scope: Scope, data: TraineeIn, source: str = "") -> Trainee:
    scope.require_write()
    visible_project(session, scope, data.project_id)
    trainee = Trainee(project_id=data.project_id, name=data.name, programme=data.programme,
                      hours=data.hours, trained_on=data.trained_on)
    session.add(trainee)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="trainee.create",
                 object_type="trainee", object_id=trainee.id,
                 after=data.model_dump(mode="json"), source=source)
    return trainee


def list_trainees(*, session: Session, scope: Scope, project_id: int) -> list[Trainee]:
    visible_project(session, scope, project_id)
    return list(session.scalars(select(Trainee).where(Trainee.project_id == project_id)
                                .order_by(Trainee.trained_on, Trainee.id)))

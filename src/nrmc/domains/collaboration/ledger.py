"""The activity ledger, technologies and trainees: dated rows from which KPIs are computed.

An activity tied to a dispatch belongs to that dispatch's project and must fall within the
dispatch's dates (an expert cannot operate at the project hospital before arriving). Imports
(activities, technologies, trainees) check every row, report every bad one with its row number,
field and reason, and store all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import ActivityKind, GapLevel
from ...core.errors import Conflict, Forbidden, ImportRejected, NotFound, RowProblem
from ...core.tabular import check_columns, read_table
from ..audit import service as audit
from ..users.scope import Scope
from . import review
from .access import visible_project, visible_project_ids, writable_project
from .models import Activity, Dispatch, Technology, Trainee
from .schemas import ActivityIn, TechnologyIn, TraineeIn
from .service import get_dispatch

IMPORT_COLUMNS = ("date", "kind", "project_id", "dispatch_id", "department", "count",
                  "surgery_grade", "complex_case", "note")
REQUIRED_COLUMNS = ("date", "kind")
# Technology and trainee files use the schema's field names (the columns `list --format csv`
# prints); project_id comes first because an import into one project may leave it out.
TECHNOLOGY_COLUMNS = ("project_id", "name", "department", "first_case_on", "cases_since",
                      "gap_level")
TECHNOLOGY_REQUIRED = ("project_id", "name", "first_case_on", "gap_level")
TRAINEE_COLUMNS = ("project_id", "name", "home_hospital", "county", "programme", "hours",
                   "trained_on", "end_date", "completed")
TRAINEE_REQUIRED = ("project_id", "name", "programme", "trained_on")
Row = Activity | Technology | Trainee


def resolve(session: Session, scope: Scope, data: ActivityIn) -> tuple[int, Dispatch | None]:
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
    return writable_project(session, scope, data.project_id).id, None


def _row(data: ActivityIn, project_id: int) -> Activity:
    return Activity(project_id=project_id, dispatch_id=data.dispatch_id,
                    occurred_on=data.occurred_on, kind=data.kind.value, count=data.count,
                    surgery_grade=data.surgery_grade, complex_case=data.complex_case,
                    note=data.note, department=data.department)


def add_activity(*, session: Session, scope: Scope, data: ActivityIn, source: str = "") -> Activity:
    scope.require_write()
    project_id, _ = resolve(session, scope, data)
    review.check_open(session, project_id, [data.occurred_on])
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
    def build(raw: dict[str, str]) -> Activity:
        data = ActivityIn.model_validate({
            "occurred_on": raw.get("date", ""), "kind": raw.get("kind", "").strip().lower(),
            "project_id": raw.get("project_id") or None, "dispatch_id": raw.get("dispatch_id") or None,
            "count": raw.get("count") or 1, "surgery_grade": raw.get("surgery_grade") or None,
            "complex_case": raw.get("complex_case", ""), "note": raw.get("note", ""),
            "department": raw.get("department", ""),
        })
        try:
            project_id, _ = resolve(session, scope, data)
        except (Conflict, NotFound, Forbidden) as exc:
            raise _Refused("dispatch_id" if data.dispatch_id is not None else "project_id",
                           str(exc)) from exc
        _open_month(session, project_id, data.occurred_on, "date")
        return _row(data, project_id)

    return _import(session=session, scope=scope, path=path, required=REQUIRED_COLUMNS,
                   build=build, noun="activity", rename={"occurred_on": "date"})


class _Refused(Exception):
    """A row refused for a reason the schema cannot see (unknown project, outside a dispatch)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def _import(
    *, session: Session, scope: Scope, path: Path, required: Sequence[str],
    build: Callable[[dict[str, str]], Row], noun: str, rename: Mapping[str, str] | None = None,
) -> int:
    """Build one row object per data row; store them all with one audit entry, or none.

    `build` raises ValidationError (reported per field; `rename` maps schema fields to the
    file's column names) or _Refused. Every bad row is collected before refusing the file.
    """
    scope.require_write()
    rows = read_table(path)
    check_columns(path, rows, required)
    problems: list[RowProblem] = []
    parsed: list[Row] = []
    for number, raw in rows:
        try:
            parsed.append(build(raw))
        except ValidationError as exc:
            for error in exc.errors():
                message = error["msg"].removeprefix("Value error, ")
                where = str(error["loc"][0]) if error["loc"] else _field_of(message)
                problems.append(RowProblem(str(path), number, (rename or {}).get(where, where),
                                           message))
        except _Refused as exc:
            problems.append(RowProblem(str(path), number, exc.field, exc.reason))
    if problems:
        raise ImportRejected(str(path), problems)
    session.add_all(parsed)
    session.flush()
    audit.record(session=session, actor=scope.actor, action=f"{noun}.import",
                 object_type=f"{noun}_import", object_id=path.name,
                 after={"rows": len(parsed), "ids": [r.id for r in parsed][:1000]},
                 source=str(path))
    return len(parsed)


def _field_of(message: str) -> str:
    """The column a whole-row rule is about (the schema reports those without a field)."""
    for word, field in (("grade", "surgery_grade"), ("complex", "complex_case"),
                        ("project_id", "project_id")):
        if word in message:
            return field
    return "row"


def _technology(data: TechnologyIn) -> Technology:
    return Technology(project_id=data.project_id, name=data.name, department=data.department,
                      first_case_on=data.first_case_on, cases_since=data.cases_since,
                      gap_level=data.gap_level.value)


def add_technology(*, session: Session, scope: Scope, data: TechnologyIn,
                   source: str = "") -> Technology:
    scope.require_write()
    writable_project(session, scope, data.project_id)
    review.check_open(session, data.project_id, [data.first_case_on])
    tech = _technology(data)
    session.add(tech)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="technology.create",
                 object_type="technology", object_id=tech.id,
                 after=data.model_dump(mode="json"), source=source)
    return tech


def list_technologies(*, session: Session, scope: Scope, project_id: int,
                      gap_level: GapLevel | str | None = None) -> list[Technology]:
    """A project's technologies by first case; `gap_level` keeps those filling that gap."""
    visible_project(session, scope, project_id)
    query = (select(Technology).where(Technology.project_id == project_id)
             .order_by(Technology.first_case_on, Technology.id))
    if gap_level is not None:
        query = query.where(Technology.gap_level == GapLevel(gap_level).value)
    return list(session.scalars(query))


def import_technologies(*, session: Session, scope: Scope, path: Path,
                        project_id: int | None = None) -> int:
    """Add the technologies of a CSV/XLSX file (columns TECHNOLOGY_COLUMNS), all or nothing.

    With `project_id` every row belongs to that project (a row naming another is refused);
    without it each row needs its own project_id.
    """
    def build(raw: dict[str, str]) -> Technology:
        cells = _cells(raw, TECHNOLOGY_COLUMNS, project_id)
        if "gap_level" in cells:
            cells["gap_level"] = cells["gap_level"].lower()
        data = TechnologyIn.model_validate(cells)
        _check_project(session, scope, data.project_id, project_id)
        _open_month(session, data.project_id, data.first_case_on, "first_case_on")
        return _technology(data)

    return _import(session=session, scope=scope, path=path,
                   required=_required(TECHNOLOGY_REQUIRED, project_id), build=build, noun="technology")


def _trainee(data: TraineeIn) -> Trainee:
    return Trainee(project_id=data.project_id, name=data.name, programme=data.programme,
                   hours=data.hours, trained_on=data.trained_on, home_hospital=data.home_hospital,
                   county=data.county, end_date=data.end_date, completed=data.completed)


def add_trainee(*, session: Session, scope: Scope, data: TraineeIn, source: str = "") -> Trainee:
    scope.require_write()
    writable_project(session, scope, data.project_id)
    review.check_open(session, data.project_id, [data.trained_on])
    trainee = _trainee(data)
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


def import_trainees(*, session: Session, scope: Scope, path: Path,
                    project_id: int | None = None) -> int:
    """Add the trainees of a CSV/XLSX file (columns TRAINEE_COLUMNS), all or nothing; the
    project as for `import_technologies`."""
    def build(raw: dict[str, str]) -> Trainee:
        data = TraineeIn.model_validate(_cells(raw, TRAINEE_COLUMNS, project_id))
        _check_project(session, scope, data.project_id, project_id)
        _open_month(session, data.project_id, data.trained_on, "trained_on")
        return _trainee(data)

    return _import(session=session, scope=scope, path=path,
                   required=_required(TRAINEE_REQUIRED, project_id), build=build, noun="trainee")


def _open_month(session: Session, project_id: int, day: date, field: str) -> None:
    """A row dated in a reviewed (locked) month is refused like any other bad row."""
    try:
        review.check_open(session, project_id, [day])
    except review.MonthLocked as exc:
        raise _Refused(field, str(exc)) from exc


def _required(columns: Sequence[str], project_id: int | None) -> list[str]:
    """The header an import needs: project_id may be left out when the import names one."""
    return [c for c in columns if project_id is None or c != "project_id"]


def _cells(raw: dict[str, str], columns: Sequence[str], project_id: int | None) -> dict[str, str]:
    """The row's non-empty known cells (an empty cell takes the schema default), with the
    project of the import filled in where the row names none."""
    cells = {k: v for k, v in raw.items() if k in columns and v != ""}
    if project_id is not None:
        cells.setdefault("project_id", str(project_id))
    return cells


def _check_project(session: Session, scope: Scope, row_project: int,
                   import_project: int | None) -> None:
    if import_project is not None and row_project != import_project:
        raise _Refused("project_id", f"row is for project {row_project}, the file is being "
                                     f"imported into project {import_project}")
    try:
        writable_project(session, scope, row_project)
    except (NotFound, Forbidden) as exc:
        raise _Refused("project_id", str(exc)) from exc

"""Ledger entry by kind: one create / update / delete for the page, the API and the uploads.

Every write goes through the same checks, in this order: the caller may record the project's
work (access.writable_project), the input passes the kind's schema (core.inputs rules), no
date of the row, before or after the change, falls in a reviewed month (review.check_open), and
the kind's own rules (an expert cannot be in two places at once, an activity of a dispatch
falls within its dates). Every change is audited with the row before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ...core.errors import Conflict, NotFound
from ...core.inputs import today_beijing
from ..audit import service as audit
from ..users.scope import Scope
from . import ledger, review, visits
from . import service as dispatches
from .access import visible_project, writable_project
from .models import Activity, Dispatch, FollowUpAction, SiteVisit, Technology, Trainee
from .schemas import (
    ActivityFields,
    ActivityIn,
    ActivityOut,
    DispatchFields,
    DispatchIn,
    SiteVisitFields,
    SiteVisitIn,
    TechnologyFields,
    TechnologyIn,
    TechnologyOut,
    TraineeFields,
    TraineeIn,
    TraineeOut,
)

Row = Dispatch | Activity | Technology | Trainee | SiteVisit


@dataclass(frozen=True)
class Kind:
    """One kind of ledger row: its URL name, schema, table and record date (the month rule)."""

    name: str
    noun: str  # audit object type
    label: str  # 中文 English
    fields: type[BaseModel]
    model: type[Any]
    record_date: Callable[[Any], date | None]
    date_field: str


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("dispatches", "dispatch", "专家派驻 Expert dispatch", DispatchFields, Dispatch,
         lambda r: r.start_date, "start_date"),
    Kind("activities", "activity", "工作量 Activities", ActivityFields, Activity,
         lambda r: r.occurred_on, "occurred_on"),
    Kind("technologies", "technology", "新技术 Technologies", TechnologyFields, Technology,
         lambda r: r.first_case_on, "first_case_on"),
    Kind("trainees", "trainee", "进修培训 Trainees", TraineeFields, Trainee,
         lambda r: r.trained_on, "trained_on"),
    Kind("visits", "site_visit", "现场调研 Site visits", SiteVisitFields, SiteVisit,
         lambda r: r.visited_on, "visited_on"),
)}


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise NotFound(f"no ledger kind {name!r}; one of {', '.join(KINDS)}") from None


def out(session: Session, kind: Kind, row: Any) -> dict[str, Any]:
    """The row as the GET of its kind returns it (JSON-ready)."""
    if kind.name == "dispatches":
        model: BaseModel = dispatches.to_out(session, row)
    elif kind.name == "activities":
        model = ActivityOut.model_validate(row)
    elif kind.name == "technologies":
        model = TechnologyOut.model_validate(row)
    elif kind.name == "trainees":
        model = TraineeOut.model_validate(row)
    else:
        model = visits.to_out(row, today=today_beijing())
    return model.model_dump(mode="json")


def fields_of(session: Session, kind: Kind, row: Any) -> dict[str, Any]:
    """The row's values under its input field names (what a PATCH merges into)."""
    values = out(session, kind, row)
    if kind.name == "visits":
        values["actions"] = [{"description": a["description"], "owner": a["owner"],
                              "due_on": a["due_on"], "done": a["status"] == "done"}
                             for a in values["actions"]]
    return {k: values[k] for k in kind.fields.model_fields if k in values}


def get_row(session: Session, scope: Scope, project_id: int, kind: Kind, row_id: int) -> Any:
    """A row of this project (NotFound for another project's, or outside the scope)."""
    writable_project(session, scope, project_id)
    row = session.get(kind.model, row_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"no {kind.noun} {row_id} in project {project_id}")
    return row


def create(*, session: Session, scope: Scope, project_id: int, kind: Kind, data: BaseModel,
           source: str = "") -> Any:
    """Store one row of `kind` (data: the kind's Fields schema) in the project."""
    scope.require_write()
    writable_project(session, scope, project_id)
    values = data.model_dump()  # each service refuses a row dated in a reviewed month
    if kind.name == "dispatches":
        return dispatches.add_dispatch(session=session, scope=scope, source=source,
                                       data=DispatchIn(project_id=project_id, **values))
    if kind.name == "activities":
        return ledger.add_activity(session=session, scope=scope, source=source,
                                   data=ActivityIn(project_id=project_id, **values))
    if kind.name == "technologies":
        return ledger.add_technology(session=session, scope=scope, source=source,
                                     data=TechnologyIn(project_id=project_id, **values))
    if kind.name == "trainees":
        return ledger.add_trainee(session=session, scope=scope, source=source,
                                  data=TraineeIn(project_id=project_id, **values))
    return visits.record_visit(session=session, scope=scope, source=source,
                               data=SiteVisitIn(project_id=project_id, **values))


def merged(session: Session, kind: Kind, row: Any, changes: dict[str, Any]) -> BaseModel:
    """The row with `changes` applied, validated by the kind's schema (pydantic's
    ValidationError names the refused fields)."""
    return kind.fields.model_validate(fields_of(session, kind, row) | changes)


def update(*, session: Session, scope: Scope, project_id: int, kind: Kind, row_id: int,
           data: BaseModel, source: str = "") -> Any:
    """Replace a row's values with `data` (see `merged`); both its old and new record dates
    must be in months not yet reviewed."""
    scope.require_write()
    row = get_row(session, scope, project_id, kind, row_id)
    before = out(session, kind, row)
    values = data.model_dump()
    review.check_open(session, project_id, [kind.record_date(row), values.get(kind.date_field)])
    _APPLY[kind.name](session, scope, row, values)
    session.flush()
    session.refresh(row)
    after = out(session, kind, row)
    audit.record(session=session, actor=scope.actor, action=f"{kind.noun}.update",
                 object_type=kind.noun, object_id=row.id, before=before, after=after,
                 source=source)
    return row


def delete(*, session: Session, scope: Scope, project_id: int, kind: Kind, row_id: int,
           source: str = "") -> None:
    scope.require_write()
    row = get_row(session, scope, project_id, kind, row_id)
    review.check_open(session, project_id, [kind.record_date(row)])
    if kind.name == "dispatches":
        used = session.scalar(select(Activity.id).where(Activity.dispatch_id == row.id).limit(1))
        if used is not None:
            raise Conflict(f"dispatch {row.id} has activities; delete or move them first / "
                           f"该派驻下有工作量记录，请先删除")
    before = out(session, kind, row)
    session.delete(row)
    session.flush()
    audit.record(session=session, actor=scope.actor, action=f"{kind.noun}.delete",
                 object_type=kind.noun, object_id=row_id, before=before, after=None,
                 source=source)


def _apply_dispatch(session: Session, scope: Scope, row: Dispatch, v: dict[str, Any]) -> None:
    expert = dispatches.expert_for(session=session, name=v["name"], home_hospital=v["home_hospital"],
                                   department=v["department"], title=v["title"])
    clash = session.scalars(select(Dispatch).where(
        Dispatch.expert_id == expert.id, Dispatch.id != row.id,
        Dispatch.start_date <= v["end_date"], Dispatch.end_date >= v["start_date"])).first()
    if clash is not None:
        raise Conflict(f"{expert.name} is already dispatched from {clash.start_date} to "
                       f"{clash.end_date} (dispatch {clash.id}) / 该专家在此期间已有派驻")
    team = dispatches.team_for(session=session, project_id=row.project_id, name=v["team"]) \
        if v["team"] else None
    row.expert_id, row.team_id, row.role = expert.id, team.id if team else None, v["role"].value
    row.start_date, row.end_date = v["start_date"], v["end_date"]
    session.expire(row, ["expert", "team"])


def _apply_activity(session: Session, scope: Scope, row: Activity, v: dict[str, Any]) -> None:
    data = ActivityIn(project_id=row.project_id, **v)
    project_id, _ = ledger.resolve(session, scope, data)
    if project_id != row.project_id:
        raise Conflict(f"dispatch {data.dispatch_id} is of another project / 派驻不属于本项目")
    row.dispatch_id, row.occurred_on, row.kind = data.dispatch_id, data.occurred_on, data.kind.value
    row.department, row.count, row.surgery_grade = data.department, data.count, data.surgery_grade
    row.complex_case, row.note = data.complex_case, data.note


def _apply_plain(session: Session, scope: Scope, row: Any, v: dict[str, Any]) -> None:
    for key, value in v.items():
        setattr(row, key, getattr(value, "value", value))


def _apply_visit(session: Session, scope: Scope, row: SiteVisit, v: dict[str, Any]) -> None:
    row.visited_on, row.lead, row.members = v["visited_on"], v["lead"], list(v["members"])
    row.findings, row.score = v["findings"], v["score"]
    kept = {(a.description, a.due_on): a for a in row.actions}
    actions: list[FollowUpAction] = []
    for a in v["actions"]:
        action = kept.pop((a["description"], a["due_on"]), None) or FollowUpAction(
            description=a["description"], due_on=a["due_on"], status="open")
        action.owner = a["owner"]
        if a["done"] and action.status != "done":
            action.status, action.closed_on = "done", today_beijing()
        elif not a["done"]:
            action.status, action.closed_on = "open", None
        actions.append(action)
    row.actions = actions


_APPLY: dict[str, Callable[[Session, Scope, Any, dict[str, Any]], None]] = {
    "dispatches": _apply_dispatch, "activities": _apply_activity,
    "technologies": _apply_plain, "trainees": _apply_plain, "visits": _apply_visit,
}


def list_rows(*, session: Session, scope: Scope, project_id: int, kind: Kind, limit: int = 50,
              offset: int = 0) -> tuple[list[Any], int]:
    """A page of the project's rows of `kind`, newest record date first, and the total."""
    visible_project(session, scope, project_id)
    order = getattr(kind.model, kind.date_field)
    base = select(kind.model).where(kind.model.project_id == project_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = base.order_by(order.desc(), kind.model.id.desc()).limit(limit).offset(offset)
    if kind.name == "visits":
        query = query.options(selectinload(SiteVisit.actions))  # one query for every visit's actions
    rows = list(session.scalars(query))
    return rows, total

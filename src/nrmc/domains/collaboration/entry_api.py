"""JSON API for recording a project's ledger: POST / PATCH / DELETE per kind, the activity and
trainee lists, and the monthly review.

`POST /api/v1/projects/{id}/{kind}` takes the field names of the rows the GET of that kind
returns (less `id`, `project_id` and derived fields); `PATCH` takes any of them and leaves the
others as they are. Refused input answers 422 naming each field (Chinese and English); a write
into a reviewed month answers 409. Nothing is stored from a refused request.
"""

# No `from __future__ import annotations`: the POST routes are made in a loop, and FastAPI reads
# each one's body type from its (evaluated) annotations.

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from ...core.enums import MonthStatus
from ...core.inputs import LongText, explain
from ...web.deps import ApiScope, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.tables import DOWNLOADS, DbId, FormatQuery, Limit, Offset, Page, TableFormat, download
from . import entry, review
from .access import visible_project
from .schemas import ActivityOut, TraineeOut

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["ledger entry"])
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the caller may not record this project's work"},
    404: {"description": "no such project or row (or outside the caller's scope)"},
    409: {"description": "the row's month is reviewed and locked, or the row clashes with another"},
    422: {"description": "a field is refused; `detail` names each with a Chinese and English message"},
}


def refused(exc: ValidationError) -> JSONResponse:
    """The 422 the app gives for a refused body, for bodies validated inside a route (PATCH)."""
    return JSONResponse({"detail": [f.as_dict() for f in explain(exc)]}, status_code=422)


def _post_route(kind: entry.Kind) -> None:
    fields = kind.fields

    def create_row(project_id: DbId, body: fields, session: SessionDep,  # type: ignore[valid-type]
                   scope: ApiScope, source: SourceDep) -> dict[str, Any]:
        row = entry.create(session=session, scope=scope, project_id=project_id, kind=kind,
                           data=body, source=source)
        result = entry.out(session, kind, row)
        session.commit()
        return result

    create_row.__doc__ = f"Record one {kind.noun.replace('_', ' ')} ({kind.label})."
    router.add_api_route(f"/{kind.name}", create_row, methods=["POST"], status_code=201,
                         name=f"create_{kind.noun}", responses=REFUSALS)


for _kind in entry.KINDS.values():
    _post_route(_kind)


@router.patch("/{kind}/{row_id}", responses=REFUSALS)
def update_row(project_id: DbId, kind: str, row_id: DbId, session: SessionDep, scope: ApiScope,
               source: SourceDep,
               body: Annotated[dict[str, Any], Body(description="any fields of the kind's POST body")],
               ) -> Any:
    """Change some fields of a row; the others keep their values (audited before/after)."""
    spec = entry.kind_of(kind)
    row = entry.get_row(session, scope, project_id, spec, row_id)
    unknown = set(body) - set(spec.fields.model_fields)
    if unknown:
        return JSONResponse({"detail": [
            {"field": f, "code": "extra_forbidden", "message_zh": "不是可接受的字段",
             "message_en": "is not an accepted field",
             "message": "is not an accepted field / 不是可接受的字段"} for f in sorted(unknown)]},
            status_code=422)
    try:
        data = entry.merged(session, spec, row, body)
    except ValidationError as exc:
        return refused(exc)
    entry.update(session=session, scope=scope, project_id=project_id, kind=spec, row_id=row_id,
                 data=data, source=source)
    result = entry.out(session, spec, row)
    session.commit()
    return result


@router.delete("/{kind}/{row_id}", status_code=204, responses=REFUSALS)
def delete_row(project_id: DbId, kind: str, row_id: DbId, session: SessionDep, scope: ApiScope,
               source: SourceDep) -> Response:
    entry.delete(session=session, scope=scope, project_id=project_id, kind=entry.kind_of(kind),
                 row_id=row_id, source=source)
    session.commit()
    return Response(status_code=204)


@router.get("/activities", response_model=Page[ActivityOut], responses=DOWNLOADS)
@cached_read
def list_activities(project_id: DbId, session: SessionDep, scope: ApiScope, limit: Limit = 50,
                    offset: Offset = 0, fmt: FormatQuery = TableFormat.json) -> Page[ActivityOut] | Response:
    """The project's activity lines, latest first."""
    return _listing(session, scope, project_id, "activities", ActivityOut, limit, offset, fmt)


@router.get("/trainees", response_model=Page[TraineeOut], responses=DOWNLOADS)
@cached_read
def list_trainees(project_id: DbId, session: SessionDep, scope: ApiScope, limit: Limit = 50,
                  offset: Offset = 0, fmt: FormatQuery = TableFormat.json) -> Page[TraineeOut] | Response:
    """The project's trainees, latest start first."""
    return _listing(session, scope, project_id, "trainees", TraineeOut, limit, offset, fmt)


def _listing(session: Any, scope: Any, project_id: int, name: str, schema: type[BaseModel],
             limit: int, offset: int, fmt: TableFormat) -> Any:
    kind = entry.KINDS[name]
    if fmt != TableFormat.json:
        limit, offset = 100_000, 0
    rows, total = entry.list_rows(session=session, scope=scope, project_id=project_id, kind=kind,
                                  limit=limit, offset=offset)
    items = [schema.model_validate(r) for r in rows]
    if fmt != TableFormat.json:
        return download(items, fmt, name, columns=list(schema.model_fields))
    return Page(items=items, total=total, limit=limit, offset=offset)


# --- monthly review -------------------------------------------------------------------------

class MonthOut(BaseModel):
    month: str
    status: MonthStatus
    comment: str
    updated_by: str


class Decision(BaseModel):
    status: MonthStatus = Field(description="reviewed (locks the month), returned (needs a "
                                            "comment) or open (reopens a reviewed month)")
    comment: LongText = ""


def _month_out(state: review.MonthState) -> MonthOut:
    return MonthOut(month=state.month, status=state.status, comment=state.comment,
                    updated_by=state.updated_by)


@router.get("/months", response_model=list[MonthOut])
@cached_read
def list_months(project_id: DbId, session: SessionDep, scope: ApiScope,
                start: Annotated[date, Query()], end: Annotated[date, Query()]) -> list[MonthOut]:
    """Each month of [start, end] with its review state (open where nothing was recorded)."""
    visible_project(session, scope, project_id)
    months = review.months_between(start, end)[:240]
    return [_month_out(s) for s in review.states(session, project_id, months).values()]


@router.post("/months/{month}/submit", response_model=MonthOut, responses=REFUSALS)
def submit_month(project_id: DbId, month: str, session: SessionDep, scope: ApiScope,
                 source: SourceDep) -> MonthOut:
    """The hospital hands the month in for review."""
    state = review.submit(session=session, scope=scope, project_id=project_id, month=month,
                          source=source)
    session.commit()
    return _month_out(state)


@router.post("/months/{month}/review", response_model=MonthOut, responses=REFUSALS)
def review_month(project_id: DbId, month: str, body: Decision, session: SessionDep,
                 scope: ApiScope, source: SourceDep) -> MonthOut:
    """A reviewer locks the month (reviewed), returns it with a comment, or reopens it (open)."""
    state = review.decide(session=session, scope=scope, project_id=project_id, month=month,
                          status=body.status, comment=body.comment, source=source)
    session.commit()
    return _month_out(state)

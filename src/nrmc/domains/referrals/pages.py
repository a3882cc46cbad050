"""Page: a hospital's referral inbox (incoming / outgoing), moves with htmx, overdue marked.

Hospital users see their own hospital; national and provincial users pick one in scope.
Every move goes through the referral service (state machine, versions, audit).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from ...core.enums import Specialty, Urgency
from ...core.errors import NrmcError
from ...core.inputs import check_instant, explain
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.render import render
from ...web.tables import DbId
from ..alliances import service as alliances
from ..hospitals import service as hospitals
from ..projects import service as projects
from ..users.models import User
from ..users.scope import Scope
from . import service
from .schemas import ReferralCreate

router = APIRouter(include_in_schema=False)
# Moves the receiving side can make from each state, and the sender's cancel.
RECEIVER_MOVES = {"requested": ["accept", "reject"], "accepted": ["schedule", "cancel"],
                  "scheduled": ["arrive"], "arrived": ["complete"], "completed": ["return"]}
SENDER_MOVES = {"requested": ["cancel"], "accepted": ["cancel"], "scheduled": ["cancel"]}
VERB_ZH = {"accept": "接收 Accept", "reject": "拒绝 Reject", "schedule": "预约 Schedule",
           "arrive": "已到院 Arrived", "complete": "完成 Complete", "return": "下转 Return",
           "cancel": "撤销 Cancel"}


def _hospital_for(session: SessionDep, scope: Scope, chosen: str | None) -> str | None:
    code = scope.hospital or chosen
    if not code:
        return None
    return hospitals.get_visible(session=session, scope=scope, code=code).code


def _partners(session: SessionDep, code: str) -> list[tuple[str, str]]:
    """Hospitals a referral from `code` usually goes to: fellow alliance members and the
    project partners; offered as suggestions (any hospital code can be typed)."""
    found: dict[str, str] = {}
    for alliance in alliances.list_alliances(session=session, hospital=code):
        for member in alliance.members:
            found.setdefault(member.hospital_code, "")
    for project in projects.list_projects(session=session, hospital=code):
        found.setdefault(project.project_hospital_code, "")
        found.setdefault(project.output_hospital_code, "")
    found.pop(code, None)
    out = []
    for partner in sorted(found):
        hospital = hospitals.get(session=session, code=partner)
        out.append((hospital.code, hospital.name_zh))
    return out


def _row_context(request: Request, session: SessionDep, referral, code: str) -> dict:  # type: ignore[no-untyped-def]
    sla = request.app.state.settings.referral_sla_hours
    out = service.to_out(session, referral, sla_hours=sla)
    incoming = referral.to_hospital_code == code
    moves = (RECEIVER_MOVES if incoming else SENDER_MOVES).get(out.status, [])
    if incoming:
        moves = [m for m in moves if m != "cancel"]
    return {"r": out, "moves": moves, "incoming": incoming, "here": code, "VERB_ZH": VERB_ZH}


@router.get("/referrals", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep, user: PageUser,
          hospital: Annotated[str | None, Query(max_length=32)] = None) -> HTMLResponse:
    scope = Scope.for_user(user)
    code = _hospital_for(session, scope, hospital)
    context: dict = {"hospital": None, "incoming": [], "outgoing": [], "partners": []}
    if code is not None:
        found = service.list_referrals(session=session, scope=scope, hospital=code, limit=300)
        rows = [_row_context(request, session, r, code) for r in found]
        context = {
            "hospital": hospitals.get(session=session, code=code), "here": code,
            "VERB_ZH": VERB_ZH,
            "incoming": [r for r in rows if r["incoming"]],
            "outgoing": [r for r in rows if not r["incoming"]],
            "partners": _partners(session, code), "key": uuid.uuid4().hex,
            "specialties": list(Specialty), "urgencies": list(Urgency),
            "can_write": scope.role != "national_analyst",
        }
    return render(request, "referrals/inbox.html", user, **context)


@router.post("/referrals", include_in_schema=False)
def create(
    request: Request, session: SessionDep, user: PageUser, source: SourceDep,
    from_hospital: Annotated[str, Form(max_length=32)], to_hospital: Annotated[str, Form(max_length=32)],
    specialty: Annotated[Specialty, Form()], diagnosis: Annotated[str, Form(max_length=16)],
    urgency: Annotated[Urgency, Form()] = Urgency.routine,
    reason: Annotated[str, Form(max_length=4000)] = "",
    patient_pseudonym: Annotated[str, Form(max_length=64)] = "",
    idempotency_key: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """The new-referral form; the key rendered into the form makes a double submit harmless."""
    scope = Scope.for_user(user)
    try:
        data = ReferralCreate(from_hospital=from_hospital, to_hospital=to_hospital.strip(),
                              specialty=specialty, diagnosis=diagnosis, urgency=urgency,
                              reason=reason, patient_pseudonym=patient_pseudonym)
    except ValidationError as exc:
        return _back(request, user, session, from_hospital,
                     "; ".join(f"{e.field}: {e.message}" for e in explain(exc.errors())))
    try:
        service.create(session=session, scope=scope, data=data,
                       idempotency_key=idempotency_key or None, source=source)
    except NrmcError as exc:
        session.rollback()
        return _back(request, user, session, from_hospital, str(exc))
    session.commit()
    return RedirectResponse(f"/referrals?hospital={from_hospital}", status_code=303)


def _back(request: Request, user: User, session: SessionDep, code: str, error: str) -> Response:
    page = inbox(request, session, user, hospital=code)
    page.status_code = 422
    body = bytes(page.body).decode().replace("<!--form-error-->",
                                      f'<p class="error" role="alert">{_escape(error)}</p>')
    return HTMLResponse(body, status_code=422)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


@router.post("/referrals/{referral_id}/{action}", response_class=HTMLResponse)
def move(
    referral_id: DbId, action: str, request: Request, session: SessionDep, user: PageUser,
    source: SourceDep, version: Annotated[int, Form(ge=1, le=2**31 - 1)],
    hospital: Annotated[str, Form(max_length=32)], reason: Annotated[str, Form(max_length=4000)] = "",
    scheduled_for: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse:
    """One move from the inbox (htmx): answers the referral's row, refreshed."""
    scope = Scope.for_user(user)
    error = None
    if action not in service.ACTIONS:
        error = f"unknown action {action!r}"
    else:
        when = None
        if scheduled_for:
            try:
                # The form's datetime-local value has no offset: it is Beijing time.
                when = check_instant(datetime.fromisoformat(scheduled_for))
            except PydanticCustomError as exc:
                error = f"预约时间 scheduled time: {exc.message()}"
            except ValueError:
                error = "预约时间格式错误 scheduled time is not a date and time"
        if error is None:
            try:
                service.transition(session=session, scope=scope, referral_id=referral_id,
                                   to=service.ACTIONS[action], version=version, reason=reason,
                                   scheduled_for=when, source=source)
                session.commit()
            except NrmcError as exc:
                session.rollback()
                error = str(exc)
    referral = service.get(session=session, scope=scope, referral_id=referral_id)
    context = _row_context(request, session, referral, hospital)
    return render(request, "referrals/_row.html", user, error=error, **context)

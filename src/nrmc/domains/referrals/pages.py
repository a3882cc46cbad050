"""Pages: a hospital's referral inbox (incoming / outgoing, moves with htmx, overdue marked),
the new-referral form with the hospital picker, and one referral's history.

Hospital users see their own hospital; national and provincial users pick one in scope.
Every move goes through the referral service (state machine, versions, audit). The inbox makes
a fixed number of queries whatever its length (issue 17): the referrals, then the hospitals and
returns of all of them at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import select

from ...core.enums import Sex, Specialty, Urgency
from ...core.errors import NrmcError
from ...core.inputs import check_instant, explain
from ...web.deps import PageUser, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.render import render
from ...web.tables import DbId
from ..hospitals import service as hospitals
from ..hospitals.models import Hospital
from ..users.scope import Scope
from ..users.service import Refused
from . import service
from .schemas import AGE_BAND_ZH, SEX_ZH, AgeBand, ReferralCreate, ReferralOut

router = APIRouter(include_in_schema=False)
# Moves the receiving side can make from each state, and the sender's cancel.
RECEIVER_MOVES = {"requested": ["accept", "reject"], "accepted": ["schedule", "cancel"],
                  "scheduled": ["arrive"], "arrived": ["complete"], "completed": ["return"]}
SENDER_MOVES = {"requested": ["cancel"], "accepted": ["cancel"], "scheduled": ["cancel"]}
VERB_ZH = {"accept": "接收 Accept", "reject": "拒绝 Reject", "schedule": "预约 Schedule",
           "arrive": "已到院 Arrived", "complete": "完成 Complete", "return": "下转 Return",
           "cancel": "撤销 Cancel"}
# Verbs whose note is the reply both sides see (optional except on reject/cancel).
NOTE_VERBS = {"accept": False, "reject": True, "return": False, "cancel": True}
FORM_FIELDS = ("to_hospital", "specialty", "diagnosis", "urgency", "patient_sex", "age_band",
               "reason")
LABELS: dict[str, Any] = {"SEX_ZH": SEX_ZH, "AGE_BAND_ZH": AGE_BAND_ZH, "VERB_ZH": VERB_ZH,
                          "NOTE_VERBS": NOTE_VERBS}


def _hospital_for(session: SessionDep, scope: Scope, chosen: str | None) -> str | None:
    code = scope.hospital or chosen
    if not code:
        return None
    return hospitals.get_visible(session=session, scope=scope, code=code).code


def _partners(session: SessionDep, code: str) -> list[tuple[str, str]]:
    """Hospitals a referral from `code` usually goes to: fellow alliance members and the
    project partners; offered before anything is typed (the picker finds any other)."""
    codes = service.partner_codes(session, code)
    if not codes:
        return []
    rows = session.execute(select(Hospital.code, Hospital.name_zh)
                           .where(Hospital.code.in_(codes)).order_by(Hospital.code))
    return [(c, n) for c, n in rows]


def _row(out: ReferralOut, code: str) -> dict[str, Any]:
    incoming = out.to_hospital.code == code
    moves = (RECEIVER_MOVES if incoming else SENDER_MOVES).get(out.status, [])
    if incoming:
        moves = [m for m in moves if m != "cancel"]
    return {"r": out, "moves": moves, "incoming": incoming}


def _sla(request: Request) -> dict[str, float]:
    return request.app.state.settings.referral_sla  # type: ignore[no-any-return]


@router.get("/referrals", response_class=HTMLResponse)
@cached_read
def inbox(request: Request, session: SessionDep, user: PageUser,
          hospital: Annotated[str | None, Query(max_length=32)] = None) -> HTMLResponse:
    return _inbox(request, session, user, hospital)


def _inbox(request: Request, session: SessionDep, user: Any, hospital: str | None, *,
           status_code: int = 200, errors: dict[str, str] | None = None,
           values: dict[str, str] | None = None, problem: str = "") -> HTMLResponse:
    scope = Scope.for_user(user)
    code = _hospital_for(session, scope, hospital)
    context: dict[str, Any] = {"hospital": None, "incoming": [], "outgoing": [], "partners": []}
    if code is not None:
        found = service.list_referrals(session=session, scope=scope, hospital=code, limit=300)
        rows = [_row(out, code) for out in service.to_outs(session, found, sla_hours=_sla(request))]
        context = {
            "hospital": hospitals.get(session=session, code=code), "inbox_code": code,
            "incoming": [r for r in rows if r["incoming"]],
            "outgoing": [r for r in rows if not r["incoming"]],
            "partners": _partners(session, code), "key": uuid.uuid4().hex,
            "specialties": list(Specialty), "urgencies": list(Urgency), "sexes": list(Sex),
            "age_bands": list(AgeBand), "sla": _sla(request),
            "can_write": scope.role != "national_analyst",
            "errors": errors or {}, "values": values or {}, "problem": problem,
        }
    return render(request, "referrals/inbox.html", user, status_code=status_code,
                  **LABELS, **context)


@router.post("/referrals", include_in_schema=False)
def create(
    request: Request, session: SessionDep, user: PageUser, source: SourceDep,
    from_hospital: Annotated[str, Form(max_length=32)],
    to_hospital: Annotated[str, Form(max_length=200)] = "",
    specialty: Annotated[str, Form(max_length=40)] = "",
    diagnosis: Annotated[str, Form(max_length=40)] = "",
    urgency: Annotated[str, Form(max_length=20)] = "routine",
    reason: Annotated[str, Form(max_length=4000)] = "",
    patient_record_no: Annotated[str, Form(max_length=100)] = "",
    patient_sex: Annotated[str, Form(max_length=2)] = "9",
    age_band: Annotated[str, Form(max_length=8)] = "",
    idempotency_key: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """The new-referral form. A refused form comes back (422) with each message beside its
    field and the typed values kept, except the record number, which is never sent back."""
    scope = Scope.for_user(user)
    settings = request.app.state.settings
    values = {"to_hospital": to_hospital, "specialty": specialty, "diagnosis": diagnosis,
              "urgency": urgency, "reason": reason, "patient_sex": patient_sex,
              "age_band": age_band}
    try:
        data = ReferralCreate(from_hospital=from_hospital, to_hospital=to_hospital.strip(),
                              specialty=specialty, diagnosis=diagnosis, urgency=urgency,  # type: ignore[arg-type]
                              reason=reason, patient_record_no=patient_record_no.strip(),
                              patient_sex=patient_sex, age_band=age_band)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = {e.field: e.message for e in explain(exc.errors())}
        return _inbox(request, session, user, from_hospital, status_code=422, errors=errors,
                      values=values)
    try:
        service.create(session=session, scope=scope, data=data,
                       idempotency_key=idempotency_key or None, source=source,
                       pseudonym_key=settings.pseudonym_key)
    except Refused as exc:
        session.rollback()
        errors = {p.field: p.message for p in exc.problems}
        return _inbox(request, session, user, from_hospital, status_code=422, errors=errors,
                      values=values)
    except NrmcError as exc:
        session.rollback()
        return _inbox(request, session, user, from_hospital, status_code=422, values=values,
                      problem=str(exc))
    session.commit()
    return RedirectResponse(f"/referrals?hospital={from_hospital}", status_code=303)


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
def history_page(referral_id: DbId, request: Request, session: SessionDep,
                 user: PageUser) -> HTMLResponse:
    """Every move of one referral (who, when in Beijing time, from → to, note), and the
    referral it returns or the return it led to; 404 outside the caller's scope."""
    scope = Scope.for_user(user)
    referral = service.get(session=session, scope=scope, referral_id=referral_id)
    entries = service.history(session=session, scope=scope, referral_id=referral_id)
    linked_ids = [i for i in (referral.returned_from_id,) if i is not None]
    out = service.to_out(session, referral, sla_hours=_sla(request))
    if out.returned_as_id is not None:
        linked_ids.append(out.returned_as_id)
    linked = {r.id: r for r in service.to_outs(
        session, [service.get(session=session, scope=Scope.system(), referral_id=i)
                  for i in linked_ids], sla_hours=_sla(request))}
    moves = [{"at": e.at, "actor": e.actor or "system", "action": e.action.removeprefix("referral."),
              "before": (e.before or {}).get("status"), "after": (e.after or {}).get("status"),
              "note": e.reason} for e in entries]
    return render(request, "referrals/history.html", user, r=out, moves=moves,
                  returned_from=linked.get(referral.returned_from_id or 0),
                  returned_as=linked.get(out.returned_as_id or 0), **LABELS)


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
            except Refused as exc:
                session.rollback()
                error = "; ".join(f"预约时间 scheduled time: {p.message}" if p.field ==
                                  "scheduled_for" else p.message for p in exc.problems)
            except NrmcError as exc:
                session.rollback()
                error = str(exc)
    referral = service.get(session=session, scope=scope, referral_id=referral_id)
    row = _row(service.to_out(session, referral, sla_hours=_sla(request)), hospital)
    return render(request, "referrals/_row.html", user, error=error, inbox_code=hospital,
                  **LABELS, **row)

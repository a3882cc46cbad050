"""JSON API for two-way referrals: list, create (idempotent), read, move, history."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from pydantic import Field, model_validator

from ...core.enums import Direction, ReferralStatus
from ...core.inputs import ShortText
from ...web.deps import ApiScope, SessionDep, SourceDep
from ...web.read_cache import cached_read
from ...web.tables import (
    DOWNLOADS,
    EXPORT_LIMIT,
    DbId,
    FormatQuery,
    Limit,
    Offset,
    Page,
    TableFormat,
    download,
)
from ..audit.schemas import AuditOut
from . import service
from .schemas import ReferralCreate, ReferralOut, TransitionIn

router = APIRouter(prefix="/api/v1/referrals", tags=["referrals"])
Action = StrEnum("Action", {verb: verb for verb in service.ACTIONS})  # type: ignore[misc]


def _no_nul(values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(f"{key} must not contain NUL bytes")


class ReferralIn(ReferralCreate):
    """A referral request; the stored columns' limits are checked here (422, not a 500)."""

    from_hospital: str = Field(max_length=32)
    # A code, or a name / pinyin initials that match one hospital (see /api/v1/hospitals/search).
    to_hospital: str = Field(max_length=200)
    patient_pseudonym: Annotated[ShortText, Field(max_length=64)] = ""

    @model_validator(mode="after")
    def _refuse_nul(self) -> ReferralIn:
        _no_nul(self.model_dump())
        return self


class MoveIn(TransitionIn):
    version: int = Field(ge=1, le=2**31 - 1)

    @model_validator(mode="after")
    def _refuse_nul(self) -> MoveIn:
        _no_nul(self.model_dump())
        return self


@router.get("", response_model=Page[ReferralOut], responses=DOWNLOADS)
@cached_read
def list_referrals(
    request: Request, session: SessionDep, scope: ApiScope,
    hospital: Annotated[str | None, Query(max_length=32)] = None,
    status: ReferralStatus | None = None, direction: Direction | None = None,
    overdue: bool = False, limit: Limit = 50, offset: Offset = 0,
    fmt: FormatQuery = TableFormat.json,
) -> Page[ReferralOut] | Response:
    """Referrals in scope, newest first; `hospital` matches either end. `overdue` (and
    `due_at`) follow the answer deadline of each referral's urgency."""
    sla = request.app.state.settings.referral_sla
    filters = {"hospital": hospital, "status": status, "direction": direction,
               "overdue_only": overdue, "sla_hours": sla}
    whole = fmt != TableFormat.json  # a download holds every row (up to the export limit)
    rows = service.list_referrals(session=session, scope=scope, **filters,  # type: ignore[arg-type]
                                  limit=EXPORT_LIMIT if whole else limit,
                                  offset=0 if whole else offset)
    out = service.to_outs(session, rows, sla_hours=sla)
    if whole:
        return download(out, fmt, "referrals", columns=list(ReferralOut.model_fields))
    total = service.count_referrals(session=session, scope=scope, **filters)  # type: ignore[arg-type]
    return Page(items=out, total=total, limit=limit, offset=offset)


@router.post("", response_model=ReferralOut, status_code=201,
             responses={403: {"description": "not your hospital / read-only role"},
                        404: {"description": "unknown sending hospital"},
                        409: {"description": "refused"},
                        422: {"description": "bad input, or an unknown or ambiguous receiver"}})
def create_referral(
    request: Request, body: ReferralIn, session: SessionDep, scope: ApiScope, source: SourceDep,
    idempotency_key: Annotated[str | None, Header(max_length=128, pattern=r"^[\x21-\x7e]+$")] = None,
) -> ReferralOut:
    """Request a referral on behalf of the sending hospital; the same Idempotency-Key twice
    answers the first referral instead of creating a second. `patient_record_no` (病案号) is
    turned into `patient_pseudonym` with the workspace key and is never stored or answered."""
    settings = request.app.state.settings
    referral = service.create(session=session, scope=scope, data=body,
                              idempotency_key=idempotency_key, source=source,
                              pseudonym_key=settings.pseudonym_key)
    out = service.to_out(session, referral, sla_hours=settings.referral_sla)
    session.commit()
    return out


@router.get("/{referral_id}", response_model=ReferralOut)
@cached_read
def get_referral(request: Request, referral_id: DbId, session: SessionDep,
                 scope: ApiScope) -> ReferralOut:
    return service.to_out(session, service.get(session=session, scope=scope,
                                               referral_id=referral_id),
                          sla_hours=request.app.state.settings.referral_sla)


@router.get("/{referral_id}/history", response_model=list[AuditOut])
def referral_history(referral_id: DbId, session: SessionDep, scope: ApiScope) -> list[AuditOut]:
    """Every move of the referral, oldest first (who, when, before/after, why)."""
    return [AuditOut.model_validate(e) for e in
            service.history(session=session, scope=scope, referral_id=referral_id)]


@router.post("/{referral_id}/{action}", response_model=ReferralOut,
             responses={403: {"description": "wrong side or read-only role"},
                        409: {"description": "stale version or move not allowed"},
                        422: {"description": "appointment before the acceptance"}})
def move_referral(request: Request, referral_id: DbId, action: Action, body: MoveIn,  # type: ignore[valid-type]
                  session: SessionDep, scope: ApiScope, source: SourceDep) -> ReferralOut:
    """accept, reject, schedule, arrive, complete, return (receiver) or cancel (sender);
    `version` is the version you saw (a stale one is refused with 409). `reason` on accept,
    reject and return is the reply note both sides see; `return` also creates the linked
    referral back to the sender (`returned_as_id`). `scheduled_for` may not be earlier than
    the acceptance (422)."""
    referral = service.transition(
        session=session, scope=scope, referral_id=referral_id,
        to=service.ACTIONS[action.value], version=body.version, reason=body.reason,
        scheduled_for=body.scheduled_for, source=source)
    out = service.to_out(session, referral, sla_hours=request.app.state.settings.referral_sla)
    session.commit()
    return out

"""Two-way referrals: create (idempotent), move through the state machine, list, SLA.

State machine (anything else is refused with InvalidTransition):

    requested ──accept──▶ accepted ──schedule──▶ scheduled ──arrive──▶ arrived ──complete──▶
    completed ──return──▶ returned (sent back down to the referring hospital)
    requested ──reject──▶ rejected
    requested | accepted | scheduled ──cancel──▶ cancelled

The receiving hospital accepts, rejects, schedules, records arrival, completes and returns;
the sending hospital cancels. Every move carries the version the caller saw: a stale version
is refused (Conflict), and because the UPDATE itself says `WHERE version = <seen>`, two people
racing on the same version cannot both succeed, even between the check and the write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from ...core.enums import Direction, ReferralStatus, Specialty, Urgency
from ...core.errors import Conflict, Forbidden, InvalidTransition, NotFound, Unprocessable
from ..audit import service as audit
from ..audit.models import AuditEntry
from ..hospitals import service as hospitals
from ..hospitals.models import Hospital
from ..hospitals.schemas import HospitalRef
from ..users.scope import Scope
from .models import Referral
from .schemas import ReferralCreate, ReferralOut

S = ReferralStatus
DEFAULT_SLA_HOURS = 24.0

TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    S.requested: frozenset({S.accepted, S.rejected, S.cancelled}),
    S.accepted: frozenset({S.scheduled, S.cancelled}),
    S.scheduled: frozenset({S.arrived, S.cancelled}),
    S.arrived: frozenset({S.completed}),
    S.completed: frozenset({S.returned}),
}
# The verb a user types for each target state (CLI sub-commands, API paths).
ACTIONS: dict[str, ReferralStatus] = {
    "accept": S.accepted, "reject": S.rejected, "schedule": S.scheduled, "arrive": S.arrived,
    "complete": S.completed, "return": S.returned, "cancel": S.cancelled,
}
SENDER_MOVES = frozenset({S.cancelled})
REASON_REQUIRED = frozenset({S.rejected, S.cancelled})


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC, so say so."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _now(now: datetime | None) -> datetime:
    return utc(now) if now else datetime.now(UTC)


def _snapshot(referral: Referral) -> dict[str, Any]:
    return {"status": referral.status, "version": referral.version,
            "scheduled_for": referral.scheduled_for.isoformat() if referral.scheduled_for else None}


def _visible(session: Session, scope: Scope, referral: Referral) -> bool:
    if scope.national:
        return True
    return any(_allows(session, scope, code)
               for code in (referral.from_hospital_code, referral.to_hospital_code))


def _allows(session: Session, scope: Scope, code: str) -> bool:
    hospital = session.get(Hospital, code)
    return hospital is not None and scope.allows_hospital(hospital.code, hospital.region_code)


def get(*, session: Session, scope: Scope, referral_id: int) -> Referral:
    """The referral, or NotFound when it does not exist or lies outside the caller's scope."""
    referral = session.get(Referral, referral_id)
    if referral is None or not _visible(session, scope, referral):
        raise NotFound(f"no referral with id {referral_id}")
    return referral


def create(
    *, session: Session, scope: Scope, data: ReferralCreate, idempotency_key: str | None = None,
    now: datetime | None = None, source: str = "",
) -> Referral:
    """Request a referral on behalf of the sending hospital.

    With an idempotency key, a repeated request (a retried form post, a re-sent message) returns
    the referral the first request created instead of making a second one. The same key with a
    different request is refused (:class:`Unprocessable`): answering it with the first referral
    would tell the caller that something it did not ask for was done.
    """
    scope.require_write()
    if idempotency_key:
        existing = find_by_key(session, idempotency_key)
        if existing is not None:
            if not _visible(session, scope, existing):
                raise Conflict("that idempotency key is already used")
            _same_request(existing, data)
            return existing
    origin = hospitals.get(session=session, code=data.from_hospital)
    target = hospitals.get(session=session, code=data.to_hospital)
    if origin.code == target.code:
        raise Conflict("a referral needs two different hospitals")
    if not scope.allows_hospital(origin.code, origin.region_code):
        raise Forbidden(f"you may not refer patients on behalf of {origin.code}")
    at = _now(now)
    referral = Referral(
        idempotency_key=idempotency_key or None, from_hospital_code=origin.code,
        to_hospital_code=target.code, direction=Direction.between(origin.tier, target.tier).value,
        patient_pseudonym=data.patient_pseudonym, specialty=Specialty(data.specialty).value,
        diagnosis=data.diagnosis, urgency=Urgency(data.urgency).value, reason=data.reason,
        status=S.requested.value, requested_at=at, updated_at=at, created_by=scope.actor,
    )
    if not _insert(session, referral):
        existing = find_by_key(session, idempotency_key or "")
        if existing is None:
            raise Conflict("the referral could not be stored; retry")
        _same_request(existing, data)
        return existing
    audit.record(session=session, actor=scope.actor, action="referral.create",
                 object_type="referral", object_id=referral.id, after=_snapshot(referral),
                 reason=data.reason, source=source)
    return referral


def _same_request(existing: Referral, data: ReferralCreate) -> None:
    """Refuse a retry whose request differs from the one that used the key first."""
    sent = {"from_hospital": data.from_hospital, "to_hospital": data.to_hospital,
            "specialty": Specialty(data.specialty).value, "diagnosis": data.diagnosis,
            "urgency": Urgency(data.urgency).value, "patient_pseudonym": data.patient_pseudonym,
            "reason": data.reason}
    stored = {"from_hospital": existing.from_hospital_code, "to_hospital": existing.to_hospital_code,
              "specialty": existing.specialty, "diagnosis": existing.diagnosis,
              "urgency": existing.urgency, "patient_pseudonym": existing.patient_pseudonym,
              "reason": existing.reason}
    differ = sorted(k for k in sent if sent[k] != stored[k])
    if differ:
        raise Unprocessable(
            f"Idempotency-Key reused with a different request ({', '.join(differ)} differ) / "
            "幂等键已用于另一请求，请换用新键")


def find_by_key(session: Session, key: str) -> Referral | None:
    """The referral created with this idempotency key, if any."""
    return session.scalars(select(Referral).where(Referral.idempotency_key == key)).first()


def _insert(session: Session, referral: Referral) -> bool:
    """Insert; False when a concurrent request took the idempotency key first."""
    if session.get_bind().dialect.name == "sqlite":
        # pysqlite cannot hold a savepoint here, but SQLite serialises writers: the loser of a
        # race waits for the winner's commit, then meets the unique key. Creating a referral is
        # the first write of its unit of work, so rolling the whole transaction back loses nothing.
        try:
            session.add(referral)
            session.flush()
        except IntegrityError:
            session.rollback()
            return False
        return True
    try:
        with session.begin_nested():
            session.add(referral)
            session.flush()
    except IntegrityError:
        return False
    return True


def transition(
    *, session: Session, scope: Scope, referral_id: int, to: ReferralStatus | str, version: int,
    reason: str = "", scheduled_for: datetime | None = None, now: datetime | None = None,
    source: str = "",
) -> Referral:
    """Move a referral to `to` if the state machine allows it and `version` is current.

    Raises NotFound (not in scope), Forbidden (wrong side: only the receiver accepts, only the
    sender cancels), Conflict (stale version), InvalidTransition (move not allowed).
    """
    scope.require_write()
    target = ReferralStatus(to)
    referral = get(session=session, scope=scope, referral_id=referral_id)
    if referral.version != version:
        raise Conflict(f"referral {referral_id} has changed: you saw version {version}, it is now "
                       f"at version {referral.version} ({referral.status}); reload and retry")
    current = ReferralStatus(referral.status)
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, frozenset()))) or "none (final)"
        raise InvalidTransition(f"referral {referral_id} cannot move from {current} to {target}; "
                                f"allowed from {current}: {allowed}")
    side = referral.from_hospital_code if target in SENDER_MOVES else referral.to_hospital_code
    if not _allows(session, scope, side):
        who = "sending" if target in SENDER_MOVES else "receiving"
        raise Forbidden(f"only the {who} hospital ({side}) may move a referral to {target}")
    if target in REASON_REQUIRED and not reason.strip():
        raise Conflict(f"give a reason to move referral {referral_id} to {target}")
    before = _snapshot(referral)
    at = _now(now)
    referral.status = target.value
    referral.updated_at = at
    if current == S.requested:
        referral.responded_at = at
    if target == S.scheduled:
        referral.scheduled_for = utc(scheduled_for) if scheduled_for else None
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"referral {referral_id} was changed by someone else while you acted on "
                       f"version {version}; reload and retry") from exc
    audit.record(session=session, actor=scope.actor, action=f"referral.{target.value}",
                 object_type="referral", object_id=referral.id, before=before,
                 after=_snapshot(referral), reason=reason, source=source)
    return referral


def is_overdue(referral: Referral, *, now: datetime | None = None,
               sla_hours: float = DEFAULT_SLA_HOURS) -> bool:
    """A request still neither accepted nor rejected after `sla_hours` is overdue."""
    return (referral.status == S.requested
            and _now(now) - utc(referral.requested_at) > timedelta(hours=sla_hours))


def answered_late(referral: Referral, *, now: datetime | None = None,
                  sla_hours: float = DEFAULT_SLA_HOURS) -> bool:
    """Overdue now, or answered (accepted/rejected/cancelled) only after the SLA ran out."""
    if referral.responded_at is None:
        return is_overdue(referral, now=now, sla_hours=sla_hours)
    return utc(referral.responded_at) - utc(referral.requested_at) > timedelta(hours=sla_hours)


def _scoped(scope: Scope) -> Select[Referral]:
    query = select(Referral)
    if scope.national:
        return query
    src, dst = aliased(Hospital), aliased(Hospital)
    return (query.join(src, src.code == Referral.from_hospital_code)
            .join(dst, dst.code == Referral.to_hospital_code)
            .where(scope.hospital_clause(src.code, src.region_code)
                   | scope.hospital_clause(dst.code, dst.region_code)))


def list_referrals(
    *, session: Session, scope: Scope, hospital: str | None = None,
    status: ReferralStatus | str | None = None, direction: Direction | str | None = None,
    overdue_only: bool = False, since: datetime | None = None, until: datetime | None = None,
    hospitals_in: set[str] | None = None, now: datetime | None = None,
    sla_hours: float = DEFAULT_SLA_HOURS, limit: int | None = None, offset: int = 0,
) -> list[Referral]:
    """Referrals the caller may see, newest first; `hospital` matches either end,
    `hospitals_in` keeps referrals with at least one end in the set (a project's network)."""
    query = _scoped(scope).order_by(Referral.requested_at.desc(), Referral.id.desc())
    if hospital:
        query = query.where((Referral.from_hospital_code == hospital)
                            | (Referral.to_hospital_code == hospital))
    if hospitals_in is not None:
        query = query.where(Referral.from_hospital_code.in_(hospitals_in)
                            | Referral.to_hospital_code.in_(hospitals_in))
    if status:
        query = query.where(Referral.status == ReferralStatus(status).value)
    if direction:
        query = query.where(Referral.direction == Direction(direction).value)
    if since:
        query = query.where(Referral.requested_at >= since)
    if until:
        query = query.where(Referral.requested_at < until)
    if overdue_only:
        cutoff = _now(now) - timedelta(hours=sla_hours)
        query = query.where(Referral.status == S.requested.value, Referral.requested_at < cutoff)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def history(*, session: Session, scope: Scope, referral_id: int) -> list[AuditEntry]:
    """Every recorded move of one referral, oldest first: who, when, from what to what, why."""
    get(session=session, scope=scope, referral_id=referral_id)
    entries = audit.list_entries(session=session, object_type="referral",
                                 object_id=str(referral_id), limit=1000)
    return list(reversed(entries))


def to_out(session: Session, referral: Referral, *, now: datetime | None = None,
           sla_hours: float = DEFAULT_SLA_HOURS) -> ReferralOut:
    def ref(code: str) -> HospitalRef:
        return HospitalRef.model_validate(hospitals.get(session=session, code=code))

    return ReferralOut(
        id=referral.id, status=referral.status, version=referral.version,
        direction=referral.direction, from_hospital=ref(referral.from_hospital_code),
        to_hospital=ref(referral.to_hospital_code), patient_pseudonym=referral.patient_pseudonym,
        specialty=referral.specialty, diagnosis=referral.diagnosis, urgency=referral.urgency,
        reason=referral.reason, requested_at=utc(referral.requested_at),
        responded_at=utc(referral.responded_at) if referral.responded_at else None,
        scheduled_for=utc(referral.scheduled_for) if referral.scheduled_for else None,
        updated_at=utc(referral.updated_at),
        overdue=is_overdue(referral, now=now, sla_hours=sla_hours),
        idempotency_key=referral.idempotency_key,
    )

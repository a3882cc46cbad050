"""Two-way referrals: create (idempotent), move through the state machine, list, deadlines.

State machine (anything else is refused with InvalidTransition):

    requested ──accept──▶ accepted ──schedule──▶ scheduled ──arrive──▶ arrived ──complete──▶
    completed ──return──▶ returned (and a new referral back to the sender, linked to this one)
    requested ──reject──▶ rejected
    requested | accepted | scheduled ──cancel──▶ cancelled

The receiving hospital accepts, rejects, schedules, records arrival, completes and returns;
the sending hospital cancels. Every move carries the version the caller saw: a stale version
is refused (Conflict), and because the UPDATE itself says `WHERE version = <seen>`, two people
racing on the same version cannot both succeed, even between the check and the write.

"Return to referrer" (下转) creates the return as its own referral in the opposite direction
(receiver → original sender, `returned_from_id` = the original), which the original sender then
accepts like any other. Counting rows by direction therefore counts a returned pair as one up
and one down: the original is never counted twice, the return never as an up.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from ...core.enums import Direction, ReferralStatus, Specialty, Urgency
from ...core.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    Unprocessable,
)
from ...core.inputs import BEIJING, field_error
from ...db import revision
from ...flows.pseudonym import pseudonymise_one
from ..alliances.models import AllianceMember
from ..audit import service as audit
from ..audit.models import AuditEntry
from ..hospitals import search as hospital_search
from ..hospitals import service as hospitals
from ..hospitals.models import Hospital
from ..hospitals.schemas import HospitalRef
from ..projects.models import Project
from ..users.scope import Scope
from ..users.service import Refused
from .deadlines import (
    DEFAULT_SLA,
    Sla,
    answered_late,
    due_at,
    is_overdue,
    now_or,
    overdue_clause,
    utc,
)
from .models import Referral, hospital_part, row_part
from .schemas import ReferralCreate, ReferralOut

__all__ = ["ACTIONS", "DEFAULT_SLA", "DEFAULT_SLA_HOURS", "answered_late", "create", "get",
           "history", "is_overdue", "list_referrals", "resolve_target", "to_out", "to_outs",
           "transition", "utc"]

S = ReferralStatus
DEFAULT_SLA_HOURS = DEFAULT_SLA  # the name earlier callers import

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
# The receiver's answers whose note both sides see as the reply.
REPLIES = frozenset({S.accepted, S.rejected, S.returned})
OPPOSITE = {Direction.up.value: Direction.down.value, Direction.down.value: Direction.up.value,
            Direction.lateral.value: Direction.lateral.value}
RETURN_REASON = "下转回原转诊医院 Returned to the referring hospital"


def _snapshot(referral: Referral) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": referral.status, "version": referral.version,
        "scheduled_for": referral.scheduled_for.isoformat() if referral.scheduled_for else None}
    if referral.returned_from_id is not None:
        out["returned_from_id"] = referral.returned_from_id
    return out


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
    with _reading({row_part(referral_id)}):  # one row, whoever asks
        referral = session.get(Referral, referral_id)
    if referral is None or not _visible(session, scope, referral):
        raise NotFound(f"no referral with id {referral_id}")
    return referral


# --- where a referral may go: the picker's hospitals -----------------------------------------

def partner_codes(session: Session, code: str) -> set[str]:
    """Hospitals sharing an alliance or a project with `code` (two queries, any number)."""
    mine = select(AllianceMember.alliance_id).where(AllianceMember.hospital_code == code)
    found = set(session.scalars(select(AllianceMember.hospital_code)
                                .where(AllianceMember.alliance_id.in_(mine))))
    for a, b in session.execute(select(Project.project_hospital_code, Project.output_hospital_code)
                                .where((Project.project_hospital_code == code)
                                       | (Project.output_hospital_code == code))):
        found |= {a, b}
    found.discard(code)
    return found


def targets_clause(session: Session, scope: Scope) -> ColumnElement[bool]:
    """Hospitals the caller may pick as a referral's receiver: its scope, and for a hospital's
    own staff also every hospital of its province and its alliance and project partners
    (a county hospital refers up to the city and the province, which lie outside its scope)."""
    if scope.national:
        return true()
    clause = scope.hospital_clause(Hospital.code, Hospital.region_code)
    if scope.hospital is not None:
        own = session.get(Hospital, scope.hospital)
        if own is not None:
            clause = clause | Hospital.region_code.like(own.region_code[:2] + "%")
        partners = partner_codes(session, scope.hospital)
        if partners:
            clause = clause | Hospital.code.in_(partners)
    return clause


def resolve_target(session: Session, scope: Scope, text: str, *,
                   field: str = "to_hospital") -> Hospital:
    """The receiving hospital named by a code (any hospital), or by a name or pinyin initials
    that match exactly one hospital the caller may pick; otherwise a 422 naming `field`."""
    typed = text.strip()
    if not typed:
        raise Refused([field_error(field, "missing")])
    hospital = session.get(Hospital, typed)
    if hospital is not None:
        return hospital
    found = hospital_search.search(session=session, q=typed, limit=6,
                                   where=targets_clause(session, scope))
    pick = hospital_search.exact(found, typed) or (found[0] if len(found) == 1 else None)
    if pick is None and not found:
        raise Refused([field_error(field, "hospital_unknown", text=typed[:50])])
    if pick is None:
        names = "、".join(f"{p.name_zh} {p.code}" for p in found[:5])
        raise Refused([field_error(field, "hospital_ambiguous", text=typed[:50], names=names)])
    return hospitals.get(session=session, code=pick.code)


# --- create -----------------------------------------------------------------------------------

def _pseudonym(data: ReferralCreate, key: str) -> str:
    if not data.patient_record_no:
        return data.patient_pseudonym
    if not key:
        raise ConfigurationError("a pseudonym key is needed to record a patient's record number")
    return pseudonymise_one(data.patient_record_no, key)


def create(
    *, session: Session, scope: Scope, data: ReferralCreate, idempotency_key: str | None = None,
    now: datetime | None = None, source: str = "", pseudonym_key: str = "",
) -> Referral:
    """Request a referral on behalf of the sending hospital.

    The patient's record number is turned into the keyed pseudonym here (the same HMAC as the
    discharge ingest, with the workspace's `pseudonym_key`) and is not kept anywhere.
    With an idempotency key, a repeated request (a retried form post, a re-sent message) returns
    the referral the first request created instead of making a second one. The same key with a
    different request is refused (:class:`Unprocessable`): answering it with the first referral
    would tell the caller that something it did not ask for was done.
    """
    scope.require_write()
    pseudonym = _pseudonym(data, pseudonym_key)
    if idempotency_key:
        existing = find_by_key(session, idempotency_key)
        if existing is not None:
            if not _visible(session, scope, existing):
                raise Conflict("that idempotency key is already used")
            _same_request(session, scope, existing, data, pseudonym)
            return existing
    origin = hospitals.get(session=session, code=data.from_hospital)
    target = resolve_target(session, scope, data.to_hospital)
    if origin.code == target.code:
        raise Refused([field_error("to_hospital", "hospital_same")])
    if not scope.allows_hospital(origin.code, origin.region_code):
        raise Forbidden(f"you may not refer patients on behalf of {origin.code}")
    at = now_or(now)
    referral = Referral(
        idempotency_key=idempotency_key or None, from_hospital_code=origin.code,
        to_hospital_code=target.code, direction=Direction.between(origin.tier, target.tier).value,
        patient_pseudonym=pseudonym, patient_sex=data.patient_sex.value,
        age_band=data.age_band.value if data.age_band else "",
        specialty=Specialty(data.specialty).value, diagnosis=data.diagnosis,
        urgency=Urgency(data.urgency).value, reason=data.reason,
        status=S.requested.value, requested_at=at, updated_at=at, created_by=scope.actor,
    )
    if not _insert(session, referral):
        existing = find_by_key(session, idempotency_key or "")
        if existing is None:
            raise Conflict("the referral could not be stored; retry")
        _same_request(session, scope, existing, data, pseudonym)
        return existing
    audit.record(session=session, actor=scope.actor, action="referral.create",
                 object_type="referral", object_id=referral.id, after=_snapshot(referral),
                 reason=data.reason, source=source)
    return referral


def _same_request(session: Session, scope: Scope, existing: Referral, data: ReferralCreate,
                  pseudonym: str) -> None:
    """Refuse a retry whose request differs from the one that used the key first."""
    typed = data.to_hospital.strip()
    to_code = typed if typed == existing.to_hospital_code else \
        resolve_target(session, scope, typed).code
    sent = {"from_hospital": data.from_hospital, "to_hospital": to_code,
            "specialty": Specialty(data.specialty).value, "diagnosis": data.diagnosis,
            "urgency": Urgency(data.urgency).value, "patient": pseudonym,
            "patient_sex": data.patient_sex.value,
            "age_band": data.age_band.value if data.age_band else "", "reason": data.reason}
    stored = {"from_hospital": existing.from_hospital_code, "to_hospital": existing.to_hospital_code,
              "specialty": existing.specialty, "diagnosis": existing.diagnosis,
              "urgency": existing.urgency, "patient": existing.patient_pseudonym,
              "patient_sex": existing.patient_sex, "age_band": existing.age_band,
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


# --- moves ------------------------------------------------------------------------------------

def transition(
    *, session: Session, scope: Scope, referral_id: int, to: ReferralStatus | str, version: int,
    reason: str = "", scheduled_for: datetime | None = None, now: datetime | None = None,
    source: str = "",
) -> Referral:
    """Move a referral to `to` if the state machine allows it and `version` is current.

    Raises NotFound (not in scope), Forbidden (wrong side: only the receiver accepts, only the
    sender cancels), Conflict (stale version), InvalidTransition (move not allowed), Refused
    (an appointment before the acceptance). Returning also creates the linked down-referral.
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
    if target == S.scheduled and scheduled_for is not None and referral.responded_at is not None \
            and utc(scheduled_for) < utc(referral.responded_at):
        accepted = utc(referral.responded_at).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M+08:00")
        raise Refused([field_error("scheduled_for", "scheduled_before_accepted", accepted=accepted)])
    before = _snapshot(referral)
    at = now_or(now)
    referral.status = target.value
    referral.updated_at = at
    if current == S.requested:
        referral.responded_at = at
    if target == S.scheduled:
        referral.scheduled_for = utc(scheduled_for) if scheduled_for else None
    if target in REPLIES:
        referral.reply_note = reason.strip()
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"referral {referral_id} was changed by someone else while you acted on "
                       f"version {version}; reload and retry") from exc
    audit.record(session=session, actor=scope.actor, action=f"referral.{target.value}",
                 object_type="referral", object_id=referral.id, before=before,
                 after=_snapshot(referral), reason=reason, source=source)
    if target == S.returned:
        _return_to_referrer(session, scope, referral, reason=reason, at=at, source=source)
    return referral


def _return_to_referrer(session: Session, scope: Scope, original: Referral, *, reason: str,
                        at: datetime, source: str) -> Referral:
    """The down-referral that sends the patient back: receiver → sender, linked, requested."""
    back = Referral(
        from_hospital_code=original.to_hospital_code, to_hospital_code=original.from_hospital_code,
        direction=OPPOSITE.get(original.direction, original.direction),
        patient_pseudonym=original.patient_pseudonym, patient_sex=original.patient_sex,
        age_band=original.age_band, specialty=original.specialty, diagnosis=original.diagnosis,
        urgency=Urgency.routine.value, reason=reason.strip() or RETURN_REASON,
        status=S.requested.value, requested_at=at, updated_at=at, created_by=scope.actor,
        returned_from_id=original.id,
    )
    session.add(back)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="referral.create",
                 object_type="referral", object_id=back.id, after=_snapshot(back),
                 reason=back.reason, source=source)
    return back


# --- reading ----------------------------------------------------------------------------------

def _partitions_seen(scope: Scope, *, hospital: str | None = None,
                     hospitals_in: Collection[str] | None = None) -> set[str] | None:
    """The partitions (db/revision.py) that every referral a read can return lies in — a
    hospital at one of its ends, or that hospital's province — or None when it may return any.
    Cached answers built from the read then survive referrals written elsewhere."""
    if hospitals_in is not None:
        return {hospital_part(code) for code in hospitals_in}
    if scope.hospital or hospital:
        return {hospital_part(scope.hospital or hospital or "")}
    if scope.province:
        return {scope.province}
    return None


def _reading(provinces: set[str] | None) -> AbstractContextManager[None]:
    if provinces is None:
        return nullcontext()
    return revision.within(Referral.__tablename__, provinces)


# Built once: a fresh alias per query rebuilt the aliased columns on every request (6 % of a
# busy server's CPU with the two other scope filters). Each filter has its own, so one query
# never meets the same alias twice.
_SENDER = aliased(Hospital, name="referral_sender")
_RECEIVER = aliased(Hospital, name="referral_receiver")


def _scoped(scope: Scope) -> Select[Referral]:
    query = select(Referral)
    if scope.national:
        return query
    src, dst = _SENDER, _RECEIVER
    return (query.join(src, src.code == Referral.from_hospital_code)
            .join(dst, dst.code == Referral.to_hospital_code)
            .where(scope.hospital_clause(src.code, src.region_code)
                   | scope.hospital_clause(dst.code, dst.region_code)))


def list_referrals(
    *, session: Session, scope: Scope, hospital: str | None = None,
    status: ReferralStatus | str | None = None, direction: Direction | str | None = None,
    overdue_only: bool = False, since: datetime | None = None, until: datetime | None = None,
    hospitals_in: set[str] | None = None, now: datetime | None = None,
    sla_hours: Sla = DEFAULT_SLA, limit: int | None = None, offset: int = 0,
) -> list[Referral]:
    """Referrals the caller may see, newest first; `hospital` matches either end,
    `hospitals_in` keeps referrals with at least one end in the set (a project's network)."""
    query = _filtered(scope, hospital=hospital, status=status, direction=direction,
                      overdue_only=overdue_only, since=since, until=until,
                      hospitals_in=hospitals_in, now=now, sla_hours=sla_hours)
    query = query.order_by(Referral.requested_at.desc(), Referral.id.desc())
    if limit is not None:
        query = query.limit(limit).offset(offset)
    with _reading(_partitions_seen(scope, hospital=hospital, hospitals_in=hospitals_in)):
        return list(session.scalars(query))


def count_referrals(
    *, session: Session, scope: Scope, hospital: str | None = None,
    status: ReferralStatus | str | None = None, direction: Direction | str | None = None,
    overdue_only: bool = False, now: datetime | None = None, sla_hours: Sla = DEFAULT_SLA,
) -> int:
    """How many referrals `list_referrals` would give with the same filters (no limit)."""
    query = _filtered(scope, hospital=hospital, status=status, direction=direction,
                      overdue_only=overdue_only, now=now, sla_hours=sla_hours)
    with _reading(_partitions_seen(scope, hospital=hospital)):
        return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _filtered(
    scope: Scope, *, hospital: str | None = None, status: ReferralStatus | str | None = None,
    direction: Direction | str | None = None, overdue_only: bool = False,
    since: datetime | None = None, until: datetime | None = None,
    hospitals_in: set[str] | None = None, now: datetime | None = None,
    sla_hours: Sla = DEFAULT_SLA,
) -> Select[Referral]:
    query = _scoped(scope)
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
        query = query.where(overdue_clause(now, sla_hours))
    return query


def history(*, session: Session, scope: Scope, referral_id: int) -> list[AuditEntry]:
    """Every recorded move of one referral, oldest first: who, when, from what to what, why."""
    get(session=session, scope=scope, referral_id=referral_id)
    entries = audit.list_entries(session=session, object_type="referral",
                                 object_id=str(referral_id), limit=1000)
    return list(reversed(entries))


def to_outs(session: Session, found: Iterable[Referral], *, now: datetime | None = None,
            sla_hours: Sla = DEFAULT_SLA) -> list[ReferralOut]:
    """Referrals as shown, with both hospitals and the returns loaded in two queries in all
    (never one per row: the inbox lists hundreds)."""
    rows = list(found)
    if not rows:
        return []
    codes = {c for r in rows for c in (r.from_hospital_code, r.to_hospital_code)}
    refs = {h.code: HospitalRef.model_validate(h)
            for h in session.scalars(select(Hospital).where(Hospital.code.in_(codes)))}
    # A return lies in the row partition of the referral it returns.
    with _reading({row_part(r.id) for r in rows}):
        returned = {orig: back for back, orig in session.execute(
            select(Referral.id, Referral.returned_from_id)
            .where(Referral.returned_from_id.in_([r.id for r in rows])))}
    return [_out(r, refs, returned.get(r.id), now, sla_hours) for r in rows]


def to_out(session: Session, referral: Referral, *, now: datetime | None = None,
           sla_hours: Sla = DEFAULT_SLA) -> ReferralOut:
    return to_outs(session, [referral], now=now, sla_hours=sla_hours)[0]


def _out(referral: Referral, refs: dict[str, HospitalRef], returned_as: int | None,
         now: datetime | None, sla: Sla) -> ReferralOut:
    def ref(code: str) -> HospitalRef:
        if code not in refs:
            raise NotFound(f"no hospital with code {code}")
        return refs[code]

    return ReferralOut(
        id=referral.id, status=referral.status, version=referral.version,
        direction=referral.direction, from_hospital=ref(referral.from_hospital_code),
        to_hospital=ref(referral.to_hospital_code), patient_pseudonym=referral.patient_pseudonym,
        patient_sex=referral.patient_sex or "9", age_band=referral.age_band or "",
        specialty=referral.specialty, diagnosis=referral.diagnosis, urgency=referral.urgency,
        reason=referral.reason, reply_note=referral.reply_note or "",
        requested_at=utc(referral.requested_at),
        responded_at=utc(referral.responded_at) if referral.responded_at else None,
        scheduled_for=utc(referral.scheduled_for) if referral.scheduled_for else None,
        updated_at=utc(referral.updated_at), due_at=due_at(referral, sla),
        overdue=is_overdue(referral, now=now, sla_hours=sla),
        idempotency_key=referral.idempotency_key, returned_from_id=referral.returned_from_id,
        returned_as_id=returned_as,
    )

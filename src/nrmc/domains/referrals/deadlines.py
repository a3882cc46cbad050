"""Answer deadlines by urgency: how long the receiving hospital has to accept or reject.

Defaults follow common practice for two-way referral agreements: an emergency is answered
within 2 hours, an urgent request within 24, a routine one within 72. A site changes them with
NRMC_REFERRAL_SLA_HOURS ("emergency=2,urgent=24,routine=72"); callers pass `settings.referral_sla`.
A single number (the setting of earlier versions) applies to every urgency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, or_

from ...core import lifetime
from ...core.enums import ReferralStatus, Urgency
from .models import Referral

Sla = Mapping[str, float] | float
DEFAULT_SLA: dict[str, float] = {"emergency": 2.0, "urgent": 24.0, "routine": 72.0}


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC, so say so."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def now_or(now: datetime | None) -> datetime:
    return utc(now) if now else datetime.now(UTC)


def hours_for(urgency: str, sla: Sla = DEFAULT_SLA) -> float:
    """The hours allowed to answer a referral of this urgency (routine's for an unknown one)."""
    if isinstance(sla, int | float):
        return float(sla)
    return float(sla.get(urgency, sla.get(Urgency.routine.value, DEFAULT_SLA["routine"])))


def due_at(referral: Referral, sla: Sla = DEFAULT_SLA) -> datetime:
    """When the answer falls due: request time + the hours of its urgency (the last instant
    there is, for a request time so near the end of the calendar that the sum overflows)."""
    try:
        return utc(referral.requested_at) + timedelta(hours=hours_for(referral.urgency, sla))
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def is_overdue(referral: Referral, *, now: datetime | None = None, sla_hours: Sla = DEFAULT_SLA) -> bool:
    """A request still neither accepted nor rejected after its deadline is overdue. When the
    answer is "not yet", a cache watching the request learns when it turns to "yes"."""
    if referral.status != ReferralStatus.requested.value:
        return False
    due = due_at(referral, sla_hours)
    if now_or(now) > due:
        return True
    if now is None:
        lifetime.changes_at(due)
    return False


def answered_late(referral: Referral, *, now: datetime | None = None,
                  sla_hours: Sla = DEFAULT_SLA) -> bool:
    """Overdue now, or answered (accepted/rejected/cancelled) only after the deadline."""
    if referral.responded_at is None:
        return is_overdue(referral, now=now, sla_hours=sla_hours)
    return utc(referral.responded_at) > due_at(referral, sla_hours)


def overdue_clause(now: datetime | None, sla: Sla = DEFAULT_SLA) -> ColumnElement[bool]:
    """SQL for "still requested and past the deadline of its urgency" (the rows it selects
    change with the clock: not kept by a cache)."""
    if now is None:
        lifetime.changes_now()
    at = now_or(now)
    known = [u.value for u in Urgency]
    parts = [and_(Referral.urgency == u, Referral.requested_at < at - timedelta(hours=hours_for(u, sla)))
             for u in known]
    parts.append(and_(Referral.urgency.not_in(known),
                      Referral.requested_at < at - timedelta(hours=hours_for("routine", sla))))
    return and_(Referral.status == ReferralStatus.requested.value, or_(false(), *parts))

"""utc times: move SQLite appointment times stored as local wall-clock text to UTC

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:00:00

What older versions wrote, column by column, on SQLite (whose DateTime drops the offset):
- requested_at, responded_at, updated_at, audit_log.at, users.created_at, site_visits.created_at
  were always made by `datetime.now(UTC)`: stored as UTC already, nothing to fix;
- referrals.scheduled_for kept the offset the caller sent (an API client in China sends
  +08:00), so the text holds that zone's wall clock and read back 8 h late. The audit trail kept
  the value with its offset (`referral.scheduled` → after.scheduled_for), so each such row can be
  recovered exactly: when the stored text equals the audited wall clock and the audited offset
  is not zero, the row is rewritten as the same instant in UTC. Rows without an audited offset
  (a time typed into the page was labelled UTC by the old code) are left as they are.
PostgreSQL's timestamptz kept every offset, so nothing changes there. Running it twice is a no-op.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    rows = bind.execute(sa.text(
        "SELECT id, scheduled_for FROM referrals WHERE scheduled_for IS NOT NULL")).all()
    for referral_id, stored_text in rows:
        stored = _parse(stored_text)
        if stored is None or stored.tzinfo is not None:
            continue
        audited = bind.execute(sa.text(
            "SELECT after FROM audit_log WHERE object_type = 'referral' AND object_id = :id "
            "AND action = 'referral.scheduled' ORDER BY id DESC LIMIT 1"),
            {"id": str(referral_id)}).scalar()
        after = json.loads(audited) if isinstance(audited, str) else audited
        sent = _parse((after or {}).get("scheduled_for"))
        if sent is None or sent.tzinfo is None or not sent.utcoffset():
            continue
        if sent.replace(tzinfo=None) != stored:
            continue  # already UTC, or changed since: leave it
        fixed = sent.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_FORMAT)
        bind.execute(sa.text("UPDATE referrals SET scheduled_for = :value WHERE id = :id"),
                     {"value": fixed, "id": referral_id})


def downgrade() -> None:
    # Going back would reintroduce the shift; the UTC text reads correctly with either version.
    pass

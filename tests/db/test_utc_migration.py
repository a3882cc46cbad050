"""Migration 0009: appointment times an older nrmc stored on SQLite as +08:00 wall-clock text
read back as the instant that was sent (issue 14, item 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from nrmc.db import make_engine
from nrmc.db.migrate import upgrade
from nrmc.domains.referrals.models import Referral

OLD_ROW = ("INSERT INTO referrals (id, from_hospital_code, to_hospital_code, direction, "
           "patient_pseudonym, specialty, diagnosis, urgency, reason, status, requested_at, "
           "scheduled_for, updated_at, created_by, version) VALUES (:id, 'A', 'B', 'up', '', "
           "'cardiovascular', 'I21', 'routine', '', 'scheduled', '2025-03-01 08:00:00.000000', "
           ":stored, '2025-03-01 09:00:00.000000', 'system', 3)")
AUDIT = ("INSERT INTO audit_log (at, actor, action, object_type, object_id, after, reason, source) "
         "VALUES ('2025-03-01 09:00:00.000000', 'x', 'referral.scheduled', 'referral', :id, :after, "
         "'', 'api')")


def test_old_local_appointment_times_are_moved_to_utc_and_others_kept(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    cases = {
        1: ("2025-03-02 10:30:00.000000", "2025-03-02T10:30:00+08:00"),  # old API write: shifted
        2: ("2025-03-02 10:30:00.000000", "2025-03-02T10:30:00+00:00"),  # labelled UTC: kept
        3: ("2025-03-02 02:30:00.000000", "2025-03-02T10:30:00+08:00"),  # already UTC: kept
        4: ("2025-03-02 10:30:00.000000", None),                          # no audit trail: kept
    }
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for rid, (stored, sent) in cases.items():
            conn.execute(text(OLD_ROW), {"id": rid, "stored": stored})
            if sent:
                conn.execute(text(AUDIT), {"id": str(rid), "after": json.dumps(
                    {"status": "scheduled", "version": 3, "scheduled_for": sent})})
    upgrade(engine)
    upgrade(engine)  # a second run changes nothing
    with Session(engine) as session:
        got = {r.id: r.scheduled_for for r in session.query(Referral).order_by(Referral.id)}
        requested = session.get(Referral, 1).requested_at
    at_0230 = datetime(2025, 3, 2, 2, 30, tzinfo=UTC)
    at_1030 = datetime(2025, 3, 2, 10, 30, tzinfo=UTC)
    assert got == {1: at_0230, 2: at_1030, 3: at_0230, 4: at_1030}
    assert requested == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)  # always UTC: untouched
    engine.dispose()

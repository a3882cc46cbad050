"""Referral times and idempotent creates on both stores (issue 14, items 1 and 3)."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from nrmc.core.enums import ReferralStatus as S
from nrmc.db.session import make_engine
from nrmc.domains.referrals import service as referrals
from nrmc.web.templating import date_zh

from .ops_factories import SYSTEM, T0, pyramid, refer

BEIJING = timezone(timedelta(hours=8))


@pytest.mark.postgres
def test_a_scheduled_time_reads_back_as_the_same_instant_and_shows_in_beijing_time(workspace_url):
    engine = make_engine(workspace_url)
    when = datetime(2025, 3, 2, 10, 30, tzinfo=BEIJING)
    with Session(engine) as session:
        pyramid(session)
        referral = refer(session)
        session.commit()
        for move in (S.accepted, S.scheduled):
            referral = referrals.transition(session=session, scope=SYSTEM, referral_id=referral.id,
                                            to=move, version=referral.version, now=T0,
                                            scheduled_for=when if move == S.scheduled else None)
        session.commit()
        referral_id = referral.id
    with Session(engine) as session:
        stored = referrals.get(session=session, scope=SYSTEM, referral_id=referral_id)
        assert stored.scheduled_for == when  # the same instant: no +8 h shift
        assert stored.scheduled_for.utcoffset() == timedelta(0)
        assert stored.requested_at == T0
        assert date_zh(stored.scheduled_for) == "2025年3月2日 10:30 (UTC+8)"
    engine.dispose()


@pytest.mark.postgres
def test_twenty_concurrent_creates_with_one_key_make_one_referral_and_all_succeed(workspace_url):
    engine = make_engine(workspace_url)
    with Session(engine) as session:
        pyramid(session)
        session.commit()
    barrier = threading.Barrier(20)
    ids: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            with Session(engine) as session:
                barrier.wait()
                referral_id = refer(session, key="retry-storm").id
                session.commit()
            with lock:
                ids.append(referral_id)
        except BaseException as exc:  # noqa: BLE001 - any failure is what this test looks for
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert errors == []
    assert len(ids) == 20 and len(set(ids)) == 1
    engine.dispose()

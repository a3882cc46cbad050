"""Referral inbox rows and the hospital picker: queries and time per page (issue 17).

Run:  PYTHONPATH=src python benchmarks/referral_inbox.py [--rows 300] [--reps 5]

A fresh SQLite workspace (real geography, the programme roster, the 3A hospital list) holds
`rows` referrals of one hospital with partners spread over the province. Each rep opens a new
session (empty identity map, as a request does) and builds the rows of the inbox:
- baseline: the code before this change, each row's two hospitals looked up one at a time;
- batched: `referrals.service.to_outs`, the hospitals and returns of all rows in two queries.
The picker line times `hospitals.search.search` over the whole registry for typical entries.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from nrmc.db import make_engine, session_scope
from nrmc.domains.hospitals import search
from nrmc.domains.hospitals import service as hospitals
from nrmc.domains.hospitals.models import Hospital
from nrmc.domains.hospitals.schemas import HospitalRef
from nrmc.domains.referrals import service as referrals
from nrmc.domains.referrals.models import Referral
from nrmc.domains.referrals.schemas import ReferralCreate
from nrmc.domains.users.scope import Scope
from nrmc.workspace import upgrade_workspace

SYSTEM = Scope.system()


def seed(engine, rows: int) -> str:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        codes = list(session.scalars(select(Hospital.code).where(Hospital.region_code.like("62%"))
                                     .order_by(Hospital.code)))
        home = codes[0]
        t0 = datetime.now(UTC) - timedelta(days=30)
        for i in range(rows):
            other = codes[1 + i % (len(codes) - 1)]
            frm, to = (home, other) if i % 2 else (other, home)
            referrals.create(session=session, scope=SYSTEM, now=t0 + timedelta(minutes=i),
                             data=ReferralCreate(from_hospital=frm, to_hospital=to,
                                                 specialty="cardiovascular", diagnosis="I21.0"))
    return home


def baseline(session: Session, found: list[Referral]) -> int:
    """The rows as the inbox built them before: two hospital lookups per row."""
    out = 0
    for r in found:
        HospitalRef.model_validate(hospitals.get(session=session, code=r.from_hospital_code))
        HospitalRef.model_validate(hospitals.get(session=session, code=r.to_hospital_code))
        out += 1
    return out


def measure(engine, home: str, build, reps: int) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    queries: list[int] = []
    times = []
    for _ in range(reps):
        with Session(engine) as session:
            found = referrals.list_referrals(session=session, scope=SYSTEM, hospital=home,
                                             limit=300)
            count = [0]

            def tick(*_args, count=count):  # type: ignore[no-untyped-def]
                count[0] += 1

            event.listen(engine, "before_cursor_execute", tick)
            start = time.perf_counter()
            build(session, found)
            times.append(time.perf_counter() - start)
            event.remove(engine, "before_cursor_execute", tick)
            queries.append(count[0])
    return queries[-1], statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'nrmc.db'}")
        upgrade_workspace(engine)
        home = seed(engine, args.rows)
        with Session(engine) as session:
            registry = session.scalar(select(func.count()).select_from(Hospital))
        base_q, base_ms = measure(engine, home, baseline, args.reps)
        new_q, new_ms = measure(engine, home, lambda s, f: referrals.to_outs(s, f), args.reps)
        print(f"inbox rows of one hospital: {args.rows} referrals, median of {args.reps} "
              "fresh sessions (SQLite)")
        print(f"{'case':<42}{'queries':>9}{'ms':>10}{'ratio':>8}")
        print(f"{'baseline: per-row hospital lookups':<42}{base_q:>9}{base_ms:>10.1f}{1.0:>8.2f}")
        print(f"{'batched: referrals.service.to_outs':<42}{new_q:>9}{new_ms:>10.1f}"
              f"{base_ms / new_ms:>8.2f}")
        print(f"\npicker over {registry} hospitals (whole registry, national scope)")
        print(f"{'query':<28}{'hits':>6}{'ms':>10}")
        with Session(engine) as session:
            search.search(session=session, q="warm-up")
            for q in ("jqsrmyy", "lzdy", "酒泉", "人民医院", "NRMC-P03"):
                times = []
                for _ in range(args.reps):
                    start = time.perf_counter()
                    hits = search.search(session=session, q=q, limit=20)
                    times.append(time.perf_counter() - start)
                print(f"{q:<28}{len(hits):>6}{statistics.median(times) * 1000:>10.1f}")
        engine.dispose()


if __name__ == "__main__":
    main()

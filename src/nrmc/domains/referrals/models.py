"""Two-way referrals (双向转诊) between hospitals, with an optimistic version counter."""

from __future__ import annotations

import zlib
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ForeignKey, Integer, String, Text, bindparam, inspect, text
from sqlalchemy.orm import Mapped, mapped_column

from ...db import revision
from ...db.base import Base
from ...db.types import UTCDateTime


class Referral(Base):
    """One patient referred from one hospital to another.

    `version` is SQLAlchemy's version counter: every UPDATE says `WHERE version = <seen>`, so
    of two people acting on the same version only the first one's change is stored.
    """

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    from_hospital_code: Mapped[str] = mapped_column(String(32), ForeignKey("hospitals.code"),
                                                    index=True)
    to_hospital_code: Mapped[str] = mapped_column(String(32), ForeignKey("hospitals.code"),
                                                  index=True)
    direction: Mapped[str] = mapped_column(String(16), index=True)
    # The keyed pseudonym of the sending hospital's record number (病案号); the number itself
    # is never stored.
    patient_pseudonym: Mapped[str] = mapped_column(String(64), default="")
    patient_sex: Mapped[str] = mapped_column(String(1), default="9", server_default="9")
    age_band: Mapped[str] = mapped_column(String(8), default="", server_default="")
    specialty: Mapped[str] = mapped_column(String(32))
    diagnosis: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16), default="routine")
    reason: Mapped[str] = mapped_column(Text, default="")
    # The receiving hospital's latest answer (accept, reject, return), shown to both sides.
    reply_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Set on the down-referral that "return to referrer" creates: the referral it returns.
    returned_from_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("referrals.id"), nullable=True, index=True, unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


_REGIONS_OF = text("SELECT code, region_code FROM hospitals WHERE code IN :codes").bindparams(
    bindparam("codes", expanding=True))


def provinces_of(connection: Connection, codes: Collection[str]) -> set[str]:
    """The provinces (2-digit codes) the hospitals lie in; "?" for a code not found."""
    if not codes:
        return set()
    found = {code: region for code, region in connection.execute(_REGIONS_OF,
                                                                 {"codes": sorted(codes)})}
    return {found[code][:2] if code in found else revision.UNKNOWN_PART for code in codes}


# Partitions are buckets, so the store keeps a bounded number of counters however many
# hospitals and referrals there are (two in one bucket only share a cache invalidation).
BUCKETS = 4096


def hospital_part(code: str) -> str:
    """The partition of the referrals with one end at this hospital."""
    return f"h:{zlib.crc32(code.encode()) % BUCKETS}"


def row_part(referral_id: int) -> str:
    """The partition of one referral and of the returns linked to it."""
    return f"r:{referral_id % BUCKETS}"


def _referral_partitions(connection: Connection, rows: Sequence[Any]) -> set[str]:
    """A referral lies in the partitions of both its hospitals and their provinces, of its own
    row, and of the referral it returns (before and after a change)."""
    codes: set[str] = set()
    ids: set[int] = set()
    for row in rows:
        codes |= {row.from_hospital_code, row.to_hospital_code}
        ids |= {row.id, row.returned_from_id}
        state = inspect(row)
        for column in ("from_hospital_code", "to_hospital_code", "returned_from_id"):
            deleted = {c for c in state.attrs[column].history.deleted if c}
            if column == "returned_from_id":
                ids |= deleted
            else:
                codes |= deleted
    codes = {c for c in codes if c}
    return (provinces_of(connection, codes) | {hospital_part(c) for c in codes}
            | {row_part(i) for i in ids if i is not None})


# Referral writes are counted per province, hospital and row, so cached answers about other
# provinces, other hospitals' networks and other referrals stay.
revision.partition_by(Referral.__tablename__, Referral, _referral_partitions)

"""Gaps: a technology or service not available at a level (city, province, nation) in a place,
and the link from the technologies introduced to the gaps they fill (the technologies table
itself belongs to the collaboration ledger and is not altered)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...db.base import Base


class Gap(Base):
    __tablename__ = "gaps"
    __table_args__ = (UniqueConstraint("region_code", "level", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"), index=True)
    region_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[str] = mapped_column(String(32), default="other")
    identified_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text, default="")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class TechnologyGap(Base):
    """A technology (collaboration ledger) fills a gap."""

    __tablename__ = "technology_gaps"

    technology_id: Mapped[int] = mapped_column(ForeignKey("technologies.id", ondelete="CASCADE"),
                                               primary_key=True)
    gap_id: Mapped[int] = mapped_column(ForeignKey("gaps.id", ondelete="CASCADE"),
                                        primary_key=True, index=True)

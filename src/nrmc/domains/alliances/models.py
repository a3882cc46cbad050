from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...db.base import Base


class Alliance(Base):
    """A medical alliance (医联体): medical group, county medical community, specialist
    alliance or telemedicine network, led by one hospital."""

    __tablename__ = "alliances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(32))
    lead_hospital_code: Mapped[str] = mapped_column(String(32), ForeignKey("hospitals.code"))
    region_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    members: Mapped[list[AllianceMember]] = relationship(
        back_populates="alliance", cascade="all, delete-orphan", order_by="AllianceMember.id"
    )


class AllianceMember(Base):
    """Membership over time: a hospital can join, leave and rejoin an alliance."""

    __tablename__ = "alliance_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliances.id"), index=True)
    hospital_code: Mapped[str] = mapped_column(String(32), ForeignKey("hospitals.code"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)

    alliance: Mapped[Alliance] = relationship(back_populates="members")

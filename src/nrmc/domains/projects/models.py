from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...db.base import Base


class Project(Base):
    """A national regional medical centre project: an output hospital paired with a project
    hospital in an under-served province."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("output_hospital_code", "project_hospital_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    output_hospital_code: Mapped[str] = mapped_column(String(32), ForeignKey("hospitals.code"))
    project_hospital_code: Mapped[str] = mapped_column(String(32), ForeignKey("hospitals.code"))
    province_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"), index=True)
    city_code: Mapped[str | None] = mapped_column(
        String(6), ForeignKey("regions.code"), nullable=True
    )
    specialty: Mapped[str] = mapped_column(String(32))
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    specialty_note: Mapped[str] = mapped_column(String(200), default="")
    planned_beds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="approved")
    opening_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the day the centre opened and where that came from: roster | import | page; "batch" when
    # opening_year is only the batch's usual year (an estimate, flagged in evaluations)
    opened_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    opening_source: Mapped[str] = mapped_column(String(16), default="")
    verification: Mapped[str] = mapped_column(String(1), default="U")
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")

"""Trusteeship (托管): a managing hospital runs a managed hospital for a term, usually with
management separated from operation and an upgrade goal (e.g. two grades in five years).
Progress is reported as dated rows; nothing is summed into the arrangement itself."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...db.base import Base


class Trusteeship(Base):
    __tablename__ = "trusteeships"
    __table_args__ = (CheckConstraint("goal_deadline >= start_date", name="deadline_after_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    managing_hospital_code: Mapped[str] = mapped_column(String(32), ForeignKey("hospitals.code"),
                                                        index=True)
    managed_hospital_code: Mapped[str] = mapped_column(String(32), ForeignKey("hospitals.code"),
                                                       index=True)
    province_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True,
                                                   index=True)
    start_date: Mapped[date] = mapped_column(Date)
    term_years: Mapped[int] = mapped_column(Integer)
    separated: Mapped[bool] = mapped_column(Boolean, default=True)  # 管办分离
    start_grade: Mapped[str] = mapped_column(String(16))
    target_grade: Mapped[str] = mapped_column(String(16))
    goal_deadline: Mapped[date] = mapped_column(Date)
    posts_planned: Mapped[int] = mapped_column(Integer, default=0)
    departments_planned: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class TrusteeshipReport(Base):
    """The managed hospital's position on a date: its grade, posts filled by the managing
    hospital, departments opened, technologies introduced and volumes (cumulative counts of
    posts, departments and technologies; volumes for the month ending on `reported_on`)."""

    __tablename__ = "trusteeship_reports"
    __table_args__ = (UniqueConstraint("trusteeship_id", "reported_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trusteeship_id: Mapped[int] = mapped_column(ForeignKey("trusteeships.id", ondelete="CASCADE"),
                                                index=True)
    reported_on: Mapped[date] = mapped_column(Date)
    grade: Mapped[str] = mapped_column(String(16))
    posts_filled: Mapped[int] = mapped_column(Integer, default=0)
    departments_opened: Mapped[int] = mapped_column(Integer, default=0)
    technologies: Mapped[int] = mapped_column(Integer, default=0)
    outpatients: Mapped[int] = mapped_column(Integer, default=0)
    surgeries: Mapped[int] = mapped_column(Integer, default=0)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

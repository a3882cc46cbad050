"""Collaboration ledger: experts, teams, dispatches, activities, technologies, trainees, visits.

Every row belongs to a project; KPIs are computed from these individual rows, never stored.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...db.base import Base
from ...db.types import UTCDateTime


class Expert(Base):
    """A person the output hospital sends; identified by name and home hospital."""

    __tablename__ = "experts"
    __table_args__ = (UniqueConstraint("name", "home_hospital_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(100), default="")
    home_hospital_code: Mapped[str] = mapped_column(String(32), ForeignKey("hospitals.code"),
                                                    index=True)


class ExpertTeam(Base):
    """A group of experts dispatched together (one batch of a project's rotation)."""

    __tablename__ = "expert_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class Dispatch(Base):
    """One expert on site for a project from start to end (both inclusive)."""

    __tablename__ = "dispatches"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("expert_teams.id"), nullable=True,
                                                index=True)
    role: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)

    expert: Mapped[Expert] = relationship(lazy="joined")
    team: Mapped[ExpertTeam | None] = relationship(lazy="joined")


class Activity(Base):
    """One dated ledger line. `count` is operations (surgery), patients seen (outpatient, ward
    round), cases (consultation, teleconsultation) or attendees (lecture, training)."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count_non_negative"),
        CheckConstraint("surgery_grade IS NULL OR surgery_grade BETWEEN 1 AND 4",
                        name="surgery_grade_range"),
        # a project's rows by date: the newest entry and the period sums of the dashboards
        Index("ix_activities_project_id_occurred_on", "project_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatches.id"), nullable=True,
                                                    index=True)
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    surgery_grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    complex_case: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    # The department of the project hospital the line is about (the weekly sheet's rows).
    department: Mapped[str] = mapped_column(String(100), default="", server_default="")


class Technology(Base):
    """A technique introduced at the project hospital, and the gap it fills."""

    __tablename__ = "technologies"
    __table_args__ = (CheckConstraint("cases_since >= 0", name="cases_non_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(100), default="")
    first_case_on: Mapped[date] = mapped_column(Date)
    cases_since: Mapped[int] = mapped_column(Integer, default=0)
    gap_level: Mapped[str] = mapped_column(String(16))


class Trainee(Base):
    """A local clinician trained under a project programme."""

    __tablename__ = "trainees"
    __table_args__ = (CheckConstraint("hours >= 0", name="hours_non_negative"),
                      Index("ix_trainees_project_id_trained_on", "project_id", "trained_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    programme: Mapped[str] = mapped_column(String(200))
    hours: Mapped[float] = mapped_column(Float, default=0.0)
    # The start of the training; KPIs count a trainee in the period this date falls in.
    trained_on: Mapped[date] = mapped_column(Date)
    home_hospital: Mapped[str] = mapped_column(String(200), default="", server_default="")
    county: Mapped[str] = mapped_column(String(100), default="", server_default="")
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    completed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SiteVisit(Base):
    """An expert field investigation of a project; the evidence for approval or warning."""

    __tablename__ = "site_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    lead: Mapped[str] = mapped_column(String(100))
    members: Mapped[list[str]] = mapped_column(JSON, default=list)
    findings: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    actions: Mapped[list[FollowUpAction]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="FollowUpAction.id")


class FollowUpAction(Base):
    __tablename__ = "follow_up_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("site_visits.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(100), default="", server_default="")
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    visit: Mapped[SiteVisit] = relationship(back_populates="actions")


class MonthReview(Base):
    """The province's review of one project's month of ledger rows (data approval).

    No row means the month is open. `reviewed` locks the month: no ledger write dated in it is
    accepted until a reviewer reopens it."""

    __tablename__ = "month_reviews"
    __table_args__ = (UniqueConstraint("project_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerUpload(Base):
    """A spreadsheet whose rows were stored, by content fingerprint: the same file uploaded
    again into the same project and kind adds nothing."""

    __tablename__ = "ledger_uploads"
    __table_args__ = (UniqueConstraint("project_id", "kind", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200), default="")
    rows: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(64), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())

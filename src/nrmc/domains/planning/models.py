from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...db.base import Base
from ...db.types import UTCDateTime


class PlanningScenario(Base):
    """A named, saved siting run: its inputs and its answer, owned by a user and scoped to the
    province it plans (a provincial planner sees its own province's, national roles all)."""

    __tablename__ = "planning_scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    owner: Mapped[str] = mapped_column(String(64), index=True)
    province_code: Mapped[str] = mapped_column(String(6), index=True)
    specialty: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)  # type: ignore[type-arg]
    results: Mapped[dict] = mapped_column(JSON, default=dict)  # type: ignore[type-arg]

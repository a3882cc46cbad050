"""Programme targets: the figure each national indicator is judged against, and its source.

Indicator values are never stored (they are computed from the ledger, the registry and the
flows dataset); only the targets are, so that the programme office can edit them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...db.base import Base
from ...db.types import UTCDateTime


class ProgrammeTarget(Base):
    """One indicator's target: `direction` says whether the value should reach it from below
    (`at_least`) or stay under it (`at_most`)."""

    __tablename__ = "programme_targets"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(16), default="at_least")
    source: Mapped[str] = mapped_column(Text, default="")
    verification: Mapped[str] = mapped_column(String(1), default="U")
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100), default="system")

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, validates

from ...core.pinyin import initials
from ...db.base import Base


def _initials_default(context: DefaultExecutionContext) -> str:
    """Filled on every insert, bulk ones included (the demo builder inserts in bulk)."""
    return initials(str(context.get_current_parameters().get("name_zh") or ""))


class Hospital(Base):
    """A health institution; `synthetic` marks demo rows that are not real institutions."""

    __tablename__ = "hospitals"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    region_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"), index=True)
    tier: Mapped[str] = mapped_column(String(32), index=True)
    grade: Mapped[str] = mapped_column(String(16))
    beds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    source: Mapped[str] = mapped_column(String(500), default="")
    # Pinyin initials of name_zh, for the hospital picker (兰州大学第一医院 → lzdxdyyy).
    initials: Mapped[str] = mapped_column(String(200), default=_initials_default,
                                          server_default="", index=True)

    @validates("name_zh")
    def _renamed(self, _key: str, value: str) -> str:
        self.initials = initials(value or "")
        return value

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...db.base import Base


class Region(Base):
    """A GB/T 2260 division (province, prefecture or county) with centroid and population."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        String(6), ForeignKey("regions.code"), index=True, nullable=True
    )
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    coords_from_parent: Mapped[bool] = mapped_column(Boolean, default=False)
    population: Mapped[int] = mapped_column(Integer)
    population_estimated: Mapped[bool] = mapped_column(Boolean, default=True)
    leaf: Mapped[bool] = mapped_column(Boolean, default=False)
    # How `population` was obtained (census, census_code:<2020 code>, merged:…, split_from:…,
    # "+zone_folded"/"+rescaled" suffixes; see the README, "Reference data").
    population_method: Mapped[str] = mapped_column(String(96), default="", server_default="")
    population_census: Mapped[int | None] = mapped_column(Integer, nullable=True)
    urban: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rural: Mapped[int | None] = mapped_column(Integer, nullable=True)
    share_65_plus: Mapped[float | None] = mapped_column(Float, nullable=True)
    # "" (own point), "predecessor:<code>", "children" or "parent" (as coords_from_parent).
    coords_from: Mapped[str] = mapped_column(String(32), default="", server_default="")

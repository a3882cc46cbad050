from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RegionOut(BaseModel):
    """A region as the CLI (--format json) and API show it: flat, with the parent code."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str
    level: str
    parent_code: str | None
    lon: float
    lat: float
    population: int
    population_estimated: bool
    population_method: str = ""


class RegionDetail(RegionOut):
    coords_from_parent: bool
    coords_from: str = ""
    population_census: int | None = None
    urban: int | None = None
    rural: int | None = None
    share_65_plus: float | None = None
    prefecture: RegionOut | None = None
    province: RegionOut | None = None
    children: int = 0

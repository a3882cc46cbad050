"""Hospitals: lookups, listing, validated atomic import, and a plain table for analytics."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...core import codes
from ...core.enums import Grade, Tier
from ...core.errors import ImportRejected, NotFound, RowProblem
from ...core.inputs import MAX_BEDS
from ...core.tabular import check_columns, read_table
from ..regions import service as regions
from ..regions.models import Region
from ..users.scope import Scope
from .models import Hospital
from .schemas import REQUIRED_COLUMNS


def get(*, session: Session, code: str) -> Hospital:
    hospital = session.get(Hospital, code)
    if hospital is None:
        raise NotFound(f"no hospital with code {code}")
    return hospital


def list_hospitals(
    *, session: Session, region: str | None = None, tier: Tier | None = None,
    synthetic: bool | None = None, limit: int | None = None, offset: int = 0,
) -> list[Hospital]:
    """Hospitals in a region (any level: a province includes its counties), optionally by tier."""
    query = select(Hospital).order_by(Hospital.code)
    if region is not None:
        query = query.where(_in_region(session, region))
    if tier is not None:
        query = query.where(Hospital.tier == Tier(tier).value)
    if synthetic is not None:
        query = query.where(Hospital.synthetic == synthetic)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def _in_region(session: Session, region: str):  # type: ignore[no-untyped-def]
    unit = regions.get(session=session, code=region)
    if unit.level == "province":
        return Hospital.region_code.like(unit.code[:2] + "%")
    if unit.level == "prefecture":
        return Hospital.region_code.in_(
            select(Region.code).where((Region.parent_code == unit.code) | (Region.code == unit.code))
        )
    return Hospital.region_code == unit.code


def upsert(*, session: Session, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Insert new hospitals and update existing ones by code; returns (added, updated)."""
    added = updated = 0
    existing = {h.code: h for h in session.scalars(
        select(Hospital).where(Hospital.code.in_([r["code"] for r in rows])))}
    for row in rows:
        hospital = existing.get(row["code"])
        if hospital is None:
            session.add(Hospital(**row))
            added += 1
        else:
            for key, value in row.items():
                setattr(hospital, key, value)
            updated += 1
    session.flush()
    return added, updated


def import_file(*, session: Session, path: Path) -> tuple[int, int]:
    """Import a CSV/XLSX of hospitals in one transaction, or refuse it listing every bad row."""
    rows = read_table(path)
    check_columns(path, rows, REQUIRED_COLUMNS)
    region_index = {r.code: r for r in session.scalars(select(Region))}
    problems: list[RowProblem] = []
    parsed: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, raw in rows:
        record, row_problems = _parse_row(str(path), number, raw, region_index)
        code = raw.get("code", "")
        if code and code in seen:
            row_problems.append(RowProblem(str(path), number, "code",
                                           f"duplicate of row {seen[code]} in this file"))
        elif code:
            seen[code] = number
        problems.extend(row_problems)
        if not row_problems:
            parsed.append(record)
    if problems:
        raise ImportRejected(str(path), problems)
    return upsert(session=session, rows=parsed)


# The stored columns' widths: longer text is refused per row, not left to the database.
TEXT_LIMITS = {"code": 32, "name_zh": 200, "name_en": 300}


def _parse_row(
    file: str, number: int, raw: dict[str, str], region_index: dict[str, Region]
) -> tuple[dict[str, Any], list[RowProblem]]:
    problems: list[RowProblem] = []

    def problem(field: str, reason: str) -> None:
        problems.append(RowProblem(file, number, field, reason))

    for field in REQUIRED_COLUMNS:
        if not raw.get(field):
            problem(field, "required value is missing")
    region: Region | None = None
    if raw.get("region_code"):
        try:
            region = region_index.get(codes.normalize(raw["region_code"]))
        except ValueError:
            region = None
        if region is None:
            problem("region_code", f"unknown region code {raw['region_code']!r}")
    tier = raw.get("tier", "").lower()
    if tier and tier not in Tier.__members__:
        problem("tier", f"unknown tier {raw['tier']!r}; expected one of {', '.join(Tier)}")
    grade = raw.get("grade", "").lower()
    if grade and grade not in Grade.__members__:
        problem("grade", f"unknown grade {raw['grade']!r}; expected one of {', '.join(Grade)}")
    for field, limit in TEXT_LIMITS.items():
        if len(raw.get(field, "")) > limit:
            problem(field, f"must be at most {limit} characters")
    beds: int | None = None
    if raw.get("beds"):
        try:
            given = float(raw["beds"].replace(",", ""))
            beds = int(given)  # NaN → ValueError; inf, 1e400 → OverflowError
            if beds != given:
                problem("beds", f"not a whole number: {raw['beds'][:40]!r}")
            elif beds < 0:
                problem("beds", "must not be negative")
            elif beds > MAX_BEDS:
                problem("beds", f"must be at most {MAX_BEDS:,}")
        except (ValueError, OverflowError):
            problem("beds", f"not a number: {raw['beds'][:40]!r}")
    lon = _coordinate(raw.get("lon", ""), -180, 180, "lon", problem)
    lat = _coordinate(raw.get("lat", ""), -90, 90, "lat", problem)
    if (lon is None) != (lat is None) and not problems:
        problem("lon" if lon is None else "lat", "give both lon and lat, or neither")
    record: dict[str, Any] = {}
    if not problems and region is not None:
        record = {
            "code": raw["code"], "name_zh": raw["name_zh"], "name_en": raw.get("name_en", ""),
            "region_code": region.code, "tier": tier, "grade": grade, "beds": beds,
            "lon": region.lon if lon is None else lon, "lat": region.lat if lat is None else lat,
            "synthetic": False, "source": f"imported from {Path(file).name}",
        }
    return record, problems


def _coordinate(text: str, low: float, high: float, field: str, problem) -> float | None:  # type: ignore[no-untyped-def]
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problem(field, f"not a number: {text!r}")
        return None
    if math.isnan(value) or not low <= value <= high:
        problem(field, f"{value} is outside {low}..{high}")
        return None
    return value


def hospital_table(*, session: Session) -> pd.DataFrame:
    """All hospitals as a plain table for flows and planning (which never take a session)."""
    columns = ["code", "name_zh", "name_en", "region_code", "tier", "grade", "beds", "lon",
               "lat", "synthetic"]
    rows = session.execute(select(*(getattr(Hospital, c) for c in columns))).all()
    return pd.DataFrame(rows, columns=columns)


def to_row(hospital: Hospital) -> dict[str, Any]:
    """The flat form used by --format json/csv (the import column names)."""
    return {
        "code": hospital.code, "name_zh": hospital.name_zh, "name_en": hospital.name_en,
        "region_code": hospital.region_code, "tier": hospital.tier, "grade": hospital.grade,
        "beds": hospital.beds, "lon": hospital.lon, "lat": hospital.lat,
        "synthetic": hospital.synthetic,
    }


# --- scope-filtered access (web and API) -------------------------------------------------------

def get_visible(*, session: Session, scope: Scope, code: str) -> Hospital:
    """A hospital in scope; NotFound (same message as a missing code) otherwise."""
    hospital = session.get(Hospital, code)
    if hospital is None or not scope.allows_hospital(hospital.code, hospital.region_code):
        raise NotFound(f"no hospital with code {code}")
    return hospital


def list_visible(
    *, session: Session, scope: Scope, region: str | None = None, tier: Tier | None = None,
    synthetic: bool | None = None, limit: int | None = None, offset: int = 0,
) -> tuple[list[Hospital], int]:
    query = select(Hospital).where(scope.hospital_clause(Hospital.code, Hospital.region_code))
    if region is not None:
        query = query.where(_in_region(session, region))
    if tier is not None:
        query = query.where(Hospital.tier == Tier(tier).value)
    if synthetic is not None:
        query = query.where(Hospital.synthetic == synthetic)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(Hospital.code)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query)), total


def counts_by_region(*, session: Session, scope: Scope, codes_like: str) -> dict[str, tuple[int, int]]:
    """(hospitals, beds) per region code among visible hospitals whose region starts so."""
    rows = session.execute(
        select(Hospital.region_code, func.count(), func.coalesce(func.sum(Hospital.beds), 0))
        .where(scope.hospital_clause(Hospital.code, Hospital.region_code),
               Hospital.region_code.like(codes_like + "%"))
        .group_by(Hospital.region_code)).all()
    return {code: (int(n), int(beds or 0)) for code, n, beds in rows}

"""Where a centre may go (candidates) and what is already open (existing capacity).

Candidates, by the planner's choice:

* ``registry`` (default): the registry's real tertiary hospitals in the province — tier
  tertiary and not ``synthetic`` (the demo's invented hospitals never count);
* ``greenfield``: any county seat of the province (the unit's centroid), for new-build options;
* ``upload``: the planner's own list, CSV or XLSX with ``code, name_zh, lon, lat``.

Existing capacity: the project hospitals of national regional medical centres of the same
specialty (``comprehensive`` projects for comprehensive plans) that have opened — status
operating, or approved / under construction with an opening year not after this year — and
their output hospitals in their own cities. They are fixed open by default and counted in the
objective; a toggle leaves them out.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import ProjectStatus, Tier
from ...core.errors import ImportRejected, RowProblem
from ...core.inputs import today_beijing
from ...core.tabular import check_columns, read_table
from ..hospitals.models import Hospital
from ..projects.models import Project

KINDS = ("registry", "greenfield", "upload")
OPEN_STATUSES = {ProjectStatus.operating.value, ProjectStatus.approved.value,
                 ProjectStatus.under_construction.value}
MAX_UPLOAD_ROWS = 5_000


@dataclass(frozen=True)
class SiteTable:
    """Columns ``code, name_zh, lon, lat, region_code, existing, role`` and what it is."""

    frame: pd.DataFrame
    kind: str
    note_en: str
    note_zh: str


def registry_candidates(*, session: Session, province: str) -> pd.DataFrame:
    rows = session.execute(select(Hospital.code, Hospital.name_zh, Hospital.lon, Hospital.lat,
                                  Hospital.region_code).where(
        Hospital.tier == Tier.tertiary.value, Hospital.synthetic.is_(False),
        Hospital.region_code.like(province[:2] + "%")).order_by(Hospital.code)).all()
    return pd.DataFrame(rows, columns=["code", "name_zh", "lon", "lat", "region_code"])


def greenfield_candidates(units: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"code": units["code"].astype(str),
                         "name_zh": units["name_zh"].astype(str) + "（县城 county seat）",
                         "lon": units["lon"].astype(float), "lat": units["lat"].astype(float),
                         "region_code": units["code"].astype(str)})


def read_candidates(content: bytes, filename: str) -> pd.DataFrame:
    """The planner's candidate list (CSV or XLSX: ``code, name_zh, lon, lat``); every bad row
    is named (file, row, field) and nothing is used unless the whole file is good."""
    suffix = Path(filename).suffix.lower() or ".csv"
    name = Path(filename).name or "candidates"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            rows = read_table(path)
        except ImportRejected as exc:
            raise ImportRejected(name, [RowProblem(name, p.row, p.field, p.reason)
                                        for p in exc.problems]) from None
        except (UnicodeDecodeError, ValueError, OSError, KeyError) as exc:
            raise ImportRejected(name, [RowProblem(name, 0, "file", f"cannot be read "
                                                  f"({type(exc).__name__}); use UTF-8 CSV or XLSX")]
                                 ) from None
    try:
        check_columns(Path(name), rows, ["code", "name_zh", "lon", "lat"])
    except ImportRejected as exc:
        raise ImportRejected(name, [RowProblem(name, p.row, p.field, p.reason)
                                    for p in exc.problems]) from None
    problems: list[RowProblem] = []
    if len(rows) > MAX_UPLOAD_ROWS:
        problems.append(RowProblem(name, 0, "file", f"more than {MAX_UPLOAD_ROWS:,} rows"))
    out, seen = [], set()
    for number, row in rows[:MAX_UPLOAD_ROWS]:
        code, label = row.get("code", ""), row.get("name_zh", "")
        if not code or len(code) > 32 or any(ord(ch) < 32 for ch in code):
            problems.append(RowProblem(name, number, "code", "required, at most 32 characters"))
        elif code in seen:
            problems.append(RowProblem(name, number, "code", f"{code!r} appears twice"))
        seen.add(code)
        if not label or len(label) > 200 or any(ord(ch) < 32 for ch in label):
            problems.append(RowProblem(name, number, "name_zh", "required, at most 200 characters"))
        coords = {}
        for column, low, high in (("lon", 73.0, 136.0), ("lat", 3.0, 54.0)):
            try:
                value = float(row.get(column, ""))
                if not low <= value <= high:
                    raise ValueError
                coords[column] = value
            except ValueError:
                problems.append(RowProblem(name, number, column,
                                           f"must be a number between {low:g} and {high:g} "
                                           "(China, WGS-84 degrees)"))
        if len(coords) == 2:
            out.append({"code": code, "name_zh": label, "lon": coords["lon"],
                        "lat": coords["lat"], "region_code": row.get("region_code", "")})
    if problems:
        raise ImportRejected(name, problems)
    return pd.DataFrame(out, columns=["code", "name_zh", "lon", "lat", "region_code"])


def existing_centres(*, session: Session, specialty: str, province: str | None = None,
                     year: int | None = None) -> pd.DataFrame:
    """Opened centres of ``specialty``: project hospitals and their output hospitals (in
    ``province`` only, when given: an output hospital serves its own city)."""
    year = year or today_beijing().year
    projects = session.scalars(select(Project).where(Project.status.in_(OPEN_STATUSES))
                               .order_by(Project.id)).all()
    opened = [p for p in projects
              if (p.specialty == specialty or specialty in (p.specialties or []))
              and (p.status == ProjectStatus.operating.value
                   or (p.opening_year is not None and p.opening_year <= year))]
    roles: dict[str, str] = {}
    for p in opened:
        roles.setdefault(p.project_hospital_code, "centre")
        roles.setdefault(p.output_hospital_code, "output")
    if not roles:
        return pd.DataFrame(columns=["code", "name_zh", "lon", "lat", "region_code", "role"])
    query = select(Hospital.code, Hospital.name_zh, Hospital.lon, Hospital.lat,
                   Hospital.region_code).where(Hospital.code.in_(roles))
    if province:
        query = query.where(Hospital.region_code.like(province[:2] + "%"))
    rows = session.execute(query.order_by(Hospital.code)).all()
    frame = pd.DataFrame(rows, columns=["code", "name_zh", "lon", "lat", "region_code"])
    frame["role"] = frame["code"].map(roles)
    return frame


def site_table(*, session: Session, province: str, units: pd.DataFrame, specialty: str,
               kind: str = "registry", upload: pd.DataFrame | None = None,
               include_existing: bool = True) -> SiteTable:
    """Candidates plus (when asked) the existing centres, one row per distinct code, with an
    ``existing`` flag. Existing centres that are also candidates keep one row."""
    if kind == "registry":
        cand = registry_candidates(session=session, province=province)
        note = ("real tertiary hospitals in the registry", "登记在册的真实三级医院")
    elif kind == "greenfield":
        cand = greenfield_candidates(units)
        note = ("any county seat (greenfield)", "任一县城（新建选址）")
    elif kind == "upload":
        if upload is None or upload.empty:
            raise ImportRejected("candidates", [RowProblem("candidates", 0, "file",
                                                           "upload a candidate list")])
        cand = upload
        note = ("the planner's uploaded list", "规划者上传的候选名单")
    else:
        raise ImportRejected("candidates", [RowProblem("candidates", 0, "kind",
                                                       f"one of {', '.join(KINDS)}")])
    cand = cand.assign(existing=False, role="candidate")
    if include_existing:
        ex = existing_centres(session=session, specialty=specialty, province=province)
        ex = ex.assign(existing=True)
        cand = cand[~cand["code"].isin(set(ex["code"]))]
        cand = pd.concat([ex, cand], ignore_index=True)
    return SiteTable(cand.reset_index(drop=True), kind, *note)


def existing_index(frame: pd.DataFrame) -> list[int]:
    return [int(i) for i in np.flatnonzero(frame["existing"].to_numpy(bool))]

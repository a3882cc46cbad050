"""Programme projects: listing, lookups, validated import, and a plain table for analytics."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from ...core import codes
from ...core.enums import ProjectStatus, Role, Specialty, Verification
from ...core.errors import Conflict, Forbidden, ImportRejected, NotFound, RowProblem
from ...core.inputs import MAX_BEDS, check_date
from ...core.tabular import check_columns, read_table
from ..audit import service as audit
from ..hospitals.models import Hospital
from ..hospitals.schemas import HospitalRef
from ..users.scope import Scope
from . import status as status_rule
from .models import Project
from .schemas import (
    BATCH_OPENING_YEAR,
    OPENING_SOURCES,
    REQUIRED_COLUMNS,
    ProjectDetail,
    ProjectOut,
    cohort_year,
)


def get(*, session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project with id {project_id}")
    return project


def list_projects(
    *, session: Session, batch: int | None = None, province: str | None = None,
    hospital: str | None = None,
) -> list[Project]:
    query = select(Project).order_by(Project.batch.is_(None), Project.batch, Project.id)
    if batch is not None:
        query = query.where(Project.batch == batch)
    if province is not None:
        query = query.where(Project.province_code == codes.province_of(province))
    if hospital is not None:
        query = query.where((Project.project_hospital_code == hospital)
                            | (Project.output_hospital_code == hospital))
    return list(session.scalars(query))


def _ref(session: Session, code: str) -> HospitalRef:
    hospital = session.get(Hospital, code)
    assert hospital is not None
    return HospitalRef.model_validate(hospital)


def to_out(session: Session, project: Project) -> ProjectOut:
    return ProjectOut(
        id=project.id, batch=project.batch,
        output_hospital=_ref(session, project.output_hospital_code),
        project_hospital=_ref(session, project.project_hospital_code),
        province_code=project.province_code, city_code=project.city_code,
        specialties=list(project.specialties), status=project.status,
        verification=project.verification,
    )


def to_detail(session: Session, project: Project) -> ProjectDetail:
    return ProjectDetail(
        **to_out(session, project).model_dump(), specialty=project.specialty,
        specialty_note=project.specialty_note, planned_beds=project.planned_beds,
        opening_year=project.opening_year, opened_on=project.opened_on,
        opening_source=project.opening_source, source=project.source, notes=project.notes,
    )


def import_file(*, session: Session, path: Path) -> tuple[int, int]:
    """Add or update projects from CSV/XLSX (hospitals must exist: import them first).

    One transaction: any bad row refuses the whole file, listing every problem.
    """
    rows = read_table(path)
    check_columns(path, rows, REQUIRED_COLUMNS)
    known = {h.code: h for h in session.scalars(select(Hospital))}
    problems: list[RowProblem] = []
    parsed: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in rows:
        row_problems: list[RowProblem] = []

        def problem(field: str, reason: str, _n: int = number, _p: list = row_problems) -> None:
            _p.append(RowProblem(str(path), _n, field, reason))

        for field in REQUIRED_COLUMNS:
            if not raw.get(field):
                problem(field, "required value is missing")
        for field in ("output_hospital_code", "project_hospital_code"):
            if raw.get(field) and raw[field] not in known:
                problem(field, f"unknown hospital {raw[field]!r} (import it with "
                               "`nrmc hospitals import` first)")
        batch = _int(raw.get("batch", ""), "batch", problem, 1, 5)
        beds = _int(raw.get("planned_beds", ""), "planned_beds", problem, 0, MAX_BEDS)
        opening = _int(raw.get("opening_year", ""), "opening_year", problem, 1949, 2100)
        opened_on = _opened_on(raw.get("opened_on", ""), problem)
        specialty = raw.get("specialty", "").lower()
        if specialty and specialty not in Specialty.__members__:
            problem("specialty", f"unknown specialty {raw['specialty']!r}; expected one of "
                                 f"{', '.join(Specialty)}")
        status = (raw.get("status") or "approved").lower()
        if status not in ProjectStatus.__members__:
            problem("status", f"unknown status {raw['status']!r}")
        verification = (raw.get("verification") or "U").upper()[:1]
        if verification not in {v.value for v in Verification}:
            problem("verification", "must be V, P or U")
        key = (raw.get("output_hospital_code", ""), raw.get("project_hospital_code", ""))
        if all(key) and key in seen:
            problem("project_hospital_code", f"duplicate of row {seen[key]} in this file")
        elif all(key):
            seen[key] = number
        problems.extend(row_problems)
        if row_problems:
            continue
        host = known[key[1]]
        parsed.append({
            "batch": batch, "output_hospital_code": key[0], "project_hospital_code": key[1],
            "province_code": codes.province_of(host.region_code),
            "city_code": codes.nominal_parent(host.region_code)
            if codes.level(host.region_code) == "county" else host.region_code,
            "specialty": specialty, "specialties": [specialty], "specialty_note": specialty,
            "planned_beds": beds, "status": status,
            "opening_year": (cohort_year(opened_on) if opened_on else opening
                             or (BATCH_OPENING_YEAR.get(batch) if batch else None)),
            "opened_on": opened_on,
            "opening_source": ("import" if opened_on or opening else "batch" if batch else ""),
            "verification": verification, "source": raw.get("source", ""),
            "notes": raw.get("notes", ""),
        })
    if problems:
        raise ImportRejected(str(path), problems)
    added = updated = 0
    for record in parsed:
        existing = session.scalars(select(Project).where(
            Project.output_hospital_code == record["output_hospital_code"],
            Project.project_hospital_code == record["project_hospital_code"])).first()
        if existing is None:
            session.add(Project(**record))
            added += 1
        else:
            for k, v in record.items():
                setattr(existing, k, v)
            updated += 1
    session.flush()
    return added, updated


def _opened_on(text: str, problem) -> date | None:  # type: ignore[no-untyped-def]
    """An opening date (YYYY-MM-DD) within the record-date rule of ``core.inputs``."""
    if not text:
        return None
    try:
        return check_date(date.fromisoformat(text.strip()[:10]))
    except ValueError as exc:  # not a date, or outside 2019-01-01 … today + 31 days
        problem("opened_on", f"not an opening date (YYYY-MM-DD, 2019 or later): {text!r} ({exc})")
        return None


def set_opening(*, session: Session, scope: Scope, project_id: int, opened_on: date,
                source: str = "page", client: str = "") -> Project:
    """Record the day a centre opened (from a page or a command); its cohort year follows.

    Same rights as editing a project (``update``); the write is audited (before/after).
    """
    if source not in OPENING_SOURCES or source == "batch":
        raise ValueError(f"source must be one of roster, import, page, not {source!r}")
    project = get_visible(session=session, scope=scope, project_id=project_id)
    scope.require_write()
    if scope.role == Role.clinician:
        raise Forbidden("clinicians cannot edit projects")
    keys = ("opened_on", "opening_year", "opening_source")
    before = {k: getattr(project, k) for k in keys}
    project.opened_on = check_date(opened_on)
    project.opening_year = cohort_year(opened_on)
    project.opening_source = source
    session.flush()
    audit.record(session=session, actor=scope.actor, action="project.opening",
                 object_type="project", object_id=project.id,
                 before={k: str(v) if v is not None else None for k, v in before.items()},
                 after={k: str(getattr(project, k)) for k in keys}, source=client)
    return project


def _int(text: str, field: str, problem, low: int, high: int | None) -> int | None:  # type: ignore[no-untyped-def]
    if not text:
        return None
    try:
        number = float(text.replace(",", ""))
        value = int(number)  # NaN → ValueError, ±inf and 1e400 → OverflowError
    except (ValueError, OverflowError):
        problem(field, f"not a whole number: {text[:40]!r}")
        return None
    if value != number:
        problem(field, f"not a whole number: {text[:40]!r}")
        return None
    if value < low or (high is not None and value > high):
        problem(field, f"{value} is outside {low}..{high if high is not None else '∞'}")
        return None
    return value


def project_table(*, session: Session) -> pd.DataFrame:
    """Projects as a plain table for flows and evaluation."""
    columns = ["id", "batch", "province_code", "city_code", "specialty", "project_hospital_code",
               "output_hospital_code", "opening_year", "opened_on", "opening_source"]
    rows = session.execute(select(*(getattr(Project, c) for c in columns))).all()
    frame = pd.DataFrame(rows, columns=columns)
    # rows stored before opening dates existed: a batch and a year but no source → the batch's
    legacy = frame["opening_source"].fillna("").eq("") & frame["batch"].notna() & frame[
        "opening_year"].notna()
    frame.loc[legacy, "opening_source"] = "batch"
    frame["opening_estimated"] = frame["opening_source"].eq("batch") & frame[
        "opening_year"].notna()
    return frame.astype({"batch": "Int64", "opening_year": "Int64"})


# --- scope-filtered access (web and API) -------------------------------------------------------

# Built once (see referrals.service._SENDER).
_HOST = aliased(Hospital, name="visible_host")
_OUTPUT = aliased(Hospital, name="visible_output")


def visible_clause(scope: Scope) -> ColumnElement[bool]:
    """Projects a caller may see: those whose project hospital or output hospital the caller
    may see (the rule the operations ledger uses too, so a project is visible in one place
    exactly when it is in the other). A province sees its centres and the centres its own
    hospitals run elsewhere; a hospital user sees the projects its hospital takes part in."""
    if scope.national:
        return true()
    host, output = _HOST, _OUTPUT
    return Project.id.in_(
        select(Project.id)
        .join(host, host.code == Project.project_hospital_code)
        .join(output, output.code == Project.output_hospital_code)
        .where(or_(scope.hospital_clause(host.code, host.region_code),
                   scope.hospital_clause(output.code, output.region_code))))


def get_visible(*, session: Session, scope: Scope, project_id: int) -> Project:
    project = session.scalars(select(Project).where(
        Project.id == project_id, visible_clause(scope))).first()
    if project is None:
        raise NotFound(f"no project with id {project_id}")
    return project


def list_visible(
    *, session: Session, scope: Scope, batch: int | None = None, province: str | None = None,
    limit: int | None = None, offset: int = 0,
) -> tuple[list[Project], int]:
    query = select(Project).where(visible_clause(scope))
    if batch is not None:
        query = query.where(Project.batch == batch)
    if province is not None:
        try:
            query = query.where(Project.province_code == codes.province_of(province))
        except ValueError:
            query = query.where(false())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(Project.batch.is_(None), Project.batch, Project.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query)), total


def counts_by_province_and_batch(*, session: Session, scope: Scope) -> list[tuple[str, int | None, int]]:
    """(province code, batch, projects) among visible projects, for the national overview."""
    rows = session.execute(
        select(Project.province_code, Project.batch, func.count())
        .where(visible_clause(scope)).group_by(Project.province_code, Project.batch)).all()
    return [(p, b, int(n)) for p, b, n in rows]


EDITABLE = ("status", "planned_beds", "notes")


def update(
    *, session: Session, scope: Scope, project_id: int, changes: dict[str, Any], source: str = "",
    visit_id: int | None = None, reason: str = "",
) -> Project:
    """Change a project's status, planned beds or notes; the write is audited (before/after)."""
    project = get_visible(session=session, scope=scope, project_id=project_id)
    scope.require_write()
    if scope.role == Role.clinician:
        raise Forbidden("clinicians cannot edit projects")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Conflict(f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE)}")
    if "status" in changes and ProjectStatus(changes["status"]).value == project.status:
        del changes["status"]  # unchanged (the form always sends it): not a move
    if "status" in changes:
        # The status rule (roles, site-visit evidence) is the same on every path.
        status_rule.check_move(session, scope, project, ProjectStatus(changes["status"]), visit_id)
        changes["status"] = ProjectStatus(changes["status"]).value
    before = {k: getattr(project, k) for k in changes}
    for key, value in changes.items():
        setattr(project, key, value)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="project.update",
                 object_type="project", object_id=project.id, before=before,
                 after={k: getattr(project, k) for k in changes}
                 | ({"visit_id": visit_id} if "status" in changes else {}),
                 reason=reason, source=source)
    return project


def prefetch_hospitals(*, session: Session, projects: list[Project]) -> list[Hospital]:
    """Load every hospital the projects name in one query, so to_out's lookups hit the
    session's identity map instead of issuing two queries per project. The identity map holds
    objects weakly: keep the returned list alive while calling to_out."""
    codes_needed = {p.project_hospital_code for p in projects} | {p.output_hospital_code
                                                                 for p in projects}
    if not codes_needed:
        return []
    return list(session.scalars(select(Hospital).where(Hospital.code.in_(codes_needed))))

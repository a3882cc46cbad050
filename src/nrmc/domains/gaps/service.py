"""Gaps: record, import (CSV/XLSX, all or nothing), link technologies, and count
"N technologies filling M gaps" per province and per project.

Who may write: national admins anywhere, provincial officers in their own province (gaps are
maintained per province). Reading is open to every role, narrowed to its own province for a
provincial officer.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...core import codes
from ...core.enums import Role
from ...core.errors import Forbidden, ImportRejected, NotFound, RowProblem
from ...core.inputs import explain
from ...core.tabular import check_columns, read_table
from ..audit import service as audit
from ..collaboration.access import visible_project
from ..collaboration.models import Technology
from ..hospitals.models import Hospital
from ..projects.models import Project
from ..regions.models import Region
from ..users.scope import Scope
from .models import Gap, TechnologyGap
from .schemas import REQUIRED, FillSummary, GapIn, GapOut


def _may_write(scope: Scope, province_code: str) -> None:
    scope.require_write()
    if scope.national:
        return
    if scope.role == Role.provincial_officer and scope.province == province_code[:2]:
        return
    raise Forbidden("gaps are maintained by the national office and each province's officers")


def list_gaps(*, session: Session, scope: Scope, province: str | None = None,
              level: str | None = None, open_only: bool = False) -> list[GapOut]:
    filled = (select(TechnologyGap.gap_id, func.count().label("n"))
              .group_by(TechnologyGap.gap_id).subquery())
    query = (select(Gap, func.coalesce(filled.c.n, 0))
             .outerjoin(filled, filled.c.gap_id == Gap.id)
             .order_by(Gap.province_code, Gap.level, Gap.name))
    if scope.province is not None:
        query = query.where(Gap.province_code == scope.province + "0000")
    if province:
        query = query.where(Gap.province_code == codes.province_of(province))
    if level:
        query = query.where(Gap.level == level)
    if open_only:
        query = query.where(filled.c.n.is_(None))
    return [GapOut(id=g.id, province_code=g.province_code, region_code=g.region_code,
                   level=g.level, name=g.name, specialty=g.specialty,
                   identified_on=g.identified_on, source=g.source, synthetic=g.synthetic,
                   filled_by=int(n)) for g, n in session.execute(query)]


def _row(data: GapIn, province: str) -> dict[str, object]:
    return {"province_code": province, "region_code": data.region_code, "level": data.level.value,
            "name": data.name, "specialty": data.specialty.value,
            "identified_on": data.identified_on, "source": data.source}


def create(*, session: Session, scope: Scope, data: GapIn, source: str = "") -> Gap:
    if session.get(Region, data.region_code) is None:
        raise NotFound(f"no region {data.region_code}")
    province = codes.province_of(data.region_code)
    _may_write(scope, province)
    gap = Gap(**_row(data, province))
    session.add(gap)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="gap.create", object_type="gap",
                 object_id=gap.id, after=data.model_dump(mode="json"), source=source)
    return gap


def import_file(*, session: Session, scope: Scope, path: Path, label: str | None = None,
                source: str = "") -> tuple[int, int]:
    """Add or update gaps from CSV/XLSX: every row is checked first, and one bad row refuses
    the whole file (nothing stored), listing each problem by file, row and field.
    Returns (added, updated)."""
    name = label or str(path)
    scope.require_write()
    if not (scope.national or scope.role == Role.provincial_officer):
        raise Forbidden("gaps are maintained by the national office and each province's officers")
    rows = read_table(path)
    check_columns(Path(name), rows, REQUIRED)
    known = set(session.scalars(select(Region.code)))
    problems: list[RowProblem] = []
    parsed: list[tuple[GapIn, str]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, raw in rows:
        values = {k: v for k, v in raw.items() if v != ""}
        try:
            data = GapIn.model_validate(values)
        except ValidationError as exc:
            problems += [RowProblem(name, number, e.field, e.message) for e in explain(exc)]
            continue
        if data.region_code not in known:
            problems.append(RowProblem(name, number, "region_code",
                                       f"unknown region {data.region_code} / 未知地区"))
            continue
        province = codes.province_of(data.region_code)
        try:
            _may_write(scope, province)
        except Forbidden as exc:
            problems.append(RowProblem(name, number, "region_code", str(exc)))
            continue
        key = (data.region_code, data.level.value, data.name)
        if key in seen:
            problems.append(RowProblem(name, number, "name",
                                       f"duplicate of row {seen[key]} in this file / 与第{seen[key]}行重复"))
            continue
        seen[key] = number
        parsed.append((data, province))
    if problems:
        raise ImportRejected(name, problems)
    existing = {(g.region_code, g.level, g.name): g for g in session.scalars(
        select(Gap).where(Gap.region_code.in_({d.region_code for d, _ in parsed})))}
    added = updated = 0
    for data, province in parsed:
        found = existing.get((data.region_code, data.level.value, data.name))
        if found is None:
            session.add(Gap(**_row(data, province)))
            added += 1
        else:
            found.specialty, found.source = data.specialty.value, data.source
            found.identified_on = data.identified_on
            updated += 1
    session.flush()
    audit.record(session=session, actor=scope.actor, action="gap.import", object_type="gap",
                 object_id=Path(name).name[:64],
                 after={"file": name, "added": added, "updated": updated}, source=source)
    return added, updated


def link(*, session: Session, scope: Scope, technology_id: int, gap_id: int,
         source: str = "") -> TechnologyGap:
    """Record that a technology fills a gap: the gap must lie in the technology's project
    province, unless it is a national gap."""
    technology = session.get(Technology, technology_id)
    if technology is None:
        raise NotFound(f"no technology with id {technology_id}")
    project = visible_project(session, scope, technology.project_id)
    scope.require_write()
    gap = session.get(Gap, gap_id)
    if gap is None:
        raise NotFound(f"no gap with id {gap_id}")
    if gap.level != "national" and gap.province_code != project.province_code:
        raise Forbidden("a technology fills gaps in its own project's province (or national gaps)")
    row = session.get(TechnologyGap, (technology_id, gap_id))
    if row is None:
        row = TechnologyGap(technology_id=technology_id, gap_id=gap_id)
        session.add(row)
        session.flush()
        audit.record(session=session, actor=scope.actor, action="gap.link", object_type="gap",
                     object_id=gap_id, after={"technology_id": technology_id}, source=source)
    return row


def by_province(*, session: Session, scope: Scope) -> list[FillSummary]:
    """Per province: technologies linked to a gap, distinct gaps filled, gaps still open."""
    total = dict(session.execute(select(Gap.province_code, func.count()).group_by(Gap.province_code)).all())
    filled = {p: (t, g) for p, t, g in session.execute(
        select(Gap.province_code, func.count(func.distinct(TechnologyGap.technology_id)),
               func.count(func.distinct(TechnologyGap.gap_id)))
        .join(TechnologyGap, TechnologyGap.gap_id == Gap.id).group_by(Gap.province_code))}
    names = dict(session.execute(select(Region.code, Region.name_zh)
                                 .where(Region.level == "province")).all())
    out = []
    for code in sorted(set(total) | set(filled)):
        if scope.province is not None and code[:2] != scope.province:
            continue
        techs, gaps = filled.get(code, (0, 0))
        out.append(FillSummary(code=code, name=names.get(code, code), technologies=techs,
                               gaps_filled=gaps, gaps_open=total.get(code, 0) - gaps))
    return out


def by_project(*, session: Session, scope: Scope, project_ids: list[int] | None = None
               ) -> list[FillSummary]:
    """Per project: its technologies that fill a gap, and the distinct gaps they fill."""
    from ..projects import service as projects

    query = (select(Technology.project_id, Hospital.name_zh,
                    func.count(func.distinct(TechnologyGap.technology_id)),
                    func.count(func.distinct(TechnologyGap.gap_id)))
             .join(TechnologyGap, TechnologyGap.technology_id == Technology.id)
             .join(Project, Project.id == Technology.project_id)
             .join(Hospital, Hospital.code == Project.project_hospital_code)
             .where(projects.visible_clause(scope))
             .group_by(Technology.project_id, Hospital.name_zh).order_by(Technology.project_id))
    if project_ids is not None:
        query = query.where(Technology.project_id.in_(project_ids))
    return [FillSummary(code=str(pid), name=name, technologies=t, gaps_filled=g)
            for pid, name, t, g in session.execute(query)]


def technologies_in(*, session: Session, scope: Scope, province: str) -> list[tuple[int, str, str]]:
    """(technology id, name, project hospital) of visible projects in a province, for the
    link form."""
    from ..projects import service as projects

    return [(tid, name, host) for tid, name, host in session.execute(
        select(Technology.id, Technology.name, Hospital.name_zh)
        .join(Project, Project.id == Technology.project_id)
        .join(Hospital, Hospital.code == Project.project_hospital_code)
        .where(Project.province_code == codes.province_of(province),
               projects.visible_clause(scope))
        .order_by(Hospital.name_zh, Technology.name))]

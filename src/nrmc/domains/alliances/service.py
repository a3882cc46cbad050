"""Medical alliances and their membership over time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from ...core import codes
from ...core.enums import AllianceKind, MemberRole, Role
from ...core.errors import Conflict, NotFound
from ..hospitals import service as hospitals
from ..hospitals.models import Hospital
from ..hospitals.schemas import HospitalRef
from ..users.scope import Scope
from .models import Alliance, AllianceMember
from .schemas import AllianceOut, MemberOut


def get(*, session: Session, alliance_id: int) -> Alliance:
    alliance = session.get(Alliance, alliance_id)
    if alliance is None:
        raise NotFound(f"no alliance with id {alliance_id}")
    return alliance


def list_alliances(*, session: Session, region: str | None = None,
                   hospital: str | None = None) -> list[Alliance]:
    query = select(Alliance).order_by(Alliance.id)
    if region is not None:
        query = query.where(Alliance.region_code.like(region.rstrip("0")[:2] + "%"))
    if hospital is not None:
        query = query.where(Alliance.id.in_(
            select(AllianceMember.alliance_id).where(AllianceMember.hospital_code == hospital)))
    return list(session.scalars(query))


def create(
    *, session: Session, name_zh: str, name_en: str, kind: AllianceKind, lead_hospital_code: str,
    valid_from: date, project_id: int | None = None, synthetic: bool = False,
) -> Alliance:
    """Create an alliance with its lead hospital as first member."""
    lead = hospitals.get(session=session, code=lead_hospital_code)
    alliance = Alliance(name_zh=name_zh, name_en=name_en, kind=AllianceKind(kind).value,
                        lead_hospital_code=lead.code, region_code=lead.region_code,
                        project_id=project_id, synthetic=synthetic)
    session.add(alliance)
    session.flush()
    add_member(session=session, alliance_id=alliance.id, hospital_code=lead.code,
               role=MemberRole.lead, valid_from=valid_from)
    return alliance


def add_member(
    *, session: Session, alliance_id: int, hospital_code: str, role: MemberRole = MemberRole.member,
    valid_from: date, valid_to: date | None = None,
) -> AllianceMember:
    """Add a membership period; refuses one that overlaps an existing period of that hospital."""
    alliance = get(session=session, alliance_id=alliance_id)
    hospitals.get(session=session, code=hospital_code)
    if valid_to is not None and valid_to < valid_from:
        raise Conflict("membership ends before it starts")
    for member in alliance.members:
        if member.hospital_code != hospital_code:
            continue
        ends = member.valid_to or date.max
        if valid_from <= ends and (valid_to or date.max) >= member.valid_from:
            raise Conflict(f"{hospital_code} is already a member from {member.valid_from}")
    member = AllianceMember(alliance=alliance, hospital_code=hospital_code,
                            role=MemberRole(role).value, valid_from=valid_from, valid_to=valid_to)
    session.add(member)
    session.flush()
    return member


def end_membership(*, session: Session, alliance_id: int, hospital_code: str, on: date) -> None:
    alliance = get(session=session, alliance_id=alliance_id)
    for member in alliance.members:
        if member.hospital_code == hospital_code and member.valid_to is None:
            member.valid_to = on
            return
    raise NotFound(f"{hospital_code} has no open membership in alliance {alliance_id}")


def members_on(alliance: Alliance, day: date) -> list[AllianceMember]:
    """Members whose period includes `day` (the alliance as it stood then)."""
    return [m for m in alliance.members
            if m.valid_from <= day and (m.valid_to is None or day <= m.valid_to)]


def to_out(session: Session, alliance: Alliance, *, on: date | None = None) -> AllianceOut:
    return to_outs(session, [alliance], on=on)[0]


def to_outs(session: Session, alliances: list[Alliance], *,
            on: date | None = None) -> list[AllianceOut]:
    """The alliances as answered, with their members: three queries for any number of
    alliances (members of all of them, then every hospital they name), not two per member."""
    if not alliances:
        return []
    ids = [a.id for a in alliances]
    members: dict[int, list[AllianceMember]] = {i: [] for i in ids}
    for m in session.scalars(select(AllianceMember).where(AllianceMember.alliance_id.in_(ids))
                             .order_by(AllianceMember.id)):
        members[m.alliance_id].append(m)
    named = {m.hospital_code for found in members.values() for m in found} | {
        a.lead_hospital_code for a in alliances}
    by_code = {h.code: h for h in session.scalars(select(Hospital).where(Hospital.code.in_(named)))}

    def hospital(code: str) -> Hospital:
        found = by_code.get(code)
        if found is None:
            raise NotFound(f"no hospital with code {code}")
        return found

    out = []
    for alliance in alliances:
        shown = [m for m in members[alliance.id] if on is None
                 or (m.valid_from <= on and (m.valid_to is None or on <= m.valid_to))]
        out_members = [MemberOut(hospital=HospitalRef.model_validate(hospital(m.hospital_code)),
                                 tier=hospital(m.hospital_code).tier, role=m.role,
                                 valid_from=m.valid_from, valid_to=m.valid_to) for m in shown]
        lead = hospital(alliance.lead_hospital_code)
        out.append(AllianceOut(
            id=alliance.id, name_zh=alliance.name_zh, name_en=alliance.name_en, kind=alliance.kind,
            kind_zh=AllianceKind(alliance.kind).label_zh,
            lead_hospital=HospitalRef.model_validate(lead), region_code=alliance.region_code,
            project_id=alliance.project_id, synthetic=alliance.synthetic, members=out_members))
    return out


# --- scope-filtered access (web and API) -------------------------------------------------------

def visible_clause(scope: Scope) -> ColumnElement[bool]:
    """Alliances a caller may see: all (national), those led from its province (provincial
    officer), those its hospital was ever a member of (hospital manager); none for clinicians."""
    if scope.national:
        return true()
    if scope.province is not None:
        return Alliance.region_code.like(scope.province + "%")
    if scope.role == Role.hospital_manager and scope.hospital is not None:
        return Alliance.id.in_(select(AllianceMember.alliance_id)
                               .where(AllianceMember.hospital_code == scope.hospital))
    return false()


def get_visible(*, session: Session, scope: Scope, alliance_id: int) -> Alliance:
    alliance = session.scalars(select(Alliance).where(
        Alliance.id == alliance_id, visible_clause(scope))).first()
    if alliance is None:
        raise NotFound(f"no alliance with id {alliance_id}")
    return alliance


def list_visible(
    *, session: Session, scope: Scope, region: str | None = None, project_id: int | None = None,
    hospital: str | None = None, limit: int | None = None, offset: int = 0,
) -> tuple[list[Alliance], int]:
    query = select(Alliance).where(visible_clause(scope))
    if region is not None:
        try:
            prefix = {"province": 2, "prefecture": 4}.get(codes.level(region), 6)
            query = query.where(Alliance.region_code.like(codes.normalize(region)[:prefix] + "%"))
        except ValueError:
            query = query.where(false())
    if project_id is not None:
        query = query.where(Alliance.project_id == project_id)
    if hospital is not None:
        query = query.where(Alliance.id.in_(
            select(AllianceMember.alliance_id).where(AllianceMember.hospital_code == hospital)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(Alliance.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query)), total

"""User administration: who may manage whom, and the audited changes they make.

- A national administrator manages every user.
- A provincial officer manages the users of its province (provincial officers of the same
  province, and hospital managers and clinicians of hospitals there) and grants no role above
  its own (never a national role).
- Everybody else manages only themselves: display name and password.
Out-of-reach users are reported as NotFound (their existence does not leak); reachable ones
that the caller may not change in the asked way give Forbidden. Every change is written to the
audit log in the same transaction, and every change of role, scope or activity, like every
password change or reset, ends the user's sessions and tokens (service.end_sessions).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import Role
from ...core.errors import Conflict, Forbidden, NotFound
from ..audit import service as audit
from ..hospitals.models import Hospital
from . import policy, service
from .models import User

# Higher manages lower; a provincial officer may grant its own rank and below.
RANK = {Role.national_admin: 5, Role.national_analyst: 4, Role.provincial_officer: 3,
        Role.hospital_manager: 2, Role.clinician: 1}
MANAGERS = {Role.national_admin, Role.provincial_officer}
FIELDS = ("display_name", "role", "scope_code", "active")


def _province_of_scope(session: Session, role: Role, scope_code: str | None) -> str | None:
    """The 2-digit province a (role, scope) lies in; None for national roles."""
    if not scope_code:
        return None
    if role in service.NEEDS_PROVINCE:
        return scope_code[:2]
    if role in service.NEEDS_HOSPITAL:
        region = session.scalar(select(Hospital.region_code).where(Hospital.code == scope_code))
        return region[:2] if region else None
    return None


def is_manager(actor: User) -> bool:
    return Role(actor.role) in MANAGERS


def can_manage(*, session: Session, actor: User, target: User) -> bool:
    """Whether `actor` may change `target`'s role, scope, activity or reset its password."""
    role = Role(actor.role)
    if role == Role.national_admin:
        return True
    if role != Role.provincial_officer or actor.id == target.id:
        return False
    province = (actor.scope_code or "")[:2]
    target_role = Role(target.role)
    return (RANK[target_role] <= RANK[role]
            and _province_of_scope(session, target_role, target.scope_code) == province)


def _check_grant(*, session: Session, actor: User, role: Role, scope_code: str | None) -> None:
    """Refuse a role above the actor's own, or a scope outside its province."""
    actor_role = Role(actor.role)
    if actor_role == Role.national_admin:
        return
    if actor_role != Role.provincial_officer:
        raise Forbidden("only administrators manage other users")
    if RANK[role] > RANK[actor_role]:
        raise Forbidden(f"a {actor_role} cannot grant the role {role}")
    if _province_of_scope(session, role, scope_code) != (actor.scope_code or "")[:2]:
        raise Forbidden("the scope lies outside your province")


def visible(*, session: Session, actor: User) -> list[User]:
    """The users a caller may see: all for a national administrator, the province's for a
    provincial officer, else only themselves."""
    if Role(actor.role) == Role.national_admin:
        return service.list_users(session=session)
    if Role(actor.role) == Role.provincial_officer:
        province = (actor.scope_code or "")[:2]
        # One query for the hospitals of the province, not one per user.
        hospitals = set(session.scalars(select(Hospital.code).where(
            Hospital.region_code.like(province + "%"))))
        return [u for u in service.list_users(session=session)
                if u.id == actor.id or (RANK[Role(u.role)] <= RANK[Role.provincial_officer] and (
                    (Role(u.role) in service.NEEDS_PROVINCE and (u.scope_code or "")[:2] == province)
                    or (Role(u.role) in service.NEEDS_HOSPITAL and u.scope_code in hospitals)))]
    return [actor]


def get_visible(*, session: Session, actor: User, username: str) -> User:
    if username == actor.username:
        return actor
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not can_manage(session=session, actor=actor, target=user):
        raise NotFound(f"no user {username!r}")
    return user


def snapshot(user: User) -> dict[str, Any]:
    return {"display_name": user.display_name, "role": user.role, "scope_code": user.scope_code,
            "active": user.active}


def create(*, session: Session, actor: User, username: str, role: Role,
           scope_code: str | None = None, display_name: str = "", source: str = "") -> tuple[User, str]:
    """A new user with a one-time password (returned once, to be handed over in person and
    changed at the first sign-in)."""
    role = Role(role)
    problems = policy.username_problems(username)
    if problems:
        raise service.Refused(problems)
    scope_code = service.checked_scope(session=session, role=role, scope_code=scope_code)
    _check_grant(session=session, actor=actor, role=role, scope_code=scope_code)
    password = policy.one_time_password()
    user = service.create(session=session, username=username, password=password, role=role,
                          scope_code=scope_code, display_name=display_name,
                          must_change_password=True)
    audit.record(session=session, actor=actor.username, action="user.create", object_type="user",
                 object_id=user.username, after=snapshot(user), source=source)
    return user, password


def update(*, session: Session, actor: User, username: str, changes: dict[str, Any],
           source: str = "") -> User:
    """Apply `changes` (any of display_name, role, scope_code, active). Users may rename
    themselves; everything else needs can_manage. A new role, scope or activity ends the
    user's sessions."""
    user = get_visible(session=session, actor=actor, username=username)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise Conflict(f"cannot change {', '.join(sorted(unknown))}")
    before = snapshot(user)
    guarded = {k: v for k, v in changes.items() if k != "display_name" and v != before[k]}
    if guarded:
        if user.id == actor.id:
            raise Forbidden("you cannot change your own role, scope or activity")
        if not can_manage(session=session, actor=actor, target=user):
            raise Forbidden(f"you cannot change {username!r}")
        role = Role(guarded.get("role", user.role))
        scope_code = guarded.get("scope_code", user.scope_code)
        if "role" in guarded and "scope_code" not in guarded and Role(user.role) != role:
            scope_code = user.scope_code if _same_scope_kind(Role(user.role), role) else None
        scope_code = service.checked_scope(session=session, role=role, scope_code=scope_code)
        _check_grant(session=session, actor=actor, role=role, scope_code=scope_code)
        user.role, user.scope_code = role.value, scope_code
        if "active" in guarded:
            user.active = bool(guarded["active"])
        service.end_sessions(user=user)
    if "display_name" in changes and changes["display_name"] is not None:
        user.display_name = changes["display_name"] or user.username
    after = snapshot(user)
    if after != before:
        session.flush()
        audit.record(session=session, actor=actor.username, action="user.update",
                     object_type="user", object_id=user.username,
                     before={k: v for k, v in before.items() if after[k] != v},
                     after={k: v for k, v in after.items() if before[k] != v}, source=source)
    return user


def _same_scope_kind(old: Role, new: Role) -> bool:
    return ((old in service.NEEDS_HOSPITAL and new in service.NEEDS_HOSPITAL)
            or (old in service.NEEDS_PROVINCE and new in service.NEEDS_PROVINCE))


def reset_password(*, session: Session, actor: User, username: str, source: str = "") -> str:
    """A new one-time password for a managed user (returned once); their sessions end."""
    user = get_visible(session=session, actor=actor, username=username)
    if user.id == actor.id or not can_manage(session=session, actor=actor, target=user):
        raise Forbidden("change your own password with your current one")
    password = policy.one_time_password()
    service.set_password(session=session, user=user, password=password, one_time=True)
    audit.record(session=session, actor=actor.username, action="user.password_reset",
                 object_type="user", object_id=user.username, source=source)
    return password


def change_own_password(*, session: Session, user: User, old_password: str, new_password: str,
                        source: str = "") -> None:
    service.change_own_password(session=session, user=user, old_password=old_password,
                                new_password=new_password)
    audit.record(session=session, actor=user.username, action="user.password_change",
                 object_type="user", object_id=user.username, source=source)


def sign_out_everywhere(*, session: Session, user: User, source: str = "") -> None:
    service.end_sessions(user=user)
    session.flush()
    audit.record(session=session, actor=user.username, action="user.sign_out",
                 object_type="user", object_id=user.username, source=source)

"""Users: creation with argon2 hashes, authentication, and disabling."""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core import codes
from ...core.enums import Role
from ...core.errors import Conflict, NotFound
from ..hospitals import service as hospitals
from ..regions import service as regions
from .models import User

_hasher = PasswordHasher()
NEEDS_PROVINCE = {Role.provincial_officer}
NEEDS_HOSPITAL = {Role.hospital_manager, Role.clinician}


def create(
    *, session: Session, username: str, password: str, role: Role, scope_code: str | None = None,
    display_name: str = "",
) -> User:
    """Create a user; the scope must fit the role (a province or a hospital that exists)."""
    role = Role(role)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists")
    if len(password) < 8:
        raise Conflict("password must be at least 8 characters")
    if role in NEEDS_PROVINCE:
        if not scope_code:
            raise Conflict(f"role {role} needs --scope PROVINCE_CODE")
        scope_code = regions.province_of(session=session, code=scope_code).code
    elif role in NEEDS_HOSPITAL:
        if not scope_code:
            raise Conflict(f"role {role} needs --scope HOSPITAL_CODE")
        scope_code = hospitals.get(session=session, code=scope_code).code
    else:
        scope_code = None
    user = User(username=username, display_name=display_name or username,
                password_hash=_hasher.hash(password), role=role.value, scope_code=scope_code,
                active=True, created_at=datetime.now(UTC))
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None (same answer for unknown and wrong)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        _hasher.hash(password)  # spend the same time either way
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return user


def get_by_username(*, session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def disable(*, session: Session, username: str) -> User:
    user = get_by_username(session=session, username=username)
    user.active = False
    session.flush()
    return user


def province_scope(user: User) -> str | None:
    """The 2-digit province prefix a provincial officer is limited to (None otherwise)."""
    if Role(user.role) in NEEDS_PROVINCE and user.scope_code:
        return codes.province_of(user.scope_code)[:2]
    return None

"""Users: creation with argon2 hashes, authentication, passwords, and ending sessions.

Who may do what to whom lives in admin.py; this module holds the account operations
themselves, which the CLI (acting as the system) calls directly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core import codes
from ...core.enums import Role
from ...core.errors import Conflict, NotFound, NrmcError
from ...core.inputs import FieldError, field_error
from ..hospitals import service as hospitals
from ..regions import service as regions
from . import policy
from .models import User

_hasher = PasswordHasher()
NEEDS_PROVINCE = {Role.provincial_officer}
NEEDS_HOSPITAL = {Role.hospital_manager, Role.clinician}


class Refused(NrmcError):
    """Input broke an account rule (username or password); carries bilingual field errors."""

    def __init__(self, problems: list[FieldError]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def checked_scope(*, session: Session, role: Role, scope_code: str | None) -> str | None:
    """The scope a role needs, normalised (a province, or a hospital that exists); None for
    national roles. Raises Refused when a needed scope is missing, NotFound when unknown."""
    if role in NEEDS_PROVINCE:
        if not scope_code:
            raise Refused([field_error("scope_code", "scope_required",
                                       what="--scope PROVINCE_CODE 省编码")])
        return regions.province_of(session=session, code=scope_code).code
    if role in NEEDS_HOSPITAL:
        if not scope_code:
            raise Refused([field_error("scope_code", "scope_required",
                                       what="--scope HOSPITAL_CODE 医院编码")])
        return hospitals.get(session=session, code=scope_code).code
    return None


def create(
    *, session: Session, username: str, password: str, role: Role, scope_code: str | None = None,
    display_name: str = "", must_change_password: bool = False,
) -> User:
    """Create a user; the username and password must pass policy.py and the scope must fit the
    role (a province or a hospital that exists)."""
    role = Role(role)
    problems = policy.username_problems(username)
    problems += policy.password_problems(password, username=username)
    if problems:
        raise Refused(problems)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists")
    scope_code = checked_scope(session=session, role=role, scope_code=scope_code)
    now = datetime.now(UTC)
    user = User(username=username, display_name=display_name or username,
                password_hash=_hasher.hash(password), role=role.value, scope_code=scope_code,
                active=True, created_at=now, session_version=0,
                must_change_password=must_change_password, password_changed_at=now)
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None (same answer for unknown and wrong)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        _hasher.hash(password)  # spend the same time either way
        return None
    if not password_matches(user, password):
        return None
    return user


def password_matches(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def get_by_username(*, session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def end_sessions(*, user: User) -> None:
    """Every session cookie and bearer token issued to the user stops working at once."""
    user.session_version = (user.session_version or 0) + 1


def disable(*, session: Session, username: str) -> User:
    user = get_by_username(session=session, username=username)
    user.active = False
    end_sessions(user=user)
    session.flush()
    return user


def set_password(*, session: Session, user: User, password: str, one_time: bool) -> None:
    """Store a new password (checked against policy.py) and end every existing session.
    A one-time password (an administrator's reset) must be changed at the next sign-in."""
    problems = policy.password_problems(password, username=user.username)
    if problems:
        raise Refused(problems)
    user.password_hash = _hasher.hash(password)
    user.must_change_password = one_time
    user.password_changed_at = datetime.now(UTC)
    end_sessions(user=user)
    session.flush()


def change_own_password(*, session: Session, user: User, old_password: str,
                        new_password: str) -> None:
    """A user's own change: the current password must be given and the new one must differ."""
    if not password_matches(user, old_password):
        raise Refused([field_error("old_password", "password_wrong")])
    if new_password == old_password:
        raise Refused([field_error("new_password", "password_unchanged")])
    problems = policy.password_problems(new_password, username=user.username, field="new_password")
    if problems:
        raise Refused(problems)
    set_password(session=session, user=user, password=new_password, one_time=False)


def province_scope(user: User) -> str | None:
    """The 2-digit province prefix a provincial officer is limited to (None otherwise)."""
    if Role(user.role) in NEEDS_PROVINCE and user.scope_code:
        return codes.province_of(user.scope_code)[:2]
    return None

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ...db.base import Base
from ...db.types import UTCDateTime


class User(Base):
    """A person who signs in. `scope_code` is a province code (provincial officer) or a hospital
    code (hospital manager, clinician); national roles have none.

    `session_version` is written into every session cookie and bearer token issued to the user;
    a request whose credential carries another version is refused. Raising it (sign-out, password
    change or reset, disabling, a new role or scope) therefore ends every session and token at once.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    scope_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LoginThrottle(Base):
    """Login attempts per key (an account or a client address) in the current window.

    Kept in the store so every web worker counts against the same rows; the data revision
    (db/revision.py) ignores this table, so failed logins never flush the read cache."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer)

"""What makes a username or a password acceptable, and one-time passwords.

Usernames: 3-32 of a-z 0-9 . _ - (they appear in the audit trail and URLs, so no look-alikes or
spaces); names the audit trail itself uses ("system" is how the CLI's writes are recorded,
"cli" their source) and administrator look-alikes are reserved. The demo's "admin" is an
existing account and keeps working; it is not re-creatable once gone.
Passwords: at least 10 characters, not containing the username, not on the shipped list of
common passwords (data/common_passwords.txt, with its source), not one repeated character.
"""

from __future__ import annotations

import re
import secrets
from functools import cache
from importlib import resources

from ...core.inputs import FieldError, field_error

MIN_PASSWORD = 10
USERNAME = re.compile(r"[a-z0-9._-]{3,32}")
RESERVED = frozenset({
    "system", "cli", "web", "api", "nrmc", "root", "administrator", "superuser", "sysadmin",
    "anonymous", "unknown", "null", "none", "guest", "support", "security",
})
# One-time passwords: 16 characters without look-alikes (no 0/O, 1/l/I), easy to read out.
_OTP_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("nrmc.data").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def username_problems(username: str, *, field: str = "username") -> list[FieldError]:
    if not USERNAME.fullmatch(username):
        return [field_error(field, "username_format")]
    if username in RESERVED:
        return [field_error(field, "username_reserved")]
    return []


def password_problems(password: str, *, username: str, field: str = "password") -> list[FieldError]:
    """Every rule the password breaks (empty when acceptable)."""
    if len(password) < MIN_PASSWORD:
        return [field_error(field, "password_too_short", min_length=MIN_PASSWORD)]
    lowered = password.lower()
    if username and username.lower() in lowered:
        return [field_error(field, "password_is_username")]
    if lowered in common_passwords() or len(set(password)) <= 2:
        return [field_error(field, "password_common")]
    return []


def one_time_password() -> str:
    return "".join(secrets.choice(_OTP_ALPHABET) for _ in range(16))

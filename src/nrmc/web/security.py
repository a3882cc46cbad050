"""Credentials the web layer issues: signed API tokens, CSRF tokens, and a login rate limiter.

No table is needed: a bearer token is the user id signed with `Settings.secret_key`
(itsdangerous, timestamped), and every request re-reads the user, so disabling a user revokes
their tokens at once. The rate limiter keeps its counts in memory: right for one process; behind
several workers each counts on its own (put the limit in the reverse proxy there).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

TOKEN_SALT = "nrmc.api-token"
TOKEN_MAX_AGE = 12 * 3600


class TokenSigner:
    """Issue and check bearer tokens that carry only the user id and the issue time."""

    def __init__(self, secret_key: str, max_age: int = TOKEN_MAX_AGE) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)
        self.max_age = max_age

    def issue(self, user_id: int) -> str:
        return self._serializer.dumps({"u": user_id})

    def user_id(self, token: str) -> int | None:
        checked = self.check(token)
        return checked[0] if checked else None

    def check(self, token: str) -> tuple[int, float] | None:
        """(user id, expiry as a Unix time) of a valid token, else None."""
        try:
            data, issued = self._serializer.loads(token, max_age=self.max_age,
                                                  return_timestamp=True)
        except (BadSignature, SignatureExpired):
            return None
        value = data.get("u") if isinstance(data, dict) else None
        if not isinstance(value, int):
            return None
        return value, issued.timestamp() + self.max_age


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given and expected) and secrets.compare_digest(str(given), str(expected))


@dataclass
class LoginLimiter:
    """At most `attempts` failed logins per key in a sliding `window` of seconds.

    Keys are the client address and the username, each counted separately, so one address
    cannot spray many usernames and many addresses cannot hammer one username.
    """

    attempts: int = 10
    window: float = 300.0
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another attempt is allowed (0 when allowed now)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._failures[key]
                while failures and failures[0] <= now - self.window:
                    failures.popleft()
                if len(failures) >= self.attempts:
                    wait = max(wait, failures[0] + self.window - now)
        return int(wait) + 1 if wait else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._failures[key].append(now)

    def succeeded(self, username_key: str) -> None:
        with self._lock:
            self._failures.pop(username_key, None)

"""Credentials the web layer issues and checks: signed API tokens, CSRF tokens, the client's
address (behind trusted proxies only), and the login throttle's keys.

No token table is needed: a bearer token is the user id and the user's session version signed
with `Settings.secret_key` (itsdangerous, timestamped). Every request re-reads the user, so
disabling a user, or anything that raises their session version (sign-out, password change,
new role or scope), revokes their tokens and cookies at once. The login throttle lives in the
store (domains/users/throttle.py), shared by every worker.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from typing import NamedTuple

from fastapi import Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

TOKEN_SALT = "nrmc.api-token"
TOKEN_MAX_AGE = 12 * 3600
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CheckedToken(NamedTuple):
    user_id: int
    version: int
    expires: float  # Unix time


class TokenSigner:
    """Issue and check bearer tokens that carry only the user id, session version and time."""

    def __init__(self, secret_key: str, max_age: int = TOKEN_MAX_AGE) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)
        self.max_age = max_age

    def issue(self, user_id: int, version: int) -> str:
        return self._serializer.dumps({"u": user_id, "v": version})

    def user_id(self, token: str) -> int | None:
        checked = self.check(token)
        return checked.user_id if checked else None

    def check(self, token: str) -> CheckedToken | None:
        """The token's user, session version and expiry when the signature and age are valid."""
        try:
            data, issued = self._serializer.loads(token, max_age=self.max_age,
                                                  return_timestamp=True)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict):
            return None
        user_id, version = data.get("u"), data.get("v")
        if not isinstance(user_id, int) or not isinstance(version, int):
            return None  # tokens issued before session versions existed are void
        return CheckedToken(user_id, version, issued.timestamp() + self.max_age)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given and expected) and secrets.compare_digest(str(given), str(expected))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def forwarded_client(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: the peer itself, unless the peer is a trusted proxy; then the
    nearest address in X-Forwarded-For that is not itself a trusted proxy (read right to left,
    since each proxy appends the address it saw). Without trusted proxies the header is ignored:
    anyone can write it."""
    def is_trusted(text: str) -> bool:
        address = _address(text)
        return address is not None and any(address in network for network in trusted)

    if not trusted or not forwarded_for or not is_trusted(peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if _address(hop) is None:
            return peer  # a malformed chain: fall back to what we can see
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else peer


def client_address(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.settings.trusted_networks
    chain = ",".join(request.headers.getlist("x-forwarded-for")) or None
    return forwarded_client(peer, chain, trusted)

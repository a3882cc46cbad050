"""Secret keys: refusing weak ones, and a fingerprint that can be shown without revealing them.

A production key must be at least 32 characters, not a development default, and not
guessable by its make-up: at least 10 distinct characters and an estimated 128 bits of entropy
(length × log2 of the smallest alphabet its characters come from). `nrmc keys generate` and
`python -c "import secrets; print(secrets.token_urlsafe(48))"` both give such a key.

The fingerprint is the first 12 hex digits of SHA-256 over an HMAC of a fixed label under the
key. Two sites with the same pseudonym key show the same fingerprint, so they can tell whether
their pseudonymised patient ids are comparable; the fingerprint reveals nothing of the key.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import string

MIN_KEY_LENGTH = 32
MIN_DISTINCT = 10
MIN_ENTROPY_BITS = 128.0
FINGERPRINT_LABEL = b"nrmc key fingerprint v1"


def fingerprint(key: str) -> str:
    mac = hmac.new(key.encode("utf-8"), FINGERPRINT_LABEL, hashlib.sha256).digest()
    return hashlib.sha256(mac).hexdigest()[:12]


def estimated_bits(key: str) -> float:
    """Length × log2(alphabet), the alphabet being the character classes the key draws on."""
    alphabet = 0
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    for chars in classes:
        if any(ch in chars for ch in key):
            alphabet += len(chars)
    if any(not any(ch in chars for chars in classes) for ch in key):
        alphabet += 32  # punctuation and anything else
    return len(key) * math.log2(alphabet) if alphabet > 1 else 0.0


def weakness(key: str, *, name: str, development_values: tuple[str, ...] = ()) -> str | None:
    """Why `key` is unfit for production, or None when it is acceptable."""
    if not key or not key.strip():
        return f"{name} is empty"
    if key in development_values:
        return f"{name} is the development value; set a random one"
    if len(key) < MIN_KEY_LENGTH:
        return f"{name} must be at least {MIN_KEY_LENGTH} characters (it has {len(key)})"
    if len(set(key)) < MIN_DISTINCT or estimated_bits(key) < MIN_ENTROPY_BITS:
        return f"{name} is too predictable (repeated or too few different characters); set a random one"
    return None

"""The canonical base of nrmc's own FHIR identifier systems, code systems and extensions.

A site that publishes its own implementation guide sets ``NRMC_FHIR_BASE``; every nrmc system
is derived from that one URL, so a receiver can tell which site issued an identifier. Lives in
``core`` because the settings check it at start and the referral slice derives from it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_FHIR_BASE = "https://nrmc.example.org/fhir"


def normalise_base(value: str) -> str:
    """The base without a trailing slash; ValueError unless an absolute http(s) URL with a host
    and no query or fragment (FHIR canonical URLs are plain absolute URLs)."""
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or any(c.isspace() for c in text):
        raise ValueError(f"NRMC_FHIR_BASE: {value!r} is not an absolute http(s) URL "
                         f"(e.g. {DEFAULT_FHIR_BASE})")
    return text

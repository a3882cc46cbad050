"""GB/T 2260 division codes: normalise, tell the level, find the parent.

Codes are 6-digit strings. Province: ``PP0000``; prefecture: ``PPCC00``; county: ``PPCCDD``.
Users may type a 2-digit province (``62``), a 4-digit prefecture (``6209``), or a 12-digit
statistical code; all are normalised to six digits.
"""

from __future__ import annotations

from .enums import Level
from .errors import Unprocessable


class InvalidCode(Unprocessable, ValueError):
    """A division code that cannot be one (the web answers 422; callers may catch ValueError)."""

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})

# Placeholder prefecture rows that are not real prefecture-level units: municipal 市辖区/县
# rows and the 省直辖县级行政区划 groupings. Counties under them hang directly on the province.
PLACEHOLDER_PREFECTURE_SUFFIXES = frozenset({"90"})


def normalize(code: str | int) -> str:
    """Return the 6-digit form of a division code, or raise ValueError naming the input."""
    text = str(code).strip()
    if not text.isdigit():
        raise InvalidCode(f"division code {code!r} is not numeric")
    if len(text) == 2:
        text += "0000"
    elif len(text) == 4:
        text += "00"
    elif len(text) == 12:
        if text[6:] != "000000":
            raise InvalidCode(f"division code {code!r} is below county level")
        text = text[:6]
    if len(text) != 6:
        raise InvalidCode(f"division code {code!r} must have 2, 4, 6 or 12 digits")
    if text[:2] == "00":
        raise InvalidCode(f"division code {code!r} has no province part")
    return text


def level(code: str) -> Level:
    """Level of a 6-digit code by which trailing block is zero."""
    code = normalize(code)
    if code[2:] == "0000":
        return Level.province
    if code[4:] == "00":
        return Level.prefecture
    return Level.county


def province_of(code: str) -> str:
    return normalize(code)[:2] + "0000"


def prefecture_of(code: str) -> str:
    """The nominal prefecture block of a code (may be a placeholder such as 110100 or 419000)."""
    return normalize(code)[:4] + "00"


def is_placeholder_prefecture(code: str) -> bool:
    """True for 市辖区/县 rows of municipalities and 省直辖县级行政区划 groupings (xx90xx)."""
    code = normalize(code)
    if level(code) != Level.prefecture:
        return False
    return code[:2] in MUNICIPALITIES or code[2:4] in PLACEHOLDER_PREFECTURE_SUFFIXES


def nominal_parent(code: str) -> str | None:
    """Parent by code arithmetic, skipping placeholder prefectures. None for a province."""
    code = normalize(code)
    lvl = level(code)
    if lvl == Level.province:
        return None
    if lvl == Level.prefecture:
        return province_of(code)
    pref = prefecture_of(code)
    return province_of(code) if is_placeholder_prefecture(pref) else pref

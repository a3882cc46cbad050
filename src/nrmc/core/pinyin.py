"""Pinyin initials of a Chinese name (兰州大学第一医院 → "lzdxdyyy"), for pickers that staff
search the way they type on a phone: by the first letters of each character.

pypinyin is imported on first use: loading its dictionaries costs about half a second, which
the CLI must not pay at start (issue 17). Phrase dictionaries pick the reading of polyphonic
characters in place (重庆 → "cq", 长治 → "zz"). Latin letters and digits in a name are kept,
lower-cased; everything else is dropped.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_INITIALS = 200
_KEEP = re.compile(r"[^a-z0-9]")


@lru_cache(maxsize=65536)
def initials(name: str) -> str:
    """The first letter of each character's reading, lower case, at most MAX_INITIALS."""
    if not name:
        return ""
    from pypinyin import Style, lazy_pinyin

    letters = lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")
    return _KEEP.sub("", "".join(letters).lower())[:MAX_INITIALS]


def subsequence_pattern(query: str) -> str | None:
    """A LIKE pattern that matches initials containing the query's letters in order, from the
    first one on ("lzdy" → "l%z%d%y%": 兰州大学第一医院 is "lzdxdyyy"); None when the query is
    not a plain run of letters and digits."""
    text = query.strip().lower()
    if not text or not re.fullmatch(r"[a-z0-9]{1,30}", text):
        return None
    return "%".join(text) + "%"

"""Pinyin initials of a Chinese name (兰州大学第一医院 → "lzdxdyyy"), for pickers that staff
search the way they type on a phone: by the first letters of each character.

pypinyin is imported on first use: loading its dictionaries costs about half a second, which
the CLI must not pay at start (issue 17). Phrase dictionaries pick the reading of polyphonic
characters in place (重庆 → "cq", 长治 → "zz"). Latin letters and digits in a name are kept,
lower-cased; everything else is dropped.

A name with a bracketed alias gets one word per part, space-separated, because staff type the
name they use: 上海市第一人民医院酒泉医院（酒泉市人民医院） → "shsdyrmyyjqyy jqsrmyy", and
"jqsrmyy" must find it as well as "shsdy" does.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_INITIALS = 200
_KEEP = re.compile(r"[^a-z0-9]")
_PARTS = re.compile(r"[（）()【】\[\]\s/、，,]+")


@lru_cache(maxsize=65536)
def initials(name: str) -> str:
    """The first letter of each character's reading, lower case, one word per part of the
    name (a bracketed alias is a part), at most MAX_INITIALS characters."""
    if not name:
        return ""
    from pypinyin import Style, lazy_pinyin

    words = []
    for part in _PARTS.split(name):
        letters = lazy_pinyin(part, style=Style.FIRST_LETTER, errors="default")
        word = _KEEP.sub("", "".join(letters).lower())
        if word:
            words.append(word)
    return " ".join(words)[:MAX_INITIALS]


def subsequence_patterns(query: str) -> tuple[str, str] | None:
    """LIKE patterns matching initials that hold the query's letters in order from the start
    of a word ("lzdy" → "l%z%d%y%": 兰州大学第一医院 is "lzdxdyyy"): one for the first word,
    one for any later word. None when the query is not a plain run of letters and digits."""
    text = query.strip().lower()
    if not text or not re.fullmatch(r"[a-z0-9]{1,30}", text):
        return None
    body = "%".join(text) + "%"
    return body, "% " + body


def match_span(letters: str, initials: str) -> int | None:
    """How many initials the leftmost in-order match of `letters` covers, starting at a word
    (fewer = a closer match: "lzdy" covers 6 of 兰州大学第一医院, 7 of 兰州大学第二医院);
    None when they do not appear so."""
    best = None
    offset = 0
    for word in initials.split(" "):
        if word.startswith(letters[:1]):
            tail, pos = initials[offset:], 0
            for ch in letters:
                found = tail.find(ch, pos)
                if found < 0:
                    break
                pos = found + 1
            else:
                best = pos if best is None else min(best, pos)
        offset += len(word) + 1
    return best

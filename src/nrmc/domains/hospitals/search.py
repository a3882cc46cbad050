"""Find a hospital the way staff type it: code, part of the name, or pinyin initials
("lzdy" finds 兰州大学第一医院, whose initials are lzdxdyyy), each with its county and city.

One query per search (hospitals joined to their county and its parent), at most `FETCH`
candidates, ranked here: exact code, exact name, code prefix, initials prefix, name prefix,
name contains, initials in order, English name. Which hospitals may be found is the caller's
`where` clause (the referral form offers more than the caller's own scope: see referrals).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from ...core.pinyin import match_span, subsequence_patterns
from ..regions.models import Region
from .models import Hospital

FETCH = 500
MAX_QUERY = 50


class HospitalPick(BaseModel):
    """One hospital offered by the picker: who it is and where (county, city)."""

    code: str
    name_zh: str
    name_en: str
    tier: str
    region_code: str
    county_zh: str
    city_zh: str
    initials: str
    label: str


@dataclass(frozen=True)
class _Row:
    pick: HospitalPick
    initials: str


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(*, session: Session, q: str, limit: int = 20,
           where: ColumnElement[bool] | None = None) -> list[HospitalPick]:
    """Hospitals matching `q` (code, name or pinyin initials), best first; [] for a blank q."""
    text = q.strip()[:MAX_QUERY]
    if not text:
        return []
    rows = _candidates(session, text, where if where is not None else true())
    return [r.pick for r in sorted(rows, key=lambda r: _rank(r, text))[:limit]]


def _candidates(session: Session, text: str, where: ColumnElement[bool]) -> list[_Row]:
    county, city = aliased(Region), aliased(Region)
    low = text.lower()
    like = _escape(low)
    tests = [func.lower(Hospital.code).like(like + "%", escape="\\"),
             Hospital.name_zh.like("%" + _escape(text) + "%", escape="\\"),
             func.lower(Hospital.name_en).like("%" + like + "%", escape="\\")]
    patterns = subsequence_patterns(text)
    if patterns:
        tests += [Hospital.initials.like(p) for p in patterns]
    query = (select(Hospital.code, Hospital.name_zh, Hospital.name_en, Hospital.tier,
                    Hospital.region_code, Hospital.initials, county.name_zh, county.level,
                    city.name_zh, city.level)
             .outerjoin(county, county.code == Hospital.region_code)
             .outerjoin(city, city.code == county.parent_code)
             .where(where, or_(*tests)).order_by(Hospital.code).limit(FETCH))
    out = []
    for code, zh, en, tier, region, initials, c_zh, c_level, p_zh, p_level in session.execute(query):
        county_zh = c_zh or ""
        city_zh = (p_zh or "") if p_level == "prefecture" else ""
        if c_level == "prefecture":  # a hospital filed at its city, not a county
            county_zh, city_zh = "", c_zh or ""
        where_text = "，".join(x for x in (county_zh, city_zh) if x)
        label = f"{zh}（{where_text}）" if where_text else zh
        out.append(_Row(HospitalPick(code=code, name_zh=zh, name_en=en or "", tier=tier,
                                     region_code=region, county_zh=county_zh, city_zh=city_zh,
                                     initials=initials or "", label=label), initials or ""))
    return out


def _rank(row: _Row, text: str) -> tuple[int, int, int, str]:
    low, pick = text.lower(), row.pick
    span = 0
    if pick.code.lower() == low:
        grade = 0
    elif pick.name_zh == text:
        grade = 1
    elif pick.code.lower().startswith(low):
        grade = 2
    elif any(word.startswith(low) for word in row.initials.split(" ")):
        grade = 3
    elif pick.name_zh.startswith(text):
        grade = 4
    elif text in pick.name_zh:
        grade = 5
    elif subsequence_patterns(text) and (found := match_span(low, row.initials)) is not None:
        grade, span = 6, found
    else:
        grade = 7
    return grade, span, len(pick.name_zh), pick.code


def exact(candidates: list[HospitalPick], text: str) -> HospitalPick | None:
    """The one candidate named exactly by `text` (its code, its full Chinese name or all its
    initials), if any."""
    typed = text.strip()
    hits = [c for c in candidates if c.code.lower() == typed.lower() or c.name_zh == typed
            or typed.lower() in c.initials.split(" ")]
    return hits[0] if len(hits) == 1 else None

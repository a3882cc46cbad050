"""Load the real grade-3A hospitals shipped with nrmc (tertiary_hospitals_3a.csv) into the registry.

Each row is a real hospital (tier tertiary, grade a, `synthetic` false) whose `source` names the
list and its row. A programme-roster hospital that is the same hospital as a row (same name, a
listed alias, a known rename below, or the name in its own brackets: 上海市第一人民医院酒泉医院
（酒泉市人民医院）) is not duplicated: the roster keeps its code and region and
takes the list's point. Idempotent: rows already in the store are left as the user may have
edited them, so an upgraded store gains the list once.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import Tier
from ...data import read_csv
from .models import Hospital

LIST_NAME = "grade-3A list (46319943/3AHospital, Apache-2.0)"

# Roster names (today's) → the name the grade-3A list (about 2008–2012) uses for the same hospital.
RENAMED = {
    "上海交通大学医学院附属瑞金医院": "上海交通大学附属瑞金医院",
    "中国中医科学院广安门医院": "中国中医科学研究院广安门医院",
    "中国医学科学院阜外医院": "阜外心血管病医院",
    "北京大学肿瘤医院": "北京肿瘤医院",
    "河南中医药大学第一附属医院": "河南中医学院第一附属医院",
    "西安交通大学第一附属医院": "西安交通大学医学院第一附属医院",
    "西安交通大学第二附属医院": "西安交通大学医学院第二附属医院",
    "长春中医药大学附属医院": "长春中医学院附属医院",
    "首都医科大学宣武医院": "首都医科大学附属宣武医院",
}


def name_key(name: str) -> str:
    """A name without bracketed aliases, spaces, or the 中医院/中医医院 spelling difference."""
    name = re.sub(r"（[^）]*）|\([^)]*\)|\s", "", name)
    return name.replace("中医医院", "中医院")


def roster_keys(name: str) -> set[str]:
    """Keys a roster hospital is known by: its name (or the list's older name for it) and any
    bracketed alias that is a name of its own (（酒泉市人民医院）), not a host (（依托…）)."""
    keys = {name_key(RENAMED.get(name, name))}
    for group in re.findall(r"（([^）]*)）", name):
        for part in re.split(r"[，,、/]", group):
            if part.strip().startswith("依托"):
                break  # the host and anything after it name another institution
            if part.strip():
                keys.add(name_key(part))
    return keys


def _names(row: dict[str, str]) -> set[str]:
    names = {row["name_zh"], *filter(None, row["aliases"].split(";"))}
    names |= set(re.findall(r"（([^）]*)）", row["full_name_zh"]))
    return {name_key(n) for n in names if n}


def _source(row: dict[str, str]) -> str:
    return (f"{LIST_NAME}: {row['source']}; region by {row['region_method'].replace('_', ' ')}"
            + (f"; also listed as rows {row['merged_rows']}" if row["merged_rows"] else ""))[:500]


def seed(*, session: Session) -> tuple[int, int]:
    """Add the list's hospitals that are missing; returns (added, roster hospitals matched)."""
    rows = read_csv("tertiary_hospitals_3a.csv")
    present = set(session.scalars(select(Hospital.code).where(Hospital.code.like("H3A-%"))))
    roster: dict[str, list[Hospital]] = {}
    for hospital in session.scalars(select(Hospital).where(
            Hospital.code.like("NRMC-%"), Hospital.synthetic.is_(False)).order_by(Hospital.code)):
        for key in roster_keys(hospital.name_zh):
            roster.setdefault(key, []).append(hospital)
    added: list[dict[str, Any]] = []
    matched = 0
    for row in rows:
        twins = {h.code: h for n in sorted(_names(row)) for h in roster.get(n, [])}
        if twins:
            matched += 1
            note = f"point from {LIST_NAME} row {row['code']}"
            for twin in twins.values():
                if note not in twin.source:
                    twin.lon, twin.lat = float(row["lon"]), float(row["lat"])
                    twin.source = f"{twin.source}; {note}"[:500]
            continue
        if row["code"] in present:
            continue
        added.append({
            "code": row["code"], "name_zh": row["name_zh"], "name_en": "",
            "region_code": row["region_code"], "tier": Tier.tertiary.value, "grade": "a",
            "beds": None, "specialties": [row["specialties"]],
            "lon": float(row["lon"]), "lat": float(row["lat"]), "synthetic": False,
            "source": _source(row),
        })
    session.add_all(Hospital(**row) for row in added)
    session.flush()
    return len(added), matched

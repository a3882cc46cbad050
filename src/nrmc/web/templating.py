"""Jinja2 environment shared by every slice: layout templates plus each domain's templates/.

Filters format numbers and dates the zh-CN way (1,234,567; 2024年3月5日) because the pages'
readers are Chinese health officials; labels are bilingual (Chinese first, English after).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from ..core.enums import AllianceKind, Specialty, Tier

WEB = Path(__file__).parent
DOMAINS = WEB.parent / "domains"
CHINA_TZ = ZoneInfo("Asia/Shanghai")

STATUS_ZH = {"candidate": "候选", "approved": "已批复", "under_construction": "建设中",
             "operating": "运行中", "warning_list": "预警名单"}
REFERRAL_ZH = {"requested": "待接收", "accepted": "已接收", "rejected": "已拒绝", "scheduled": "已预约",
               "arrived": "已到院", "completed": "已完成", "returned": "已下转", "cancelled": "已撤销"}
ROLE_ZH = {"national_admin": "国家管理员", "national_analyst": "国家分析员",
           "provincial_officer": "省级专员", "hospital_manager": "医院管理者", "clinician": "临床医生"}


def num(value: Any, digits: int = 0) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float) and value != value:
        return "—"
    return f"{value:,.{digits}f}" if digits or isinstance(value, float) else f"{int(value):,}"


def pct(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


def date_zh(value: date | datetime | str | None) -> str:
    """A date, or an instant in Beijing time with its offset (every page shows times this way).
    Naive instants are UTC (nrmc.db.types.UTCDateTime); ISO text (audit snapshots) is parsed;
    a value that cannot be shown as a date is shown as given, never an error page."""
    if value is None or value == "":
        return "—"
    try:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(CHINA_TZ)
            return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} (UTC+8)"
        return f"{value.year}年{value.month}月{value.day}日"
    except (ValueError, OverflowError, TypeError):
        return str(value)


def specialty_label(value: str) -> str:
    try:
        spec = Specialty(value)
    except ValueError:
        return value
    return f"{spec.label_zh} {spec.value.replace('_', ' ')}"


def tier_label(value: str) -> str:
    try:
        return f"{Tier(value).label_zh} {value.replace('_', ' ')}"
    except ValueError:
        return value


def kind_label(value: str) -> str:
    try:
        return f"{AllianceKind(value).label_zh} {value.replace('_', ' ')}"
    except ValueError:
        return value


def indicator_value(value: Any, unit: str = "") -> str:
    """An indicator as the programme pages print it: shares and changes as percentages."""
    if value is None:
        return "—"
    if unit == "change":
        return f"{float(value) * 100:+.1f}%"
    if unit == "share":
        return f"{float(value) * 100:.1f}%"
    return num(round(float(value)))


def indicator_change(value: Any, unit: str = "") -> str:
    """Change on a year before: percentage points for shares, per cent otherwise."""
    if value is None:
        return ""
    return f"{float(value) * 100:+.1f} pp" if unit == "share" else f"{float(value) * 100:+.1f}%"


def to_json(value: Any) -> Markup:
    """JSON safe to embed in a <script> block (no closing-tag or comment sequences)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


LANGUAGE_COOKIE = "nrmc_lang"  # the same name read_cache.py keys on


def page_language(context: Context) -> str:
    request = context.get("request")
    chosen = request.cookies.get(LANGUAGE_COOKIE, "both") if request is not None else "both"
    return chosen if chosen in ("zh", "en", "both") else "both"


@pass_context
def tr(context: Context, zh: str, en: str) -> str:
    """A layout string in the visitor's language: Chinese, English, or both (the default)."""
    chosen = page_language(context)
    if chosen == "zh":
        return zh
    if chosen == "en":
        return en
    return f"{zh} {en}"


@pass_context
def lang(context: Context) -> str:
    return page_language(context)


def template_dirs() -> list[str]:
    dirs = [str(WEB / "templates")]
    dirs += [str(p) for p in sorted(DOMAINS.glob("*/templates")) if p.is_dir()]
    return dirs


def make_templates(*, min_cell: int) -> Jinja2Templates:
    """The shared environment; ``min_cell`` (``Settings.min_cell_size``) is what the layout's
    footer says about withheld small counts."""
    env = Environment(loader=FileSystemLoader(template_dirs()),
                      autoescape=select_autoescape(["html"]), auto_reload=False)
    env.filters.update(num=num, pct=pct, date_zh=date_zh, specialty=specialty_label,
                       tier=tier_label, kind=kind_label, tojson_safe=to_json,
                       indicator=indicator_value, change=indicator_change)
    env.globals.update(STATUS_ZH=STATUS_ZH, ROLE_ZH=ROLE_ZH, REFERRAL_ZH=REFERRAL_ZH,
                       min_cell=min_cell, tr=tr, lang=lang)
    return Jinja2Templates(env=env)

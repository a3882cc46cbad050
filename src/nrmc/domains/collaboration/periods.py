"""KPI periods: a month, a quarter, a year or a custom range, and the same period a year before.

The comparison period is the same calendar dates one year earlier (29 February becomes the
28th), so a quarter is compared with the same quarter and a custom range with the same days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from ...core.errors import Conflict
from ...core.inputs import EARLIEST_DATE, today_beijing


class PeriodKind(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"
    custom = "custom"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.month:
            return f"{self.start:%Y-%m}"
        if self.kind == PeriodKind.quarter:
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == PeriodKind.year:
            return str(self.start.year)
        return f"{self.start} – {self.end}"

    def year_before(self) -> Period:
        return Period(self.kind, _minus_year(self.start), _minus_year(self.end))


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _month_end(year: int, month: int) -> date:
    return date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)


def resolve(kind: PeriodKind | str, *, year: int | None = None, month: int | None = None,
            quarter: int | None = None, start: date | None = None, end: date | None = None) -> Period:
    """The period asked for; missing parts default to the latest complete one (Conflict when
    the request does not make a period: a custom range without both ends, end before start)."""
    kind = PeriodKind(kind)
    today = today_beijing()
    if kind == PeriodKind.custom:
        if start is None or end is None:
            raise Conflict("a custom period needs start and end / 自定义期间须填写起止日期")
        if end < start:
            raise Conflict("end is before start / 结束日期早于开始日期")
        if start < EARLIEST_DATE or (end - start).days > 366 * 10:
            raise Conflict("a period runs from 2019-01-01 and spans at most ten years / 期间超出范围")
        return Period(kind, start, end)
    y = year or today.year
    if kind == PeriodKind.year:
        return Period(kind, date(y, 1, 1), date(y, 12, 31))
    if kind == PeriodKind.quarter:
        q = quarter or (today.month - 1) // 3 + 1
        first = 3 * (q - 1) + 1
        return Period(kind, date(y, first, 1), _month_end(y, first + 2))
    m = month or today.month
    return Period(kind, date(y, m, 1), _month_end(y, m))

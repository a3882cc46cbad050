"""The one input rule set: text, dates and numbers as staff type them.

Pages, the JSON API, Excel/CSV uploads and the CLI all validate through these annotated types,
so a value refused in one place is refused everywhere with the same bilingual message. The rules
are deliberately plain (see docs/web.md, "Input rules"):

- text: no control characters (tab and newline allowed only in long text), trimmed, bounded;
- dates: from 2019-01-01 (the programme's first batch) to 31 days after today in Beijing time;
- counts: non-negative integers with an upper bound per field (a typo of 10,000× is refused);
- numbers: finite (no NaN / Infinity), inside a stated range.

`explain()` turns pydantic's errors (ours and its built-ins) into `FieldError`s that carry the
field path and a message in Chinese and English, for the 422 body, the form and the upload preview.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

BEIJING = timezone(timedelta(hours=8), "CST")
EARLIEST_DATE = date(2019, 1, 1)
FUTURE_DAYS = 31
PLANNED_DAYS = 366
SHORT_TEXT = 100
TEXT = 200
LONG_TEXT = 4000

# Upper bounds a count may reach in one ledger row: far above any real week of one department
# (the busiest Chinese hospitals see ~20,000 outpatients a day in total), far below a typo.
MAX_COUNT_PER_ROW = 100_000
MAX_BEDS = 20_000
MAX_HOURS = 10_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_CONTROL_STRICT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def today_beijing() -> date:
    """Today's date where the programme runs (China has one time zone)."""
    return datetime.now(BEIJING).date()


def _error(code: str, **context: Any) -> PydanticCustomError:
    zh, en = MESSAGES[code]
    return PydanticCustomError(code, f"{en.format(**context)} / {zh.format(**context)}", context)


def _has_surrogate(value: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def clean_text(value: str, *, max_length: int = TEXT, multiline: bool = False) -> str:
    """Trim and check one text value; raise the bilingual error that names the rule broken."""
    if _has_surrogate(value):
        raise _error("text_encoding")
    value = unicodedata.normalize("NFC", value).strip()
    if (_CONTROL if multiline else _CONTROL_STRICT).search(value):
        raise _error("text_control")
    if len(value) > max_length:
        raise _error("text_too_long", max_length=max_length)
    return value


def check_date(value: date, *, earliest: date = EARLIEST_DATE, future_days: int = FUTURE_DAYS) -> date:
    """A date staff may record: not before `earliest`, not more than `future_days` ahead."""
    if isinstance(value, datetime):
        value = value.date()
    latest = today_beijing() + timedelta(days=future_days)
    if value < earliest:
        raise _error("date_too_early", earliest=earliest.isoformat())
    if value > latest:
        raise _error("date_too_late", latest=latest.isoformat(), days=future_days)
    return value


def check_instant(value: datetime) -> datetime:
    """An aware instant in the recordable window; naive input is read as Beijing time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    check_date(value.astimezone(BEIJING).date())
    return value.astimezone(UTC)


def check_count(value: int, *, maximum: int = MAX_COUNT_PER_ROW) -> int:
    if isinstance(value, bool):
        raise _error("not_integer")
    if value < 0:
        raise _error("negative")
    if value > maximum:
        raise _error("too_large", maximum=maximum)
    return value


def check_number(value: float, *, minimum: float = 0.0, maximum: float = 1e9) -> float:
    if isinstance(value, bool) or not math.isfinite(value):
        raise _error("not_finite")
    if value < minimum:
        raise _error("too_small", minimum=minimum)
    if value > maximum:
        raise _error("too_large", maximum=maximum)
    return value


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _integral(value: Any) -> Any:
    """Accept 12 and '12' and 12.0 (Excel writes whole numbers as floats), never 12.5 or 1e400."""
    if isinstance(value, bool):
        raise _error("not_integer")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _error("not_finite")
        if value != int(value):
            raise _error("not_integer")
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if re.fullmatch(r"[+-]?\d{1,15}(\.0*)?", text):
            return int(float(text)) if "." in text else int(text)
        if re.fullmatch(r"[+-]?\d{16,}", text):
            raise _error("too_large", maximum=MAX_COUNT_PER_ROW)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        raise _error("too_large", maximum=MAX_COUNT_PER_ROW)
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if text.lower() in {"nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}:
            raise _error("not_finite")
        try:
            parsed = float(text)
        except ValueError:
            return value
        if not math.isfinite(parsed):
            raise _error("not_finite")
        return parsed
    if isinstance(value, float) and not math.isfinite(value):
        raise _error("not_finite")
    return value


def finite(value: Any) -> Any:
    """Before-validator for a float field with its own bounds: NaN and infinities (also written
    as text, or 1e400) are refused with the bilingual "must be a finite number"."""
    return _finite(value)


def _text(max_length: int, multiline: bool = False) -> AfterValidator:
    return AfterValidator(lambda v: clean_text(v, max_length=max_length, multiline=multiline))


# Annotated types: use these in every *In schema.
ShortText = Annotated[str, _text(SHORT_TEXT)]
Text = Annotated[str, _text(TEXT)]
LongText = Annotated[str, _text(LONG_TEXT, multiline=True)]
RecordDate = Annotated[date, AfterValidator(check_date)]
RecordInstant = Annotated[datetime, AfterValidator(check_instant)]
Count = Annotated[int, BeforeValidator(_integral), AfterValidator(check_count)]
Beds = Annotated[int, BeforeValidator(_integral), AfterValidator(lambda v: check_count(v, maximum=MAX_BEDS))]
Hours = Annotated[float, BeforeValidator(_finite),
                  AfterValidator(lambda v: check_number(v, maximum=MAX_HOURS))]
OptionalCount = Annotated[Count | None, BeforeValidator(_blank_to_none)]


def _required(value: str) -> str:
    if not value:
        raise _error("blank")
    return value


_YES = {"1", "true", "yes", "y", "是", "已完成", "完成", "done"}
_NO = {"0", "false", "no", "n", "否", "未完成", ""}


def _yes_no(value: Any) -> Any:
    """Yes/no as staff write it in a sheet (是/否, yes/no, 1/0); anything else is refused."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
    return value


def check_planned_date(value: date) -> date:
    """A date that may be planned ahead (an end of a rotation, a due date): up to a year."""
    return check_date(value, future_days=PLANNED_DAYS)


# Required text: the same rules, and not blank once trimmed.
RequiredShortText = Annotated[str, _text(SHORT_TEXT), AfterValidator(_required)]
RequiredText = Annotated[str, _text(TEXT), AfterValidator(_required)]
# Dates that end or fall due in the future (dispatch and training ends, follow-up due dates).
PlannedDate = Annotated[date, AfterValidator(check_planned_date)]
YesNo = Annotated[bool, BeforeValidator(_yes_no)]
MAX_LIST_ITEMS = 100


def bounded_count(maximum: int) -> Any:
    """A Count type with its own upper bound (e.g. a surgery grade 1–4 is not a count)."""
    return Annotated[int, BeforeValidator(_integral),
                     AfterValidator(lambda v: check_count(v, maximum=maximum))]


def bounded_number(minimum: float, maximum: float) -> Any:
    return Annotated[float, BeforeValidator(_finite),
                     AfterValidator(lambda v: check_number(v, minimum=minimum, maximum=maximum))]


def ordered(start: date | None, end: date | None, *, end_field: str = "end_date") -> None:
    """End on or after start; raise the bilingual error (call from a model validator)."""
    if start is not None and end is not None and end < start:
        raise _error("end_before_start", end_field=end_field)


# Message catalogue: code -> (Chinese, English). Codes of pydantic's own errors are included so
# that a missing field or an unparseable date reads as well as our own rules.
MESSAGES: dict[str, tuple[str, str]] = {
    "text_control": ("含有控制字符，请删除", "contains control characters; remove them"),
    "text_encoding": ("含有无法编码的字符", "contains characters that cannot be encoded"),
    "text_too_long": ("不能超过 {max_length} 个字符", "must be at most {max_length} characters"),
    "date_too_early": ("日期不能早于 {earliest}", "date must not be before {earliest}"),
    "date_too_late": ("日期不能晚于 {latest}（今天之后 {days} 天）",
                      "date must not be after {latest} ({days} days from today)"),
    "end_before_start": ("结束日期早于开始日期", "end date is before the start date"),
    "not_integer": ("必须是整数", "must be a whole number"),
    "not_finite": ("必须是有限的数字", "must be a finite number"),
    "negative": ("不能为负数", "must not be negative"),
    "too_small": ("不能小于 {minimum}", "must be at least {minimum}"),
    "too_large": ("不能大于 {maximum}", "must be at most {maximum}"),
    "missing": ("必填", "is required"),
    "blank": ("不能为空", "must not be empty"),
    "too_long": ("条目太多", "has too many items"),
    "string_too_short": ("不能为空", "must not be empty"),
    "string_too_long": ("太长", "is too long"),
    "string_type": ("必须是文本", "must be text"),
    "int_parsing": ("必须是整数", "must be a whole number"),
    "int_from_float": ("必须是整数", "must be a whole number"),
    "int_type": ("必须是整数", "must be a whole number"),
    "float_parsing": ("必须是数字", "must be a number"),
    "float_type": ("必须是数字", "must be a number"),
    "finite_number": ("必须是有限的数字", "must be a finite number"),
    "bool_parsing": ("必须是“是”或“否”", "must be yes or no"),
    "bool_type": ("必须是“是”或“否”", "must be yes or no"),
    "date_parsing": ("日期格式应为 YYYY-MM-DD", "date must be written YYYY-MM-DD"),
    "date_from_datetime_parsing": ("日期格式应为 YYYY-MM-DD", "date must be written YYYY-MM-DD"),
    "date_from_datetime_inexact": ("日期不能带时间", "a date must not carry a time"),
    "date_type": ("日期格式应为 YYYY-MM-DD", "date must be written YYYY-MM-DD"),
    "datetime_parsing": ("时间格式应为 YYYY-MM-DD HH:MM", "time must be written YYYY-MM-DD HH:MM"),
    "datetime_from_date_parsing": ("时间格式应为 YYYY-MM-DD HH:MM", "time must be written YYYY-MM-DD HH:MM"),
    "datetime_type": ("时间格式应为 YYYY-MM-DD HH:MM", "time must be written YYYY-MM-DD HH:MM"),
    "enum": ("不是允许的取值（{expected}）", "is not one of the allowed values ({expected})"),
    "literal_error": ("不是允许的取值（{expected}）", "is not one of the allowed values ({expected})"),
    "greater_than_equal": ("不能小于 {ge}", "must be at least {ge}"),
    "greater_than": ("必须大于 {gt}", "must be greater than {gt}"),
    "less_than_equal": ("不能大于 {le}", "must be at most {le}"),
    "less_than": ("必须小于 {lt}", "must be less than {lt}"),
    "extra_forbidden": ("不是可接受的字段", "is not an accepted field"),
    "json_invalid": ("不是有效的 JSON", "is not valid JSON"),
    "model_attributes_type": ("格式不对", "has the wrong shape"),
    "dict_type": ("格式不对", "has the wrong shape"),
    "list_type": ("必须是列表", "must be a list"),
    "value_error": ("{reason}", "{reason}"),
    "invalid": ("取值无效", "is not valid"),
}


@dataclass(frozen=True)
class FieldError:
    """One refused field: where (dotted path) and why, in both languages."""

    field: str
    code: str
    message_zh: str
    message_en: str

    @property
    def message(self) -> str:
        return f"{self.message_en} / {self.message_zh}"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message,
                "message_zh": self.message_zh, "message_en": self.message_en}


def _safe(value: Any) -> str:
    """Text fit to echo back (no lone surrogates or control characters, bounded)."""
    text = str(value)
    text = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return _CONTROL_STRICT.sub("\ufffd", text)[:200]


def _context(err: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): _safe(v) for k, v in (err.get("ctx") or {}).items() if k != "error"}


def _field_path(loc: Sequence[int | str], skip: int) -> str:
    parts = [str(p) for p in loc[skip:] if not (isinstance(p, str) and p.startswith("function-"))]
    # pydantic names union and tagged branches ("int", "constrained-int"…) in loc: not a field.
    parts = [p for p in parts if p not in {"int", "float", "str", "date", "datetime", "none",
                                            "function-after[check_date()]"}]
    return ".".join(parts) or "__root__"


def explain_one(err: Mapping[str, Any], *, skip: int = 0) -> FieldError:
    code = str(err.get("type", "invalid"))
    ctx = _context(err)
    field = _field_path(err.get("loc", ()), skip)
    if code in {"value_error", "assertion_error"}:
        # A model validator raised a plain ValueError: keep its (English) text, translate known ones.
        reason = _safe(err.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        zh = PLAIN_REASONS_ZH.get(reason, reason)
        return FieldError(field, code, zh, reason)
    if code not in MESSAGES:
        msg = _safe(err.get("msg", code))
        return FieldError(field, code, msg, msg)
    zh_t, en_t = MESSAGES[code]
    return FieldError(field, code, _fmt(zh_t, ctx), _fmt(en_t, ctx))


def _fmt(template: str, ctx: Mapping[str, str]) -> str:
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return re.sub(r"\s*[（(]?\{[a-z_]+\}[）)]?", "", template)


# Chinese for the plain ValueError texts that model validators raise.
PLAIN_REASONS_ZH: dict[str, str] = {
    "end_date is before start_date": "结束日期早于开始日期",
    "give a project_id or a dispatch_id": "请填写项目或派驻记录",
    "a surgery needs a grade 1-4": "手术须填写 1–4 级",
    "only surgeries have a grade": "只有手术才有级别",
    "only consultations can be flagged as complex cases": "只有会诊可标为疑难病例",
    "a hospital cannot manage itself": "托管医院与被托管医院不能相同",
    "the target grade must be above the start grade": "目标等级须高于起始等级",
    "the term is at least one year": "托管期限至少一年",
    "a target needs its source": "目标值须注明来源",
    "verification must be V, P or U": "核实状态须为 V、P 或 U",
    "give actual_on, planned_on or note": "请填写实际日期、计划日期或备注",
}


def explain(errors: ValidationError | Iterable[Mapping[str, Any]], *, skip: int = 0) -> list[FieldError]:
    """Bilingual field errors from a ValidationError (or FastAPI's error list).

    `skip` drops leading path parts (FastAPI prefixes "body"; uploads prefix nothing)."""
    items = errors.errors() if isinstance(errors, ValidationError) else errors
    return [explain_one(e, skip=skip) for e in items]


# --- accounts (user administration): usernames and passwords --------------------------------
MESSAGES.update({
    "username_format": ("用户名须为 3–32 个小写字母、数字或 . _ -",
                        "username must be 3-32 of a-z, 0-9, '.', '_' or '-'"),
    "username_reserved": ("该用户名保留给系统使用", "this username is reserved for the system"),
    "password_too_short": ("密码至少 {min_length} 个字符",
                           "password must be at least {min_length} characters"),
    "password_is_username": ("密码不能与用户名相同或包含用户名",
                             "password must not be or contain the username"),
    "password_common": ("密码过于常见，请换一个", "password is too common; choose another"),
    "password_wrong": ("当前密码不正确", "the current password is wrong"),
    "password_unchanged": ("新密码不能与当前密码相同", "the new password must differ from the current one"),
    "scope_required": ("该角色需要填写范围（{what}）", "this role needs a scope ({what})"),
})


def input_error(code: str, **context: Any) -> PydanticCustomError:
    """The bilingual error for a catalogue code, for validators outside this module."""
    return _error(code, **context)


def field_error(field: str, code: str, **context: Any) -> FieldError:
    """A FieldError built directly (for rules checked after parsing, e.g. against the store)."""
    zh, en = MESSAGES[code]
    ctx = {k: _safe(v) for k, v in context.items()}
    return FieldError(field, code, _fmt(zh, ctx), _fmt(en, ctx))

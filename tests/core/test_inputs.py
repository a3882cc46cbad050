"""The one input rule set: every rule refuses with a bilingual message naming the field."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from nrmc.core.inputs import (
    Count,
    Hours,
    LongText,
    RecordDate,
    ShortText,
    explain,
    today_beijing,
)


class Row(BaseModel):
    name: ShortText
    note: LongText = ""
    on: RecordDate
    patients: Count = 0
    hours: Hours = 0.0


def refused(**values: object) -> dict[str, str]:
    base: dict[str, object] = {"name": "张三", "on": "2024-05-01"}
    base.update(values)
    with pytest.raises(ValidationError) as info:
        Row(**base)
    errors = explain(info.value)
    assert len(errors) == 1
    return errors[0].as_dict()


def test_a_clean_row_is_accepted_and_trimmed() -> None:
    row = Row(name="  张三 ", on="2024-05-01", patients="1,200", hours="12.5", note="line one\nline two")
    assert row.name == "张三" and row.patients == 1200 and row.hours == 12.5


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "esc\x1b[0m", "line\nbreak"])
def test_control_characters_are_refused_in_short_text(text: str) -> None:
    err = refused(name=text)
    assert err["field"] == "name" and err["code"] == "text_control"
    assert "控制字符" in err["message_zh"] and "control" in err["message_en"]


def test_a_lone_surrogate_is_refused_not_echoed() -> None:
    err = refused(name="x\ud800y")
    assert err["code"] == "text_encoding"


def test_text_length_is_bounded() -> None:
    err = refused(name="长" * 101)
    assert err["code"] == "text_too_long" and "100" in err["message_en"]


@pytest.mark.parametrize("value, code", [
    ("1900-01-01", "date_too_early"), ("2099-01-01", "date_too_late"),
    ("2018-12-31", "date_too_early"), ("01/05/2024", "date_from_datetime_parsing")])
def test_dates_outside_the_window_are_refused(value: str, code: str) -> None:
    err = refused(on=value)
    assert err["field"] == "on" and err["code"] == code
    assert "YYYY" in err["message_en"] or "20" in err["message_en"]


def test_the_window_reaches_31_days_ahead() -> None:
    Row(name="a", on=today_beijing() + timedelta(days=31))
    err = refused(on=(today_beijing() + timedelta(days=32)).isoformat())
    assert err["code"] == "date_too_late"
    assert Row(name="a", on=date(2019, 1, 1)).on == date(2019, 1, 1)


@pytest.mark.parametrize("value, code", [(-1, "negative"), (100_001, "too_large"), (2.5, "not_integer"),
                                         ("12345678901234567890", "too_large"), (True, "not_integer"),
                                         (float("nan"), "not_finite"), ("abc", "int_parsing")])
def test_counts_are_non_negative_bounded_integers(value: object, code: str) -> None:
    assert refused(patients=value)["code"] == code


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "Infinity", "NaN", "1e400"])
def test_numbers_must_be_finite(value: object) -> None:
    assert refused(hours=value)["code"] == "not_finite"


def test_every_message_has_both_languages() -> None:
    err = refused(patients=-3)
    assert err["message"] == f"{err['message_en']} / {err['message_zh']}"
    assert err["message_zh"] != err["message_en"]

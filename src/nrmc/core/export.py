"""The one writer for CSV and XLSX downloads and exports (web `?format=`, CLI `--format csv`, files).

Whatever text is stored, the file is safe to open in Excel or WPS and always gets written:

- a text cell that a spreadsheet would read as a formula (first character `=`, `+`, `-`, `@`, tab
  or carriage return; the OWASP CSV-injection rule) is written with a leading `'`, so it shows as
  the text that was typed; a text that is just a number (`-12`, `+3.5`) and real numbers are kept;
- control characters that XML (and so XLSX) cannot hold, and lone surrogates that UTF-8 cannot
  encode, become U+FFFD; NaN and infinities become empty cells;
- instants are shown in Beijing time with their offset (`2024-03-05T18:00:00+08:00`); dates stay
  dates in XLSX unless Excel cannot represent them (before 1900), then they are ISO text.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

from .inputs import BEIJING

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# Characters XML 1.0 forbids (XLSX cells are XML) plus lone surrogates (not encodable as UTF-8).
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EXCEL_EARLIEST = date(1900, 3, 1)


def beijing_iso(value: datetime) -> str:
    """An instant as ISO 8601 in Beijing time with the offset; naive values are taken as UTC
    (the convention of every stored time, see nrmc.db.types.UTCDateTime)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(BEIJING).isoformat(timespec="seconds")
    except OverflowError:  # the last hours of year 9999: keep UTC rather than fail the export
        return value.isoformat(timespec="seconds")


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as typed: unwritable characters replaced, formulas defused."""
    value = _UNWRITABLE.sub("\ufffd", value)
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def cell(value: Any, *, excel: bool = False) -> Any:
    """One value as it goes into a file: None, bool, int, finite float, date (XLSX only) or text."""
    if value is None:
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return beijing_iso(value)
    if isinstance(value, date):
        if excel and value >= _EXCEL_EARLIEST:
            return value
        return value.isoformat()
    if isinstance(value, Mapping):
        value = value.get("code") or value.get("id") or value.get("name_zh") or str(dict(value))
    elif isinstance(value, list | tuple | set | frozenset):
        value = ";".join("" if v is None else str(v.value if isinstance(v, Enum) else v) for v in value)
    if not isinstance(value, str):
        value = str(value)
    return safe_text(value)


def _csv_cell(value: Any) -> Any:
    value = cell(value)
    return "" if value is None else value


def write_csv(out: TextIO, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_text(str(c)) for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, bom: bool = True) -> str:
    """The table as CSV text; with a UTF-8 BOM so Excel on Chinese Windows reads it without mojibake."""
    buffer = io.StringIO()
    write_csv(buffer, rows, columns)
    return ("\ufeff" if bom else "") + buffer.getvalue()


def xlsx_bytes(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, sheet: str = "data") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    # Sheet titles may not hold []:*?/\ and are at most 31 characters.
    ws = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", "_", _UNWRITABLE.sub("_", sheet))[:31] or "data")
    ws.append([safe_text(str(c)) for c in columns])
    for row in rows:
        ws.append([cell(row.get(c), excel=True) for c in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write_file(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Save rows as XLSX (by the suffix) or else CSV (UTF-8 with BOM)."""
    if path.suffix.lower() == ".xlsx":
        path.write_bytes(xlsx_bytes(rows, columns, sheet=path.stem))
    else:
        path.write_text(csv_text(rows, columns), encoding="utf-8", newline="")

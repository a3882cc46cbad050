"""Read and write CSV/XLSX tables as lists of dicts with 1-based data-row numbers.

Planners live in Excel; every import accepts either format, and errors name the data row
(row 1 is the first row after the header, as a spreadsheet user counts below the header).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .errors import ImportRejected, RowProblem


def _refuse(path: Path, reason: str, *, row: int = 0, field: str = "file") -> ImportRejected:
    return ImportRejected(str(path), [RowProblem(str(path), row, field, reason)])


def read_table(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Return (row number, {column: text}) for every non-empty data row of a CSV or XLSX file.

    Refuses (ImportRejected, naming the file and where possible the row and column) a file that
    is missing, empty, not what its suffix says, in an encoding other than UTF-8 (with or
    without BOM) or GBK/GB18030, with a blank or repeated header, a row longer than the header,
    or a cell holding control characters."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise _refuse(path, "does not exist" if not path.exists() else "is not a file")
    if suffix in {".xlsx", ".xlsm"}:
        rows = _read_xlsx(path)
    elif suffix in {".csv", ".txt"}:
        rows = _read_csv(path)
    else:
        raise _refuse(path, f"unsupported format {suffix!r}; use .csv or .xlsx")
    for number, row in rows:
        for column, value in row.items():
            if _CONTROL.search(value):
                raise _refuse(path, "contains control characters", row=number, field=column)
    return rows


# Control characters other than tab, line feed and carriage return: never typed by a person,
# a sign of a binary or mis-decoded file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SIGNATURES = {b"PK\x03\x04": "an XLSX/ZIP file", b"\xd0\xcf\x11\xe0": "an old Excel (.xls) file",
              b"%PDF": "a PDF file", b"PAR1": "a Parquet file"}


def detect_encoding(path: Path, head: bytes) -> str:
    """The text encoding of a file from its first bytes: "utf-8-sig" (UTF-8 with or without
    BOM) or "gb18030" (GBK and its superset, what Chinese Excel saves as "CSV"); anything else is
    refused by name."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(path, "is UTF-16 text; save it as CSV UTF-8 (逗号分隔, UTF-8)")
    for signature, kind in SIGNATURES.items():
        if head.startswith(signature):
            raise _refuse(path, f"is {kind}, not CSV text; export it as CSV (or use .xlsx)")
    if b"\x00" in head:
        raise _refuse(path, "is binary (it holds NUL bytes), not CSV text")
    try:
        head.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut by the end of the sample
            return "utf-8-sig"
    try:
        text = head.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if text and not _CONTROL.search(text):
        return "gb18030"
    raise _refuse(path, "is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8")


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(path: Path, names: Sequence[str]) -> list[str]:
    header = [n.strip() for n in names]
    if not any(header):
        raise _refuse(path, "has no header row (the first row names the columns)")
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise _refuse(path, "column appears twice in the header", field=name)
        seen.add(name)
    return header


def _read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    data = path.read_bytes()
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise _refuse(path, "is empty")
    encoding = detect_encoding(path, data[:65536])
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n")
        raise _refuse(path, f"is not valid {encoding.removesuffix('-sig').upper()} text",
                      row=line) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = _header(path, next(reader, []))
        for number, values in enumerate(reader, start=1):
            if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
                raise _refuse(path, f"has {len(values)} cells but the header names {len(header)}",
                              row=number, field="row")
            cleaned = {h: _clean(v) for h, v in zip(header, values, strict=False) if h}
            if any(cleaned.values()):
                rows.append((number, cleaned))
    except csv.Error as exc:
        raise _refuse(path, f"is not well-formed CSV ({exc})", row=max(reader.line_num - 1, 0)) from exc
    return _some(path, header, rows)


def _some(path: Path, header: Sequence[str], rows: list[tuple[int, dict[str, str]]]
          ) -> list[tuple[int, dict[str, str]]]:
    """Refuse a file without data rows, showing what was read as its header (a file without a
    header has its first data row taken for one)."""
    if not rows:
        shown = ", ".join(repr(h[:30]) for h in header[:4]) + (", …" if len(header) > 4 else "")
        raise _refuse(path, f"has no data rows below the header (read as: {shown})")
    return rows


def _read_xlsx(path: Path) -> list[tuple[int, dict[str, str]]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise _refuse(path, "is not a readable XLSX workbook (corrupt, encrypted or another "
                            f"format): {type(exc).__name__}") from exc
    try:
        if not workbook.worksheets:
            raise _refuse(path, "has no worksheet")
        iterator = workbook.worksheets[0].iter_rows(values_only=True)
        first = next(iterator, None)
        if first is None:
            raise _refuse(path, "is empty")
        header = _header(path, [_clean(h) for h in first])
        rows = []
        for number, values in enumerate(iterator, start=1):
            if len(values) > len(header) and any(_clean(v) for v in values[len(header):]):
                raise _refuse(path, f"has cells beyond the {len(header)} named columns",
                              row=number, field="row")
            cleaned = {h: _clean(v) for h, v in zip(header, values, strict=False) if h}
            if any(cleaned.values()):
                rows.append((number, cleaned))
        rows = _some(path, header, rows)
    except (BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _refuse(path, f"is not a readable XLSX workbook: {type(exc).__name__}") from exc
    finally:
        workbook.close()
    return rows


def check_columns(path: Path, rows: Sequence[tuple[int, dict[str, str]]],
                  required: Iterable[str]) -> None:
    """Refuse a file whose header lacks a required column (named in the error)."""
    if not rows:
        raise ImportRejected(str(path), [RowProblem(str(path), 0, "file", "has no data rows")])
    present = set(rows[0][1])
    missing = [c for c in required if c not in present]
    if missing:
        raise ImportRejected(
            str(path),
            [RowProblem(str(path), 0, c, "required column is missing from the header") for c in missing],
        )


def write_xlsx(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Kept for callers of the old name; the one writer is nrmc.core.export."""
    from .export import xlsx_bytes

    path.write_bytes(xlsx_bytes(rows, columns, sheet=path.stem))

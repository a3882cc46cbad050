"""Read and write CSV/XLSX tables as lists of dicts with 1-based data-row numbers.

Planners live in Excel; every import accepts either format, and errors name the data row
(row 1 is the first row after the header, as a spreadsheet user counts below the header).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .errors import ImportRejected, RowProblem


def read_table(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Return (row number, {column: text}) for every non-empty data row of a CSV or XLSX file."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ImportRejected(str(path), [RowProblem(str(path), 0, "file", "does not exist")])
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path)
    if suffix in {".csv", ".txt"}:
        return _read_csv(path)
    raise ImportRejected(
        str(path), [RowProblem(str(path), 0, "file", f"unsupported format {suffix!r}; use .csv or .xlsx")]
    )


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for number, row in enumerate(reader, start=1):
        cleaned = {(k or "").strip(): _clean(v) for k, v in row.items()}
        if any(cleaned.values()):
            rows.append((number, cleaned))
    return rows


def _read_xlsx(path: Path) -> list[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    header = [_clean(h) for h in next(iterator, ())]
    rows = []
    for number, values in enumerate(iterator, start=1):
        cleaned = {h: _clean(v) for h, v in zip(header, values, strict=False) if h}
        if any(cleaned.values()):
            rows.append((number, cleaned))
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

"""Print lists of flat records as a Rich table, JSON or CSV (the --format option everywhere)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..core.tabular import write_xlsx


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN → null
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def emit(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    *,
    columns: Iterable[str] | None = None,
    title: str | None = None,
) -> None:
    """Write rows in the chosen format; JSON is a list of flat objects."""
    cols = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    if fmt == OutputFormat.json:
        data = [{k: _plain(r.get(k)) for k in cols} for r in rows]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    elif fmt == OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(cols)
        for r in rows:
            writer.writerow(["" if r.get(k) is None else _cell(r.get(k)) for k in cols])
    else:
        table = Table(title=title, show_lines=False)
        for c in cols:
            table.add_column(c)
        for r in rows:
            table.add_row(*("" if r.get(k) is None else _cell(r.get(k)) for k in cols))
        console.print(table)


def export(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> None:
    """Save rows to CSV or XLSX (by the file suffix) for planners who work in Excel."""
    flat = [{k: _cell(r.get(k)) if isinstance(r.get(k), dict | list | tuple) else _plain(r.get(k))
             for k in columns} for r in rows]
    if path.suffix.lower() == ".xlsx":
        write_xlsx(path, flat, columns)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
            writer.writeheader()
            writer.writerows(flat)
    err_console.print(f"wrote {len(rows)} rows to {path}")


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name_zh") or value.get("code") or value)
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(_plain(value))


def emit_one(record: Mapping[str, Any], fmt: OutputFormat) -> None:
    """Write one object (JSON object, one-row CSV, or a two-column table)."""
    if fmt == OutputFormat.json:
        sys.stdout.write(json.dumps({k: _plain(v) for k, v in record.items()},
                                    ensure_ascii=False, indent=2, default=str) + "\n")
    elif fmt == OutputFormat.csv:
        emit([record], fmt)
    else:
        table = Table(show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for k, v in record.items():
            table.add_row(k, "" if v is None else _cell(v))
        console.print(table)

"""Print lists of flat records as a Rich table, JSON or CSV (the --format option everywhere)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..core.export import beijing_iso, write_csv, write_file


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN → null
        return None
    if isinstance(value, datetime):
        return beijing_iso(value)
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
        write_csv(sys.stdout, [{k: _flat(r.get(k)) for k in cols} for r in rows], cols)
    else:
        table = Table(title=title, show_lines=False)
        for c in cols:
            table.add_column(c)
        for r in rows:
            table.add_row(*("" if r.get(k) is None else _cell(r.get(k)) for k in cols))
        console.print(table)


def export(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> None:
    """Save rows to CSV or XLSX (by the file suffix) for planners who work in Excel."""
    write_file(path, [{k: _flat(r.get(k)) for k in columns} for r in rows], columns)
    err_console.print(f"wrote {len(rows)} rows to {path}")


def _flat(value: Any) -> Any:
    """Nested values as the table shows them (a region by its Chinese name); the rest is left to
    nrmc.core.export, which defuses formulas and writes instants in Beijing time."""
    return _cell(value) if isinstance(value, dict | list | tuple) else value


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

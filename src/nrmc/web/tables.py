"""Pagination and table downloads shared by every list endpoint.

Every list answers a `Page` (items, total, limit, offset); the same endpoint with
`?format=csv` or `?format=xlsx` downloads the whole filtered table (planners live in Excel).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

T = TypeVar("T")
MAX_LIMIT = 500
EXPORT_LIMIT = 100_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class TableFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


# Database ids fit a 32-bit signed integer on every backend; larger ones are refused (422)
# rather than overflowing the driver.
DbId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DbIdQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]
FormatQuery = Annotated[TableFormat, Query(alias="format", description="json, csv or xlsx")]

# Declared on list routes so the OpenAPI schema names the download types.
DOWNLOADS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}},
                      XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
}


def _flat(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("code") or value.get("id") or str(value)
    if isinstance(value, list | tuple):
        return ";".join(str(_flat(v)) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def flat_rows(items: Sequence[BaseModel | dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for item in items:
        data = item.model_dump(mode="json") if isinstance(item, BaseModel) else item
        rows.append({k: _flat(v) for k, v in data.items()})
    return rows


def download(items: Sequence[BaseModel | dict[str, Any]], fmt: TableFormat, name: str,
             columns: Sequence[str] = ()) -> Response:
    """The rows as a CSV or XLSX attachment; `columns` gives the header when there are no rows."""
    rows = flat_rows(items)
    columns = list(rows[0]) if rows else list(columns)
    if fmt == TableFormat.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        # UTF-8 with BOM so Excel on Chinese Windows opens it without mojibake.
        return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(name[:31])
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(c) for c in columns])
    out = io.BytesIO()
    workbook.save(out)
    return Response(out.getvalue(), media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})

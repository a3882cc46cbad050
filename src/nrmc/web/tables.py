"""Pagination and table downloads shared by every list endpoint.

Every list answers a `Page` (items, total, limit, offset); the same endpoint with
`?format=csv` or `?format=xlsx` downloads the whole filtered table (planners live in Excel).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from ..core.export import XLSX_TYPE, csv_text, xlsx_bytes

T = TypeVar("T")
MAX_LIMIT = 500
EXPORT_LIMIT = 100_000


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


def flat_rows(items: Sequence[BaseModel | dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as Python values (instants stay datetimes so the writer can show them in Beijing time)."""
    return [item.model_dump() if isinstance(item, BaseModel) else dict(item) for item in items]


def download(items: Sequence[BaseModel | dict[str, Any]], fmt: TableFormat, name: str,
             columns: Sequence[str] = ()) -> Response:
    """The rows as a CSV or XLSX attachment; `columns` gives the header when there are no rows.
    Written by nrmc.core.export (formula cells defused, any stored text written)."""
    rows = flat_rows(items)
    columns = list(rows[0]) if rows else list(columns)
    if fmt == TableFormat.csv:
        return Response(csv_text(rows, columns), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(xlsx_bytes(rows, columns, sheet=name), media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})

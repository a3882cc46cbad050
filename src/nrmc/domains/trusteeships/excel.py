"""Many trusteeships at once from a spreadsheet, all or none; and the template to fill in.

The template has a bilingual header ("被托管医院 Managed hospital [managed_hospital_code]"),
drop-down lists for grades and yes/no, and one example row, skipped when left unchanged. A file
may also name its columns by field name alone (what the API documents). Every row goes through
the same parser as the page form (`entry.parse`) and the same store checks as the API
(`service.problems`); one refused row refuses the file and every problem is listed by file,
row (1 = the first row below the header) and field.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from ...core.errors import ImportRejected, RowProblem
from ...core.inputs import field_error
from ...core.tabular import read_table
from ..audit import service as audit
from ..users.scope import Scope
from . import entry, service
from .entry import FIELDS
from .schemas import Grade

_CONTROL = re.compile(r"[\x00-\x1f\x7f/\\]")
MAX_ROWS = 2_000
MAX_BYTES = 2_000_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def template() -> bytes:
    """The XLSX template: bilingual header, drop-downs, one example row, a notes sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    ws = book.active
    ws.title = "trusteeships"
    ws.append([f.header for f in FIELDS])
    ws.append([f.example for f in FIELDS])
    choices = {"start_grade": [g.label_zh for g in Grade], "target_grade": [g.label_zh for g in Grade],
               "separated": ["是", "否"]}
    for index, column in enumerate(FIELDS, start=1):
        header = ws.cell(row=1, column=index)
        header.font, header.fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F0")
        letter = header.column_letter
        ws.column_dimensions[letter].width = max(14, len(column.header) + 2)
        if column.name in choices:
            check = DataValidation(type="list", formula1='"' + ",".join(choices[column.name]) + '"',
                                   allow_blank=not column.required, showErrorMessage=True,
                                   errorTitle="取值 Value", error=column.hint or column.label)
            ws.add_data_validation(check)
            check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        if column.name in entry.DATES:  # text cells: a typed 2025-03-01 stays YYYY-MM-DD
            ws.column_dimensions[letter].number_format = "@"
            ws.cell(row=2, column=index).number_format = "@"
    ws.freeze_panes = "A2"
    notes = book.create_sheet("说明 notes")
    notes.append(["第 2 行是示例，原样保留时不导入 Row 2 is an example: it is skipped if left unchanged"])
    notes.append(["全部导入或全部不导入 All rows are stored, or none"])
    for column in FIELDS:
        notes.append([column.header, "必填 required" if column.required else "可选 optional",
                      column.hint])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _field_name(header: str) -> str:
    """The field a header names: "标签 Label [field]", the bare field name, or the label."""
    text = header.strip()
    if text.endswith("]") and "[" in text:
        text = text[text.rindex("[") + 1:-1].strip()
    by_label = {f.label: f.name for f in FIELDS}
    return text if text in entry.NAMES else by_label.get(text, text)


def _is_example(values: dict[str, str]) -> bool:
    return all(values.get(f.name, "") == f.example for f in FIELDS)


def _rows(path: Path, name: str) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows by field name; whole-file problems refuse it under `name`."""
    try:
        raw = read_table(path)
    except ImportRejected as exc:  # re-labelled: an upload sits in a temporary folder
        raise ImportRejected(name, [RowProblem(name, p.row, p.field, p.reason)
                                    for p in exc.problems]) from exc
    rows = [(number, {_field_name(k): v for k, v in cells.items()}) for number, cells in raw]
    missing = [f for f in FIELDS if f.required and f.name not in rows[0][1]]
    if missing:
        raise ImportRejected(name, [RowProblem(name, 0, f.name, f"缺少必填列 “{f.header}” / "
                                               "required column is missing") for f in missing])
    if _is_example(rows[0][1]):
        rows = rows[1:]
    if not rows:
        raise ImportRejected(name, [RowProblem(name, 0, "file", "只有示例行，没有数据 / only the "
                                               "example row, no data")])
    if len(rows) > MAX_ROWS:
        raise ImportRejected(name, [RowProblem(name, 0, "file", f"超过 {MAX_ROWS} 行 / more than "
                                               f"{MAX_ROWS} rows")])
    return rows


def import_file(*, session: Session, scope: Scope, path: Path, label: str | None = None,
                source: str = "") -> list[int]:
    """Store every trusteeship of a CSV/XLSX file, or none (ImportRejected lists each problem).
    Each is audited as created, and the import once with the file's name; returns the ids."""
    name = label or str(path)
    service.require_create(scope)
    problems: list[RowProblem] = []
    parsed = []
    seen: dict[tuple[str, str, object], int] = {}
    for number, cells in _rows(path, name):
        data, errors = entry.parse(session=session, scope=scope, raw=cells)
        if data is not None:
            key = (data.managing_hospital_code, data.managed_hospital_code, data.start_date)
            if key in seen:
                errors = [field_error("start_date", "trusteeship_repeated", row=seen[key])]
            else:
                seen[key] = number
                errors = service.problems(session=session, scope=scope, data=data)
        problems += [RowProblem(name, number, e.field, e.message) for e in errors]
        if data is not None and not errors:
            parsed.append(data)
    if problems:
        raise ImportRejected(name, problems)
    ids = [service.create(session=session, scope=scope, data=data, source=source or name).id
           for data in parsed]
    audit.record(session=session, actor=scope.actor, action="trusteeship.import",
                 object_type="trusteeship_import", object_id=Path(name).name[:64],
                 after={"file": Path(name).name, "rows": len(ids), "ids": ids[:1000]},
                 source=source)
    return ids


def import_upload(*, session: Session, scope: Scope, filename: str, content: bytes,
                  source: str = "") -> list[int]:
    """`import_file` for an uploaded file. It is kept on disk under a fixed name (what a browser
    sends as a file name may be anything, "..", a NUL, 300 bytes); problems name the file as
    the user chose it."""
    name = _CONTROL.sub("", Path(filename or "upload").name)[-80:] or "upload"
    name = name.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be echoed
    if len(content) > MAX_BYTES:
        raise ImportRejected(name, [RowProblem(name, 0, "file", f"文件超过 {MAX_BYTES // 1_000_000} MB"
                                               f" / the file is larger than {MAX_BYTES // 1_000_000} MB")])
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="nrmc-upload-") as folder:
        path = Path(folder) / ("upload" + (suffix if suffix.isascii() else "")[:12])
        path.write_bytes(content)
        return import_file(session=session, scope=scope, path=path, label=name, source=source)

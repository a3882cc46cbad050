"""Excel on the web: a template per kind, and an upload that is previewed, then confirmed.

The template has a bilingual header ("专家姓名 Expert [name]"), drop-down lists for the
columns with fixed choices, and one example row (an upload that still holds it, unchanged,
skips it). An upload is checked row by row with the same rules as the page and API — the
kind's schema first, then a rehearsal of the real writes inside a savepoint that is always
rolled back (overlapping dispatches, locked months, unknown hospitals) — so the preview flags
each bad row and field. Confirming stores all rows or none. The file's content fingerprint
(the rows as read, not the bytes) is kept: the same rows uploaded again add nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.errors import ImportRejected, NrmcError, RowProblem
from ...core.inputs import explain
from ...core.tabular import read_table
from ..audit import service as audit
from ..users.scope import Scope
from . import entry
from .access import writable_project
from .forms import SHEETS, Sheet, form_values
from .models import LedgerUpload

MAX_UPLOAD_BYTES = 2_000_000
MAX_UPLOAD_ROWS = 2_000


def template(kind: str) -> bytes:
    """The kind's XLSX template: bilingual header, drop-downs, one example row, a notes sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    sheet = SHEETS[kind]
    book = Workbook()
    ws = book.active
    ws.title = kind
    ws.append([c.header for c in sheet.columns])
    ws.append([c.example for c in sheet.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE6F0")
    for index, column in enumerate(sheet.columns, start=1):
        letter = ws.cell(row=1, column=index).column_letter
        ws.column_dimensions[letter].width = max(14, len(column.header) + 4)
        cells = f"{letter}2:{letter}{MAX_UPLOAD_ROWS + 1}"
        if column.choices:
            options = ",".join(value for value, _ in column.choices)
            check = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True,
                                   showErrorMessage=True, errorTitle="取值 Value",
                                   error=f"{column.label}: " + " / ".join(lbl for _, lbl in column.choices))
            ws.add_data_validation(check)
            check.add(cells)
        if column.type == "date":
            # Text cells, so a typed 2025-03-01 stays YYYY-MM-DD and is not turned into a number.
            ws.column_dimensions[letter].number_format = "@"
            ws.cell(row=2, column=index).number_format = "@"
    ws.freeze_panes = "A2"
    notes = book.create_sheet("说明 notes")
    notes.append(["第 2 行是示例，可直接覆盖或删除 Row 2 is an example: overwrite or delete it"])
    notes.append(["日期写作 YYYY-MM-DD Dates are written YYYY-MM-DD"])
    for column in sheet.columns:
        notes.append([column.header, "必填 required" if column.required else "可选 optional",
                      column.hint])
    for note in sheet.notes:
        notes.append([note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class PreviewRow:
    number: int  # the sheet's row (the header is row 1)
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Preview:
    kind: str
    filename: str
    rows: list[PreviewRow]
    fingerprint: str
    problems: list[str] = field(default_factory=list)  # whole-file problems
    already: LedgerUpload | None = None
    skipped_example: bool = False

    @property
    def bad_rows(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.errors]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.bad_rows and bool(self.rows)


def _field_name(header: str, sheet: Sheet) -> str:
    """The field a header names: "标签 Label [field]", or the bare field name (API/CSV files)."""
    text = header.strip()
    if text.endswith("]") and "[" in text:
        text = text[text.rindex("[") + 1:-1].strip()
    if sheet.column(text):
        return text
    by_label = {c.label: c.name for c in sheet.columns}
    return by_label.get(header.strip(), header.strip())


Rows = list[tuple[int, dict[str, str]]]


def read_upload(kind: str, filename: str, content: bytes) -> tuple[Rows, list[str]]:
    """The upload's rows (sheet row number, {field: text}) and whole-file problems."""
    suffix = Path(filename).suffix.lower()
    if suffix not in {".xlsx", ".csv"}:
        return [], [f"{filename}: 请上传 .xlsx 或 .csv 文件 upload an .xlsx or .csv file"]
    if len(content) > MAX_UPLOAD_BYTES:
        return [], [f"{filename}: 文件超过 2 MB the file is larger than 2 MB"]
    sheet = SHEETS[kind]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            raw_rows = read_table(path)
        except ImportRejected as exc:
            return [], [f"{filename}: {p.reason}" for p in exc.problems]
        except Exception:  # noqa: BLE001 - a corrupt file is the uploader's problem, said plainly
            return [], [f"{filename}: 无法读取该文件 the file cannot be read as {suffix}"]
    rows = [(number + 1, {_field_name(k, sheet): v for k, v in raw.items()})
            for number, raw in raw_rows]
    problems = []
    if rows:
        missing = [c.header for c in sheet.columns if c.required and c.name not in rows[0][1]]
        if missing:
            problems.append(f"{filename}: 缺少列 missing columns: {', '.join(missing)}")
    if len(rows) > MAX_UPLOAD_ROWS:
        problems.append(f"{filename}: 超过 {MAX_UPLOAD_ROWS} 行 more than {MAX_UPLOAD_ROWS} rows")
    if not rows and not problems:
        problems.append(f"{filename}: 没有数据行 no data rows")
    return rows, problems


def _is_example(sheet: Sheet, values: dict[str, str]) -> bool:
    return all(str(values.get(c.name, "")).strip() == str(c.example) for c in sheet.columns)


def fingerprint(kind: str, rows: list[tuple[int, dict[str, str]]]) -> str:
    body = json.dumps([sorted(v.items()) for _, v in rows], ensure_ascii=False)
    return hashlib.sha256(f"{kind}\n{body}".encode()).hexdigest()


def preview(*, session: Session, scope: Scope, project_id: int, kind: str, filename: str,
            content: bytes) -> Preview:
    """Check every row as the real write would, and store nothing."""
    result, _ids = _run(session, scope, project_id, kind, filename, content, keep=False, source="")
    return result


def _run(session: Session, scope: Scope, project_id: int, kind: str, filename: str,
         content: bytes, *, keep: bool, source: str) -> tuple[Preview, list[int]]:
    """Read, check and write every row inside a savepoint, each row in its own, collecting
    every refusal; keep the writes only when asked (`keep`) and every row went in."""
    writable_project(session, scope, project_id)
    spec, sheet = entry.kind_of(kind), SHEETS[kind]
    rows, problems = read_upload(kind, filename, content)
    skipped = bool(rows) and _is_example(sheet, rows[0][1])
    if skipped:
        rows = rows[1:]
        if not rows:
            problems = [*problems, f"{filename}: 只有示例行，没有数据 only the example row, no data"]
    result = Preview(kind, filename, [PreviewRow(n, v) for n, v in rows], fingerprint(kind, rows),
                     problems, skipped_example=skipped)
    if problems:
        return result, []
    result.already = session.scalars(select(LedgerUpload).where(
        LedgerUpload.project_id == project_id, LedgerUpload.kind == kind,
        LedgerUpload.fingerprint == result.fingerprint)).first()
    parsed = []
    for row in result.rows:
        try:
            parsed.append((row, spec.fields.model_validate(form_values(kind, row.values))))
        except ValidationError as exc:
            for error in explain(exc):
                row.errors.setdefault(error.field.split(".")[0], error.message)
    ids: list[int] = []
    if keep and (result.bad_rows or result.already is not None):
        return result, ids
    outer = session.begin_nested()
    try:
        for row, data in parsed:
            step = session.begin_nested()
            try:
                ids.append(entry.create(session=session, scope=scope, project_id=project_id,
                                        kind=spec, data=data, source=source or "upload preview").id)
                step.commit()
            except NrmcError as exc:
                step.rollback()
                row.errors["row"] = str(exc)
    finally:
        if keep and result.ok:
            outer.commit()
        else:
            outer.rollback()
    return result, ids if keep and result.ok else []


def confirm(*, session: Session, scope: Scope, project_id: int, kind: str, filename: str,
            content: bytes, source: str = "") -> int:
    """Store every row of the upload, or none (ImportRejected lists row, field and reason).
    Returns the rows added: 0 when these rows were uploaded before."""
    checked, ids = _run(session, scope, project_id, kind, filename, content, keep=True,
                        source=source or filename)
    if not checked.ok:
        raise ImportRejected(filename, [RowProblem(filename, 0, "file", p) for p in checked.problems]
                             + [RowProblem(filename, r.number, f, m) for r in checked.bad_rows
                                for f, m in r.errors.items()])
    if checked.already is not None:
        return 0
    upload = LedgerUpload(project_id=project_id, kind=kind, fingerprint=checked.fingerprint,
                          filename=filename[:200], rows=len(ids), uploaded_by=scope.actor,
                          uploaded_at=datetime.now(UTC))
    session.add(upload)
    session.flush()
    audit.record(session=session, actor=scope.actor, action=f"{entry.kind_of(kind).noun}.upload",
                 object_type="ledger_upload", object_id=upload.id,
                 after={"file": filename, "rows": len(ids), "ids": ids[:1000]}, source=source)
    return len(ids)

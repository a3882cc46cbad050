"""`nrmc ops trusteeship`: county hospital trusteeships (托管) — add one, list them with their
progress, import many from a spreadsheet, write the spreadsheet template."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from ..core.inputs import FieldError, today_beijing
from ..domains.trusteeships import entry, excel, service
from ..domains.trusteeships.schemas import Grade, TrusteeshipOut
from ..domains.users.service import Refused
from .context import db_session
from .ops import SYSTEM, FormatOpt, parse_day
from .output import OutputFormat, console, emit, emit_one, err_console

GRADES = ", ".join(f"{g.value} ({g.label_zh})" for g in Grade)
COLUMNS = ["id", "managed_hospital_code", "managed_hospital", "managing_hospital_code",
           "managing_hospital", "province_code", "start_date", "term_years", "end_date",
           "separated", "start_grade", "target_grade", "goal_deadline", "posts_planned",
           "departments_planned", "project_id", "grade", "behind"]
# What fits a terminal; JSON and CSV give every column.
TABLE_COLUMNS = ["id", "managed_hospital", "managing_hospital", "start_date", "goal", "grade",
                 "behind"]

app = typer.Typer(help="County hospital trusteeships (托管): a managing hospital runs a managed "
                  "hospital for a term towards an upgrade goal; add, list, import.",
                  no_args_is_help=True)


def _row(t: TrusteeshipOut) -> dict[str, Any]:
    return {**t.model_dump(exclude={"progress", "reports"}), "grade": t.progress.grade,
            "behind": "; ".join(t.progress.behind)}


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    """Bilingual grades and the goal on one line, as on the page."""
    zh = {g.value: g.label_zh for g in Grade}
    return {**row, "grade": zh[row["grade"]],
            "goal": f"{zh[row['start_grade']]} → {zh[row['target_grade']]} by {row['goal_deadline']}"}


def _refuse(errors: list[FieldError]) -> None:
    """Print each refused field as the pages show it, and exit 2 (like a bad option)."""
    for error in errors:
        field = "input" if error.field == "__root__" else error.field
        err_console.print(f"[red]error:[/red] {escape(field)}: {escape(error.message)}",
                          highlight=False)
    raise typer.Exit(2)


@app.command("add")
def add(
    managed: str = typer.Option(..., "--managed", help="the managed (county) hospital: code or "
                                "full name"),
    managing: str = typer.Option(..., "--managing", help="the managing hospital: code or full "
                                 "name"),
    start: str = typer.Option(..., "--start", help="start date, YYYY-MM-DD"),
    term: str = typer.Option(..., "--term", help="term in years, 1-30"),
    start_grade: str = typer.Option(..., "--start-grade", help=f"grade at the start: {GRADES}"),
    target_grade: str = typer.Option(..., "--target-grade", help="grade to reach, above the "
                                     "start grade"),
    deadline: str = typer.Option(..., "--deadline", help="when the target grade is due, "
                                 "YYYY-MM-DD, after the start"),
    separated: bool = typer.Option(True, "--separated/--not-separated",
                                   help="management separated from operation (管办分离)"),
    posts: str = typer.Option("", "--posts", help="posts the managing hospital plans to fill"),
    departments: str = typer.Option("", "--departments", help="departments planned to open"),
    project: str = typer.Option("", "--project", help="project id, if part of a centre's project"),
    note: str = typer.Option("", help="free text"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Record one trusteeship (audited, source "cli").

    A refused value exits 2 naming its field in Chinese and English; nothing is stored."""
    raw = {"managed_hospital_code": managed, "managing_hospital_code": managing,
           "start_date": start, "term_years": term, "start_grade": start_grade,
           "target_grade": target_grade, "goal_deadline": deadline,
           "separated": "是" if separated else "否", "posts_planned": posts,
           "departments_planned": departments, "project_id": project, "note": note}
    with db_session() as session:
        data, errors = entry.parse(session=session, scope=SYSTEM, raw=raw)
        if data is None:
            _refuse(errors)
        assert data is not None
        try:
            made = service.create(session=session, scope=SYSTEM, data=data, source="cli")
        except Refused as exc:
            _refuse(exc.problems)
        out = service.detail(session=session, scope=SYSTEM, trusteeship_id=made.id,
                             as_of=today_beijing())
    emit_one(_row(out), fmt)


@app.command("list")
def list_cmd(
    province: str | None = typer.Option(None, help="province code, e.g. 62 or 620000"),
    behind_only: bool = typer.Option(False, "--behind-only", help="only those behind their path"),
    as_of: str | None = typer.Option(None, "--as-of", help="judge progress on this day, "
                                     "YYYY-MM-DD (default today)"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List trusteeships with the grade reached and each way they are behind their path."""
    day = parse_day(as_of) if as_of else today_beijing()
    if province is not None and not re.fullmatch(r"\d{2}(\d{4})?", province):
        raise typer.BadParameter(f"{province!r} is not a province code (62 or 620000)",
                                 param_hint="--province")
    with db_session() as session:
        rows = [_row(t) for t in service.list_visible(session=session, scope=SYSTEM, as_of=day,
                                                      province=province, behind_only=behind_only)]
    if fmt == OutputFormat.table:
        rows = [_table_row(r) for r in rows]
    emit(rows, fmt, columns=TABLE_COLUMNS if fmt == OutputFormat.table else COLUMNS,
         title=f"{len(rows)} trusteeships, {sum(1 for r in rows if r['behind'])} behind, as of {day}")


@app.command("import")
def import_cmd(path: Path = typer.Argument(..., help="CSV or XLSX with columns "
                                           + ", ".join(entry.NAMES) + " (see `template`)")) -> None:
    """Add a file of trusteeships in one transaction; any bad row refuses the whole file.

    A refused file exits 6 listing every problem by file, row and field; nothing is stored."""
    with db_session() as session:
        ids = excel.import_file(session=session, scope=SYSTEM, path=path, source="cli")
    console.print(f"{path}: {len(ids)} trusteeships added")


@app.command("template")
def template_cmd(path: Path = typer.Argument(..., help="where to write the XLSX template")) -> None:
    """Write the import template: bilingual header, drop-downs, one example row."""
    path.write_bytes(excel.template())
    console.print(f"wrote {path}")

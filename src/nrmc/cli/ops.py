"""`nrmc ops`: expert dispatch, the activity ledger and project KPIs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel, ValidationError

from ..core.enums import ActivityKind, DispatchRole
from ..domains.collaboration import kpis, ledger, service
from ..domains.collaboration.schemas import ActivityIn, ActivityOut, DispatchIn
from ..domains.users.scope import Scope
from .context import db_session, settings
from .output import OutputFormat, console, emit, emit_one, err_console

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")
SYSTEM = Scope.system()

app = typer.Typer(help="Operations: expert dispatch, activity ledger, KPIs.", no_args_is_help=True)
dispatch = typer.Typer(help="Experts sent by the output hospital.", no_args_is_help=True)
activity = typer.Typer(help="The dated activity ledger (surgery, outpatients, consultations…).",
                       no_args_is_help=True)
app.add_typer(dispatch, name="dispatch")
app.add_typer(activity, name="activity")

DISPATCH_COLUMNS = ["id", "project_id", "name", "department", "title", "home_hospital", "role",
                    "team", "start_date", "end_date", "days"]
ACTIVITY_COLUMNS = ["id", "project_id", "dispatch_id", "occurred_on", "kind", "count",
                    "surgery_grade", "complex_case", "note"]


def validated(model: type[BaseModel], **values: Any) -> Any:
    """Build an input schema; a bad value exits 2 naming the field, like a bad option."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "input"
            err_console.print(f"[red]error:[/red] {field}: {error['msg']}", highlight=False)
        raise typer.Exit(2) from exc


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from exc


@app.command("kpis")
def kpis_cmd(
    project: int = typer.Option(..., "--project", help="project id (see `nrmc projects list`)"),
    year: int | None = typer.Option(None, help="calendar year; adds year-on-year changes"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """A project's KPIs computed from the ledger (all time, or one year with year-on-year)."""
    sla = settings().referral_sla_hours
    with db_session() as session:
        figures = kpis.project_kpis(session=session, scope=SYSTEM, project_id=project, year=year,
                                    sla_hours=sla).model_dump(mode="json")
        if year is not None:
            figures["year_on_year"] = kpis.year_on_year(session=session, scope=SYSTEM,
                                                        project_id=project, year=year,
                                                        sla_hours=sla)
    if fmt == OutputFormat.table and year is not None:
        figures["year_on_year"] = ", ".join(
            f"{k} {v['change_pct']:+.1f}%" for k, v in figures["year_on_year"].items()
            if v["change_pct"] is not None)
    emit_one(figures, fmt)


@dispatch.command("add")
def dispatch_add(
    project: int = typer.Option(..., "--project", help="project id"),
    name: str = typer.Option(..., help="the expert's name"),
    home: str = typer.Option(..., "--home", help="home hospital code, e.g. NRMC-O005"),
    start: str = typer.Option(..., "--from", help="first day on site, YYYY-MM-DD"),
    end: str = typer.Option(..., "--to", help="last day on site, YYYY-MM-DD"),
    role: DispatchRole = typer.Option(DispatchRole.visiting_expert, help="role on site"),
    department: str = typer.Option("", help="department"),
    title: str = typer.Option("", help="professional title"),
    team: str | None = typer.Option(None, help="team (group dispatched together)"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Record an expert dispatch; refused if the person is already away on those days."""
    data = validated(DispatchIn, project_id=project, name=name, home_hospital=home,
                     start_date=_day(start), end_date=_day(end), role=role,
                     department=department, title=title, team=team)
    with db_session() as session:
        row = service.dispatch_row(session, service.add_dispatch(
            session=session, scope=SYSTEM, data=data, source="cli"))
    emit_one(row, fmt)


@dispatch.command("list")
def dispatch_list(
    project: int | None = typer.Option(None, "--project", help="project id"),
    on: str | None = typer.Option(None, help="only experts on site this day"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List dispatches by start date."""
    with db_session() as session:
        rows = [service.dispatch_row(session, d) for d in service.list_dispatches(
            session=session, scope=SYSTEM, project_id=project, on=_day(on) if on else None)]
    emit(rows, fmt, columns=DISPATCH_COLUMNS, title=f"{len(rows)} dispatches")


@activity.command("add")
def activity_add(
    kind: ActivityKind = typer.Option(..., help="what was done"),
    day: str = typer.Option(..., "--date", help="YYYY-MM-DD"),
    project: int | None = typer.Option(None, "--project", help="project id (project-level entry)"),
    dispatch_id: int | None = typer.Option(None, "--dispatch", help="dispatch id"),
    count: int = typer.Option(1, help="operations, patients seen, cases or attendees"),
    grade: int | None = typer.Option(None, "--grade", help="surgery grade 1-4"),
    complex_case: bool = typer.Option(False, "--complex", help="complex / MDT case"),
    note: str = typer.Option("", help="free text"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Add one ledger line; a dispatch's lines must fall within its dates."""
    data = validated(ActivityIn, kind=kind, occurred_on=_day(day), project_id=project,
                     dispatch_id=dispatch_id, count=count, surgery_grade=grade,
                     complex_case=complex_case, note=note)
    with db_session() as session:
        row = ActivityOut.model_validate(ledger.add_activity(
            session=session, scope=SYSTEM, data=data, source="cli")).model_dump()
    emit_one(row, fmt)


@activity.command("import")
def activity_import(path: Path = typer.Argument(..., help="CSV or XLSX with columns "
                                                + ", ".join(ledger.IMPORT_COLUMNS))) -> None:
    """Add a file of ledger lines in one transaction; any bad row refuses the whole file."""
    with db_session() as session:
        added = ledger.import_activities(session=session, scope=SYSTEM, path=path)
    console.print(f"{path}: {added} activities added")


@activity.command("list")
def activity_list(
    project: int | None = typer.Option(None, "--project", help="project id"),
    kind: ActivityKind | None = typer.Option(None, help="only this kind"),
    limit: int | None = typer.Option(None, help="at most this many rows"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List ledger lines by date."""
    with db_session() as session:
        rows = [ActivityOut.model_validate(a).model_dump() for a in ledger.list_activities(
            session=session, scope=SYSTEM, project_id=project, kind=kind, limit=limit)]
    emit(rows, fmt, columns=ACTIVITY_COLUMNS, title=f"{len(rows)} activities")

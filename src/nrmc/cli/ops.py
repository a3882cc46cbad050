"""`nrmc ops`: expert dispatch, the activity ledger, technologies, trainees and project KPIs.

Site visits are in `visits.py` and trusteeships in `trusteeships.py` (registered as
`nrmc ops visit` and `nrmc ops trusteeship` by main.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape

from ..core.enums import ActivityKind, DispatchRole, GapLevel
from ..core.inputs import explain
from ..domains.collaboration import kpis, ledger, service
from ..domains.collaboration.models import Technology
from ..domains.collaboration.schemas import (
    ActivityIn,
    ActivityOut,
    DispatchIn,
    TechnologyIn,
    TechnologyOut,
    TraineeIn,
    TraineeOut,
)
from ..domains.users.scope import Scope
from .context import db_session, settings
from .output import OutputFormat, console, emit, emit_one, err_console

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")
SYSTEM = Scope.system()

app = typer.Typer(help="Operations: expert dispatch, activity ledger, technologies, trainees, "
                  "site visits, trusteeships, KPIs.", no_args_is_help=True)
dispatch = typer.Typer(help="Experts sent by the output hospital.", no_args_is_help=True)
activity = typer.Typer(help="The dated activity ledger (surgery, outpatients, consultations…).",
                       no_args_is_help=True)
technology = typer.Typer(help="New technologies (新技术) introduced at the project hospital, and "
                         "the gap each fills: first in the city, province or nation.",
                         no_args_is_help=True)
trainee = typer.Typer(help="Local clinicians trained under a project (进修, 规培, courses).",
                      no_args_is_help=True)
app.add_typer(dispatch, name="dispatch")
app.add_typer(activity, name="activity")
app.add_typer(technology, name="technology")
app.add_typer(trainee, name="trainee")

DISPATCH_COLUMNS = ["id", "project_id", "name", "department", "title", "home_hospital", "role",
                    "team", "start_date", "end_date", "days"]
ACTIVITY_COLUMNS = ["id", "project_id", "dispatch_id", "occurred_on", "kind", "count",
                    "surgery_grade", "complex_case", "note"]
# The import columns after the id, so a list saved as CSV has the shape an import reads.
TECHNOLOGY_COLUMNS = ["id", *ledger.TECHNOLOGY_COLUMNS]
TRAINEE_COLUMNS = ["id", *ledger.TRAINEE_COLUMNS]
ImportProjectOpt = typer.Option(None, "--project", help="put every row in this project (the "
                                "project_id column may then be left out)")


def validated(model: type[BaseModel], **values: Any) -> Any:
    """Build an input schema; a bad value exits 2 naming the field, like a bad option."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        # The same bilingual messages as the pages, the API and the uploads (core.inputs).
        for error in explain(exc):
            field = "input" if error.field == "__root__" else error.field
            err_console.print(f"[red]error:[/red] {escape(field)}: {escape(error.message)}",
                              highlight=False)
        raise typer.Exit(2) from exc


def parse_day(text: str) -> date:
    """A YYYY-MM-DD option value; anything else is a usage error (exit 2)."""
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
    sla = settings().referral_sla
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
                     start_date=parse_day(start), end_date=parse_day(end), role=role,
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
            session=session, scope=SYSTEM, project_id=project, on=parse_day(on) if on else None)]
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
    data = validated(ActivityIn, kind=kind, occurred_on=parse_day(day), project_id=project,
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


def _technology_row(tech: Technology, fmt: OutputFormat) -> dict[str, Any]:
    out = TechnologyOut.model_validate(tech).model_dump()
    row = {k: out[k] for k in TECHNOLOGY_COLUMNS}
    if fmt == OutputFormat.table:  # bilingual, as on the project page
        gap = GapLevel(row["gap_level"])
        row["gap_level"] = f"{gap.label_zh} {gap.value}"
    return row


@technology.command("add")
def technology_add(
    project: int = typer.Option(..., "--project", help="project id"),
    name: str = typer.Option(..., help="the technique, e.g. 经导管主动脉瓣置换术 TAVR"),
    first_case: str = typer.Option(..., "--first-case",
                                   help="first case at the project hospital, YYYY-MM-DD"),
    gap: GapLevel = typer.Option(..., "--gap", help="the gap it fills: first in the city "
                                 "(市内), province (省内) or nation (国内)"),
    department: str = typer.Option("", help="department"),
    cases: int = typer.Option(0, "--cases", help="cases done since the first"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Record a technology introduced at the project hospital."""
    data = validated(TechnologyIn, project_id=project, name=name, department=department,
                     first_case_on=parse_day(first_case), cases_since=cases, gap_level=gap)
    with db_session() as session:
        row = _technology_row(ledger.add_technology(session=session, scope=SYSTEM, data=data,
                                                    source="cli"), fmt)
    emit_one(row, fmt)


@technology.command("list")
def technology_list(
    project: int = typer.Option(..., "--project", help="project id"),
    gap: GapLevel | None = typer.Option(None, "--gap", help="only firsts at this level, e.g. "
                                        "province"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List a project's technologies by first-case date."""
    with db_session() as session:
        rows = [_technology_row(t, fmt) for t in ledger.list_technologies(
            session=session, scope=SYSTEM, project_id=project, gap_level=gap)]
    emit(rows, fmt, columns=TECHNOLOGY_COLUMNS, title=f"{len(rows)} technologies")


@technology.command("import")
def technology_import(
    path: Path = typer.Argument(..., help="CSV or XLSX with columns "
                                + ", ".join(ledger.TECHNOLOGY_COLUMNS)),
    project: int | None = ImportProjectOpt,
) -> None:
    """Add a file of technologies in one transaction; any bad row refuses the whole file."""
    with db_session() as session:
        added = ledger.import_technologies(session=session, scope=SYSTEM, path=path,
                                           project_id=project)
    console.print(f"{path}: {added} technologies added")


@trainee.command("add")
def trainee_add(
    project: int = typer.Option(..., "--project", help="project id"),
    name: str = typer.Option(..., help="the trainee's name"),
    programme: str = typer.Option(..., help="what they were trained in, e.g. PCI 进修"),
    day: str = typer.Option(..., "--date", help="date of the training (trained_on), YYYY-MM-DD"),
    hours: float = typer.Option(0.0, help="hours of training"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Record a local clinician trained under the project."""
    data = validated(TraineeIn, project_id=project, name=name, programme=programme, hours=hours,
                     trained_on=parse_day(day))
    with db_session() as session:
        out = TraineeOut.model_validate(ledger.add_trainee(
            session=session, scope=SYSTEM, data=data, source="cli")).model_dump()
    emit_one({k: out[k] for k in TRAINEE_COLUMNS}, fmt)


@trainee.command("list")
def trainee_list(
    project: int = typer.Option(..., "--project", help="project id"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List a project's trainees by training date."""
    with db_session() as session:
        rows = [TraineeOut.model_validate(t).model_dump() for t in ledger.list_trainees(
            session=session, scope=SYSTEM, project_id=project)]
    emit(rows, fmt, columns=TRAINEE_COLUMNS,
         title=f"{len(rows)} trainees, {sum(r['hours'] for r in rows):g} hours")


@trainee.command("import")
def trainee_import(
    path: Path = typer.Argument(..., help="CSV or XLSX with columns "
                                + ", ".join(ledger.TRAINEE_COLUMNS)),
    project: int | None = ImportProjectOpt,
) -> None:
    """Add a file of trainees in one transaction; any bad row refuses the whole file."""
    with db_session() as session:
        added = ledger.import_trainees(session=session, scope=SYSTEM, path=path,
                                       project_id=project)
    console.print(f"{path}: {added} trainees added")

"""`nrmc ops visit`: site visits (expert field investigations) and their follow-up actions."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.orm import Session

from ..core.inputs import today_beijing
from ..domains.collaboration import visits
from ..domains.collaboration.schemas import ActionIn, SiteVisitIn, SiteVisitOut
from .context import db_session
from .ops import SYSTEM, FormatOpt, parse_day, validated
from .output import OutputFormat, emit, emit_one

app = typer.Typer(help="Site visits (现场调研): expert field investigations of a project, their "
                  "findings and score, and follow-up actions (open until done; overdue past due).",
                  no_args_is_help=True)

VISIT_COLUMNS = ["id", "project_id", "visited_on", "lead", "members", "score", "actions",
                 "open_actions", "overdue_actions", "findings"]
ACTION_COLUMNS = ["id", "description", "due_on", "status", "closed_on", "overdue"]


def _summary(out: SiteVisitOut) -> dict[str, Any]:
    """One flat row per visit: the follow-up actions as counts."""
    row = out.model_dump(exclude={"actions"})
    return row | {"actions": len(out.actions),
                  "open_actions": sum(a.status == "open" for a in out.actions),
                  "overdue_actions": sum(a.overdue for a in out.actions)}


def _show(out: SiteVisitOut, fmt: OutputFormat) -> None:
    """JSON: the visit with its actions; CSV: the actions, one a row; table: both."""
    if fmt == OutputFormat.json:
        emit_one(out.model_dump(), fmt)
        return
    actions = [a.model_dump() for a in out.actions]
    if fmt == OutputFormat.csv:
        emit(actions, fmt, columns=ACTION_COLUMNS)
        return
    emit_one({k: v for k, v in _summary(out).items() if k in VISIT_COLUMNS}, fmt)
    if actions:
        emit(actions, fmt, columns=ACTION_COLUMNS, title="follow-up actions")


def _action(text: str) -> ActionIn:
    """'YYYY-MM-DD what to do' → an action due that day."""
    due, _, description = text.strip().partition(" ")
    try:
        day = parse_day(due.rstrip(":"))
    except typer.BadParameter as exc:
        raise typer.BadParameter(f"{exc}; write \"YYYY-MM-DD what to do\"",
                                 param_hint="--action") from exc
    return validated(ActionIn, due_on=day, description=description.strip())


def _visit(session: Session, visit_id: int) -> SiteVisitOut:
    return visits.to_out(visits.get_visit(session=session, scope=SYSTEM, visit_id=visit_id))


@app.command("add")
def visit_add(
    project: int = typer.Option(..., "--project", help="project id"),
    day: str = typer.Option(..., "--date", help="day of the visit, YYYY-MM-DD"),
    lead: str = typer.Option(..., help="who led the visiting team"),
    member: list[str] = typer.Option([], "--member", help="a team member (repeat the option)"),
    findings: str = typer.Option("", help="what the team found"),
    score: float | None = typer.Option(None, help="score 0-100, if the visit gave one"),
    action: list[str] = typer.Option(
        [], "--action", help='a follow-up action, "YYYY-MM-DD what to do" (repeat the option)'),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Record a site visit with its findings and follow-up actions."""
    data = validated(SiteVisitIn, project_id=project, visited_on=parse_day(day), lead=lead,
                     members=member, findings=findings, score=score,
                     actions=[_action(a) for a in action])
    with db_session() as session:
        visit = visits.record_visit(session=session, scope=SYSTEM, data=data, source="cli")
        out = visits.to_out(visit)
    _show(out, fmt)


@app.command("list")
def visit_list(
    project: int = typer.Option(..., "--project", help="project id"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List a project's site visits by date, with counts of open and overdue actions."""
    with db_session() as session:
        rows = [_summary(visits.to_out(v)) for v in visits.list_visits(
            session=session, scope=SYSTEM, project_id=project)]
    emit(rows, fmt, columns=VISIT_COLUMNS, title=f"{len(rows)} site visits")


@app.command("show")
def visit_show(visit_id: int = typer.Argument(..., help="site visit id"),
               fmt: OutputFormat = FormatOpt) -> None:
    """Show one visit and its follow-up actions (CSV gives the actions, one a row)."""
    with db_session() as session:
        out = _visit(session, visit_id)
    _show(out, fmt)


@app.command("add-action")
def add_action(
    visit_id: int = typer.Argument(..., help="site visit id"),
    description: str = typer.Option(..., help="what has to be done"),
    due: str = typer.Option(..., help="due date, YYYY-MM-DD"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Add a follow-up action to a visit; shows the visit."""
    data = validated(ActionIn, description=description, due_on=parse_day(due))
    with db_session() as session:
        visits.add_action(session=session, scope=SYSTEM, visit_id=visit_id, data=data,
                          source="cli")
        out = _visit(session, visit_id)
    _show(out, fmt)


@app.command("close-action")
def close_action(
    action_id: int = typer.Argument(..., help="follow-up action id (see `visit show`)"),
    on: str | None = typer.Option(None, help="day it was done, YYYY-MM-DD (default today)"),
    reason: str = typer.Option("", help="how it was resolved"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Mark a follow-up action done (exit 5 if it already is); shows the visit."""
    when = parse_day(on) if on else today_beijing()
    with db_session() as session:
        action = visits.close_action(session=session, scope=SYSTEM, action_id=action_id, on=when,
                                     reason=reason, source="cli")
        out = _visit(session, action.visit_id)
    _show(out, fmt)

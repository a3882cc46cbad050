"""`nrmc programme`: the programme office's national indicators, targets and gap imports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..core.privacy import suppress_outflow_row
from ..domains.gaps import service as gaps
from ..domains.programme import service, targets
from ..domains.regions import service as regions
from ..domains.users.scope import Scope
from ..flows import engine as flows_engine
from ..flows import store
from .context import db_session, settings
from .ops import parse_day
from .output import OutputFormat, console, emit

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")
SYSTEM = Scope.system()
COLUMNS = ["key", "label_zh", "label_en", "value", "unit", "target", "met", "change",
           "projects_reporting", "projects_expected", "as_of"]

app = typer.Typer(help="Programme office: national indicators against targets, gap lists.",
                  no_args_is_help=True)


def _outflow_rows(session: Any) -> list[dict[str, Any]]:
    """Province outflow rows (all specialties) as published: small cells withheld."""
    config = settings()
    if not store.read_manifest(config.flows_dir).files:
        return []
    frame = flows_engine.run_outflow(config.flows_dir, regions.region_table(session=session),
                                     level="province", engine=config.engine)  # type: ignore[arg-type]
    return [suppress_outflow_row(r, config.min_cell_size) for r in frame.to_dict("records")]


@app.command("indicators")
def indicators(
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: newest data)"),
    province: str | None = typer.Option(None, help="province code, e.g. 62 or 620000"),
    batch: int | None = typer.Option(None, min=1, max=5, help="batch 1–5"),
    period_start: str | None = typer.Option(None, "--from", help="period start, YYYY-MM-DD"),
    period_end: str | None = typer.Option(None, "--to", help="period end, YYYY-MM-DD"),
    baseline_year: int = typer.Option(service.DEFAULT_BASELINE, min=2015, max=2100,
                                      help="outflow baseline year"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """The national indicators on a date, each computed from rows, with target and reporting."""
    with db_session() as session:
        view = service.resolve_view(
            session=session, scope=SYSTEM, as_of=parse_day(as_of) if as_of else None,
            province=province, batch=batch,
            period_start=parse_day(period_start) if period_start else None,
            period_end=parse_day(period_end) if period_end else None, baseline_year=baseline_year)
        made = service.dashboard(session=session, scope=SYSTEM, view=view,
                                 outflow_rows=_outflow_rows(session))
    rows = [r.model_dump(mode="json") for r in made.indicators]
    emit(rows, fmt, columns=COLUMNS,
         title=f"as of {made.as_of}; period {made.period_start} – {made.period_end}")


@app.command("targets")
def list_targets(fmt: OutputFormat = FormatOpt) -> None:
    """Every indicator's target with its source."""
    with db_session() as session:
        rows = [t.model_dump() for t in targets.list_targets(session=session)]
    emit(rows, fmt, columns=["key", "target", "direction", "verification", "source"])


@app.command("import-gaps")
def import_gaps(path: Path = typer.Argument(..., help="CSV or XLSX: region_code, level, name, "
                                            "specialty, identified_on, source")) -> None:
    """Add or update gaps from a spreadsheet; one bad row stores nothing (exit 6, every
    problem listed by file, row and field)."""
    with db_session() as session:
        added, updated = gaps.import_file(session=session, scope=SYSTEM, path=path, source="cli")
    console.print(f"{added} gaps added, {updated} updated from {path}")

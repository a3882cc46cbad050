"""`nrmc evaluate project|batch|province`: before/after and the staggered DiD, as numbers."""

from __future__ import annotations

import typer
from sqlalchemy.orm import Session

from ..domains.regions import service as regions_service
from ..evaluation import service
from ..evaluation.sources import EngineFlowSource, FlowSource
from .context import db_session, settings
from .output import OutputFormat, emit_one

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")
BaselineOpt = typer.Option(None, "--baseline-year",
                           help="compare with this year (default: the year before opening)")

app = typer.Typer(help="Evaluate centres: before/after and difference-in-differences on "
                       "patient outflow (see docs/evaluation.md).", no_args_is_help=True)


def flow_source(session: Session) -> FlowSource:
    """The flows dataset of this workspace, on the configured engine (tests replace this)."""
    s = settings()
    return EngineFlowSource(s.flows_dir, regions_service.region_table(session=session),
                            engine=s.engine, spark_master=s.spark_master)


def _run(scope: str, key: str, baseline_year: int | None, fmt: OutputFormat) -> None:
    with db_session() as session:
        ev = service.evaluate(session=session, source=flow_source(session), scope=scope,
                              key=key, baseline_year=baseline_year)
    emit_one(ev.summary(), fmt)


@app.command("project")
def evaluate_project(project_id: int = typer.Argument(..., help="project id (nrmc projects list)"),
                     baseline_year: int | None = BaselineOpt,
                     fmt: OutputFormat = FormatOpt) -> None:
    """One centre: its host province's outflow in its specialty, before/after and DiD.

    did_estimate and its interval are proportional changes, exp(β) − 1 (−0.3 = 30% fewer
    residents treated outside the province than without the centre).
    """
    _run("project", str(project_id), baseline_year, fmt)


@app.command("batch")
def evaluate_batch(batch: int = typer.Argument(..., min=1, max=5),
                   baseline_year: int | None = BaselineOpt,
                   fmt: OutputFormat = FormatOpt) -> None:
    """All centres of one batch (1–5), pooled."""
    _run("batch", str(batch), baseline_year, fmt)


@app.command("province")
def evaluate_province(code: str = typer.Argument(..., help="province code, e.g. 620000"),
                      baseline_year: int | None = BaselineOpt,
                      fmt: OutputFormat = FormatOpt) -> None:
    """All centres hosted by one province."""
    _run("province", code.ljust(6, "0"), baseline_year, fmt)


@app.command("programme")
def evaluate_programme(baseline_year: int | None = BaselineOpt,
                       fmt: OutputFormat = FormatOpt) -> None:
    """Every centre with an opening year: the programme-wide staggered DiD."""
    _run("programme", "all", baseline_year, fmt)

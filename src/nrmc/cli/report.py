"""`nrmc report project|batch`: a self-contained HTML report (and a PDF with Chromium).

Reports are for publication, so counts below ``NRMC_MIN_CELL_SIZE`` (and the shares that would
reveal them) are withheld (``nrmc.evaluation.disclosure``); ``nrmc evaluate`` keeps raw numbers.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ..core.privacy import LEDGER_FILE, WithheldLedger
from ..domains.regions import service as regions_service
from ..evaluation.reports import build_report, pdf_engine, write_report
from . import evaluate
from .context import db_session, settings
from .output import console, err_console

app = typer.Typer(help="Evaluation reports: KPIs, before/after, DiD with event study, "
                       "patient origins and methods, in one printable HTML file. Counts of "
                       "1 to NRMC_MIN_CELL_SIZE − 1 patients, and shares that would reveal "
                       "them, are withheld (default 10).",
                  no_args_is_help=True)
OutOpt = typer.Option(None, "--out", "-o", help="HTML file (default: NRMC_HOME/reports/…)")
PdfOpt = typer.Option(True, "--pdf/--no-pdf", help="also print a PDF when Chromium is installed")
BaselineOpt = typer.Option(None, "--baseline-year", help="default: the year before opening")


def _dataset_label() -> str:
    """Say what the data are, from the dataset's own manifest (synthetic loads say so)."""
    from ..flows.store import describe

    flows = settings().flows_dir
    return f"{describe(flows)}, {flows}"


def _report(scope: str, key: str, out: Path | None, pdf: bool, baseline_year: int | None) -> None:
    target = out or settings().reports_dir / f"{scope}-{key}.html"
    with db_session() as session:
        report = build_report(session=session, source=evaluate.flow_source(session),
                              regions=regions_service.region_table(session=session),
                              scope=scope, key=key, baseline_year=baseline_year,
                              min_cell=settings().min_cell_size,
                              dataset_label=_dataset_label(),
                              ledger=WithheldLedger(settings().flows_dir / LEDGER_FILE))
    written = write_report(report.html, target, pdf=pdf)
    if pdf and pdf_engine() is None:
        err_console.print("no PDF engine (Chromium) found: open the HTML and print it to PDF")
    for path in written:
        console.print(f"wrote {path}")


@app.command("project")
def report_project(project_id: int = typer.Argument(...), out: Path | None = OutOpt,
                   pdf: bool = PdfOpt, baseline_year: int | None = BaselineOpt) -> None:
    """Report on one centre, e.g. `nrmc report project 31 --out jiuquan.html`."""
    _report("project", str(project_id), out, pdf, baseline_year)


@app.command("batch")
def report_batch(batch: int = typer.Argument(..., min=1, max=5), out: Path | None = OutOpt,
                 pdf: bool = PdfOpt, baseline_year: int | None = BaselineOpt) -> None:
    """Report on all centres of one batch."""
    _report("batch", str(batch), out, pdf, baseline_year)

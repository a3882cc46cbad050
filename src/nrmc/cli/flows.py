"""`nrmc flows …`: load discharge records, generate synthetic ones, print flow reports."""

from __future__ import annotations

import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..core.enums import Level
from ..core.errors import NrmcError
from .context import fail, settings
from .output import OutputFormat, emit, err_console

app = typer.Typer(help="Patient flows: ingest discharge records, synthesise them, report "
                       "outflow, OD matrices, within-county rates, reach and grade-4 share.",
                  no_args_is_help=True)


class By(StrEnum):
    specialty = "specialty"


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


class Level4By(StrEnum):
    hospital = "hospital"
    province = "province"
    prefecture = "prefecture"
    county = "county"


FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")
YearOpt = typer.Option(None, "--year", "-y", help="only this year (repeatable)")
EngineOpt = typer.Option(None, "--engine", help="duckdb or spark (default NRMC_ENGINE)")


def _regions() -> pd.DataFrame:
    from ..flows.geo import load_regions

    return load_regions()


def _hospitals() -> pd.DataFrame:
    """The hospital registry as a plain table (the only registry read ingest needs)."""
    from ..domains.hospitals.service import hospital_table
    from .context import db_session

    with db_session() as session:
        return hospital_table(session=session)


def _projects() -> pd.DataFrame:
    from ..domains.projects.service import project_table
    from .context import db_session

    with db_session() as session:
        return project_table(session=session)


def parse_years(text: str) -> list[int]:
    """``2018-2024`` or ``2019,2021`` → a sorted list of years."""
    years: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        years.update(range(int(lo), int(hi or lo) + 1))
    if not years or min(years) < 1990 or max(years) > 2100:
        raise typer.BadParameter(f"years {text!r} must lie within 1990–2100")
    return sorted(years)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as plain Python values (ints stay ints, NaN becomes null)."""
    rows = []
    for record in frame.to_dict("records"):
        clean = {}
        for key, value in record.items():
            if hasattr(value, "item"):
                value = value.item()
            clean[key] = None if value is None or value != value else value
        rows.append(clean)
    return rows


def _report(run: Any, fmt: OutputFormat, engine: Engine | None, title: str,
            **kwargs: Any) -> None:
    cfg = settings()
    try:
        frame = run(cfg.flows_dir, _regions(), engine=(engine or cfg.engine),
                    spark_master=cfg.spark_master, **kwargs)
    except NrmcError as exc:
        fail(exc)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    emit(_records(frame), fmt, columns=list(frame.columns), title=title)


def _quiet() -> bool:
    """No progress bars when nobody watches: output not a terminal, or a CI run."""
    return not err_console.is_terminal or os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=False, disable=_quiet())


def _ingest_progress() -> Progress:
    """Rows checked so far, rows per second and the time left (a CSV's row count is estimated
    from the bytes read)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err_console, transient=False,
                    disable=_quiet())


@app.command()
def ingest(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False,
                                       help="CSV or Parquet discharge files"),
    reject_file: Path | None = typer.Option(
        None, "--reject-file", help="load the good rows; write bad rows and reasons here"),
) -> None:
    """Validate, pseudonymise and load discharge records (all files land, or none)."""
    from ..flows.ingest import ingest as load

    cfg = settings()
    regions, hospitals = _regions(), _hospitals()
    with _ingest_progress() as bar:
        tasks: dict[str, tuple[Any, float]] = {}

        def tick(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(Path(name).name, total=total, rate=""), time.monotonic()
            task, began = tasks[name]
            rate = done / max(time.monotonic() - began, 1e-9)
            bar.update(task, completed=done, total=total or done, rate=f"{rate:,.0f} rows/s")

        try:
            summary = load(files, cfg.flows_dir, regions=regions, hospitals=hospitals,
                           pseudonym_key=cfg.pseudonym_key, reject_file=reject_file,
                           progress=tick)
        except NrmcError as exc:
            bar.stop()
            fail(exc)
    err_console.print(
        f"loaded {summary.rows_loaded:,} of {summary.rows_read:,} rows "
        f"({summary.already_stored:,} already stored, {summary.rows_rejected:,} rejected"
        + (f" → {reject_file}" if summary.rows_rejected else "") + ")")


@app.command()
def synth(
    rows: int = typer.Option(1_000_000, "--rows", min=1, help="discharges to generate"),
    years: str = typer.Option("2018-2024", "--years", help="e.g. 2018-2024 or 2019,2021"),
    seed: int = typer.Option(1, "--seed"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Generate calibrated synthetic discharges (replaces the flows dataset)."""
    from ..flows.synth import write_synthetic_dataset

    cfg = settings()
    year_list = parse_years(years)
    regions, hospitals, projects = _regions(), _hospitals(), _projects()
    with _progress() as bar:
        task = bar.add_task("discharges", total=rows)
        summary = write_synthetic_dataset(
            cfg.flows_dir, regions=regions, hospitals=hospitals, projects=projects, rows=rows,
            years=year_list, seed=seed, pseudonym_key=cfg.pseudonym_key,
            progress=lambda done, total: bar.update(task, completed=done))
    flat = {k: (", ".join(map(str, v)) if isinstance(v, list) else v)
            for k, v in summary.items() if k != "rows_per_year"}
    emit([flat], fmt, columns=list(flat))


@app.command()
def outflow(
    level: Level = typer.Option(Level.province, "--level", "-l"),
    by: By | None = typer.Option(None, "--by", help="split by specialty"),
    year: list[int] | None = YearOpt,
    engine: Engine | None = EngineOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Residents' discharges treated outside their own unit, with the top destination."""
    from ..flows.engine import run_outflow

    _report(run_outflow, fmt, engine, f"Outflow by {level.value}", level=level.value,
            by_specialty=by == By.specialty, years=year)


@app.command()
def matrix(
    origin: Level = typer.Option(Level.province, "--from", help="level of residence"),
    destination: Level = typer.Option(Level.province, "--to", help="level of treatment"),
    by: By | None = typer.Option(None, "--by"),
    year: list[int] | None = YearOpt,
    engine: Engine | None = EngineOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Origin–destination discharge counts (long form), at any pair of levels."""
    from ..flows.engine import run_matrix

    _report(run_matrix, fmt, engine, "Origin–destination flows", origin_level=origin.value,
            destination_level=destination.value, by_specialty=by == By.specialty, years=year)


@app.command("within-county")
def within_county(
    level: Level = typer.Option(Level.county, "--level", "-l",
                                help="county rows, or pooled over a prefecture / province"),
    include_districts: bool = typer.Option(
        False, "--include-districts",
        help="also list urban districts and county-less cities, marked by county_kind"),
    year: list[int] | None = YearOpt,
    engine: Engine | None = EngineOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """县域内就诊率: share of residents treated inside their own county.

    Counts counties and county-level cities only (the county medical community definition);
    urban districts are left out unless --include-districts lists them apart."""
    from ..flows.engine import run_within_county

    _report(run_within_county, fmt, engine, "Within-county treatment rate", years=year,
            level=level.value, include_districts=include_districts)


@app.command()
def reach(
    hospital: list[str] = typer.Option(..., "--hospital", help="hospital code (repeatable)"),
    year: list[int] | None = YearOpt,
    engine: Engine | None = EngineOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """A hospital's reach: share of its discharges from outside its city and province."""
    from ..flows.engine import run_reach

    _report(run_reach, fmt, engine, "Hospital reach", hospitals=hospital, years=year)


@app.command()
def level4(
    by: Level4By = typer.Option(Level4By.hospital, "--by"),
    year: list[int] | None = YearOpt,
    engine: Engine | None = EngineOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Grade-4 surgery share among surgical discharges, by hospital or region."""
    from ..flows.engine import run_level4

    _report(run_level4, fmt, engine, "Grade-4 surgery share", by=by.value, years=year)

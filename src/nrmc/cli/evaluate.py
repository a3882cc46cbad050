"""`nrmc evaluate project|batch|province|programme`: before/after and the staggered DiD;
`nrmc evaluate did PANEL …`: the same estimator on any panel file."""

from __future__ import annotations

import json
import math
import sys
from enum import StrEnum
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from ..core.errors import NrmcError
from ..domains.regions import service as regions_service
from ..evaluation import csdid, service, wildboot
from ..evaluation.sources import EngineFlowSource, FlowSource
from .context import db_session, fail, settings
from .output import OutputFormat, emit, emit_one


class PanelRejected(NrmcError):
    """A panel file cannot be read or estimated (the message names the file, row or column)."""

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
        if scope == "project" and baseline_year is None:
            ev = _stored_project(session, int(key))
        else:
            ev = service.evaluate(session=session, source=flow_source(session), scope=scope,
                                  key=key, baseline_year=baseline_year)
    emit_one(ev.summary(), fmt)


def _stored_project(session: Session, project_id: int) -> service.Evaluation:
    """A project's evaluation as the web shows it: read from the workspace's store of computed
    evaluations (``evaluation.computed``), or computed now and stored there for the web."""
    from ..core import errors
    from ..evaluation import computed

    s = settings()
    inputs = computed.read_inputs(session, s.flows_dir)
    key = inputs.key(project_id) if inputs.loaded else None
    if key is None:  # no discharges loaded, or no such project: evaluate says which
        return service.evaluate(session=session, source=flow_source(session), scope="project",
                                key=project_id)
    store = computed.EvaluationStore(s.evaluations_dir)
    record = store.get_or_compute(key, lambda: computed.compute(
        session=session, source=flow_source(session), shared=None, flows_dir=s.flows_dir,
        project_id=project_id, key=key))
    if record is None or record.evaluation is None:
        kind, message = record.error if record and record.error else ("NrmcError", "failed")
        found = getattr(errors, kind, None)
        raise (found if isinstance(found, type) and issubclass(found, NrmcError)
               else NrmcError)(message)
    return record.evaluation


@app.command("project")
def evaluate_project(project_id: int = typer.Argument(..., help="project id (nrmc projects list)"),
                     baseline_year: int | None = BaselineOpt,
                     fmt: OutputFormat = FormatOpt) -> None:
    """One centre: its host province's outflow in its specialty, before/after and DiD.

    did_estimate and its interval are proportional changes, exp(β) − 1 (−0.3 = 30% fewer
    residents treated outside the province than without the centre). Without
    --baseline-year the result is the one the web shows, read from (or added to) the
    workspace's stored evaluations.
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


class ControlGroup(StrEnum):
    never = "never"
    notyet = "notyet"


class BasePeriod(StrEnum):
    varying = "varying"
    universal = "universal"


@app.command("did")
def evaluate_did(
    panel: Path = typer.Argument(..., help="CSV or Parquet, one row per unit and period",
                                 exists=False),
    unit: str = typer.Option(..., "--unit", help="column identifying the unit"),
    time: str = typer.Option(..., "--time", help="column with the period (a whole number)"),
    cohort: str = typer.Option(..., "--cohort",
                               help="column with the first treated period (0 or empty = never)"),
    outcome: str = typer.Option(..., "--outcome", help="column with the outcome"),
    cluster: str | None = typer.Option(None, "--cluster",
                                       help="cluster column (e.g. province): clustered errors "
                                            "and a wild cluster bootstrap"),
    weight: str | None = typer.Option(None, "--weight", help="positive unit weight column"),
    control: ControlGroup = typer.Option(ControlGroup.notyet, "--control",
                                         help="never: never-treated controls only; notyet: "
                                              "also units not yet treated"),
    base: BasePeriod = typer.Option(BasePeriod.varying, "--base",
                                    help="pre-period base: varying (t−1) or universal (g−1)"),
    draws: int = typer.Option(wildboot.DRAWS, "--draws", min=99,
                              help="wild cluster bootstrap draws (with --cluster)"),
    seed: int = typer.Option(0, "--seed", help="bootstrap seed"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Callaway & Sant'Anna (2021) staggered DiD on any panel: group-time effects and the
    simple, dynamic (event-study), group and calendar aggregations.

    Example:  nrmc evaluate did mpdta.csv --unit countyreal --time year --cohort first.treat
    --outcome lemp --control never --format json
    """
    try:
        frame = csdid.read_panel(str(panel))
    except FileNotFoundError:
        fail(PanelRejected(f"{panel}: no such file"))
    except (ValueError, OSError) as exc:
        fail(PanelRejected(f"{panel}: cannot read as CSV or Parquet ({exc})"))
    try:
        result = csdid.did(frame, unit=unit, time=time, cohort=cohort, outcome=outcome,
                           cluster=cluster, weight=weight, control=control.value,  # type: ignore[arg-type]
                           base=base.value)  # type: ignore[arg-type]
    except (ValueError, csdid.InsufficientData) as exc:
        fail(PanelRejected(f"{panel}: {exc}"))
    data = result.to_dict()
    if cluster:
        boot = wildboot.bootstrap(result, draws=draws, seed=seed)
        for name, agg in data["aggregations"].items():  # type: ignore[attr-defined]
            b = boot[name]
            assert not isinstance(b, list)
            agg.update({"boot_ci_low": b.ci_low, "boot_ci_high": b.ci_high, "boot_p": b.p_value})
            for row, rb in zip(agg.get("rows", []), boot.get(name + "_rows", []),  # type: ignore[arg-type]
                               strict=False):
                row.update({"boot_ci_low": rb.ci_low, "boot_ci_high": rb.ci_high})
        first = boot["simple"]
        assert not isinstance(first, list)
        data["method"] = wildboot.method_line(first, result.n_clusters, unit=f"clusters ({cluster})")
    else:
        data["method"] = "analytic influence-function errors, not clustered"
    if fmt == OutputFormat.json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json) + "\n")
        return
    rows = [{"aggregation": name, **{k: v for k, v in agg.items() if k != "rows"}}
            for name, agg in data["aggregations"].items()]  # type: ignore[attr-defined]
    emit(rows, fmt, title=str(data["method"]))


def _json(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else str(value)

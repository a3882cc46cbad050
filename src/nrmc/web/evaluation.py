"""Evaluation of a project, as a page and an API: before/after on the four flow metrics and
the staggered difference-in-differences, from `nrmc.evaluation.service.evaluate`.

The evaluation service takes no caller scope, so visibility is checked here first (the
project must be in scope, else 404). Evaluating scans the discharge dataset, so results are
cached per process by (project, dataset version). The cache holds raw numbers; the page and
the API publish them with small cells withheld (``evaluation.disclosure``, threshold
``NRMC_MIN_CELL_SIZE``): a withheld share is null with ``suppressed: true``.
"""

from __future__ import annotations

import math
import threading
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy.orm import Session

from ..core.privacy import LEDGER_FILE, WithheldLedger, disclosure_note
from ..domains.projects.models import Project
from ..domains.regions import service as regions
from ..evaluation import charts
from ..evaluation import service as evaluation
from ..evaluation.disclosure import publish_all, withheld_reason
from ..evaluation.sources import EngineFlowSource
from ..flows import store
from .deps import CurrentProject, PageUser, SessionDep, SourceDep
from .read_cache import cached_read
from .render import render

api = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["evaluation"])
pages = APIRouter(include_in_schema=False)
_LOCK = threading.Lock()


class MetricChange(BaseModel):
    metric: str
    description: str
    baseline_year: int
    after_year: int
    before: float | None
    after: float | None
    change_pct: float | None
    suppressed: bool = False  # a share rests on fewer than NRMC_MIN_CELL_SIZE cases: withheld
    reason: str = ""  # which count was too small in which year (never how small)


class EvaluationOut(BaseModel):
    """Before/after and the DiD estimate for one project (fractions, not percent)."""

    title: str
    baseline_year: int | None
    opening_year: int | None
    metrics: list[MetricChange]
    did_estimate: float | None
    did_ci_low: float | None
    did_ci_high: float | None
    pre_trend_p: float | None
    treated_cells: int
    clusters: int
    did_note: str
    did_method: str | None = None  # "wild cluster bootstrap (rademacher weights), 999 draws, …"
    did_analytic_ci_low: float | None = None
    did_analytic_ci_high: float | None = None
    did_never_treated_estimate: float | None = None  # sensitivity: never-treated controls only
    did_never_treated_ci_low: float | None = None
    did_never_treated_ci_high: float | None = None
    did_warning: str = ""  # fewer than 10 treated provinces
    controls_note: str = ""  # cells left out of the controls (unknown timing), with counts


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _evaluate(request: Request, session: Session, project: Project) -> evaluation.Evaluation:
    settings = request.app.state.settings
    version = store.read_manifest(settings.flows_dir).version
    state = request.app.state
    key = (project.id, version)
    done = state.evaluations.get(key)
    if done is not None:  # a computed evaluation never waits behind another one being computed
        return done
    # One evaluation at a time per process: the flow source holds one DuckDB connection.
    with _LOCK:
        if key not in state.evaluations:
            if state.flow_source is None or state.flow_source[0] != version:
                state.flow_source = (version, EngineFlowSource(
                    settings.flows_dir, regions.region_table(session=session),
                    engine=settings.engine, spark_master=settings.spark_master))
            state.evaluations[key] = evaluation.evaluate(
                session=session, source=state.flow_source[1], scope="project", key=project.id)
        return state.evaluations[key]


def to_out(result: evaluation.Evaluation, min_cell: int, *, ledger: WithheldLedger | None = None,
           prefix: str = "") -> EvaluationOut:
    """The evaluation as published: shares resting on a small cell are null, ``suppressed``;
    with a ``ledger``, what an earlier release withheld stays withheld."""
    summary = result.summary()  # only its model estimates are used below: not counts
    shown = publish_all(result.before_after, min_cell, ledger=ledger, prefix=prefix)
    metrics = [MetricChange(metric=name, description=evaluation.METRICS.get(name, name),
                            baseline_year=ba.baseline_year, after_year=ba.after_year,
                            before=_num(ba.before), after=_num(ba.after),
                            change_pct=_num(ba.change_pct), suppressed=bool(ba.withheld),
                            reason=withheld_reason(name, ba, min_cell))
               for name, ba in shown.items()]
    return EvaluationOut(
        title=result.title, baseline_year=result.baseline_year,
        opening_year=result.opening_year, metrics=metrics,
        did_estimate=_num(summary["did_estimate"]), did_ci_low=_num(summary["did_ci_low"]),
        did_ci_high=_num(summary["did_ci_high"]), pre_trend_p=_num(summary["pre_trend_p"]),
        treated_cells=int(summary["treated_cells"] or 0), clusters=int(summary["clusters"] or 0),
        did_note=str(summary["did_note"] or ""),
        did_method=summary["did_method"],
        did_analytic_ci_low=_num(summary["did_analytic_ci_low"]),
        did_analytic_ci_high=_num(summary["did_analytic_ci_high"]),
        did_never_treated_estimate=_num(summary["did_never_treated_estimate"]),
        did_never_treated_ci_low=_num(summary["did_never_treated_ci_low"]),
        did_never_treated_ci_high=_num(summary["did_never_treated_ci_high"]),
        did_warning=result.warning,
        controls_note=result.controls.describe() if result.controls else "")


@api.get("/evaluation", response_model=EvaluationOut)
@cached_read
def get_evaluation(project: CurrentProject, request: Request, session: SessionDep) -> EvaluationOut:
    """Before/after (baseline: the year before opening) and the staggered DiD of the outflow
    rate in the centre's province × specialty cells; 404 when no discharges are loaded.
    A share resting on fewer than NRMC_MIN_CELL_SIZE cases is withheld (null,
    `suppressed: true`)."""
    settings = request.app.state.settings
    return to_out(_evaluate(request, session, project), settings.min_cell_size,
                  ledger=_ledger(request), prefix=f"project:{project.id}")


def _ledger(request: Request) -> WithheldLedger:
    return WithheldLedger(request.app.state.settings.flows_dir / LEDGER_FILE)


@pages.get("/projects/{project_id}/evaluation", response_class=HTMLResponse)
@cached_read
def evaluation_page(project_id: int, request: Request, session: SessionDep,
                    user: PageUser) -> HTMLResponse:
    from ..domains.projects import service as projects
    from ..domains.users.scope import Scope

    project = projects.get_visible(session=session, scope=Scope.for_user(user),
                                   project_id=project_id)
    return _page(request, session, user, project)


@pages.post("/projects/{project_id}/evaluation/opening", response_class=HTMLResponse)
def record_opening(project_id: int, request: Request, session: SessionDep, user: PageUser,
                   source: SourceDep, opened_on: Annotated[str, Form()] = "") -> Response:
    """Record the day the centre opened (source "page", audited); the evaluation follows.

    A bad date answers 422 with the page, the message beside the field and the typed value
    kept; clinicians and national analysts get 403 (``projects.set_opening``)."""
    from ..domains.projects import service as projects
    from ..domains.users.scope import Scope

    scope = Scope.for_user(user)
    project = projects.get_visible(session=session, scope=scope, project_id=project_id)
    try:
        day = date.fromisoformat(opened_on.strip())
        projects.set_opening(session=session, scope=scope, project_id=project_id,
                             opened_on=day, client=source)
    except ValueError as exc:  # not a date, or outside the record-date rule (bilingual)
        session.rollback()
        message = (str(exc) if "/" in str(exc) else
                   "not a date: use YYYY-MM-DD / 日期格式应为 年-月-日")
        return _page(request, session, user, project, status_code=422,
                     opening_error=message.splitlines()[-1].strip(), opening_value=opened_on)
    session.commit()
    with _LOCK:  # cached evaluations used the old cohort year
        request.app.state.evaluations.clear()
    return RedirectResponse(f"/projects/{project_id}/evaluation", status_code=303)


def _page(request: Request, session: Session, user: Any, project: Project,
          status_code: int = 200, **extra: Any) -> HTMLResponse:
    result = _evaluate(request, session, project)
    chart = None
    source = store.describe(request.app.state.settings.flows_dir)
    if result.did is not None:
        chart = Markup(charts.event_study_svg(result.did, title=result.title, source=source))
    min_cell = request.app.state.settings.min_cell_size
    from ..domains.projects import service as projects

    detail = projects.to_detail(session, project)
    return render(request, "evaluation/project.html", user, status_code=status_code,
                  project=project, opening=detail,
                  result=to_out(result, min_cell, ledger=_ledger(request),
                                prefix=f"project:{project.id}"),
                  chart=chart, note=disclosure_note(min_cell), source=source, **extra)

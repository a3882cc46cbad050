"""Evaluation of a project, as a page and an API: before/after on the four flow metrics and
the staggered difference-in-differences, from `nrmc.evaluation.service.evaluate`.

The evaluation service takes no caller scope, so visibility is checked here first (the
project must be in scope, else 404). Evaluating scans the discharge dataset and runs a DiD, so
it never runs on the request path: evaluations are computed once per data version by the
deployment's one background refresher and stored for every worker
(``nrmc.evaluation.computed``, ``nrmc.evaluation.background``). A request for one not yet
stored waits at most ``NRMC_EVALUATION_WAIT_SECONDS``, then answers 202 (API) or a page that
refreshes itself. The store holds raw numbers; the page and the API publish them with small
cells withheld (``evaluation.disclosure``, threshold ``NRMC_MIN_CELL_SIZE``): a withheld share
is null with ``suppressed: true``. What is published is kept per (evaluation, threshold,
the ledger's entries for the project), so disclosure and the chart run once, not per request.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..core import errors
from ..core.privacy import LEDGER_FILE, WithheldLedger, disclosure_note, ledger_problem
from ..domains.projects.models import Project
from ..evaluation import service as evaluation
from ..evaluation.background import Refresher
from ..evaluation.computed import EvaluationStore, InputsReader, Record
from ..evaluation.disclosure import evaluation_cells, publish_all, withheld_reason
from ..flows import store
from .deps import CurrentProject, PageUser, SessionDep, SourceDep
from .read_cache import cached_read
from .render import render

api = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["evaluation"])
pages = APIRouter(include_in_schema=False)
LEDGER_CHECK_EVERY = 60.0  # seconds: the whole ledger is parsed (~1.5 s, in a child) at most this often
RETRY_AFTER = 3  # seconds: when a client should ask again for an evaluation being computed
COMPUTING = ("正在计算：本项目的评估正在后台计算，请稍后再试。",
             "Computing: this project's evaluation is being computed in the background; "
             "ask again in a few seconds.")


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


class ComputingOut(BaseModel):
    """Answered with 202 while the evaluation is being computed: ask again after
    ``retry_after`` seconds (also the ``Retry-After`` header)."""

    status: str = "computing"
    message_zh: str = COMPUTING[0]
    message_en: str = COMPUTING[1]
    retry_after: int = RETRY_AFTER


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


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


class EvaluationDesk:
    """This process's way to the stored evaluations: find one by its key, ask the refresher
    for a missing one, and keep what was published from it."""

    def __init__(self, settings: Settings, make_session: sessionmaker[Session]) -> None:
        self.settings = settings
        self.store = EvaluationStore(settings.evaluations_dir)
        self.inputs = InputsReader(settings.flows_dir)
        self.refresher = Refresher(store=self.store, flows_dir=settings.flows_dir,
                                   sessionmaker=make_session, engine=settings.engine,
                                   spark_master=settings.spark_master)
        self.refresher.publish_min_cell = settings.min_cell_size
        self._lock = threading.Lock()
        self._published: OrderedDict[tuple[Any, ...], EvaluationOut] = OrderedDict()
        self._ledger: tuple[Any, dict[str, frozenset[str]], dict[str, frozenset[Any]]] | None = None
        self._damaged: tuple[Any, str] | None = None  # (ledger stamp, why it cannot be read)
        self._checked = -LEDGER_CHECK_EVERY

    def start(self) -> None:
        """At server start: refresh every evaluation in the background from now on (only the
        process holding the refresher lock computes; see ``evaluation.background``)."""
        self.refresher.persistent = True
        self.refresher.start()

    def stop(self) -> None:
        self.refresher.stop(timeout=10.0)

    def key(self, session: Session, project_id: int) -> str:
        inputs = self.inputs.read(session)
        if not inputs.loaded:  # as the flows engine says it, before any evaluation is asked
            raise errors.NotFound(f"no discharges loaded in {self.settings.flows_dir}")
        key = inputs.key(project_id)
        if key is None:
            raise errors.NotFound(f"no project with id {project_id}")
        return key

    def ask(self, project_id: int, key: str) -> None:
        """Ask for a key not stored: the refresher (here or in another process) computes it."""
        self.store.request(project_id, key)
        self.refresher.start()
        self.refresher.wake()

    def lookup(self, session: Session, project_id: int) -> Record | None:
        """The stored evaluation of the project at the current inputs, waiting at most
        ``NRMC_EVALUATION_WAIT_SECONDS`` for it; None while it is being computed."""
        key = self.key(session, project_id)
        self.store.note_view(project_id)
        record = self.store.load(key)
        if record is None:
            self.ask(project_id, key)
            record = self.store.wait(key, self.settings.evaluation_wait_seconds)
        if record is None:
            return None
        if record.error is not None:
            kind, message = record.error
            if kind == "unexpected":
                self.ask(project_id, key)  # retried by the refresher after a pause
                raise RuntimeError(f"evaluation of project {project_id} failed: {message}")
            raise _domain_error(kind)(message)
        return record

    def published(self, record: Record, min_cell: int, prefix: str) -> EvaluationOut:
        """``to_out`` of a stored evaluation, once per (evaluation, threshold, the ledger's
        entries under this prefix): the same inputs give the same release, and its withheld
        figures were remembered in the ledger when it was first made."""
        assert record.evaluation is not None
        path = self.settings.flows_dir / LEDGER_FILE
        key = (record.key, min_cell, prefix, self._ledger_entries(path, prefix))
        with self._lock:
            out = self._published.get(key)
            if out is not None:
                self._published.move_to_end(key)
                return out
        entries = dict(key[3])
        out = to_out(record.evaluation, min_cell, ledger=_KnownLedger(path, entries),  # type: ignore[arg-type]
                     prefix=prefix)
        with self._lock:
            self._published[key] = out
            while len(self._published) > 512:
                self._published.popitem(last=False)
        return out

    def _ledger_entries(self, path: Path, prefix: str) -> frozenset[Any]:
        """The ledger's entries for one evaluation prefix. The file is read again only when it
        changed (it is only ever replaced whole: a new inode and times), and then only its
        evaluation stretch is parsed (``disclosure.evaluation_cells``, which refuses a file
        not in the ledger's shape); the whole file is parsed in the background, at most every
        ``LEDGER_CHECK_EVERY`` seconds, and a ledger that fails it stops publication, as
        ``WithheldLedger.read`` would."""
        try:
            stat = os.stat(path)
            stamp: Any = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if self._ledger is None or self._ledger[0] != stamp:
                self._ledger = (stamp, evaluation_cells(path), {})
                if stamp is not None and time.monotonic() - self._checked > LEDGER_CHECK_EVERY:
                    self._checked = time.monotonic()
                    threading.Thread(target=self._check_ledger, args=(path, stamp),
                                     daemon=True).start()
            if self._damaged is not None and self._damaged[0] == stamp:
                raise RuntimeError(self._damaged[1])
            _, cells, by_prefix = self._ledger
            if prefix not in by_prefix:
                head = f"evaluation|{prefix}|"
                by_prefix[prefix] = frozenset((k, v) for k, v in cells.items()
                                              if k.startswith(head))
            return by_prefix[prefix]

    def _check_ledger(self, path: Path, stamp: Any) -> None:
        problem = ledger_problem(path)  # in a child process: never holds this worker's GIL
        if problem is not None:
            with self._lock:
                self._damaged = (stamp, problem)


class _KnownLedger:
    """The withheld-cells ledger as ``publish_all`` uses it, with the entries for this prefix
    already read (the ledger file also holds every outflow cell: tens of MB on a national
    dataset, ~1 s to parse): ``read`` answers them; ``remember`` writes through to the file
    only what it does not hold yet (a first release of this evaluation), under its lock."""

    def __init__(self, path: Path, entries: dict[str, frozenset[str]]) -> None:
        self.ledger = WithheldLedger(path)
        self.entries = entries

    def read(self) -> dict[str, frozenset[str]]:
        return dict(self.entries)

    def remember(self, withheld: dict[str, frozenset[str]]) -> None:
        fresh = {k: v for k, v in withheld.items() if v and not v <= self.entries.get(k, set())}
        if fresh:
            self.ledger.remember(fresh)


def _domain_error(kind: str) -> type[errors.NrmcError]:
    """The class of a stored domain error, by name (NotFound → 404 as if raised just now)."""
    found = getattr(errors, kind, None)
    simple = (errors.NotFound, errors.Forbidden, errors.Conflict, errors.Unprocessable)
    return found if isinstance(found, type) and issubclass(found, simple) else errors.NrmcError


def desk(request: Request) -> EvaluationDesk:
    return request.app.state.evaluations  # type: ignore[no-any-return]


def _computing_json() -> JSONResponse:
    return JSONResponse(ComputingOut().model_dump(), status_code=202,
                        headers={"Retry-After": str(RETRY_AFTER)})


@api.get("/evaluation", response_model=EvaluationOut,
         responses={202: {"model": ComputingOut,
                          "description": "Being computed: ask again after Retry-After seconds"}})
@cached_read
def get_evaluation(project: CurrentProject, request: Request, session: SessionDep) -> Any:
    """Before/after (baseline: the year before opening) and the staggered DiD of the outflow
    rate in the centre's province × specialty cells; 404 when no discharges are loaded.
    A share resting on fewer than NRMC_MIN_CELL_SIZE cases is withheld (null,
    `suppressed: true`). Computed in the background once per data version: while it is
    being computed the answer is 202 with `Retry-After`."""
    record = desk(request).lookup(session, project.id)
    if record is None:
        return _computing_json()
    return desk(request).published(record, request.app.state.settings.min_cell_size,
                                   f"project:{project.id}")


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
    """Record the day the centre opened (source "page", audited); the evaluation follows
    (a new opening date is a new key: the refresher is asked for it at once).

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
    try:
        desk(request).ask(project_id, desk(request).key(session, project_id))
    except errors.NotFound:  # no discharges loaded: nothing to compute
        pass
    return RedirectResponse(f"/projects/{project_id}/evaluation", status_code=303)


def _page(request: Request, session: Session, user: Any, project: Project,
          status_code: int = 200, **extra: Any) -> HTMLResponse:
    from ..domains.projects import service as projects

    settings = request.app.state.settings
    detail = projects.to_detail(session, project)
    record = desk(request).lookup(session, project.id)
    if record is None:  # being computed: a page that asks again by itself (no script: CSP)
        page = render(request, "evaluation/computing.html", user,
                      status_code=202 if status_code == 200 else status_code,
                      project=project, opening=detail, retry_after=RETRY_AFTER,
                      computing=COMPUTING, **extra)
        page.headers["Retry-After"] = str(RETRY_AFTER)
        return page
    min_cell = settings.min_cell_size
    chart = Markup(record.chart) if record.chart else None  # noqa: S704 - our own SVG
    return render(request, "evaluation/project.html", user, status_code=status_code,
                  project=project, opening=detail,
                  result=desk(request).published(record, min_cell, f"project:{project.id}"),
                  chart=chart, note=disclosure_note(min_cell),
                  source=store.describe(settings.flows_dir), **extra)

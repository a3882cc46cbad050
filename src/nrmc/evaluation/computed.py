"""Project evaluations computed once per data version and kept for every process to read.

An evaluation is a function of the flows dataset and of a few store tables; it costs a DiD
with its bootstrap or placebo (~0.2 s of CPU on a 3 M-row year) and is read far more often
than those inputs change. So it is computed once per *key* and kept as a file, and every web
worker, the background refresher and ``nrmc evaluate`` read the same file.

**The key** names everything ``service.evaluate(scope="project")`` reads (``Inputs``):

* the flows dataset: the manifest's version and a digest of the manifest itself (its file list
  and load log: a dataset rebuilt from scratch restarts at version 1 with other files);
* every project's row of ``projects.project_table`` — the DiD's controls are every other
  province × specialty cell until its own centre opens, so any project's opening date, batch,
  province or specialty moves every evaluation;
* the regions table (the flows engine maps counties to cities and provinces with it);
* the project's own hospital name (its title);
* ``CODE_VERSION``, raised whenever ``evaluate`` would give other numbers for the same inputs.

Nothing else: a referral, a user, an audit row or another hospital's name leaves the key as it
was. The small-cell threshold is applied when publishing (``web.evaluation``), not here.

**Why files under the workspace, not a table in the store:** the evaluation is derived from the
flows dataset, which is in the workspace already (every process that can evaluate sees it);
a table written at each computed evaluation would advance the store's data revision and empty
every worker's read cache; and this is a cache that may be deleted at any time (a migration
for it would outlive its meaning). Files are written to a temporary name and renamed (a reader
never sees half of one); computing one key holds an exclusive ``flock`` on the key's lock
file, so two processes that miss at once compute it once: the second waits, then reads.
The records are pickles (exact numbers and types, as ``nrmc evaluate`` prints them) written by
nrmc itself into its own workspace — the same trust as ``nrmc.db`` beside them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from ..flows import store as flows_store
from .service import Evaluation, Shared
from .sources import FlowSource

CODE_VERSION = "2026-12-02.1"  # raise when evaluate() changes its numbers for the same inputs
SUFFIX = ".evaluation.pickle"


@dataclass(frozen=True)
class Record:
    """One computed evaluation (or why it could not be computed), as stored."""

    key: str
    project_id: int
    evaluation: Evaluation | None
    chart: str | None = None  # the event-study SVG: model estimates only, no counts to withhold
    error: tuple[str, str] | None = None  # (error class name, message): e.g. ("NotFound", …)
    cpu_seconds: float = 0.0
    computed_at: float = 0.0


@dataclass(frozen=True)
class Inputs:
    """The inputs of every project's evaluation at one moment (see the module docstring)."""

    data: str  # digest of the flows manifest ("" when no discharges are loaded)
    version: int  # the flows manifest's version
    common: str  # digest of the project table, the regions and CODE_VERSION
    regions: str  # digest of the regions table alone (the flow source is built on it)
    titles: dict[int, str] = field(repr=False)  # project id → its project hospital's name

    @property
    def loaded(self) -> bool:
        return bool(self.data)

    def key(self, project_id: int) -> str | None:
        """The project's key, or None for a project not in the store."""
        if project_id not in self.titles:
            return None
        raw = f"{self.data}|{self.common}|{project_id}|{self.titles[project_id]}"
        return f"p{project_id}-v{self.version}-{hashlib.sha256(raw.encode()).hexdigest()[:32]}"

    def keys(self) -> dict[int, str]:
        return {pid: k for pid in sorted(self.titles) if (k := self.key(pid)) is not None}


def manifest_digest(flows_dir: Path) -> tuple[str, int]:
    """(digest, version) of the published flows manifest; ("", 0) when nothing is loaded."""
    manifest = flows_store.read_manifest(flows_dir)
    if not manifest.files:
        return "", manifest.version
    body = json.dumps({"version": manifest.version, "files": manifest.files,
                       "loads": manifest.loads}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest(), manifest.version


# What the flows geography reads of a region (flows.geo.units_table and names_table), and what
# evaluate reads of a project (projects.service.project_table, whose derived columns follow).
REGION_COLUMNS = ("code", "parent_code", "level", "name_zh", "name_en", "leaf")
PROJECT_COLUMNS = ("id", "batch", "province_code", "city_code", "specialty",
                   "project_hospital_code", "output_hospital_code", "opening_year", "opened_on",
                   "opening_source")


def _rows_digest(rows: object) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def read_inputs(session: Session, flows_dir: Path) -> Inputs:
    """What every project's evaluation depends on now (a few ms: memoise it, ``InputsReader``)."""
    from ..domains.hospitals.models import Hospital
    from ..domains.projects.models import Project
    from ..domains.regions.models import Region

    data, version = manifest_digest(flows_dir)
    projects = session.execute(select(*(getattr(Project, c) for c in PROJECT_COLUMNS))
                               .order_by(Project.id)).all()
    regions = _rows_digest(session.execute(select(*(getattr(Region, c) for c in REGION_COLUMNS))
                                           .order_by(Region.code)).all())
    common = hashlib.sha256(
        f"{CODE_VERSION}|{_rows_digest(projects)}|{regions}".encode()).hexdigest()
    names = session.execute(select(Project.id, Hospital.name_zh).join(
        Hospital, Hospital.code == Project.project_hospital_code)).all()
    return Inputs(data=data, version=version, common=common, regions=regions,
                  titles={int(pid): str(name) for pid, name in names})


READ_TABLES = ("projects", "regions", "hospitals")  # the store tables read_inputs reads


class InputsReader:
    """``read_inputs``, read again only when a table it reads may have changed, or the flows
    manifest did. Where the store counts writes per table (``table_revisions``, with ``*`` for
    a write whose table was not told apart) only writes to ``READ_TABLES`` count: a referral
    does not make anyone read the inputs again. On an older store the global data revision
    stands in (every committed write, db/revision.py). Reading the counters first, then the
    tables, can only file newer inputs under an older stamp, never older under newer."""

    def __init__(self, flows_dir: Path) -> None:
        self.flows_dir = flows_dir
        self._lock = threading.Lock()
        self._last: tuple[object, Inputs] | None = None
        self._per_table: bool | None = None  # does the store count writes per table?

    def read(self, session: Session) -> Inputs:
        stamp = (self._revision(session), manifest_digest(self.flows_dir))
        with self._lock:
            if self._last is not None and self._last[0] == stamp:
                return self._last[1]
        inputs = read_inputs(session, self.flows_dir)
        with self._lock:
            self._last = (stamp, inputs)
        return inputs

    def _revision(self, session: Session) -> object:
        if self._per_table is None:
            self._per_table = inspect(session.connection()).has_table("table_revisions")
        if self._per_table:
            names = ", ".join(f"'{name}'" for name in (*READ_TABLES, "*"))
            rows = session.execute(text(
                f"SELECT name, value FROM table_revisions WHERE name IN ({names})")).all()
            return tuple(sorted((str(name), int(value)) for name, value in rows))
        value = session.execute(text("SELECT value FROM data_revision WHERE id = 1")).scalar()
        return int(value) if value is not None else 0


class EvaluationStore:
    """Computed evaluations under ``root`` (``<NRMC_HOME>/evaluations``), shared by processes.

    ``done/<key>`` holds a pickled ``Record``; ``locks/<key>.lock`` serialises computing one
    key; ``requests/<key>.<project>`` asks the refresher for a key a reader is waiting for;
    ``views/<pid>.json`` counts each process's reads (the refresher computes the most-read
    first after a data change). A small per-process memory of loaded records saves unpickling.
    """

    def __init__(self, root: Path, *, memory: int = 256) -> None:
        self.root = Path(root)
        self.memory = memory
        self._loaded: OrderedDict[str, Record] = OrderedDict()
        self._lock = threading.Lock()
        self._views: Counter[int] = Counter()
        self._views_flushed = time.monotonic()

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path(self, key: str) -> Path:
        return self.root / "done" / f"{key}{SUFFIX}"

    def load(self, key: str) -> Record | None:
        with self._lock:
            record = self._loaded.get(key)
            if record is not None:
                self._loaded.move_to_end(key)
                return record
        try:
            with open(self.path(key), "rb") as handle:
                record = pickle.load(handle)  # noqa: S301 - written by nrmc into its workspace
        except FileNotFoundError:
            return None
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None  # unreadable (older code, a damaged file): computed again
        if not isinstance(record, Record) or record.key != key:
            return None
        self._remember(record)
        return record

    def has(self, key: str) -> bool:
        return key in self._loaded or self.path(key).exists()

    def save(self, record: Record) -> None:
        done = self._dir("done")
        tmp = done / f".{record.key}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "wb") as handle:
            pickle.dump(record, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path(record.key))
        self._remember(record)

    def _remember(self, record: Record) -> None:
        with self._lock:
            self._loaded[record.key] = record
            self._loaded.move_to_end(record.key)
            while len(self._loaded) > self.memory:
                self._loaded.popitem(last=False)

    def forget(self, key: str) -> None:
        """Drop a record (a failure to retry): from memory and from disk."""
        with self._lock:
            self._loaded.pop(key, None)
        self.path(key).unlink(missing_ok=True)

    @contextmanager
    def computing(self, key: str) -> Iterator[None]:
        """Hold the key's lock across processes while computing it."""
        with open(self._dir("locks") / f"{key}.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def get_or_compute(self, key: str, compute: Callable[[], Record | None]) -> Record | None:
        """The stored record, or one computed now under the key's lock (at most once across
        processes: a second caller waits for the first and reads its file). ``compute`` may
        return None (its inputs moved while it ran): nothing is stored."""
        record = self.load(key)
        if record is not None:
            return record
        with self.computing(key):
            record = self.load(key)
            if record is not None:
                return record
            record = compute()
            if record is not None:
                self.save(record)
            return record

    # --- what readers ask for ------------------------------------------------------------------

    def request(self, project_id: int, key: str) -> None:
        (self._dir("requests") / f"{key}.{project_id}").touch()

    def requested(self) -> list[tuple[int, str]]:
        """(project id, key) asked for by readers, oldest first."""
        try:
            entries = list(os.scandir(self.root / "requests"))
        except FileNotFoundError:
            return []
        found = []
        for entry in entries:
            key, _, pid = entry.name.rpartition(".")
            if key and pid.isdigit():
                try:
                    found.append((entry.stat().st_mtime_ns, int(pid), key))
                except FileNotFoundError:
                    continue
        return [(pid, key) for _, pid, key in sorted(found)]

    def answered(self, project_id: int, key: str) -> None:
        (self.root / "requests" / f"{key}.{project_id}").unlink(missing_ok=True)

    def note_view(self, project_id: int, *, every: float = 10.0) -> None:
        """Count a read; this process's counts reach disk at most every ``every`` seconds."""
        with self._lock:
            self._views[project_id] += 1
            due = time.monotonic() - self._views_flushed >= every
            if due:
                self._views_flushed = time.monotonic()
                counts = dict(self._views)
        if due:
            path = self._dir("views") / f"{os.getpid()}.json"
            tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
            tmp.write_text(json.dumps({str(k): v for k, v in counts.items()}), encoding="utf-8")
            os.replace(tmp, path)

    def views(self) -> Counter[int]:
        """Reads per project, summed over every process that flushed its counts."""
        total: Counter[int] = Counter()
        for path in (self.root / "views").glob("*.json"):
            try:
                total.update({int(k): int(v) for k, v in json.loads(path.read_text()).items()})
            except (OSError, ValueError):
                continue
        with self._lock:
            total.update(self._views)
        return total

    def wait(self, key: str, seconds: float, *, step: float = 0.02) -> Record | None:
        """The record once stored, waiting up to ``seconds`` (another thread or process)."""
        deadline = time.monotonic() + seconds
        while True:
            record = self.load(key)
            if record is not None or time.monotonic() >= deadline:
                return record
            time.sleep(min(step, max(0.0, deadline - time.monotonic())))

    def prune(self, keep: set[str], *, older_than: float = 600.0) -> int:
        """Remove records of keys no longer current (an old data version), once they are old
        enough that no reader still on the old version is likely to ask. Returns how many."""
        removed = 0
        cutoff = time.time() - older_than
        for path in (self.root / "done").glob(f"*{SUFFIX}"):
            key = path.name.removesuffix(SUFFIX)
            try:
                if key not in keep and path.stat().st_mtime < cutoff:
                    path.unlink()
                    (self.root / "locks" / f"{key}.lock").unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        for path in (self.root / "views").glob("*.json"):  # counts of processes long gone
            try:
                if path.stat().st_mtime < time.time() - 7 * 86400:
                    path.unlink()
            except FileNotFoundError:
                continue
        return removed


def compute(*, session: Session, source: FlowSource, shared: Shared | None, flows_dir: Path,
            project_id: int, key: str) -> Record:
    """Evaluate one project as the web shows it (default baseline, ``MIN_OUTFLOW``) and draw
    its event-study chart; a domain error (no such project, no discharges) is kept as the
    record's ``error`` so every reader answers it without computing again."""
    from ..core.errors import NrmcError
    from . import charts, service

    started = time.process_time()
    try:
        result = service.evaluate(session=session, source=source, scope="project",
                                  key=project_id, shared=shared)
    except NrmcError as exc:
        return Record(key=key, project_id=project_id, evaluation=None,
                      error=(type(exc).__name__, str(exc)),
                      cpu_seconds=time.process_time() - started, computed_at=time.time())
    chart = None
    if result.did is not None:
        chart = charts.event_study_svg(result.did, title=result.title,
                                       source=flows_store.describe(flows_dir))
    return Record(key=key, project_id=project_id, evaluation=result, chart=chart,
                  cpu_seconds=time.process_time() - started, computed_at=time.time())

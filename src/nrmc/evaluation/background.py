"""The refresher: the one thread per deployment that computes evaluations not yet stored.

Every web process may run a ``Refresher``; only the one holding ``<store>/refresher.lock``
(an exclusive, non-blocking ``flock``: released by the kernel if its process dies) computes,
so N workers compute each evaluation once, not N times. The others keep trying the lock
and meanwhile leave their readers' requests as files (``EvaluationStore.request``) that the
holder picks up within ``poll`` seconds.

What it computes, in order: evaluations a reader is waiting for (oldest request first); then,
for a *persistent* refresher (started with the server), every project's evaluation missing at
the current inputs, most-read first — so after a flows load or a write that moves the inputs
(an opening date), the evaluations are recomputed before most readers ask. A refresher started
on demand (no server start-up hook ran: tests, an embedded app) computes only what is asked
and ends after ``idle_exit`` seconds without a request.

It keeps one flow source (one DuckDB connection: nothing else uses it, so no lock) and the
``service.Shared`` inputs for the current data, built once and reused for every project.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from . import service
from .computed import EvaluationStore, Inputs, InputsReader, Record, compute, read_inputs
from .sources import EngineFlowSource

log = logging.getLogger(__name__)
RETRY_FAILED_AFTER = 60.0  # seconds before an unexpected failure asked for again is retried


class Refresher:
    """Computes missing evaluations in a background thread (see the module docstring)."""

    def __init__(self, *, store: EvaluationStore, flows_dir: Path,
                 sessionmaker: Callable[[], Session], engine: str = "duckdb",
                 spark_master: str = "local[2]", persistent: bool = False,
                 poll: float = 0.5, idle_exit: float = 5.0, prune_every: float = 300.0) -> None:
        self.store = store
        self.flows_dir = flows_dir
        self.sessionmaker = sessionmaker
        self.engine = engine
        self.spark_master = spark_master
        self.persistent = persistent
        self.poll = poll
        self.idle_exit = idle_exit
        self.prune_every = prune_every
        self.inputs = InputsReader(flows_dir)
        self.computed = 0  # evaluations this refresher computed (tests and logs read it)
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._claim: IO[str] | None = None
        self._source: tuple[str, str, EngineFlowSource] | None = None  # (data, regions, source)
        self._shared: tuple[str, str, service.Shared] | None = None  # (data, common, inputs)
        self._pruned = 0.0
        self.publish_min_cell: int | None = None  # remember what releases withhold (the desk sets it)
        self._unpublished: list[Record] = []

    # --- thread life ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run the thread (no-op while it runs)."""
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="nrmc-evaluations",
                                            daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look for work now (a reader in this process just asked for an evaluation)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._release()

    def _try_claim(self) -> bool:
        if self._claim is not None:
            return True
        self.store.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.store.root / "refresher.lock", "a+")  # noqa: SIM115 - held while refreshing
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._claim = handle
        return True

    def _release(self) -> None:
        if self._claim is not None:
            handle, self._claim = self._claim, None
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def _run(self) -> None:
        idle_since = time.monotonic()
        try:
            while not self._stop.is_set():
                worked = False
                if self._try_claim():
                    try:
                        worked = self.step()
                    except Exception:  # noqa: BLE001 - the thread must outlive one bad round
                        log.exception("evaluation refresher: a round failed")
                        self._stop.wait(self.poll)
                elif self.store.requested():
                    idle_since = time.monotonic()  # asked for: the holder answers, we stand by
                if worked:
                    idle_since = time.monotonic()
                    continue
                if not self.persistent and time.monotonic() - idle_since > self.idle_exit:
                    return
                self._wake.wait(self.poll)
                self._wake.clear()
        finally:
            self._release()
            self._source = self._shared = None  # the DuckDB connection goes with the thread

    # --- one round -----------------------------------------------------------------------------

    def step(self) -> bool:
        """Compute the next missing evaluation; False when nothing is missing."""
        with self.sessionmaker() as session:
            inputs = self.inputs.read(session)
        if not inputs.loaded:
            return False
        keys = inputs.keys()
        wanted = self._next(keys)
        if wanted is None or len(self._unpublished) >= 25:
            self._remember_withheld()
        if wanted is None:
            if self.persistent and time.monotonic() - self._pruned > self.prune_every:
                self._pruned = time.monotonic()
                self.store.prune(set(keys.values()))
            return False
        project_id, key = wanted
        self.store.get_or_compute(key, lambda: self._compute(project_id, key))
        self.store.answered(project_id, key)
        return True

    def _next(self, keys: dict[int, str]) -> tuple[int, str] | None:
        for project_id, key in self.store.requested():
            if keys.get(project_id) != key:  # asked at inputs that have moved on since
                self.store.answered(project_id, key)
                continue
            record = self.store.load(key)
            if record is None:
                return project_id, key
            if (record.error and record.error[0] == "unexpected"
                    and time.time() - record.computed_at > RETRY_FAILED_AFTER):
                self.store.forget(key)
                return project_id, key
            self.store.answered(project_id, key)
        if not self.persistent:
            return None
        missing = [pid for pid, key in keys.items() if not self.store.has(key)]
        if not missing:
            return None
        views = self.store.views()
        first = min(missing, key=lambda pid: (-views[pid], pid))
        return first, keys[first]

    def _compute(self, project_id: int, key: str) -> Record | None:
        """The record for ``key``, or None when the inputs moved while computing (the next
        round computes the new key)."""
        with self.sessionmaker() as session:
            inputs = read_inputs(session, self.flows_dir)
            if inputs.key(project_id) != key:
                return None
            source = self._source_for(session, inputs)
            shared = self._shared_for(session, source, inputs)
            try:
                record = compute(session=session, source=source, shared=shared,
                                 flows_dir=self.flows_dir, project_id=project_id, key=key)
            except Exception as exc:  # noqa: BLE001 - kept, answered as an error, retried later
                log.exception("evaluation of project %s failed", project_id)
                record = Record(key=key, project_id=project_id, evaluation=None,
                                error=("unexpected", f"{type(exc).__name__}: {exc}"),
                                computed_at=time.time())
        with self.sessionmaker() as session:
            after = read_inputs(session, self.flows_dir)
        if after.key(project_id) != key:  # a write or a load landed while computing
            self._source = self._shared = None
            return None
        self.computed += 1
        if record.evaluation is not None:
            self._unpublished.append(record)
        return record

    def _remember_withheld(self) -> None:
        """Add to the withheld-cells ledger what the first release of each evaluation computed
        since the last call will withhold, in one write, here rather than in the first request
        (the ledger file holds every outflow cell too: reading and rewriting it takes seconds
        on a national dataset). A request publishing it then finds nothing new to write."""
        if not self._unpublished or self.publish_min_cell is None:
            self._unpublished.clear()
            return
        from ..core.privacy import LEDGER_FILE, WithheldLedger
        from .disclosure import evaluation_cells, publish_all

        ledger = WithheldLedger(self.flows_dir / LEDGER_FILE)
        collected = _Collecting(evaluation_cells(ledger.path))
        for record in self._unpublished:
            assert record.evaluation is not None
            publish_all(record.evaluation.before_after, self.publish_min_cell,
                        ledger=collected, prefix=f"project:{record.project_id}")  # type: ignore[arg-type]
        if collected.fresh:
            ledger.remember(collected.fresh)
        self._unpublished.clear()

    def _source_for(self, session: Session, inputs: Inputs) -> EngineFlowSource:
        if self._source is None or self._source[:2] != (inputs.data, inputs.regions):
            from ..domains.regions import service as regions

            self._shared = None
            self._source = (inputs.data, inputs.regions, EngineFlowSource(
                self.flows_dir, regions.region_table(session=session), engine=self.engine,
                spark_master=self.spark_master))
        return self._source[2]

    def _shared_for(self, session: Session, source: EngineFlowSource,
                    inputs: Inputs) -> service.Shared:
        if self._shared is None or self._shared[:2] != (inputs.data, inputs.common):
            self._shared = (inputs.data, inputs.common,
                            service.shared_inputs(session=session, source=source))
        return self._shared[2]



class _Collecting:
    """A ledger for ``publish_all`` that reads a parsed copy and collects what to remember."""

    def __init__(self, known: dict[str, frozenset[str]]) -> None:
        self.known = known
        self.fresh: dict[str, frozenset[str]] = {}

    def read(self) -> dict[str, frozenset[str]]:
        return self.known

    def remember(self, withheld: dict[str, frozenset[str]]) -> None:
        for key, kinds in withheld.items():
            if kinds and not kinds <= self.known.get(key, frozenset()):
                self.fresh[key] = self.fresh.get(key, frozenset()) | frozenset(kinds)

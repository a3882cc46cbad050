"""Load discharge files (CSV or Parquet) into the flows dataset: validate, pseudonymise, publish.

Rules (docs/flows.md): every row is checked; by default one bad row refuses the whole load and
every problem is reported; with a reject file the good rows land and each bad row is written
there with its reasons. A load of several files is one transaction (see ``store``). Records
already stored under the same ``(record_id, hospital_code)`` are skipped, so re-loading a file
is harmless; the same key twice within one load is a bad row (the later occurrence).

How it streams (memory stays bounded whatever the size of the load): each file is parsed by
Arrow in batches of about :data:`BATCH_BYTES`, the next batch read on a thread while the current
one is checked (``checks``: each distinct value parsed once); while the next batch is checked,
the pseudonyms of a batch are computed in helper processes (one per core, up to two) and the
parts of the batch before it written (``publish.Staged``), each on its own worker thread. Then
DuckDB, with a memory limit and a spill directory, finds keys repeated within the load and keys
already stored (``publish``). Five batches at most are in memory at once (being read, checked,
waiting to be hashed, hashed, written).
"""

from __future__ import annotations

import csv
import ctypes
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..core.errors import ImportRejected, RowProblem
from ..core.export import safe_text
from ..core.tabular import detect_encoding
from . import checks, store
from .geo import leaf_codes
from .pseudonym import PSEUDONYM_BITS, PseudonymPool, native_available, pseudonymise_arrow
from .publish import Staged, publish
from .schema import INPUT_COLUMNS, OPTIONAL_INPUT_COLUMNS, TCM_HOSPITAL_PATTERN

Progress = Callable[[str, int, int | None], None]
#: Bytes of CSV text per batch (Parquet: rows per batch). Large enough that DuckDB's per-query
#: cost vanishes, small enough that a few batches in flight stay far below the memory goal.
BATCH_BYTES = 1 << 26
BATCH_ROWS = 256_000
#: DuckDB's share of memory (it spills to ``staging/<load>/spill`` beyond it): with Python,
#: Arrow's batches in flight and the pseudonym helpers, a load stays under 2 GiB at any size.
MEMORY_LIMIT = "640MB"
#: Pseudonym helper processes at most (one per core); each adds well under 0.1 GiB of memory.
HASHERS = 2
_TEXT_OF_FEW = pa.dictionary(pa.int32(), pa.string())


@dataclass
class IngestSummary:
    files: list[str]
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    already_stored: int = 0
    years: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    specialty_rules: dict[str, int] = field(default_factory=dict)  # TCM rows loaded, by rule


@dataclass(frozen=True)
class Reference:
    """What a row is checked against: finest residence units and hospital → division."""

    residences: frozenset[str]
    hospital_region: dict[str, str]
    tcm_hospitals: frozenset[str] = frozenset()

    @classmethod
    def build(cls, regions: pd.DataFrame, hospitals: pd.DataFrame) -> Reference:
        codes = hospitals["code"].astype(str).str.strip()
        region = hospitals["region_code"].astype(str).str.strip().str.zfill(6)
        # a hospital placed in an unknown division would vanish from every flow metric
        # (they join on the division), so it cannot receive records
        known = set(regions["code"].astype(str).str.zfill(6))
        located = {c: r for c, r in zip(codes, region, strict=True) if r in known}
        names = hospitals["name_zh"] if "name_zh" in hospitals else pd.Series("", index=hospitals.index)
        tcm = names.astype("string").fillna("").str.contains(TCM_HOSPITAL_PATTERN).to_numpy(dtype=bool)
        return cls(leaf_codes(regions), located, frozenset(codes[tcm]))


def _refuse(path: Path, reason: str, field: str = "file") -> ImportRejected:
    return ImportRejected(str(path), [RowProblem(str(path), 0, field, reason)])


def _check_header(path: Path, names: Sequence[str]) -> None:
    """Refuse a file whose first row is not the header (a header-less file read "0 of 0")."""
    missing = [c for c in INPUT_COLUMNS if c not in names and c not in OPTIONAL_INPUT_COLUMNS]
    if missing:
        reason = ("required column(s) missing" if set(names) & set(INPUT_COLUMNS) else
                  "has no header row naming the columns (" + ", ".join(INPUT_COLUMNS[:3]) + ", …)")
        raise ImportRejected(str(path), [RowProblem(str(path), 0, ",".join(missing), reason)])
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise _refuse(path, "column appears twice in the header", ",".join(repeated))


def _as_text(batch: pa.RecordBatch) -> pa.Table:
    """A Parquet batch with every input column as text, as pandas' ``astype("string")`` wrote
    it before: strings, integers and dates by Arrow's cast (the same text), anything else
    (floats, timestamps, booleans…) through pandas so that even its quirks are kept."""
    columns = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name not in INPUT_COLUMNS:
            continue
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = column.dictionary_decode(), kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or (
                (pa.types.is_integer(kind) or pa.types.is_date32(kind)) and column.null_count == 0):
            columns[name] = column.cast(pa.string())
        else:
            columns[name] = pa.array(column.to_pandas().astype("string"), pa.string())
    return pa.table(columns)


def _batches(path: Path, position: list[int]) -> Iterator[pa.Table]:
    """Input rows as all-text Arrow tables, in batches (so a 10 GB file never sits in memory).
    Text may be UTF-8 (with or without BOM) or GBK/GB18030; anything else is refused by name.
    ``position[0]`` follows the bytes read, for a progress estimate."""
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            parquet = pq.ParquetFile(path)
            _check_header(path, parquet.schema_arrow.names)
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                yield _as_text(batch)
            return
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
        if not head.strip(b"\xef\xbb\xbf \t\r\n"):
            raise _refuse(path, "is empty")
        encoding = "utf8" if detect_encoding(path, head) == "utf-8-sig" else "gb18030"
        names = pacsv.open_csv(path, read_options=pacsv.ReadOptions(
            block_size=1 << 16, encoding=encoding)).schema.names
        _check_header(path, names)
        with pa.OSFile(str(path)) as source:
            reader = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(block_size=BATCH_BYTES, encoding=encoding),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: _TEXT_OF_FEW if n in checks.FEW_VALUES else pa.string()
                                  for n in names},
                    strings_can_be_null=False,
                    include_columns=[n for n in names if n in INPUT_COLUMNS]),
            )
            for batch in reader:
                position[0] = source.tell()
                yield pa.Table.from_batches([batch])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise _refuse(path, "does not exist") from exc
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        kind = "Parquet" if path.suffix.lower() in {".parquet", ".pq"} else "CSV"
        raise _refuse(path, f"cannot be read as {kind}: {first}") from exc


def _read_ahead(batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Parse the next batch on a thread while the caller works on this one (Arrow's reader
    releases the GIL)."""
    with ThreadPoolExecutor(1, thread_name_prefix="nrmc-read") as reader:
        upcoming = reader.submit(next, batches, None)
        while (batch := upcoming.result()) is not None:
            upcoming = reader.submit(next, batches, None)
            yield batch


def _total_rows(path: Path) -> int | None:
    if path.suffix.lower() in {".parquet", ".pq"}:
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowInvalid, OSError):
            return None  # _batches refuses the file, naming it
    return None


def _problems(batch: pa.Table, bits: np.ndarray, *, file: str, first_row: int,
              rejected: dict[int, dict[str, Any]]) -> list[RowProblem]:
    """One RowProblem per failed check of each bad row (row order, then check order), with the
    value as given; the bad rows as given go to ``rejected`` (by row) for the reject file."""
    frame = batch.to_pandas().astype("string")
    given = frame.reindex(columns=INPUT_COLUMNS, fill_value="").fillna("")
    found = []
    for i in np.flatnonzero(bits).tolist():
        row = first_row + i
        for check in checks.failed(int(bits[i])):
            value = given[check.column].iloc[i]
            found.append(RowProblem(file, row, check.column, f"{value!r} {check.reason}"))
        rejected[row] = frame.iloc[i].to_dict()
    return found


class _Stager:
    """Pseudonyms on one thread (helper processes hash), Parquet parts on another, so that
    hashing a batch overlaps writing the one before; one after the other on one thread they
    were the longest chain of the load. One batch is hashed and one written at a time."""

    def __init__(self, hasher: PseudonymPool | None, key: str, staged: Staged,
                 hashing: ThreadPoolExecutor, writing: ThreadPoolExecutor) -> None:
        self._hasher, self._key, self._staged = hasher, key, staged
        self._hashing, self._writing = hashing, writing
        self._written: Future[None] | None = None  # touched on the hashing thread only

    def submit(self, good: pa.Table, file_no: int) -> Future[None]:
        """Put the pseudonyms in place of the raw ids, then write the batch's parts."""
        return self._hashing.submit(self._hash_then_write, good, file_no)

    def _hash_then_write(self, good: pa.Table, file_no: int) -> None:
        raw = good["patient_id"]
        pseudonyms = (self._hasher.pseudonymise(raw) if self._hasher
                      else pseudonymise_arrow(raw, self._key))
        hashed = good.set_column(good.schema.get_field_index("patient_id"), "patient_id",
                                 pseudonyms)
        self.flush()  # the previous batch written (or its error raised) before the next
        self._written = self._writing.submit(self._staged.write, hashed, file_no)

    def flush(self) -> None:
        """Wait for the last write; call once every submitted batch is hashed."""
        if self._written is not None:
            self._written.result()


@contextmanager
def _hasher(paths: Sequence[Path], key: str) -> Iterator[PseudonymPool | None]:
    """Processes that compute pseudonyms while this one reads and checks the next batch
    (``pseudonym.PseudonymPool``), one per core up to :data:`HASHERS`; only for loads of
    several batches, since starting them costs a fraction of a second."""
    size = sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
    if size < 2 * BATCH_BYTES or native_available():
        yield None  # hashed on the stager's thread (the C loop releases the GIL)
        return
    pool = PseudonymPool(key, max(1, min(HASHERS, os.cpu_count() or 1)))
    try:
        yield pool
    finally:
        pool.close()


@contextmanager
def _small_pages() -> Iterator[None]:
    """No transparent huge pages for this process while the load runs (Linux; elsewhere a
    no-op). Arrow's allocator (mimalloc) asks for huge pages on its arenas and hands freed
    64 KiB slices back to the kernel between batches; touching such a slice again faults in and
    zeroes a whole fresh 2 MiB page (``clear_page``: a sixth of a load's CPU). With 4 KiB pages a
    load's kernel time fell by a third or more (docs/performance.md). Restored when the load
    ends."""
    if not sys.platform.startswith("linux"):
        yield
        return
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        before = prctl(_PR_GET_THP_DISABLE, 0, 0, 0, 0)
        changed = before == 0 and prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    except (AttributeError, OSError):
        changed = False
    try:
        yield
    finally:
        if changed:
            prctl(_PR_SET_THP_DISABLE, 0, 0, 0, 0)


_PR_SET_THP_DISABLE, _PR_GET_THP_DISABLE = 41, 42


def _connect(spill: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(spill),
                                 "preserve_insertion_order": False})
    return con


def ingest(
    paths: Sequence[Path],
    root: Path,
    *,
    regions: pd.DataFrame,
    hospitals: pd.DataFrame,
    pseudonym_key: str,
    reject_file: Path | None = None,
    progress: Progress | None = None,
) -> IngestSummary:
    """Validate and load ``paths`` into the dataset at ``root`` as one atomic load.

    Raises :class:`ImportRejected` (nothing stored) when any row is bad and no ``reject_file``
    is given. Returns what happened, including the problems written to the reject file.
    """
    ref = Reference.build(regions, hospitals)
    names = [str(p) for p in paths]
    summary = IngestSummary(files=names)
    with _small_pages(), store.writing(root) as load:
        staged = Staged(load)
        rejected: dict[tuple[int, int], dict[str, Any]] = {}
        con = _connect(load.staging / "spill")
        try:
            checks.prepare(con)
            arrays = checks.Reference.of(ref.residences, ref.hospital_region, ref.tcm_hospitals)
            with ThreadPoolExecutor(1, thread_name_prefix="nrmc-stage") as writing, \
                    ThreadPoolExecutor(1, thread_name_prefix="nrmc-hash") as hashing, \
                    _hasher(paths, pseudonym_key) as hasher:
                stager = _Stager(hasher, pseudonym_key, staged, hashing, writing)
                for file_no, path in enumerate(map(Path, paths)):
                    summary.rows_read += _stage_file(
                        path, file_no, con=con, ref=arrays, stager=stager, summary=summary,
                        rejected=rejected, progress=progress)
                stager.flush()
            store._checkpoint("validated")
            pa.default_memory_pool().release_unused()  # the batches are gone; DuckDB's turn
            publish(con, staged, names, summary, rejected)
            summary.rows_rejected = len({(p.file, p.row) for p in summary.problems})
            if summary.problems and reject_file is None:
                raise ImportRejected(", ".join(names), summary.problems)
            if reject_file is not None and summary.problems:
                _write_rejects(Path(reject_file), summary.problems, rejected, names)
        finally:
            con.close()
        load.commit(files=names, rejected=summary.rows_rejected,
                    already_stored=summary.already_stored, tcm_rules=summary.specialty_rules,
                    pseudonym_bits=PSEUDONYM_BITS)
    return summary


def _stage_file(path: Path, file_no: int, *, con: duckdb.DuckDBPyConnection,
                ref: checks.Reference, stager: _Stager, summary: IngestSummary,
                rejected: dict[tuple[int, int], dict[str, Any]],
                progress: Progress | None) -> int:
    """Check every batch of one file and stage its good rows; returns the rows read."""
    total, done = _total_rows(path), 0
    position = [0]
    size = path.stat().st_size if path.exists() else 0
    staging: deque[Future[None]] = deque()
    for batch in _read_ahead(_batches(path, position)):
        checked = checks.check_batch(con, batch, ref)
        if checked.bad.any():
            found: dict[int, dict[str, Any]] = {}
            summary.problems.extend(_problems(batch, checked.bad, file=str(path),
                                              first_row=done + 1, rejected=found))
            rejected.update({(file_no, row): given for row, given in found.items()})
        good = checked.good
        if len(good):
            rows = np.flatnonzero(checked.bad == 0).astype(np.int64) + done + 1
            good = good.append_column("_row", pa.array(rows))
            staging.append(stager.submit(good, file_no))
        while len(staging) > 1 or (staging and staging[0].done()):
            staging.popleft().result()
        done += batch.num_rows
        if progress:
            estimate = total or (round(done * size / position[0]) if position[0] else None)
            progress(str(path), done, max(estimate, done) if estimate else None)
    while staging:
        staging.popleft().result()
    if done == 0:
        raise _refuse(path, "has no data rows")
    if progress:
        progress(str(path), done, done)
    return done


def _write_rejects(
    path: Path,
    problems: list[RowProblem],
    rejected: dict[tuple[int, int], dict[str, Any]],
    names: list[str],
) -> None:
    """One line per bad row: where, which fields, why, then the row as given."""
    by_row: dict[tuple[str, int], list[RowProblem]] = {}
    for p in problems:
        by_row.setdefault((p.file, p.row), []).append(p)
    index = {name: i for i, name in enumerate(names)}
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "row", "fields", "reasons", *INPUT_COLUMNS])
        ordered = sorted(by_row.items(), key=lambda kv: (index[kv[0][0]], kv[0][1]))
        for (file, row), found in ordered:
            raw = rejected.get((index[file], row), {})
            given = ["" if pd.isna(raw.get(c)) else raw[c] for c in INPUT_COLUMNS]
            writer.writerow([safe_text(str(v)) for v in (file, row, ";".join(p.field for p in found),
                             "; ".join(p.reason for p in found), *given)])


"""The second half of a load: staged parts, keys repeated within it, keys already stored.

``ingest`` writes each checked batch straight into its final form — one zstd Parquet part per
year in ``staging/<load>/year=…`` with exactly ``STORED_SCHEMA`` — plus a small sidecar per part
(``staging/<load>/rows/``: where each row came from, ``_file`` and ``_row``, and how its
specialty was decided, ``_rule``), in the same row order. When nothing is repeated or already
stored (the usual load) the parts are published as they are: nothing is written twice.
Otherwise only the parts holding such rows are rewritten without them. Years left in many small
parts (a load of many small files) are compacted into one file, sorted by residence.

Everything here is DuckDB over those files with a memory limit and a spill directory, so a load
far larger than memory only needs disk. Repeated keys are found from 64-bit hashes of the key
(one aggregate over integers) and then confirmed on the keys themselves, so the rule stays exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..core.errors import RowProblem
from . import store
from .schema import STORED_COLUMNS, STORED_SCHEMA

if TYPE_CHECKING:
    from .ingest import IngestSummary

#: Parquet dictionary encoding only where values repeat (ids and pseudonyms never do).
_DICTIONARY = ["residence_code", "hospital_code", "principal_diagnosis", "specialty",
               "hospital_region_code"]
#: Min/max statistics for every column but the pseudonyms: random hex, their ranges never let a
#: reader skip a row group, and computing them cost a few per cent of the write.
_STATISTICS = [c for c in STORED_COLUMNS if c != "patient_id"]
#: A year whose parts average fewer rows than this is rewritten as one file.
COMPACT_BELOW = 65_536


@dataclass
class Part:
    path: Path
    year: int
    rows: int


@dataclass
class Staged:
    """The parts a load has written so far (written by one thread at a time)."""

    load: store.Load
    parts: list[Part] = field(default_factory=list)
    tcm_rules: Counter[str] = field(default_factory=Counter)

    @property
    def sidecars(self) -> Path:
        return self.load.staging / "rows"

    def write(self, good: pa.Table, file_no: int) -> None:
        """Stage one batch of checked, pseudonymised rows (stored columns plus ``_row`` and
        ``_rule``): one part per year and its sidecar."""
        self.sidecars.mkdir(exist_ok=True)
        tcm = pc.equal(good["specialty"], "tcm")
        for rule, n in Counter(good.filter(tcm)["_rule"].to_pylist()).items():
            self.tcm_rules[str(rule)] += n
        for year, rows in _by_year(good):
            target = self.load.new_file(year)
            pq.write_table(rows.select(list(STORED_COLUMNS)).cast(STORED_SCHEMA), target,
                           compression="zstd", use_dictionary=_DICTIONARY,
                           write_statistics=_STATISTICS, row_group_size=1 << 18)
            side = pa.table({"_file": pa.array(np.full(len(rows), file_no, np.int32)),
                             "_row": rows["_row"], "_rule": rows["_rule"]})
            # row numbers climb: delta-encoded they take a few bits each (read whole; no stats)
            pq.write_table(side, self.sidecars / target.name, compression="none",
                           use_dictionary=["_file", "_rule"], write_statistics=False,
                           column_encoding={"_row": "DELTA_BINARY_PACKED"})
            self.parts.append(Part(target, year, len(rows)))


def _by_year(good: pa.Table) -> Iterator[tuple[int, pa.Table]]:
    """The rows of each year, in file order within it: one stable sort and one gather, not a
    filter over the whole batch per year."""
    years = good["year"].to_numpy()
    if len(years) and (years == years[0]).all():
        yield int(years[0]), good
        return
    order = np.argsort(years, kind="stable")
    grouped = good.take(pa.array(order))
    bounds = np.flatnonzero(np.diff(years[order])) + 1
    for start, stop in zip([0, *bounds.tolist()], [*bounds.tolist(), len(years)], strict=True):
        yield int(years[order[start]]), grouped.slice(start, stop - start)


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(f"'{p}'" for p in paths) + "]"


def publish(con: duckdb.DuckDBPyConnection, staged: Staged, names: list[str],
            summary: IngestSummary, rejected: dict[tuple[int, int], dict[str, Any]]) -> None:
    """Report keys repeated within the load (the later rows are bad), skip keys already
    stored, and hand the parts to the load for its manifest."""
    load = staged.load
    summary.specialty_rules = dict(sorted(staged.tcm_rules.items()))
    if not staged.parts:
        return
    parts = [p.path for p in staged.parts]
    con.execute(f"""CREATE OR REPLACE TEMP VIEW staged AS
        SELECT k.*, s._file, s._row, s._rule FROM (
            SELECT record_id, hospital_code, specialty, parse_filename(filename) AS part,
                file_row_number AS n
            FROM read_parquet({_files(parts)}, filename = true, file_row_number = true)) k
        JOIN (SELECT parse_filename(filename) AS part, file_row_number AS n, _file, _row, _rule
              FROM read_parquet('{staged.sidecars}/*.parquet', filename = true,
                                file_row_number = true)) s USING (part, n)""")
    con.execute("CREATE OR REPLACE TEMP TABLE excluded (part VARCHAR, n BIGINT, _rule VARCHAR, "
                "specialty VARCHAR)")
    _repeated(con, parts, names, summary, rejected)
    summary.already_stored = _already_stored(con, parts, load.root)
    for rule, n in con.execute("SELECT _rule, count(*) FROM excluded WHERE specialty = 'tcm' "
                               "GROUP BY 1").fetchall():
        summary.specialty_rules[str(rule)] -= int(n)
    summary.specialty_rules = {k: v for k, v in summary.specialty_rules.items() if v}
    kept = _without_excluded(con, staged)
    kept = _compacted(con, load, kept)
    for part in kept:
        if part.rows:
            load.add(part.path, year=part.year, rows=part.rows)
    summary.years = sorted({p.year for p in kept if p.rows})
    summary.rows_loaded = load.rows


def _repeated(con: duckdb.DuckDBPyConnection, parts: list[Path], names: list[str],
              summary: IngestSummary, rejected: dict[tuple[int, int], dict[str, Any]]) -> None:
    """Rows whose key an earlier row of the load already has: reported, kept out."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE repeated_hashes AS
        SELECT hash(record_id, hospital_code) AS h FROM read_parquet({_files(parts)})
        GROUP BY h HAVING count(*) > 1""")
    if not con.execute("SELECT count(*) FROM repeated_hashes").fetchone()[0]:  # type: ignore[index]
        return
    con.execute("""CREATE OR REPLACE TEMP TABLE repeats AS
        SELECT *, row_number() OVER w AS nth, first_value(_file) OVER w AS first_file,
            first_value(_row) OVER w AS first_row
        FROM staged WHERE hash(record_id, hospital_code) IN (SELECT h FROM repeated_hashes)
        WINDOW w AS (PARTITION BY record_id, hospital_code ORDER BY _file, _row)""")
    con.execute("INSERT INTO excluded SELECT part, n, _rule, specialty FROM repeats WHERE nth > 1")
    for file_no, row, f0, r0, record_id, hospital_code in con.execute(
        "SELECT _file, _row, first_file, first_row, record_id, hospital_code FROM repeats "
        "WHERE nth > 1 ORDER BY _file, _row"
    ).fetchall():
        summary.problems.append(RowProblem(
            names[file_no], row, "record_id",
            f"duplicates row {r0} of {names[f0]} (same record_id and hospital_code)"))
        rejected.setdefault((file_no, row),
                            {"record_id": record_id, "hospital_code": hospital_code})


def _already_stored(con: duckdb.DuckDBPyConnection, parts: list[Path], root: Path) -> int:
    """Rows whose key the published dataset already holds: skipped and counted (once per
    key; a repeat of it within the load is reported as a repeat)."""
    stored = store.dataset_files(root)
    if not stored:
        return 0
    con.execute(f"""CREATE OR REPLACE TEMP TABLE old_rows AS
        SELECT part, n, _rule, specialty FROM staged
        SEMI JOIN read_parquet({_files(stored)}) s USING (record_id, hospital_code)
        WHERE (part, n) NOT IN (SELECT (part, n) FROM excluded)""")
    con.execute("INSERT INTO excluded SELECT * FROM old_rows")
    return int(con.execute("SELECT count(*) FROM old_rows").fetchone()[0])  # type: ignore[index]


def _rewrite(con: duckdb.DuckDBPyConnection, load: store.Load, year: int, sql: str) -> Part:
    target = load.new_file(year)
    cols = ", ".join(STORED_COLUMNS)
    result = con.execute(f"COPY (SELECT {cols} FROM ({sql}) ORDER BY residence_code) TO "
                         f"'{target}' (FORMAT parquet, COMPRESSION zstd)").fetchone()
    return Part(target, year, int(result[0]) if result else 0)


def _without_excluded(con: duckdb.DuckDBPyConnection, staged: Staged) -> list[Part]:
    """The parts, those holding excluded rows rewritten without them."""
    touched = {part: n for part, n in con.execute(
        "SELECT part, count(*) FROM excluded GROUP BY part").fetchall()}
    kept = []
    for part in staged.parts:
        if part.path.name not in touched:
            kept.append(part)
            continue
        kept.append(_rewrite(con, staged.load, part.year, f"""
            SELECT * FROM read_parquet('{part.path}', file_row_number = true)
            WHERE file_row_number NOT IN (
                SELECT n FROM excluded WHERE part = '{part.path.name}')"""))
        part.path.unlink()
    return kept


def _compacted(con: duckdb.DuckDBPyConnection, load: store.Load, parts: list[Part]) -> list[Part]:
    """Years spread over many small parts (many small files in one load) as one file."""
    out = []
    for year in sorted({p.year for p in parts}):
        mine = [p for p in parts if p.year == year and p.rows]
        if len(mine) > 1 and sum(p.rows for p in mine) / len(mine) < COMPACT_BELOW:
            out.append(_rewrite(con, load, year, f"SELECT * FROM read_parquet("
                                                 f"{_files([p.path for p in mine])})"))
            for p in mine:
                p.path.unlink()
        else:
            out.extend(mine)
    return out

"""The second half of a load: keys repeated within it, keys already stored, the year files.

Staged rows (``staging/<load>/incoming/year=…/*.parquet``, written by ``ingest``) carry where
they came from (``_file``, ``_row``) and how their specialty was decided (``_rule``). Everything
here is DuckDB over those files with a memory limit and a spill directory, so a load far larger
than memory only needs disk: the repeated keys come from one aggregate, the keys already stored
from one semi-join, and each year is written once, sorted by residence (what the metrics
filter and group on).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..core.errors import RowProblem
from . import store
from .schema import STORED_COLUMNS

if TYPE_CHECKING:
    from .ingest import IngestSummary


def _years(incoming: Path) -> list[int]:
    return sorted(int(p.name.partition("=")[2]) for p in incoming.glob("year=*")
                  if any(p.glob("*.parquet")))


def publish(con: duckdb.DuckDBPyConnection, load: store.Load, incoming: Path, names: list[str],
            summary: IngestSummary, rejected: dict[tuple[int, int], dict[str, Any]]) -> None:
    """Report keys repeated within the load (the later rows are bad), skip keys already
    stored, and stage one Parquet file per year with what is left."""
    years = _years(incoming)
    if not years:
        return
    con.execute(f"""CREATE OR REPLACE TEMP VIEW incoming AS SELECT * FROM read_parquet(
        '{incoming}/year=*/*.parquet', hive_partitioning = false, union_by_name = false)""")
    skip = _repeated(con, names, summary, rejected)
    old = _already_stored(con, load.root)
    (summary.already_stored,) = con.execute("SELECT count(*) FROM old_keys").fetchone() or (0,)
    excluded = [f"ANTI JOIN {t} x USING ({c})" for t, c, n in (
        ("skip_rows", "_file, _row", skip), ("old_keys", "record_id, hospital_code", old)) if n]

    def rows_of(source: str) -> str:
        return f"SELECT i.* FROM {source} i {' '.join(excluded)}"

    # how each loaded row's specialty was decided, for the manifest (TCM figures name it)
    summary.specialty_rules = {str(rule): int(n) for rule, n in con.execute(
        f"SELECT _rule, count(*) FROM ({rows_of('incoming')}) WHERE specialty = 'tcm' "
        "GROUP BY _rule ORDER BY 1").fetchall()}
    cols = ", ".join(STORED_COLUMNS)
    for year in years:
        target = load.new_file(year)
        source = f"read_parquet('{incoming}/year={year}/*.parquet', hive_partitioning = false)"
        result = con.execute(
            f"COPY (SELECT {cols} FROM ({rows_of(source)}) ORDER BY residence_code) "
            f"TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)").fetchone()
        rows = int(result[0]) if result else 0
        if rows:
            load.add(target, year=year, rows=rows)
            summary.years.append(year)
        else:
            target.unlink(missing_ok=True)
    summary.rows_loaded = load.rows


def _repeated(con: duckdb.DuckDBPyConnection, names: list[str], summary: IngestSummary,
              rejected: dict[tuple[int, int], dict[str, Any]]) -> int:
    """Rows whose key an earlier row of the load already has: reported, kept out. Only the
    repeated keys (normally none) are held; finding them is one aggregate that can spill."""
    con.execute("""CREATE OR REPLACE TEMP TABLE repeated_keys AS
        SELECT record_id, hospital_code FROM incoming GROUP BY ALL HAVING count(*) > 1""")
    con.execute("""CREATE OR REPLACE TEMP TABLE skip_rows AS
        SELECT _file, _row, record_id, hospital_code, first_file, first_row FROM (
            SELECT _file, _row, record_id, hospital_code,
                row_number() OVER w AS n, first_value(_file) OVER w AS first_file,
                first_value(_row) OVER w AS first_row
            FROM incoming SEMI JOIN repeated_keys USING (record_id, hospital_code)
            WINDOW w AS (PARTITION BY record_id, hospital_code ORDER BY _file, _row))
        WHERE n > 1""")
    found = con.execute("""SELECT _file, _row, first_file, first_row, record_id, hospital_code
        FROM skip_rows ORDER BY _file, _row""").fetchall()
    for file_no, row, f0, r0, record_id, hospital_code in found:
        summary.problems.append(RowProblem(
            names[file_no], row, "record_id",
            f"duplicates row {r0} of {names[f0]} (same record_id and hospital_code)"))
        rejected.setdefault((file_no, row),
                            {"record_id": record_id, "hospital_code": hospital_code})
    return len(found)


def _already_stored(con: duckdb.DuckDBPyConnection, root: Path) -> int:
    """Keys of this load the published dataset already holds (skipped, counted)."""
    stored = store.dataset_files(root)
    if not stored:
        con.execute("CREATE OR REPLACE TEMP TABLE old_keys (record_id VARCHAR, hospital_code VARCHAR)")
        return 0
    files = ", ".join(f"'{p}'" for p in stored)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE old_keys AS
        SELECT DISTINCT record_id, hospital_code FROM incoming
        SEMI JOIN read_parquet([{files}]) s USING (record_id, hospital_code)""")
    row = con.execute("SELECT count(*) FROM old_keys").fetchone()
    return int(row[0]) if row else 0

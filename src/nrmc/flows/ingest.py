"""Load discharge files (CSV or Parquet) into the flows dataset: validate, pseudonymise, publish.

Rules (docs/flows.md): every row is checked; by default one bad row refuses the whole load and
every problem is reported; with a reject file the good rows land and each bad row is written
there with its reasons. A load of several files is one transaction (see ``store``). Records
already stored under the same ``(record_id, hospital_code)`` are skipped, so re-loading a file
is harmless; the same key twice within one load is a bad row (the later occurrence).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..core.errors import ImportRejected, RowProblem
from ..core.export import safe_text
from ..core.tabular import detect_encoding
from . import store
from .geo import leaf_codes
from .pseudonym import PSEUDONYM_BITS, pseudonymise
from .schema import (
    ADMISSION_ROUTES,
    DISCHARGE_ROUTES,
    ICD10_PATTERN,
    INPUT_COLUMNS,
    MAX_AGE,
    OPTIONAL_INPUT_COLUMNS,
    SEX_CODES,
    SPECIALTIES,
    STORED_COLUMNS,
    STORED_SCHEMA,
    SURGERY_LEVELS,
    TCM_CODE_PATTERN,
    TCM_HOSPITAL_PATTERN,
    resolve_specialty,
)

Progress = Callable[[str, int, int | None], None]
BATCH_ROWS = 256_000


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


def _batches(path: Path) -> Iterator[pd.DataFrame]:
    """Input rows as all-text DataFrames, in batches (so a 10 GB file never sits in memory).
    Text may be UTF-8 (with or without BOM) or GBK/GB18030; anything else is refused by name."""
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            parquet = pq.ParquetFile(path)
            _check_header(path, parquet.schema_arrow.names)
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                yield batch.to_pandas().astype("string")
            return
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
        if not head.strip(b"\xef\xbb\xbf \t\r\n"):
            raise _refuse(path, "is empty")
        encoding = "utf8" if detect_encoding(path, head) == "utf-8-sig" else "gb18030"
        names = pacsv.open_csv(path, read_options=pacsv.ReadOptions(
            block_size=1 << 16, encoding=encoding)).schema.names
        _check_header(path, names)
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 24, encoding=encoding),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False
            ),
        )
        for batch in reader:
            yield batch.to_pandas().astype("string")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise _refuse(path, "does not exist") from exc
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        kind = "Parquet" if path.suffix.lower() in {".parquet", ".pq"} else "CSV"
        raise _refuse(path, f"cannot be read as {kind}: {first}") from exc


def _total_rows(path: Path) -> int | None:
    if path.suffix.lower() in {".parquet", ".pq"}:
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowInvalid, OSError):
            return None  # _batches refuses the file, naming it
    return None


def _number(text: pd.Series) -> pd.Series:
    """Parse text as float64 with NaN for anything unparsable (never pandas NA, which
    would poison the boolean masks)."""
    num = pd.to_numeric(text.str.strip(), errors="coerce")
    return pd.Series(num.to_numpy(dtype="float64", na_value=np.nan), index=text.index)


def _integer(text: pd.Series) -> pd.Series:
    num = _number(text)
    return num.where(num == np.floor(num))


def _date(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text.str.strip(), format="%Y-%m-%d", errors="coerce")


def validate(
    frame: pd.DataFrame, ref: Reference, *, file: str, first_row: int
) -> tuple[pd.DataFrame, list[RowProblem]]:
    """Check one batch; return the good rows in stored form (raw patient_id still in place)
    and one :class:`RowProblem` per failed check. Row numbers are 1-based data rows."""
    f = frame.reindex(columns=INPUT_COLUMNS).fillna("")
    checks: list[tuple[str, str, np.ndarray]] = []

    def bad(column: str, reason: str, mask: pd.Series | np.ndarray) -> None:
        checks.append((column, reason, np.asarray(mask, dtype=bool)))

    for column in ("record_id", "patient_id"):
        text = f[column].str.strip()
        bad(column, "is empty", text == "")
        bad(column, "is longer than 64 characters", text.str.len() > 64)
    residence = f["residence_code"].str.strip()
    bad("residence_code", "is not a known county (finest division) code",
        ~residence.isin(ref.residences))
    hospital = f["hospital_code"].str.strip()
    bad("hospital_code", "is not a registered hospital with a known division",
        ~hospital.isin(ref.hospital_region))
    admitted, discharged = _date(f["admission_date"]), _date(f["discharge_date"])
    bad("admission_date", "is not an ISO date (YYYY-MM-DD)", admitted.isna())
    bad("discharge_date", "is not an ISO date (YYYY-MM-DD)", discharged.isna())
    bad("discharge_date", "is before admission_date", discharged < admitted)
    age = _integer(f["age"])
    bad("age", f"is not a whole number of years 0–{MAX_AGE}", ~age.between(0, MAX_AGE))
    for column, allowed in (
        ("sex", SEX_CODES),
        ("surgery_level", SURGERY_LEVELS),
        ("admission_route", ADMISSION_ROUTES),
        ("discharge_route", DISCHARGE_ROUTES),
    ):
        value = _integer(f[column])
        bad(column, f"is not one of {sorted(allowed)}", ~value.isin(allowed))
    diagnosis = f["principal_diagnosis"].str.strip().str.upper()
    bad("principal_diagnosis", "is not an ICD-10 code (e.g. I21.0)",
        ~diagnosis.str.match(ICD10_PATTERN).fillna(False))
    specialty = f["specialty"].str.strip()
    bad("specialty", "is not a known specialty", (specialty != "") & ~specialty.isin(SPECIALTIES))
    tcm_code = f["tcm_diagnosis"].str.strip().str.upper()
    bad("tcm_diagnosis", "is not a GB/T 15657 TCM disease or syndrome code (e.g. BNG010, A03.06.01)",
        (tcm_code != "") & ~tcm_code.str.match(TCM_CODE_PATTERN).fillna(False))
    cost = _number(f["total_cost"])
    bad("total_cost", "is not a non-negative amount in yuan", ~(cost >= 0))

    problems: list[RowProblem] = []
    any_bad = np.zeros(len(f), dtype=bool)
    for column, reason, mask in checks:
        any_bad |= mask
        for i in np.flatnonzero(mask):
            value = f[column].iloc[i]
            problems.append(RowProblem(file, first_row + int(i), column, f"{value!r} {reason}"))
    problems.sort(key=lambda p: p.row)
    good = ~any_bad
    resolved, rule = resolve_specialty(specialty[good], tcm_code[good],
                                       hospital[good].isin(ref.tcm_hospitals), diagnosis[good],
                                       age[good])
    out = pd.DataFrame(
        {
            "record_id": f["record_id"].str.strip()[good],
            "patient_id": f["patient_id"].str.strip()[good],
            "residence_code": residence[good],
            "hospital_code": hospital[good],
            "admission_date": admitted[good].dt.date,
            "discharge_date": discharged[good].dt.date,
            "age": age[good].astype("int16"),
            "sex": _integer(f["sex"])[good].astype("int8"),
            "principal_diagnosis": diagnosis[good],
            "specialty": resolved,
            "surgery_level": _integer(f["surgery_level"])[good].astype("int8"),
            "admission_route": _integer(f["admission_route"])[good].astype("int8"),
            "discharge_route": _integer(f["discharge_route"])[good].astype("int8"),
            "total_cost": cost[good].astype("float64"),
            "hospital_region_code": hospital[good].map(ref.hospital_region),
            "year": discharged[good].dt.year.astype("int16"),
        }
    )
    out["_row"] = np.flatnonzero(good).astype(np.int64) + first_row
    out["_rule"] = rule.to_numpy(dtype=object)
    return out, problems


def _stored_table(good: pd.DataFrame, key: str, file_no: int) -> pa.Table:
    """Pseudonymise and type one batch of good rows (plus the bookkeeping columns)."""
    good = good.copy()
    good["patient_id"] = pseudonymise(good["patient_id"].to_numpy(), key)
    table = pa.Table.from_pandas(good[list(STORED_COLUMNS)], schema=STORED_SCHEMA,
                                 preserve_index=False)
    table = table.append_column("_file", pa.array(np.full(len(good), file_no, np.int32)))
    table = table.append_column("_rule", pa.array(good["_rule"].astype(str).tolist(), pa.string()))
    return table.append_column("_row", pa.array(good["_row"].to_numpy(np.int64)))


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
    with store.writing(root) as load:
        incoming = load.staging / "incoming"
        incoming.mkdir()
        rejected: dict[tuple[int, int], dict[str, str]] = {}
        for file_no, path in enumerate(map(Path, paths)):
            total, done = _total_rows(path), 0
            for frame in _batches(path):
                good, problems = validate(frame, ref, file=str(path), first_row=done + 1)
                for p in problems:
                    rejected.setdefault((file_no, p.row), frame.iloc[p.row - done - 1].to_dict())
                summary.problems.extend(problems)
                if len(good):
                    pq.write_table(_stored_table(good, pseudonym_key, file_no),
                                   incoming / f"{file_no:04d}-{done:012d}.parquet")
                done += len(frame)
                if progress:
                    progress(str(path), done, total)
            if done == 0:
                raise _refuse(path, "has no data rows")
            summary.rows_read += done
        store._checkpoint("validated")
        _load_incoming(load, incoming, names, summary, rejected)
        summary.rows_rejected = len({(p.file, p.row) for p in summary.problems})
        if summary.problems and reject_file is None:
            raise ImportRejected(", ".join(names), summary.problems)
        if reject_file is not None and summary.problems:
            _write_rejects(Path(reject_file), summary.problems, rejected, names)
        load.commit(files=names, rejected=summary.rows_rejected,
                    already_stored=summary.already_stored, tcm_rules=summary.specialty_rules,
                    pseudonym_bits=PSEUDONYM_BITS)
    return summary


def _load_incoming(
    load: store.Load,
    incoming: Path,
    names: list[str],
    summary: IngestSummary,
    rejected: dict[tuple[int, int], dict[str, str]],
) -> None:
    """Drop keys repeated within the load (reported) and keys already stored (skipped);
    stage the rest as one Parquet file per year."""
    if not any(incoming.iterdir()):
        return
    con = duckdb.connect()
    con.execute(f"SET temp_directory='{load.staging / 'spill'}'")
    con.execute(f"""CREATE TEMP VIEW incoming AS SELECT *, row_number() OVER (
        PARTITION BY record_id, hospital_code ORDER BY _file, _row) AS _n,
        first_value(_file) OVER (PARTITION BY record_id, hospital_code ORDER BY _file, _row) AS _f0,
        first_value(_row) OVER (PARTITION BY record_id, hospital_code ORDER BY _file, _row) AS _r0
        FROM read_parquet('{incoming}/*.parquet')""")
    for file_no, row, f0, r0, record_id, hospital_code in con.execute(
        "SELECT _file, _row, _f0, _r0, record_id, hospital_code FROM incoming WHERE _n > 1 "
        "ORDER BY _file, _row"
    ).fetchall():
        summary.problems.append(RowProblem(
            names[file_no], row, "record_id",
            f"duplicates row {r0} of {names[f0]} (same record_id and hospital_code)"))
        rejected.setdefault((file_no, row),
                            {"record_id": record_id, "hospital_code": hospital_code})
    stored = store.dataset_files(load.root)
    exists = "FALSE"
    if stored:
        files = ", ".join(f"'{p}'" for p in stored)
        exists = (f"EXISTS (SELECT 1 FROM read_parquet([{files}]) s "
                  "WHERE s.record_id = i.record_id AND s.hospital_code = i.hospital_code)")
    cols = ", ".join(STORED_COLUMNS)
    con.execute(f"CREATE TEMP TABLE fresh AS SELECT {cols}, _rule, {exists} AS _old "
                "FROM incoming i WHERE _n = 1")
    # how each loaded row's specialty was decided, for the manifest (TCM figures name it)
    summary.specialty_rules = {str(rule): int(n) for rule, n in con.execute(
        "SELECT _rule, count(*) FROM fresh WHERE NOT _old AND specialty = 'tcm' "
        "GROUP BY _rule ORDER BY 1").fetchall()}
    (summary.already_stored,) = con.execute(
        "SELECT count(*) FROM fresh WHERE _old").fetchone() or (0,)
    for year, rows in con.execute(
        "SELECT year, count(*) FROM fresh WHERE NOT _old GROUP BY year ORDER BY year"
    ).fetchall():
        target = load.new_file(int(year))
        con.execute(f"COPY (SELECT {cols} FROM fresh WHERE NOT _old AND year = {year} "
                    f"ORDER BY residence_code) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        load.add(target, year=int(year), rows=int(rows))
        summary.years.append(int(year))
    summary.rows_loaded = load.rows
    con.close()


def _write_rejects(
    path: Path,
    problems: list[RowProblem],
    rejected: dict[tuple[int, int], dict[str, str]],
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

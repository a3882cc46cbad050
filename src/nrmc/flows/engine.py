"""The one place that connects to an engine and executes flow metrics.

``metrics`` describes queries; this module opens the dataset (the files the manifest names),
ships the small ``units`` lookup, runs an expression on DuckDB (default, in-process,
out-of-core) or Spark (``engine="spark"``, ``spark_master`` e.g. ``local[2]`` or
``spark://host:7077``) and returns a pandas DataFrame sorted by its keys, so that results from
the two engines compare equal row for row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from ..core.errors import NotFound
from . import metrics, store
from .geo import names_table, units_table

EngineName = Literal["duckdb", "spark"]


def spark_session(master: str = "local[2]", *, shuffle_partitions: int | None = None) -> Any:
    """A (shared) SparkSession. In local mode use few shuffle partitions (the default 200
    makes small aggregations crawl) and a JVM tuned for short jobs; on a cluster keep
    Spark's defaults unless told otherwise."""
    from pyspark.sql import SparkSession

    local = master.startswith("local")
    builder = (
        SparkSession.builder.master(master)
        .appName("nrmc-flows")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # lookup tables are shipped from pandas; Arrow makes that a bulk copy
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    partitions = shuffle_partitions or (2 if local else None)
    if partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    if local:
        builder = builder.config(
            "spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
        ).config("spark.sql.adaptive.coalescePartitions.enabled", "true")
    return builder.getOrCreate()


def connect(engine: EngineName = "duckdb", *, spark_master: str = "local[2]") -> Any:
    """An Ibis backend for ``engine``; reuse it across calls with ``backend=``."""
    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "spark":
        return ibis.pyspark.connect(spark_session(spark_master))
    raise ValueError(f"engine must be duckdb or spark, not {engine!r}")


def discharges(backend: Any, dataset_dir: Path, *, years: Sequence[int] | None = None) -> ir.Table:
    """The published dataset as an Ibis table (only the manifest's files; see ``store``)."""
    files = [str(p) for p in store.dataset_files(Path(dataset_dir), years=list(years or []))]
    if not files:
        raise NotFound(f"no discharges loaded in {dataset_dir}" +
                       (f" for {', '.join(map(str, years))}" if years else ""))
    if backend.name == "pyspark":
        view = f"discharges_{uuid.uuid4().hex[:12]}"
        backend._session.read.parquet(*files).createOrReplaceTempView(view)
        table = backend.table(view)
    else:
        # the year is a column in every file; don't let DuckDB re-derive it from the
        # year=YYYY directory names (hive partitioning) and hide a mismatch
        table = backend.read_parquet(files, hive_partitioning=False)
    if years:
        table = table.filter(table.year.isin(list(years)))
    return table


def _run(
    build: Callable[[ir.Table, ir.Table], ir.Table],
    dataset_dir: Path,
    regions: pd.DataFrame,
    *,
    keys: list[str],
    years: Sequence[int] | None,
    engine: EngineName,
    spark_master: str,
    backend: Any | None,
) -> pd.DataFrame:
    con = backend if backend is not None else connect(engine, spark_master=spark_master)
    table = discharges(con, dataset_dir, years=years)
    units = ibis.memtable(units_table(regions))
    frame = con.execute(build(table, units))
    frame = frame.sort_values(keys, na_position="first").reset_index(drop=True)
    for column in frame.columns:
        if pd.api.types.is_integer_dtype(frame[column]):
            frame[column] = frame[column].astype("int64")
        elif pd.api.types.is_float_dtype(frame[column]):
            frame[column] = frame[column].astype("float64")
        else:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def _label(frame: pd.DataFrame, regions: pd.DataFrame, column: str, as_: str) -> pd.DataFrame:
    names = dict(zip(names_table(regions)["code"], names_table(regions)["name_zh"], strict=True))
    position = frame.columns.get_loc(column) + 1
    frame.insert(position, as_, frame[column].map(names).astype(object))
    frame[as_] = frame[as_].where(frame[as_].notna(), None)
    return frame


def run_outflow(
    dataset_dir: Path,
    regions: pd.DataFrame,
    *,
    level: str = "province",
    by_specialty: bool = False,
    years: Sequence[int] | None = None,
    engine: EngineName = "duckdb",
    spark_master: str = "local[2]",
    backend: Any | None = None,
) -> pd.DataFrame:
    """Outflow report (``metrics.outflow``) with ``region_name`` after ``region``."""
    frame = _by_region(metrics.outflow, dataset_dir, regions, level=level,
                       by_specialty=by_specialty, years=years, engine=engine,
                       spark_master=spark_master, backend=backend)
    return frame[OUTFLOW_COLUMNS]


def _by_region(metric: Callable[..., ir.Table], dataset_dir: Path, regions: pd.DataFrame, *,
               level: str, by_specialty: bool, years: Sequence[int] | None,
               engine: EngineName, spark_master: str, backend: Any | None) -> pd.DataFrame:
    """A metric by region (and specialty) at `level`, run and labelled with region names."""
    frame = _run(
        lambda d, u: metric(d, u, level=level, by_specialty=by_specialty),
        dataset_dir, regions, keys=["region", "year", "specialty"], years=years,
        engine=engine, spark_master=spark_master, backend=backend,
    )
    return _label(frame, regions, "region", "region_name")


OUTFLOW_COLUMNS = [
    "region", "region_name", "year", "specialty", "discharges", "treated_outside",
    "outflow_rate", "top_destination", "top_destination_share",
]


def run_matrix(
    dataset_dir: Path,
    regions: pd.DataFrame,
    *,
    origin_level: str = "province",
    destination_level: str = "province",
    by_specialty: bool = False,
    years: Sequence[int] | None = None,
    engine: EngineName = "duckdb",
    spark_master: str = "local[2]",
    backend: Any | None = None,
) -> pd.DataFrame:
    """Origin–destination matrix in long form (``metrics.flow_matrix``) with names."""
    frame = _run(
        lambda d, u: metrics.flow_matrix(d, u, origin_level=origin_level,
                                         destination_level=destination_level,
                                         by_specialty=by_specialty),
        dataset_dir, regions, keys=["origin", "destination", "year", "specialty"], years=years,
        engine=engine, spark_master=spark_master, backend=backend,
    )
    frame = _label(frame, regions, "origin", "origin_name")
    frame = _label(frame, regions, "destination", "destination_name")
    return frame[["origin", "origin_name", "destination", "destination_name", "year",
                  "specialty", "discharges"]]


def run_within_county(
    dataset_dir: Path,
    regions: pd.DataFrame,
    *,
    level: str = "county",
    include_districts: bool = False,
    years: Sequence[int] | None = None,
    engine: EngineName = "duckdb",
    spark_master: str = "local[2]",
    backend: Any | None = None,
) -> pd.DataFrame:
    """县域内就诊率 (``metrics.within_county``: counties and county-level cities) with names."""
    frame = _run(lambda d, u: metrics.within_county(d, u, level=level,
                                                    include_districts=include_districts),
                 dataset_dir, regions, keys=["region", "year"],
                 years=years, engine=engine, spark_master=spark_master, backend=backend)
    frame = _label(frame, regions, "region", "region_name")
    return frame[["region", "region_name", "county_kind", "year", "discharges", "treated_within",
                  "within_rate"]]


def run_reach(
    dataset_dir: Path,
    regions: pd.DataFrame,
    *,
    hospitals: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
    engine: EngineName = "duckdb",
    spark_master: str = "local[2]",
    backend: Any | None = None,
) -> pd.DataFrame:
    """Hospitals' reach (``metrics.reach``), optionally only some hospital codes."""
    wanted = list(hospitals or [])

    def build(d: ir.Table, u: ir.Table) -> ir.Table:
        if wanted:
            d = d.filter(d.hospital_code.isin(wanted))
        return metrics.reach(d, u)

    return _run(build, dataset_dir, regions, keys=["hospital_code", "year"], years=years,
                engine=engine, spark_master=spark_master, backend=backend)


def run_level4(
    dataset_dir: Path,
    regions: pd.DataFrame,
    *,
    by: str = "hospital",
    years: Sequence[int] | None = None,
    engine: EngineName = "duckdb",
    spark_master: str = "local[2]",
    backend: Any | None = None,
) -> pd.DataFrame:
    """Grade-4 surgery share by hospital or region of the hospital (``metrics.level4_share``)."""
    frame = _run(lambda d, u: metrics.level4_share(d, u, by=by), dataset_dir, regions,
                 keys=["unit", "year"], years=years, engine=engine,
                 spark_master=spark_master, backend=backend)
    if by != "hospital":
        frame = _label(frame, regions, "unit", "unit_name")
    return frame


def run_transfers(
    dataset_dir: Path,
    regions: pd.DataFrame,
    *,
    level: str = "province",
    by_specialty: bool = False,
    years: Sequence[int] | None = None,
    engine: EngineName = "duckdb",
    spark_master: str = "local[2]",
    backend: Any | None = None,
) -> pd.DataFrame:
    """Transfers out / referrals in by the treating hospital's unit (``metrics.transfers``)."""
    return _by_region(metrics.transfers, dataset_dir, regions, level=level,
                      by_specialty=by_specialty, years=years, engine=engine,
                      spark_master=spark_master, backend=backend)


def run_demand(
    dataset_dir: Path,
    regions: pd.DataFrame,
    *,
    years: Sequence[int] | None = None,
    engine: EngineName = "duckdb",
    spark_master: str = "local[2]",
    backend: Any | None = None,
) -> pd.DataFrame:
    """Demand by county of residence × specialty (``metrics.demand``), the planning input."""
    frame = _run(metrics.demand, dataset_dir, regions, keys=["region", "year", "specialty"],
                 years=years, engine=engine, spark_master=spark_master, backend=backend)
    return _label(frame, regions, "region", "region_name")

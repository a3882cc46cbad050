"""Outflow by province × specialty × year: nrmc (Ibis on DuckDB) vs hand-written DuckDB SQL
vs pandas, on the same synthetic Parquet dataset, in one run.

    python benchmarks/flows_outflow.py --rows 50000000 --years 2018-2024

Every run is a fresh process (so peak RSS is its own). nrmc and the hand-written SQL run
``--repeat`` times each, interleaved, so background load hits both alike; pandas runs once. The
table shows the best and the median wall time, rows/s (best), the largest peak RSS and the
ratio of best times to hand-written SQL. All results are checked equal before printing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nrmc.flows import engine, store  # noqa: E402
from nrmc.flows.geo import load_regions, units_table  # noqa: E402
from nrmc.flows.synth import write_synthetic_dataset  # noqa: E402

KEYS = ["region", "year", "specialty"]

HAND_SQL = """
WITH pairs AS (
    SELECT o.province AS region, t.year, t.specialty, d.province AS destination, count(*) AS n
    FROM read_parquet($files, hive_partitioning = false) t
    JOIN units o ON o.code = t.residence_code
    JOIN units d ON d.code = t.hospital_region_code
    GROUP BY ALL
), ranked AS (
    SELECT *,
        sum(n) OVER w AS discharges,
        sum(CASE WHEN destination <> region THEN n ELSE 0 END) OVER w AS treated_outside,
        row_number() OVER (PARTITION BY region, year, specialty
                           ORDER BY destination <> region DESC, n DESC, destination) AS rk
    FROM pairs WINDOW w AS (PARTITION BY region, year, specialty)
)
SELECT region, year, specialty, discharges, treated_outside,
    treated_outside / discharges AS outflow_rate,
    CASE WHEN destination <> region THEN destination END AS top_destination,
    CASE WHEN destination <> region THEN n / treated_outside END AS top_destination_share
FROM ranked WHERE rk = 1
"""


def demo_hospitals(regions: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """A network shaped like the registry's demo one: 3,275 tertiary (prefecture seats,
    more in capitals), 10,848 secondary and 12,649 primary hospitals spread by population."""
    rng = np.random.default_rng(seed)
    prefecture = units_table(regions).set_index("code")["prefecture"].to_dict()
    leaves = regions[regions["leaf"].astype(int) == 1].reset_index(drop=True)
    weight = leaves["population"].fillna(0).to_numpy(float)
    rows = []
    for tier, count, beds in (("secondary", 10_848, (150, 800)), ("primary", 12_649, (20, 100))):
        where = rng.choice(len(leaves), size=count, p=weight / weight.sum())
        rows += [(f"{tier[0].upper()}{i:05d}", leaves.at[j, "code"], tier,
                  int(rng.integers(*beds))) for i, j in enumerate(where)]
    seats: dict[str, str] = {}
    for code in leaves["code"]:
        seats.setdefault(prefecture[code], code)
    seat_codes = np.array(list(seats.values()))
    capital = np.array([c[2:4] == "01" or c[:2] in {"11", "12", "31", "50"} for c in seat_codes])
    pick = rng.choice(len(seat_codes), size=3_275, p=np.where(capital, 6.0, 1.0) / np.where(
        capital, 6.0, 1.0).sum())
    rows += [(f"T{i:05d}", seat_codes[j], "tertiary", int(rng.integers(600, 3500)))
             for i, j in enumerate(pick)]
    return pd.DataFrame(rows, columns=["code", "region_code", "tier", "beds"])


def run_nrmc(root: Path) -> pd.DataFrame:
    frame = engine.run_outflow(root, load_regions(), level="province", by_specialty=True)
    return frame.drop(columns="region_name")


def run_sql(root: Path) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    units = units_table(load_regions())  # noqa: F841 - read by DuckDB's replacement scan
    files = [str(p) for p in store.dataset_files(root)]
    return con.execute(HAND_SQL, {"files": files}).df()


def run_pandas(root: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    units = units_table(load_regions()).set_index("code")["province"]
    cols = ["residence_code", "hospital_region_code", "year", "specialty"]
    d = pd.concat([pq.read_table(p, columns=cols).to_pandas() for p in store.dataset_files(root)],
                  ignore_index=True)
    d["region"] = d["residence_code"].map(units)
    d["destination"] = d["hospital_region_code"].map(units)
    pairs = d.groupby(["region", "year", "specialty", "destination"]).size().rename("n")
    pairs = pairs.reset_index()
    pairs["outside"] = pairs["destination"] != pairs["region"]
    g = pairs.groupby(KEYS)
    pairs["discharges"] = g["n"].transform("sum")
    pairs["treated_outside"] = pairs["n"].where(pairs["outside"], 0).groupby(
        [pairs[k] for k in KEYS]).transform("sum")
    pairs = pairs.sort_values([*KEYS, "outside", "n", "destination"],
                              ascending=[True, True, True, False, False, True])
    first = pairs.drop_duplicates(KEYS).copy()
    first["outflow_rate"] = first["treated_outside"] / first["discharges"]
    first["top_destination"] = first["destination"].where(first["outside"])
    first["top_destination_share"] = (first["n"] / first["treated_outside"]).where(
        first["outside"])
    return first[[*KEYS, "discharges", "treated_outside", "outflow_rate", "top_destination",
                  "top_destination_share"]]


IMPLEMENTATIONS = {"nrmc (Ibis → DuckDB)": run_nrmc, "hand-written DuckDB SQL": run_sql,
                   "pandas": run_pandas}


def _child(name: str, root: str, repeat: int, queue: mp.Queue) -> None:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = IMPLEMENTATIONS[name](Path(root))
        times.append(time.perf_counter() - began)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((times, peak_kb * 1024, normalise(result)))


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.sort_values(KEYS).reset_index(drop=True)
    for c in ("year", "discharges", "treated_outside"):
        frame[c] = frame[c].astype("int64")
    for c in ("region", "specialty", "top_destination"):
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame[[*KEYS, "discharges", "treated_outside", "outflow_rate", "top_destination",
                  "top_destination_share"]]


def measure(name: str, root: Path, repeat: int) -> tuple[list[float], int, pd.DataFrame]:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, str(root), repeat, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--years", default="2018-2024")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="reuse/keep the dataset here")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pandas", action="store_true", help="skip pandas (huge runs)")
    args = parser.parse_args()
    lo, _, hi = args.years.partition("-")
    years = list(range(int(lo), int(hi or lo) + 1))
    root = args.dir or Path(tempfile.mkdtemp(prefix="nrmc-bench-")) / "flows"
    if store.read_manifest(root).rows != args.rows:
        regions = load_regions()
        began = time.perf_counter()
        summary = write_synthetic_dataset(
            root, regions=regions, hospitals=demo_hospitals(regions), projects=pd.DataFrame(),
            rows=args.rows, years=years, seed=args.seed, pseudonym_key="benchmark-key",
            progress=lambda d, t: print(f"\rgenerating {d:,}/{t:,}", end="", file=sys.stderr))
        print(f"\ngenerated {args.rows:,} rows in {time.perf_counter() - began:.1f}s "
              f"(tertiary {summary['tertiary_share']:.1%}, cross-province "
              f"{summary['cross_province_share']:.1%})", file=sys.stderr)
    size = sum(p.stat().st_size for p in store.dataset_files(root))
    names = [n for n in IMPLEMENTATIONS if not (n == "pandas" and args.no_pandas)]
    plan = [n for _ in range(args.repeat) for n in names if n != "pandas"]
    plan += ["pandas"] if "pandas" in names else []
    times: dict[str, list[float]] = {n: [] for n in names}
    peaks: dict[str, int] = dict.fromkeys(names, 0)
    frames: dict[str, pd.DataFrame] = {}
    for name in plan:
        print(f"running {name} …", file=sys.stderr)
        elapsed, peak, frames[name] = measure(name, root, 1)
        times[name] += elapsed
        peaks[name] = max(peaks[name], peak)
    reference = frames["hand-written DuckDB SQL"]
    for frame in frames.values():
        pd.testing.assert_frame_equal(frame, reference, check_exact=False, rtol=1e-12)
    base = min(times["hand-written DuckDB SQL"])
    print(f"\n{args.rows:,} discharges, years {years[0]}–{years[-1]}, "
          f"{size / 1e9:.2f} GB Parquet, {len(reference):,} result rows; "
          f"{args.repeat} interleaved runs each (pandas: 1)\n")
    print("| implementation | best s | median s | rows/s (best) | peak RSS | × hand-written SQL |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        best, median = min(times[name]), statistics.median(times[name])
        print(f"| {name} | {best:.2f} | {median:.2f} | {args.rows / best / 1e6:.1f} M "
              f"| {peaks[name] / 2**30:.2f} GiB | {best / base:.2f} |")
    if "pandas" in names:
        speedup = min(times["pandas"]) / min(times["nrmc (Ibis → DuckDB)"])
        print(f"\nnrmc is {speedup:.1f}× faster than pandas")


if __name__ == "__main__":
    main()

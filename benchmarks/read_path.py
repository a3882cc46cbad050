"""What one read-cache miss costs, endpoint by endpoint: SQL statements and server CPU.

The read endpoints of the realistic mix (benchmarks/web_mix.py), asked in process (no network,
no load generator) with the read cache off, by a national, a provincial and a hospital user
of the demo workspace. For each endpoint and user it prints the SQL statements one request
runs (a `before_cursor_execute` listener) and the CPU milliseconds per request (the least of
`--repeat` requests after one warm-up, `time.process_time` of this process, its threads
included: the least because other jobs on a shared machine only ever add to it). The figure
to compare is the same endpoint before and after a change, in the same sitting;
`--baseline FILE` prints the earlier run's figures beside this one's (`--save` writes them).

Run: python benchmarks/read_path.py --home /tmp/pages-demo [--repeat 5] [--only outflow]
(a copy of the demo workspace: `nrmc demo` builds one; nothing is written to it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

PASSWORD = "nrmc-demo-2024"
USERS = ("admin", "gansu", "jiuquan")  # national, provincial, project hospital


def paths(province: str, project: int, alliance: int, hospital: str) -> list[tuple[str, str, str]]:
    """(name, kind, path): kind is api (bearer token) or page (session cookie)."""
    return [
        ("outflow county all", "api", f"/api/v1/metrics/outflow?level=county&by=specialty"
                                      f"&region={province}&limit=50"),
        ("outflow county each", "api", f"/api/v1/metrics/outflow?level=county&specialty=each"
                                       f"&within={province[:2]}&limit=50"),
        ("outflow province", "api", "/api/v1/metrics/outflow?level=province"),
        ("metrics/programme", "api", "/api/v1/metrics/programme"),
        ("projects list", "api", "/api/v1/projects?limit=50"),
        ("project", "api", f"/api/v1/projects/{project}"),
        ("project kpis", "api", f"/api/v1/projects/{project}/kpis"),
        ("project kpis/trend", "api", f"/api/v1/projects/{project}/kpis/trend"),
        ("project dispatches", "api", f"/api/v1/projects/{project}/dispatches"),
        ("project technologies", "api", f"/api/v1/projects/{project}/technologies"),
        ("project visits", "api", f"/api/v1/projects/{project}/visits"),
        ("hospitals in region", "api", f"/api/v1/hospitals?region={province}&limit=50"),
        ("hospital", "api", f"/api/v1/hospitals/{hospital}"),
        ("region", "api", f"/api/v1/regions/{province}"),
        ("region children", "api", f"/api/v1/regions/{province}/children"),
        ("regions provinces", "api", "/api/v1/regions?level=province"),
        ("alliances", "api", "/api/v1/alliances"),
        ("alliance", "api", f"/api/v1/alliances/{alliance}"),
        ("page /", "page", "/"),
        ("page /projects", "page", "/projects"),
        ("page /projects/{id}", "page", f"/projects/{project}"),
        ("page /regions/{province}", "page", f"/regions/{province}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help="a demo workspace (a copy)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="endpoints whose name contains this")
    parser.add_argument("--save", type=Path, default=None, help="write the figures (JSON)")
    parser.add_argument("--baseline", type=Path, default=None, help="an earlier --save file")
    args = parser.parse_args()
    os.environ["NRMC_HOME"] = str(args.home)
    os.environ["NRMC_READ_CACHE_ENTRIES"] = "0"
    os.environ.pop("NRMC_DATABASE_URL", None)

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from nrmc.config import load_settings
    from nrmc.web import create_app

    settings = load_settings().model_copy(update={"env": "test"})  # no warm-up thread
    app = create_app(settings)
    statements = [0]

    @event.listens_for(app.state.engine, "before_cursor_execute")
    def _count(*_: object) -> None:
        statements[0] += 1

    client = TestClient(app)
    started = time.process_time()
    with app.state.sessionmaker() as session:
        app.state.outflow.sliced(session, level="province")
    print(f"outflow tables prepared once per dataset version: "
          f"{time.process_time() - started:.1f} s CPU\n")

    baseline = json.loads(args.baseline.read_text()) if args.baseline else {}
    figures: dict[str, list[float]] = {}
    header = "| endpoint | user | status | SQL statements | CPU ms |"
    rule = "|---|---|---:|---:|---:|"
    if baseline:
        header += " baseline SQL | baseline CPU ms |"
        rule += "---:|---:|"
    print(header)
    print(rule)
    for name in USERS:
        api, page = sign_in(client, name)
        mine = client.get("/api/v1/projects?limit=5", headers=api).json()["items"]
        project = mine[0]["id"] if mine else 1
        province = str(mine[0]["province_code"]) if mine else "620000"
        hospital = mine[0]["project_hospital"]["code"] if mine else "H0"
        allied = client.get("/api/v1/alliances", headers=api).json().get("items", [])
        alliance = allied[0]["id"] if allied else 1
        for label, kind, path in paths(province, project, alliance, hospital):
            if args.only and args.only not in label:
                continue
            headers = api if kind == "api" else page
            status = client.get(path, headers=headers).status_code  # warm-up
            cpu, counts = [], []
            for _ in range(args.repeat):
                statements[0] = 0
                t0 = time.process_time()
                client.get(path, headers=headers)
                cpu.append((time.process_time() - t0) * 1000)
                counts.append(statements[0])
            key = f"{label} | {name}"
            figures[key] = [max(counts), min(cpu)]
            line = f"| {label} | {name} | {status} | {max(counts)} | {min(cpu):.1f} |"
            if baseline:
                old = baseline.get(key)
                line += (f" {old[0]} | {old[1]:.1f} |" if old else " – | – |")
            print(line, flush=True)
    if args.save:
        args.save.write_text(json.dumps(figures, indent=1))


def sign_in(client: object, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """Bearer headers for the API and cookie headers for the pages of one demo user."""
    token = client.post("/api/v1/auth/token",  # type: ignore[attr-defined]
                        data={"username": name, "password": PASSWORD}).json()["access_token"]
    client.cookies.clear()  # type: ignore[attr-defined]
    form = client.get("/login").text  # type: ignore[attr-defined]
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    if found is None:
        sys.exit("no login form")
    client.post("/login", data={"username": name, "password": PASSWORD,  # type: ignore[attr-defined]
                                "csrf_token": found.group(1)}, follow_redirects=False)
    cookie = client.cookies.get("nrmc_session")  # type: ignore[attr-defined]
    client.cookies.clear()  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}, {"Cookie": f"nrmc_session={cookie}"}


if __name__ == "__main__":
    main()

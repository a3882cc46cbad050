"""Realistic load benchmark of the web platform: many users of every role, pages, API and writes.

What a working day looks like, not one user replaying six cached URLs: 22 users of every role
and scope (national admins and analysts, provincial officers of six provinces, hospital
managers of six project hospitals, clinicians), each signed in with a token (API) and a session
cookie (pages); 30 endpoints (JSON reads, HTML pages and, about 5 % of requests, writes:
referrals requested and answered); every id in a request drawn from what that user can see
(listed through the API at start). Closed loop: each client sends its next request when the
previous one is answered. Loopback only, bounded in time and request count.

Prints, per run (clients × cache on/off): throughput, p50/p95/p99 overall and per endpoint,
errors by class (4xx other than the expected 403/404 of probes, 5xx, timeouts) and the server's
CPU seconds per request (all server processes, from /proc).

Run: python benchmarks/web_mix.py [--clients 10 50] [--seconds 20] [--workers N] [--home DIR]
     [--settle S] [--warmup S]
Goals (issue 17): 50 clients ≥ 250 req/s and p99 ≤ 400 ms; 10 clients p99 ≤ 150 ms; no errors;
server CPU ≤ 6 ms per request; the first view of a page after a write under 500 ms (probed after
each run: a referral sent, then the project dashboard page and KPIs that count it, rebuilt).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from web_load import (  # noqa: E402
    PASSWORD,
    Connection,
    nrmc,
    percentile,
    start_server,
    stop_server,
)

MAX_REQUESTS = 300_000
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class User:
    name: str
    role: str
    scope: str | None
    api: dict[str, str] = field(default_factory=dict)
    page: dict[str, str] = field(default_factory=dict)
    projects: list[int] = field(default_factory=list)
    hospitals: list[str] = field(default_factory=list)
    referrals: list[int] = field(default_factory=list)
    partners: list[str] = field(default_factory=list)  # where a referral may go (project hospitals)
    alliances: list[int] = field(default_factory=list)
    province: str = "620000"
    csrf: str = ""


Request = tuple[str, str, dict[str, str], bytes | None]  # method, path, headers, body


def _get(path: str) -> Callable[[User, random.Random], Request]:
    def build(user: User, rng: random.Random) -> Request:
        return "GET", path, user.api, None
    return build


def _pick(values: list[Any], rng: random.Random, default: Any) -> Any:
    return rng.choice(values) if values else default


def endpoints() -> list[tuple[str, float, Callable[[User, random.Random], Request]]]:
    """(name, weight, request builder). Weights sum to ~100; writes ~5."""
    def api(fmt: str, pool: str, default: Any) -> Callable[[User, random.Random], Request]:
        def build(user: User, rng: random.Random) -> Request:
            return "GET", fmt.format(_pick(getattr(user, pool), rng, default)), user.api, None
        return build

    def page(fmt: str, pool: str | None = None,
             default: Any = None) -> Callable[[User, random.Random], Request]:
        def build(user: User, rng: random.Random) -> Request:
            value = _pick(getattr(user, pool), rng, default) if pool else None
            return "GET", fmt.format(value), user.page, None
        return build

    def province(fmt: str) -> Callable[[User, random.Random], Request]:
        def build(user: User, rng: random.Random) -> Request:
            return "GET", fmt.format(user.province), user.api, None
        return build

    def create_referral(user: User, rng: random.Random) -> Request:
        frm = _pick(user.hospitals, rng, "H0")
        to = _pick([h for h in user.partners if h != frm], rng, frm)
        body = json.dumps({"from_hospital": frm, "to_hospital": to, "specialty": "neurology",
                           "diagnosis": "I63.9", "urgency": "routine",
                           "reason": "load benchmark"}).encode()
        return "POST", "/api/v1/referrals", {**user.api, "Idempotency-Key":
                                             f"bench-{rng.getrandbits(64):x}"}, body

    def answer_referral(user: User, rng: random.Random) -> Request:
        rid = _pick(user.referrals, rng, 1)
        return "POST", f"/api/v1/referrals/{rid}/accept", user.api, json.dumps(
            {"version": 1, "reason": "load benchmark"}).encode()

    return [
        ("GET /api/v1/users/me", 4, _get("/api/v1/users/me")),
        ("GET /api/v1/regions/{province}", 3, province("/api/v1/regions/{}")),
        ("GET /api/v1/regions/{province}/children", 3, province("/api/v1/regions/{}/children")),
        ("GET /api/v1/regions?level=province", 2, _get("/api/v1/regions?level=province")),
        ("GET /api/v1/hospitals?region=", 4, province("/api/v1/hospitals?region={}&limit=50")),
        ("GET /api/v1/hospitals/{code}", 4, api("/api/v1/hospitals/{}", "hospitals", "H0")),
        ("GET /api/v1/projects", 5, _get("/api/v1/projects?limit=50")),
        ("GET /api/v1/projects/{id}", 5, api("/api/v1/projects/{}", "projects", 1)),
        ("GET /api/v1/projects/{id}/kpis", 5, api("/api/v1/projects/{}/kpis", "projects", 1)),
        ("GET /api/v1/projects/{id}/kpis/trend", 3, api("/api/v1/projects/{}/kpis/trend", "projects", 1)),
        ("GET /api/v1/projects/{id}/dispatches", 3, api("/api/v1/projects/{}/dispatches", "projects", 1)),
        ("GET /api/v1/projects/{id}/technologies", 2, api("/api/v1/projects/{}/technologies", "projects", 1)),
        ("GET /api/v1/projects/{id}/visits", 2, api("/api/v1/projects/{}/visits", "projects", 1)),
        ("GET /api/v1/projects/{id}/evaluation", 3, api("/api/v1/projects/{}/evaluation", "projects", 1)),
        ("GET /api/v1/alliances", 2, _get("/api/v1/alliances")),
        ("GET /api/v1/alliances/{id}", 2, api("/api/v1/alliances/{}", "alliances", 1)),
        ("GET /api/v1/referrals", 5, _get("/api/v1/referrals?limit=50")),
        ("GET /api/v1/referrals/{id}", 3, api("/api/v1/referrals/{}", "referrals", 1)),
        ("GET /api/v1/metrics/programme", 3, _get("/api/v1/metrics/programme")),
        ("GET /api/v1/metrics/outflow province", 3, _get("/api/v1/metrics/outflow?level=province")),
        ("GET /api/v1/metrics/outflow county×specialty", 2,
         province("/api/v1/metrics/outflow?level=county&by=specialty&region={}&limit=50")),
        ("GET /api/v1/planning/scenarios", 1, _get("/api/v1/planning/scenarios")),
        ("page /", 4, page("/")),
        ("page /projects", 3, page("/projects")),
        ("page /projects/{id}", 4, page("/projects/{}", "projects", 1)),
        ("page /projects/{id}/evaluation", 2, page("/projects/{}/evaluation", "projects", 1)),
        ("page /regions/{province}", 2, lambda u, r: ("GET", f"/regions/{u.province}", u.page, None)),
        ("page /referrals", 3, page("/referrals")),
        ("POST /api/v1/referrals", 3, create_referral),
        ("POST /api/v1/referrals/{id}/accept", 2, answer_referral),
    ]


CAST = [  # (role, how many, scope kind)
    ("national_admin", 2, None), ("national_analyst", 3, None),
    ("provincial_officer", 6, "province"), ("hospital_manager", 6, "project_hospital"),
    ("clinician", 5, "hospital"),
]


def make_users(base: str, env: dict[str, str]) -> list[User]:
    admin = httpx.post(base + "/api/v1/auth/token",
                       data={"username": "admin", "password": PASSWORD}).json()["access_token"]
    auth = {"Authorization": f"Bearer {admin}"}
    projects = httpx.get(base + "/api/v1/projects?limit=200", headers=auth).json()["items"]
    provinces = sorted({str(p["province_code"]) for p in projects if p.get("province_code")})[:6]
    hosp = [p["project_hospital"]["code"] for p in projects][:6]
    clin = httpx.get(base + "/api/v1/hospitals?tier=secondary&limit=5", headers=auth).json()["items"]
    users: list[User] = []
    for role, count, kind in CAST:
        for i in range(count):
            pools = {"province": provinces, "project_hospital": hosp,
                     "hospital": [h["code"] for h in clin]}
            scope = pools[kind][i % len(pools[kind])] if kind else None
            name = f"bench-{role.split('_')[0]}-{i}"
            args = ["users", "add", name, "--role", role, "--password-stdin"]
            if scope:
                args += ["--scope", str(scope)]
            subprocess.run([sys.executable, "-c", "from nrmc.cli.main import app; app()", *args],
                           env=env, input=PASSWORD + "\n", text=True, capture_output=True)
            users.append(User(name, role, scope))
    everywhere = sorted({p["project_hospital"]["code"] for p in projects})
    for user in users:
        sign_in(base, user)
        user.partners = everywhere
    return users


def sign_in(base: str, user: User) -> None:
    token = httpx.post(base + "/api/v1/auth/token",
                       data={"username": user.name, "password": PASSWORD}).json()["access_token"]
    user.api = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        browser.post("/login", data={"username": user.name, "password": PASSWORD, "csrf_token": csrf})
        user.page = {"Cookie": f"nrmc_session={browser.cookies['nrmc_session']}"}
    with httpx.Client(base_url=base, headers=user.api) as client:
        user.projects = [p["id"] for p in client.get("/api/v1/projects?limit=100").json()["items"]]
        user.hospitals = [h["code"] for h in client.get("/api/v1/hospitals?limit=50").json()["items"]]
        user.referrals = [r["id"] for r in client.get("/api/v1/referrals?limit=50").json()["items"]]
        user.alliances = [a["id"] for a in client.get("/api/v1/alliances").json().get("items", [])]
        if user.scope and len(user.scope) == 6 and user.scope.endswith("0000"):
            user.province = user.scope
        elif user.projects:
            user.province = str(client.get(f"/api/v1/projects/{user.projects[0]}").json()
                                .get("province_code") or "620000")


def server_cpu_seconds(root_pid: int) -> float:
    """utime + stime of the server and all its descendants (uvicorn workers)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(times.get(pid, 0.0) for pid in tree)


async def drive(base: str, users: list[User], clients: int, seconds: float, seed: int):  # type: ignore[no-untyped-def]
    catalogue = endpoints()
    names = [c[0] for c in catalogue]
    weights = [c[1] for c in catalogue]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses: dict[str, int] = defaultdict(int)  # answers the read cache had to rebuild
    host, port = base.split("//", 1)[1].split(":")
    count = 0
    stop_at = time.perf_counter() + seconds

    async def loop(i: int) -> None:
        nonlocal count
        rng = random.Random(seed * 1000 + i)
        connection = Connection(host, int(port))
        while time.perf_counter() < stop_at and count < MAX_REQUESTS:
            index = rng.choices(range(len(catalogue)), weights)[0]
            user = rng.choice(users)
            method, path, headers, body = catalogue[index][2](user, rng)
            count += 1
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(connection.send(method, path, headers, body), 30)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                status, connection = -1, Connection(host, int(port))
            latencies[names[index]].append((time.perf_counter() - started) * 1000)
            misses[names[index]] += connection.cache == b"miss"
            if status == -1:
                errors[names[index]]["timeout"] += 1
            elif status >= 500:
                errors[names[index]]["5xx"] += 1
            elif status in (401, 413, 422, 429) or (status >= 400 and method == "GET"
                                                      and status not in (403, 404)):
                errors[names[index]][str(status)] += 1
        if connection.writer is not None:
            connection.writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(clients)))
    return latencies, errors, misses, time.perf_counter() - began


def own_cpu_seconds() -> float:
    """CPU seconds of this process (the load generator, which shares the machine's cores)."""
    return time.process_time()


def first_views_after_writes(base: str, users: list[User], rounds: int = 20) -> dict[str, Any]:
    """A write, then at once the views that depend on it: a hospital manager sends a referral
    and opens the project dashboard page and its KPIs (both read referrals, so both are misses).
    Returns the latencies (ms) and how many of those views were really rebuilt (misses)."""
    managers = [u for u in users if u.role == "hospital_manager" and u.projects and u.hospitals]
    latencies: list[float] = []
    misses = 0
    rng = random.Random(7)
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(rounds):
            user = managers[i % len(managers)]
            project = user.projects[0]
            frm = user.scope or user.hospitals[0]
            to = _pick([h for h in user.partners if h != frm], rng, frm)
            # A key never used before (runs share a workspace: a repeated key is answered
            # with the first run's referral, and nothing is written).
            sent = client.post("/api/v1/referrals", headers={
                **user.api, "Idempotency-Key": f"probe-{time.time_ns():x}-{rng.getrandbits(32):x}"},
                json={"from_hospital": frm, "to_hospital": to, "specialty": "neurology",
                      "diagnosis": "I63.9", "reason": "first view after a write"})
            if sent.status_code != 201:
                raise RuntimeError(f"the probe's write was refused: {sent.status_code} {sent.text}")
            for path, headers in ((f"/projects/{project}", user.page),
                                  (f"/api/v1/projects/{project}/kpis", user.api)):
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                misses += response.headers.get("x-nrmc-cache") == "miss"
    return {"latencies": latencies, "misses": misses}


def settle(base: str, users: list[User], limit: float, server_pid: int) -> float:
    """Wait until the background refresher has stored every project's evaluation (each answers
    200, not 202 "computing") and the server has gone quiet (under 10 % of a core over 5 s:
    the refresher also publishes each evaluation and draws its chart), as on a server that has
    been up since its last data load; the seconds it took (not counted in the run)."""
    admin = next(u for u in users if u.role == "national_admin")
    projects = httpx.get(f"{base}/api/v1/projects?limit=500", headers=admin.api,
                         timeout=60).json()["items"]
    pending = [p["id"] for p in projects]
    started = time.monotonic()
    with httpx.Client(headers=admin.api, timeout=120) as client:
        while pending and time.monotonic() - started < limit:
            pending = [pid for pid in pending
                       if client.get(f"{base}/api/v1/projects/{pid}/evaluation").status_code == 202]
            if pending:
                time.sleep(2)
    stored = time.monotonic() - started
    busy = 1.0
    while busy > 0.1 and time.monotonic() - started < limit:
        before = server_cpu_seconds(server_pid)
        time.sleep(5)
        busy = (server_cpu_seconds(server_pid) - before) / 5
    waited = time.monotonic() - started
    if pending or busy > 0.1:
        print(f"Not settled after {waited:.0f} s: {len(pending)} evaluations still computing, "
              f"server at {100 * busy:.0f} % of a core")
    else:
        print(f"Settled: every evaluation stored after {stored:.0f} s, the server quiet after "
              f"{waited:.0f} s")
    return waited


def report(label: str, latencies, errors, misses, elapsed: float, cpu: float, load: float) -> dict:  # type: ignore[no-untyped-def]
    everything = [v for values in latencies.values() for v in values]
    n = len(everything)
    print(f"### {label}\n\n{elapsed:.1f} s, load average before {load:.1f}, server CPU "
          f"{cpu:.1f} s = {1000 * cpu / max(n, 1):.1f} ms per request\n")
    print("| endpoint | requests | rebuilt (cache miss) | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in sorted(latencies):
        values = latencies[name]
        errs = ", ".join(f"{k} {v}" for k, v in errors.get(name, {}).items()) or "0"
        print(f"| {name} | {len(values):,} | {misses.get(name, 0):,} | {statistics.median(values):.1f} | "
              f"{percentile(values, 95):.1f} | {percentile(values, 99):.1f} | {errs} |")
    total_errors = sum(sum(e.values()) for e in errors.values())
    print(f"| **all** | {n:,} | {sum(misses.values()):,} | {statistics.median(everything):.1f} | "
          f"{percentile(everything, 95):.1f} | {percentile(everything, 99):.1f} | {total_errors} |\n")
    return {"run": label, "rps": n / elapsed, "p99": percentile(everything, 99),
            "errors": total_errors, "cpu_ms": 1000 * cpu / max(n, 1), "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=None, help="default: the server's own")
    parser.add_argument("--home", type=Path, default=None, help="existing demo workspace")
    parser.add_argument("--cache", choices=["on", "off", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--settle", type=float, default=0.0,
                        help="wait up to S seconds for the background refresher to store every "
                             "evaluation before the warm-up (a server up since its last load)")
    parser.add_argument("--warmup", type=float, default=0.0,
                        help="seconds of the same mix before measuring (not counted): the steady "
                             "state of a server that has been up, rather than a cold start")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    home = args.home or Path(tmp.name) / "demo"
    env = {**os.environ, "NRMC_HOME": str(home)}
    for name in ("NRMC_DATABASE_URL", "NRMC_READ_CACHE_ENTRIES"):
        env.pop(name, None)
    modes = {"on": {}, "off": {"NRMC_READ_CACHE_ENTRIES": "0"}}
    chosen = list(modes) if args.cache == "both" else [args.cache]
    results = []
    try:
        nrmc("demo", "--if-missing", env=env)
        for mode in chosen:
            for clients in args.clients:
                workers = args.workers or os.cpu_count() or 2
                server, base = start_server({**env, **modes[mode]}, workers, timeout=300)
                try:
                    users = make_users(base, env)
                    if args.settle:
                        settle(base, users, args.settle, server.pid)
                    if args.warmup:
                        asyncio.run(drive(base, users, clients, args.warmup, args.seed + 99))
                    load = os.getloadavg()[0]
                    cpu0, own0 = server_cpu_seconds(server.pid), own_cpu_seconds()
                    latencies, errors, misses, elapsed = asyncio.run(
                        drive(base, users, clients, args.seconds, args.seed))
                    cpu = server_cpu_seconds(server.pid) - cpu0
                    generator = own_cpu_seconds() - own0
                    after_write = first_views_after_writes(base, users)
                finally:
                    stop_server(server)
                label = (f"{clients} clients, read cache {mode}, {workers} workers"
                         + (", settled" if args.settle else "")
                         + (f", after {args.warmup:.0f} s warm-up" if args.warmup else ", cold start"))
                results.append(report(label, latencies, errors, misses, elapsed, cpu, load))
                requests = max(1, sum(len(v) for v in latencies.values()))
                print(f"Load generator CPU {generator:.1f} s = {1000 * generator / requests:.1f} ms "
                      "per request (on the same cores)\n")
                views = after_write["latencies"]
                results[-1]["after_write"] = max(views)
                print(f"First view after a write ({len(views)} views, {after_write['misses']} "
                      f"rebuilt): p50 {statistics.median(views):.0f} ms, max {max(views):.0f} ms\n")
    finally:
        tmp.cleanup()
    print("| run | req/s | p99 ms | errors | server CPU ms/request | first view after a write, "
          "max ms | load before |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['run']} | {r['rps']:,.0f} | {r['p99']:.0f} | {r['errors']} | "
              f"{r['cpu_ms']:.1f} | {r['after_write']:.0f} | {r['load']:.1f} |")


if __name__ == "__main__":
    main()

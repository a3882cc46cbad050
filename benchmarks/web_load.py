"""Load benchmark of the web platform on the demo workspace (loopback only, bounded).

Starts `nrmc serve` on the demo workspace (built in a temporary folder unless --home names
one), signs in once (a bearer token for the API, a session cookie for the page), then drives
the overview and project endpoints with N concurrent clients for a bounded time and request
count. Prints requests/s and p50/p95/p99 latency per endpoint and overall, as a Markdown table.

Run: python benchmarks/web_load.py [--clients 50] [--seconds 20] [--workers 1] [--home DIR]
Target: p99 < 150 ms and zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

MAX_REQUESTS = 200_000  # hard bound on top of the time bound
PASSWORD = "nrmc-demo-2024"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nrmc(*args: str, env: dict[str, str], **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:  # type: ignore[type-arg]
    command = [sys.executable, "-c", "from nrmc.cli.main import app; app()", *args]
    if kwargs.pop("background", False):
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def drive(base: str, clients: int, seconds: float, targets: list[tuple[str, str, dict]]):  # type: ignore[type-arg]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    count = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(i: int, http: httpx.AsyncClient) -> None:
        nonlocal count
        n = i
        while time.perf_counter() < stop_at and count < MAX_REQUESTS:
            name, path, headers = targets[n % len(targets)]
            n += 1
            count += 1
            started = time.perf_counter()
            try:
                response = await http.get(path, headers=headers)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies[name].append((time.perf_counter() - started) * 1000)
            if not ok:
                errors[name] += 1

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client_loop(i, http) for i in range(clients)))
        elapsed = time.perf_counter() - began
    return latencies, errors, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--home", type=Path, default=None, help="existing demo workspace")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    home = args.home or Path(tmp.name) / "demo"
    env = {**os.environ, "NRMC_HOME": str(home)}
    env.pop("NRMC_DATABASE_URL", None)
    nrmc("demo", "--if-missing", env=env)
    load_before = os.getloadavg()[0]
    port = free_port()
    server = nrmc("serve", "--port", str(port), "--workers", str(args.workers), env=env,
                  background=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/login", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:  # type: ignore[union-attr]
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        token = httpx.post(base + "/api/v1/auth/token",
                           data={"username": "admin", "password": PASSWORD}).json()["access_token"]
        with httpx.Client(base_url=base) as browser:
            form = browser.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
            browser.post("/login", data={"username": "admin", "password": PASSWORD,
                                         "csrf_token": csrf})
            cookie = f"nrmc_session={browser.cookies['nrmc_session']}"
            project = browser.get("/api/v1/projects", params={"province": "62"}).json()["items"][0]["id"]
        api = {"Authorization": f"Bearer {token}"}
        targets = [
            ("GET / (overview page)", "/", {"Cookie": cookie}),
            ("GET /api/v1/metrics/programme", "/api/v1/metrics/programme", api),
            ("GET /api/v1/projects?limit=50", "/api/v1/projects?limit=50", api),
            (f"GET /api/v1/projects/{project}", f"/api/v1/projects/{project}", api),
            ("GET /api/v1/metrics/outflow", "/api/v1/metrics/outflow?level=province", api),
        ]
        with httpx.Client(base_url=base, timeout=60) as warm:  # fill caches (outflow) first
            for _, path, headers in targets:
                warm.get(path, headers=headers)
        latencies, errors, elapsed = asyncio.run(drive(base, args.clients, args.seconds, targets))
    finally:
        server.terminate()  # type: ignore[union-attr]
        try:
            server.wait(timeout=10)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            server.kill()  # type: ignore[union-attr]
            server.wait()  # type: ignore[union-attr]
        tmp.cleanup()
    everything = [v for values in latencies.values() for v in values]
    load = os.getloadavg()[0]
    print(f"{args.clients} clients, {elapsed:.1f} s, {args.workers} worker(s), SQLite demo "
          f"workspace, {os.cpu_count()} CPUs, load average before the run {load_before:.1f}, "
          f"after {load:.1f}\n")
    print("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [(name, values) for name, values in latencies.items()] + [("all", everything)]
    for name, values in rows:
        errs = sum(errors.values()) if name == "all" else errors.get(name, 0)
        print(f"| {name} | {len(values):,} | {len(values) / elapsed:,.0f} | "
              f"{statistics.median(values):.1f} | {percentile(values, 95):.1f} | "
              f"{percentile(values, 99):.1f} | {errs} |")


if __name__ == "__main__":
    main()

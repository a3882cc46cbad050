"""Load benchmark of the web platform on the demo workspace (loopback only, bounded).

Starts `nrmc serve` on the demo workspace (built in a temporary folder unless --home names
one), signs in once (a bearer token for the API, a session cookie for the pages), then drives
the overview and project endpoints with N concurrent clients for a bounded time and request
count. Prints requests/s and p50/p95/p99 latency per endpoint and overall, as Markdown tables.

Two runs, one after the other on the same workspace: the baseline with the read cache off
(NRMC_READ_CACHE_ENTRIES=0: every request authenticates, queries and serialises) and nrmc as
configured (read cache on; each worker's cache is warmed before the clock starts).

Run: python benchmarks/web_load.py [--clients 50] [--seconds 20] [--workers 2] [--home DIR]
                                   [--only baseline|nrmc]
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


class Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    The load generator shares the machine's two cores with the server, so it must cost as
    little CPU per request as possible; a full client library (httpx) spends more time per
    request than the endpoints under test.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cache = b""  # the last answer's X-Nrmc-Cache header (hit, miss or empty)

    async def get(self, path: str, headers: dict[str, str]) -> int:
        return await self.send("GET", path, headers, None)

    async def send(self, method: str, path: str, headers: dict[str, str],
                   body: bytes | None) -> int:
        """One request on the kept-alive connection; the status (the body is read and dropped)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        extra = {"Content-Length": str(len(body)), "Content-Type": "application/json"} if body else {}
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 *(f"{k}: {v}" for k, v in {**headers, **extra}.items()), "", ""]
        self.writer.write("\r\n".join(lines).encode() + (body or b""))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        self.cache = b""
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
            elif line[:13].lower() == b"x-nrmc-cache:":
                self.cache = line[13:].strip()
        await self.reader.readexactly(length)
        return status


async def drive(base: str, clients: int, seconds: float, targets: list[tuple[str, str, dict]]):  # type: ignore[type-arg]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    count = 0
    stop_at = time.perf_counter() + seconds
    host, port = base.split("//", 1)[1].split(":")

    async def client_loop(i: int) -> None:
        nonlocal count
        connection = Connection(host, int(port))
        n = i
        while time.perf_counter() < stop_at and count < MAX_REQUESTS:
            name, path, headers = targets[n % len(targets)]
            n += 1
            count += 1
            started = time.perf_counter()
            try:
                ok = await asyncio.wait_for(connection.get(path, headers), 30) == 200
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                ok, connection = False, Connection(host, int(port))
            latencies[name].append((time.perf_counter() - started) * 1000)
            if not ok:
                errors[name] += 1
        if connection.writer is not None:
            connection.writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client_loop(i) for i in range(clients)))
    return latencies, errors, time.perf_counter() - began


MODES = {"baseline": ("read cache off (baseline)", {"NRMC_READ_CACHE_ENTRIES": "0"}),
         "nrmc": ("nrmc (read cache on)", {})}


def start_server(env: dict[str, str], workers: int,
                 timeout: float = 60) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    port = free_port()
    server = nrmc("serve", "--port", str(port), "--workers", str(workers), env=env, background=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(base + "/login", timeout=1)
            return server, base  # type: ignore[return-value]
        except httpx.HTTPError:
            if server.poll() is not None:  # type: ignore[union-attr]
                error = server.stderr.read().decode(errors="replace")[-2000:]  # type: ignore[union-attr]
                raise SystemExit(f"the server stopped:\n{error}") from None
            if time.monotonic() > deadline:
                server.kill()  # type: ignore[union-attr]
                raise SystemExit(f"the server did not answer within {timeout:.0f} s") from None
            time.sleep(0.2)


def stop_server(server: subprocess.Popen) -> None:  # type: ignore[type-arg]
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def sign_in(base: str) -> list[tuple[str, str, dict[str, str]]]:
    """The request mix: pages with the session cookie, API calls with a bearer token."""
    token = httpx.post(base + "/api/v1/auth/token",
                       data={"username": "admin", "password": PASSWORD}).json()["access_token"]
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        browser.post("/login", data={"username": "admin", "password": PASSWORD,
                                     "csrf_token": csrf})
        cookie = {"Cookie": f"nrmc_session={browser.cookies['nrmc_session']}"}
        gansu = browser.get("/api/v1/projects", params={"province": "62"}).json()["items"]
        project = next(p["id"] for p in gansu  # the demo's Jiuquan project has the ledger
                       if "Jiuquan" in p["project_hospital"]["name_en"])
    api = {"Authorization": f"Bearer {token}"}
    return [
        ("GET / (overview page)", "/", cookie),
        (f"GET /projects/{project} (dashboard page)", f"/projects/{project}", cookie),
        ("GET /api/v1/metrics/programme", "/api/v1/metrics/programme", api),
        ("GET /api/v1/metrics/outflow", "/api/v1/metrics/outflow?level=province", api),
        ("GET /api/v1/projects?limit=50", "/api/v1/projects?limit=50", api),
        (f"GET /api/v1/projects/{project}", f"/api/v1/projects/{project}", api),
    ]


def measure(env: dict[str, str], args: argparse.Namespace):  # type: ignore[no-untyped-def]
    server, base = start_server(env, args.workers)
    try:
        targets = sign_in(base)
        for _ in range(4 * args.workers):  # new connections reach every worker's caches
            with httpx.Client(base_url=base, timeout=60) as warm:
                for _, path, headers in targets:
                    warm.get(path, headers=headers)
        load_before = os.getloadavg()[0]
        latencies, errors, elapsed = asyncio.run(drive(base, args.clients, args.seconds, targets))
    finally:
        stop_server(server)
    return latencies, errors, elapsed, load_before


def table(latencies, errors, elapsed) -> list[str]:  # type: ignore[no-untyped-def]
    everything = [v for values in latencies.values() for v in values]
    lines = ["| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    rows = [(name, values) for name, values in latencies.items()] + [("all", everything)]
    for name, values in rows:
        errs = sum(errors.values()) if name == "all" else errors.get(name, 0)
        lines.append(f"| {name} | {len(values):,} | {len(values) / elapsed:,.0f} | "
                     f"{statistics.median(values):.1f} | {percentile(values, 95):.1f} | "
                     f"{percentile(values, 99):.1f} | {errs} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0, help="per run")
    parser.add_argument("--workers", type=int, default=2, help="server processes (2 cores here)")
    parser.add_argument("--home", type=Path, default=None, help="existing demo workspace")
    parser.add_argument("--only", choices=sorted(MODES), default=None, help="run one mode only")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    home = args.home or Path(tmp.name) / "demo"
    env = {**os.environ, "NRMC_HOME": str(home)}
    for name in ("NRMC_DATABASE_URL", "NRMC_READ_CACHE_ENTRIES"):
        env.pop(name, None)
    try:
        nrmc("demo", "--if-missing", env=env)
        summary = []
        for mode in ([args.only] if args.only else list(MODES)):
            label, extra = MODES[mode]
            latencies, errors, elapsed, load_before = measure({**env, **extra}, args)
            everything = [v for values in latencies.values() for v in values]
            summary.append((label, len(everything) / elapsed, percentile(everything, 99),
                            sum(errors.values())))
            print(f"### {label}\n\n{args.clients} clients, {elapsed:.1f} s, {args.workers} "
                  f"worker(s), SQLite demo workspace, {os.cpu_count()} CPUs, load average "
                  f"before the run {load_before:.1f}\n")
            print("\n".join(table(latencies, errors, elapsed)) + "\n")
    finally:
        tmp.cleanup()
    print("| run | req/s | p99 ms | errors | target p99 < 150 ms, 0 errors |")
    print("|---|---:|---:|---:|---|")
    for label, rate, p99, errs in summary:
        verdict = "met" if p99 < 150 and errs == 0 else "not met"
        print(f"| {label} | {rate:,.0f} | {p99:.1f} | {errs} | {verdict} |")


if __name__ == "__main__":
    main()

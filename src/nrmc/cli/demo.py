"""`nrmc demo` and `nrmc start`: the demo workspace and the main job."""

from __future__ import annotations

import time

import typer
from rich.panel import Panel

from ..demo.build import build_demo, demo_exists
from ..demo.users import DEMO_PASSWORD, DEMO_USERNAMES
from ..domains.users import service as users
from ..summary import national_summary
from .context import db_session, engine, settings
from .output import console
from .serve import run


def demo(
    seed: int = typer.Option(2024, help="random seed; the same seed gives the same demo"),
    rows: int = typer.Option(3_000_000, help="synthetic discharges to generate (2018–2024)"),
    if_missing: bool = typer.Option(False, "--if-missing", help="do nothing if a demo exists"),
) -> None:
    """Build the demo workspace in NRMC_HOME: real geography and roster + synthetic layers."""
    if demo_exists(engine(create=True)):
        if if_missing:
            console.print(f"demo workspace already in {settings().home}")
            return
        console.print(f"[red]{settings().home} already holds a demo[/red]; "
                      "set NRMC_HOME to a new folder or delete it")
        raise typer.Exit(1)
    started = time.perf_counter()
    with console.status("building the demo") as status:
        report = build_demo(settings(), engine(), seed=seed, rows=rows,
                            progress=lambda msg: status.update(msg))
    for step, text in report.steps.items():
        console.print(f"  [green]✓[/green] {step}: {text}")
    console.print(f"demo built in {time.perf_counter() - started:.1f} s (seed {seed})")


def start(
    host: str = typer.Option("127.0.0.1", help="address the web platform listens on"),
    port: int = typer.Option(8000, help="port of the web platform"),
    serve_web: bool = typer.Option(True, "--serve/--no-serve", help="serve the web platform"),
) -> None:
    """The main job: print the national summary and the demo logins, then serve the web app."""
    with db_session() as session:
        s = national_summary(session)
        logins = [(u.username, u.role, u.scope_code or "—") for u in users.list_users(session=session)]
    tiers = ", ".join(f"{k} {v:,}" for k, v in sorted(s["hospitals_by_tier"].items()))
    batches = ", ".join(f"batch {k}: {v}" for k, v in sorted(
        s["projects_by_batch"].items(), key=lambda kv: (kv[0] == "unknown", str(kv[0]))))
    console.print(Panel.fit(
        f"Regions: {s['regions'].get('province', 0)} provinces, "
        f"{s['regions'].get('prefecture', 0)} prefectures, {s['regions'].get('county', 0)} "
        f"counties; population (2020 census) {s['population']:,}\n"
        f"Hospitals: {tiers} ({s['hospitals_synthetic']:,} synthetic)\n"
        f"Beds: {s['beds']:,} ({s['beds_per_1000']} per 1,000)\n"
        f"Programme: {s['projects']} known projects in {s['project_provinces']} provinces "
        f"({batches})\nAlliances: {s['alliances']}",
        title="nrmc — national summary 全国概览"), soft_wrap=False)
    console.print("Try next:\n"
                  "  nrmc projects list --province 62\n"
                  "  nrmc regions show 620921\n"
                  "  nrmc alliances show 1\n"
                  "  nrmc hospitals list --region 620900 --tier tertiary")
    if logins:
        lines = [f"  {name:<10} {role:<20} {scope:<16}"
                 f"{' password ' + DEMO_PASSWORD if name in DEMO_USERNAMES else ''}"
                 for name, role, scope in logins]
        console.print("Logins 登录账号:\n" + "\n".join(lines))
    if serve_web:
        console.print("Web platform 网页平台 (Ctrl-C stops):")
        run(host=host, port=port)

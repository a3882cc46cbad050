"""The `nrmc` command: one Typer app with a sub-app per area."""

from __future__ import annotations

import typer

from . import db, demo, evaluate, keys, ops, referrals, registry, report, serve, users, visits
from .flows import app as flows_app
from .plan import app as plan_app

app = typer.Typer(
    name="nrmc",
    help="Plan, run and evaluate national regional medical centres (国家区域医疗中心) "
    "and medical alliances.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command()(demo.demo)
app.command()(demo.start)
app.command()(serve.serve)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(keys.app, name="keys")
app.add_typer(registry.regions, name="regions")
app.add_typer(registry.hospitals, name="hospitals")
app.add_typer(registry.projects, name="projects")
app.add_typer(registry.alliances, name="alliances")
app.add_typer(flows_app, name="flows")
app.add_typer(ops.app, name="ops")
ops.app.add_typer(visits.app, name="visit")  # visits.py uses ops.py's helpers
app.add_typer(referrals.app, name="referrals")
app.add_typer(plan_app, name="plan")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(report.app, name="report")


@app.command()
def version() -> None:
    """Print the nrmc version and the pseudonym key's fingerprint (sites whose fingerprints
    match can compare pseudonymised patient ids)."""
    from .. import __version__
    from ..config import load_settings  # light: pydantic only (nrmc version stays fast)
    from ..core.keys import fingerprint

    typer.echo(__version__)
    try:
        typer.echo(f"pseudonym key fingerprint {fingerprint(load_settings().pseudonym_key)}")
    except ValueError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc

"""The `nrmc` command: one Typer app with a sub-app per area."""

from __future__ import annotations

import typer

from . import db, demo, evaluate, ops, programme, referrals, registry, report, serve, users, visits
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
app.add_typer(programme.app, name="programme")


@app.command()
def version() -> None:
    """Print the nrmc version."""
    from .. import __version__

    typer.echo(__version__)

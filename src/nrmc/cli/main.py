"""The `nrmc` command: one Typer app with a sub-app per area."""

from __future__ import annotations

import typer

from .plan import app as plan_app

app = typer.Typer(
    name="nrmc",
    help="Plan, run and evaluate national regional medical centres (国家区域医疗中心) "
    "and medical alliances.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.command()
def version() -> None:
    """Print the nrmc version."""
    from .. import __version__

    typer.echo(__version__)


app.add_typer(plan_app, name="plan")

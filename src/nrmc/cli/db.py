"""`nrmc db`: migrate the operational store."""

from __future__ import annotations

import typer

from ..db.migrate import current_revision
from ..workspace import upgrade_workspace
from .context import engine, settings
from .output import console

app = typer.Typer(help="Operational store (SQLite by default, PostgreSQL via NRMC_DATABASE_URL).",
                  no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Migrate to the latest schema and load the real reference data: the geography with 2020
    census populations, the programme roster and the grade-3A hospitals (existing stores are
    brought up to date; running it again changes nothing)."""
    report = upgrade_workspace(engine(create=True))
    console.print(f"store at [bold]{_safe_url()}[/bold] is at revision "
                  f"{current_revision(engine())}; regions added {report.regions_added}, "
                  f"updated {report.regions_updated}, retired {report.regions_retired}; "
                  f"added {report.projects_added} projects, {report.hospitals_added} grade-3A "
                  "hospitals")


@app.command()
def current() -> None:
    """Show the store's schema revision."""
    console.print(current_revision(engine()) or "empty (run `nrmc db upgrade`)")


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings().db_url).render_as_string(hide_password=True)

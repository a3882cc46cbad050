"""The `nrmc` command: one Typer app with a sub-app per area, each imported only when used.

The areas pull in pandas, SQLAlchemy, statsmodels, Ibis… (seconds of imports). `nrmc --help`
and `nrmc version` need none of that, so the top-level group lists the areas from the table
below and imports an area's module only when that area is run (or its own --help is asked
for). tests/cli/test_startup.py keeps the table's one-line help equal to each module's.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer import _click as click  # typer vendors its own click; its group takes these types
from typer.core import TyperCommand, TyperGroup

#: name → (module under nrmc.cli, attribute, help shown by `nrmc --help`: the start of the
#: area's own help). The attribute is a Typer app (an area) or a function (a single command).
#: A new area adds its line here.
AREAS: dict[str, tuple[str, str, str]] = {
    "demo": ("demo", "demo", "Build the demo workspace in NRMC_HOME: real geography and roster "
                             "+ synthetic layers."),
    "start": ("demo", "start", "The main job: print the national summary and the demo logins, "
                               "then serve the web app."),
    "serve": ("serve", "serve", "Serve the web platform; pages at http://HOST:PORT/, API docs at "
                                "/api/docs."),
    "db": ("db", "app", "Operational store (SQLite by default, PostgreSQL via NRMC_DATABASE_URL)."),
    "users": ("users", "app", "Users of the web platform and API."),
    "keys": ("keys", "app", "Secret keys: fingerprints to compare between sites, and new random "
                            "keys."),
    "regions": ("registry", "regions", "China's administrative divisions (GB/T 2260), 31 "
                                       "provinces."),
    "hospitals": ("registry", "hospitals", "Hospitals by tier and grade."),
    "projects": ("registry", "projects", "National regional medical centre projects (the "
                                         "roster)."),
    "alliances": ("registry", "alliances", "Medical alliances and their members."),
    "flows": ("flows", "app", "Patient flows: ingest discharge records, synthesise them, report "
                              "outflow, OD matrices, within-county rates, reach and grade-4 "
                              "share."),
    "ops": ("ops", "app", "Operations: expert dispatch, activity ledger, technologies, "
                          "trainees, site visits, trusteeships, KPIs."),
    "referrals": ("referrals", "app", "Two-way referrals (双向转诊): requested → accepted | "
                                      "rejected → scheduled → arrived → completed → returned, "
                                      "or cancelled."),
    "programme": ("programme", "app", "Programme office: national indicators against targets, gap "
                                      "lists."),
    "plan": ("plan", "app", "Plan centres: siting, accessibility, catchments, beds, scenarios."),
    "evaluate": ("evaluate", "app", "Evaluate centres: before/after and "
                                    "difference-in-differences on patient outflow"),
    "report": ("report", "app", "Evaluation reports: KPIs, before/after, DiD with event study, "
                                "patient origins and methods, in one printable HTML file."),
}


def load_area(name: str) -> click.Command:
    """Import one area and turn it into its click command, named as listed."""
    module_name, attribute, _ = AREAS[name]
    module = importlib.import_module(f"nrmc.cli.{module_name}")
    target: Any = getattr(module, attribute)
    if name == "ops":  # site visits and trusteeships hang under ops (they use ops.py's helpers)
        for group, source in (("visit", "visits"), ("trusteeship", "trusteeships")):
            if not any(info.name == group for info in target.registered_groups):
                target.add_typer(importlib.import_module(f"nrmc.cli.{source}").app, name=group)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(pretty_exceptions_show_locals=False)
        single.command(name=name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


class LazyAreas(TyperGroup):
    """A group whose listed commands are placeholders until one is resolved to be run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*AREAS, *super().list_commands(ctx)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in AREAS:
            # listing (--help) needs only the name and help: don't import the area for it
            return TyperCommand(cmd_name, help=AREAS[cmd_name][2], short_help=AREAS[cmd_name][2])
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in AREAS:
            return args[0], load_area(args[0]), args[1:]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="nrmc",
    cls=LazyAreas,
    help="Plan, run and evaluate national regional medical centres (国家区域医疗中心) "
    "and medical alliances.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    # a callback makes `nrmc` a group even though `version` is its only eager command
    pass


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

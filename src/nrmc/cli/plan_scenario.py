"""`nrmc plan scenario`: the named, saved, scoped scenarios of the planning page, from the shell.

The same service as the page and the API (``nrmc.domains.planning.service``): same demand,
candidates, existing centres and numbers. Commands run as the operator (national scope) unless
``--user NAME`` (or ``NRMC_USER``) names an account, whose role then applies: a provincial
officer plans and reads its own province, a clinician or hospital manager is refused (exit 4).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from ..core.enums import Role, Specialty
from ..core.errors import NrmcError
from ..domains.planning import report, service
from ..domains.planning import sites as sitesmod
from ..domains.planning.demand import FlowsInput
from ..domains.planning.schemas import ScenarioIn
from ..domains.users import service as users
from ..domains.users.scope import Scope
from .context import db_session, fail, settings
from .output import OutputFormat, emit, emit_one

app = typer.Typer(help="Named planning scenarios saved in the store (the planning page's), "
                       "scoped by --user.", no_args_is_help=True)
FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")
UserOpt = typer.Option(None, "--user", envvar="NRMC_USER",
                       help="act as this account (its role and province apply); default: the "
                            "operator, national scope")


def _scope(session: Session, username: str | None) -> Scope:
    if not username:
        return Scope.system()
    return Scope.for_user(users.get_by_username(session=session, username=username))


def _flows(session: Session) -> FlowsInput:
    from ..domains.regions.service import region_table

    cfg = settings()
    return FlowsInput(cfg.flows_dir, region_table(session=session), cfg.engine, cfg.spark_master)


def check_user(user: str | None, province: str | None) -> None:
    """With ``--user``, that account's role applies: hospital roles may not plan, a provincial
    officer only its own province (as on the page and the API)."""
    if not user:
        return
    from ..core.errors import Forbidden, NotFound
    from ..domains.planning import service as planning
    from .context import db_session

    with db_session() as session:
        scope = _scope(session, user)
        planning.require_planner(scope)
        if not scope.national:
            if province is None:
                raise Forbidden(f"{user} plans province {scope.province} only: pass --province")
            if province[:2] != scope.province:
                raise NotFound(f"no region {province}")


def check_national(user: str | None) -> None:
    """Run files are not scoped by province, so only national roles (and the operator) read
    them; provincial planners use `plan scenario list`."""
    if not user:
        return
    from ..core.errors import Forbidden
    from ..domains.planning import service as planning
    from .context import db_session

    with db_session() as session:
        scope = _scope(session, user)
        planning.require_planner(scope)
        if not scope.national:
            raise Forbidden("run files are national; use `nrmc plan scenario list` for "
                            "your province's scenarios")


@app.command("run")
def run(
    province: str = typer.Option(..., help="province code, e.g. 620000"),
    specialty: Specialty = typer.Option(Specialty.comprehensive, help="specialty the centre serves"),
    p: int = typer.Option(2, "--p", help="new sites to open (opened centres come on top)"),
    name: str = typer.Option("", help="save under this name (unnamed runs are not saved)"),
    objective: str = typer.Option("coverage", help="coverage (MCLP) or median (p-median)"),
    radius_min: float = typer.Option(120.0, "--radius-min", help="coverage radius, minutes"),
    candidates: str = typer.Option("registry", help="registry (real tertiary hospitals), "
                                                    "greenfield (any county seat) or a CSV/XLSX "
                                                    "file with code,name_zh,lon,lat"),
    existing: bool = typer.Option(True, "--existing/--no-existing",
                                  help="keep opened centres of the specialty open"),
    demand: str = typer.Option("auto", help="auto (discharges if loaded, else population), "
                                            "flows or population"),
    year: int | None = typer.Option(None, help="discharge year (default: latest held)"),
    user: str | None = UserOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Run a siting scenario exactly as the planning page does; saved when named."""
    upload = None
    kind = candidates
    try:
        if candidates not in {"registry", "greenfield"}:
            path = Path(candidates)
            if not path.exists():
                raise NrmcError(f"{path}: file not found")
            upload = sitesmod.read_candidates(path.read_bytes(), path.name)
            kind = "upload"
        data = ScenarioIn.model_validate({
            "name": name, "province": province, "specialty": specialty, "p": p,
            "objective": objective, "radius_min": radius_min, "candidates": kind,
            "include_existing": existing, "demand": demand, "year": year})
    except NrmcError as exc:
        fail(exc)
        return
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    with db_session() as session:
        scope = _scope(session, user)
        done = service.run(session=session, scope=scope, data=data, flows=_flows(session),
                           upload=upload)
        saved = None
        if name and scope.role != Role.national_analyst:
            saved = service.save(session=session, scope=scope, done=done, name=name,
                                 source="cli").id
    r = done.results
    head = {"scenario": saved, "name": name, "model": r["model"], "status": r["status"],
            "gap": r["gap"], "objective": r["objective"],
            **{f"within_{k}": v for k, v in r["within"].items()},
            "mean_minutes": r["mean_minutes"], "p95_minutes": r["p95_minutes"],
            "demand": r["demand"]["note_en"], "demand_source": r["demand"]["source"],
            "demand_year": r["demand"]["year"],
            "population_vintage": r["demand"]["population_vintage"]}
    if fmt == OutputFormat.json:
        typer.echo(json.dumps({"id": saved, "inputs": done.inputs, "results": r},
                              ensure_ascii=False, default=str))
        return
    emit_one(head, fmt)
    emit([{k: s[k] for k in ("rank", "code", "name_zh", "existing", "counties",
                             "catchment_population", "beds_needed")} for s in r["sites"]],
         fmt, title="sites")


@app.command("list")
def list_(user: str | None = UserOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Saved scenarios the account may see, newest first."""
    with db_session() as session:
        found, _ = service.list_visible(session=session, scope=_scope(session, user), limit=500)
        rows = [{"id": s.id, "name": s.name, "province": s.province_code,
                 "specialty": s.specialty, "owner": s.owner,
                 "created_at": s.created_at.isoformat(timespec="seconds")} for s in found]
    emit(rows, fmt, columns=["id", "name", "province", "specialty", "owner", "created_at"])


@app.command("compare")
def compare(ids: list[int] = typer.Argument(..., help="two to four scenario ids"),
            xlsx: Path | None = typer.Option(None, help="also write the comparison workbook here"),
            user: str | None = UserOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Scenarios side by side with the plain-language summary; --xlsx writes the workbook."""
    if not 1 <= len(ids) <= 4:
        typer.echo("error: give one to four scenario ids", err=True)
        raise typer.Exit(2)
    with db_session() as session:
        scope = _scope(session, user)
        found = [service.get_visible(session=session, scope=scope, scenario_id=i) for i in ids]
        table = report.rows(found)
        en, zh = report.summary(found)
        if xlsx is not None:
            xlsx.write_bytes(report.xlsx(found))
    if fmt == OutputFormat.json:
        typer.echo(json.dumps({"rows": table, "summary_en": en, "summary_zh": zh},
                              ensure_ascii=False, default=str))
        return
    emit(table, fmt)
    if fmt == OutputFormat.table:
        for a, b in zip(zh, en, strict=True):
            typer.echo(f"{a}\n  {b}")

"""`nrmc regions|hospitals|projects|alliances`: the programme registry."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..core.enums import Level, ProjectStatus, Tier
from ..domains.alliances import service as alliances_service
from ..domains.hospitals import service as hospitals_service
from ..domains.hospitals.schemas import IMPORT_COLUMNS as HOSPITAL_COLUMNS
from ..domains.projects import service as projects_service
from ..domains.projects import status as status_rule
from ..domains.regions import service as regions_service
from ..domains.users.scope import Scope
from .context import db_session
from .output import OutputFormat, console, emit, emit_one, export

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")
OutOpt = typer.Option(None, "--out", "-o", help="also save the list to a .csv or .xlsx file")

regions = typer.Typer(help="China's administrative divisions (GB/T 2260), 31 provinces.",
                      no_args_is_help=True)
hospitals = typer.Typer(help="Hospitals by tier and grade.", no_args_is_help=True)
projects = typer.Typer(help="National regional medical centre projects (the roster).",
                       no_args_is_help=True)
alliances = typer.Typer(help="Medical alliances and their members.", no_args_is_help=True)

REGION_COLUMNS = ["code", "name_zh", "name_en", "level", "parent_code", "lon", "lat",
                  "population", "population_estimated", "population_method"]
PROJECT_COLUMNS = ["id", "batch", "output_hospital", "project_hospital", "province_code",
                   "city_code", "specialties", "status", "verification"]


@regions.command("show")
def regions_show(code: str = typer.Argument(..., help="2-, 4- or 6-digit code, e.g. 62 or 620921"),
                 fmt: OutputFormat = FormatOpt) -> None:
    """Show one region with its prefecture and province."""
    with db_session() as session:
        detail = regions_service.detail(session=session, code=code)
    data = detail.model_dump()
    if fmt == OutputFormat.table:
        data["prefecture"] = _region_label(detail.prefecture)
        data["province"] = _region_label(detail.province)
    emit_one(data, fmt)


def _region_label(region: object) -> str | None:
    if region is None:
        return None
    return f"{region.code} {region.name_zh} ({region.name_en})"  # type: ignore[attr-defined]


@regions.command("list")
def regions_list(
    parent: str | None = typer.Option(None, help="direct children of this code"),
    level: Level | None = typer.Option(None, help="province, prefecture or county"),
    within: str | None = typer.Option(None, help="only inside this province"),
    fmt: OutputFormat = FormatOpt,
    out: Path | None = OutOpt,
) -> None:
    """List regions, e.g. `--parent 62` for Gansu's prefectures."""
    with db_session() as session:
        rows = [regions_service.to_out(r) for r in regions_service.list_regions(
            session=session, parent=parent, level=level, within=within)]
    emit(rows, fmt, columns=REGION_COLUMNS, title=f"{len(rows)} regions")
    if out:
        export(rows, REGION_COLUMNS, out)


@hospitals.command("list")
def hospitals_list(
    region: str | None = typer.Option(None, help="province, prefecture or county code"),
    tier: Tier | None = typer.Option(None, help="tier"),
    real_only: bool = typer.Option(False, "--real-only", help="hide synthetic demo rows"),
    limit: int | None = typer.Option(None, help="at most this many rows"),
    fmt: OutputFormat = FormatOpt,
    out: Path | None = OutOpt,
) -> None:
    """List hospitals (columns as in the import file, plus `synthetic`)."""
    with db_session() as session:
        rows = [hospitals_service.to_row(h) for h in hospitals_service.list_hospitals(
            session=session, region=region, tier=tier, synthetic=False if real_only else None,
            limit=limit)]
    emit(rows, fmt, columns=[*HOSPITAL_COLUMNS, "synthetic"], title=f"{len(rows)} hospitals")
    if out:
        export(rows, [*HOSPITAL_COLUMNS, "synthetic"], out)


@hospitals.command("show")
def hospitals_show(code: str, fmt: OutputFormat = FormatOpt) -> None:
    """Show one hospital."""
    with db_session() as session:
        hospital = hospitals_service.get(session=session, code=code)
        row = hospitals_service.to_row(hospital) | {"specialties": hospital.specialties,
                                                    "source": hospital.source}
    emit_one(row, fmt)


@hospitals.command("import")
def hospitals_import(path: Path = typer.Argument(..., help="CSV or XLSX with columns "
                                                 + ", ".join(HOSPITAL_COLUMNS))) -> None:
    """Add or update hospitals from a file; a bad row refuses the whole file."""
    with db_session() as session:
        added, updated = hospitals_service.import_file(session=session, path=path)
    console.print(f"{path}: {added} added, {updated} updated")


@projects.command("list")
def projects_list(
    batch: int | None = typer.Option(None, help="batch 1-5"),
    province: str | None = typer.Option(None, help="province code, e.g. 62 or 620000"),
    fmt: OutputFormat = FormatOpt,
    out: Path | None = OutOpt,
) -> None:
    """List programme projects: output hospital → project hospital."""
    with db_session() as session:
        rows = [projects_service.to_out(session, p).model_dump() for p in
                projects_service.list_projects(session=session, batch=batch, province=province)]
    emit(rows, fmt, columns=PROJECT_COLUMNS, title=f"{len(rows)} projects")
    if out:
        export(rows, PROJECT_COLUMNS, out)


@projects.command("show")
def projects_show(project_id: int, fmt: OutputFormat = FormatOpt) -> None:
    """Show one project with its source and notes."""
    with db_session() as session:
        detail = projects_service.to_detail(
            session, projects_service.get(session=session, project_id=project_id))
    emit_one(detail.model_dump(), fmt)


@projects.command("status")
def projects_status(
    project_id: int = typer.Argument(..., help="project id (see `nrmc projects list`)"),
    status: ProjectStatus = typer.Argument(..., help="the new status"),
    visit: int | None = typer.Option(None, "--visit", help="the site visit justifying approval "
                                     "or the warning list (see `nrmc ops visit list`)"),
    reason: str = typer.Option("", help="why (kept in the audit log)"),
) -> None:
    """Change a project's status by the same rule as the page and the API: approval and the
    warning list need a recorded site visit of the project (--visit). Runs as the system
    (national admin) and is audited."""
    with db_session() as session:
        project = status_rule.change_status(session=session, scope=Scope.system(),
                                            project_id=project_id, status=status, visit_id=visit,
                                            reason=reason, source="cli")
        console.print(f"project {project.id}: {project.status}")


@projects.command("import")
def projects_import(path: Path = typer.Argument(..., help="CSV or XLSX; see README")) -> None:
    """Add or update projects from a file; a bad row refuses the whole file."""
    with db_session() as session:
        added, updated = projects_service.import_file(session=session, path=path)
    console.print(f"{path}: {added} added, {updated} updated")


@alliances.command("list")
def alliances_list(region: str | None = typer.Option(None, help="province code"),
                   fmt: OutputFormat = FormatOpt) -> None:
    """List alliances."""
    with db_session() as session:
        rows = [{"id": a.id, "name_zh": a.name_zh, "name_en": a.name_en, "kind": a.kind,
                 "lead_hospital_code": a.lead_hospital_code, "members": len(a.members)}
                for a in alliances_service.list_alliances(session=session, region=region)]
    emit(rows, fmt, title=f"{len(rows)} alliances")


@alliances.command("show")
def alliances_show(alliance_id: int, fmt: OutputFormat = FormatOpt) -> None:
    """Show an alliance and every membership period."""
    with db_session() as session:
        out = alliances_service.to_out(
            session, alliances_service.get(session=session, alliance_id=alliance_id))
    if fmt == OutputFormat.json:
        sys.stdout.write(out.model_dump_json(indent=2) + "\n")
        return
    console.print(f"[bold]{out.name_zh}[/bold] {out.name_en} — {out.kind_zh} ({out.kind}); "
                  f"lead {out.lead_hospital.name_zh}")
    emit([{"code": m.hospital.code, "name_zh": m.hospital.name_zh, "tier": m.tier, "role": m.role,
           "valid_from": m.valid_from, "valid_to": m.valid_to} for m in out.members], fmt)

"""`nrmc referrals`: two-way referrals between hospitals, and their FHIR form."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from pydantic_core import PydanticCustomError

from ..core.enums import Direction, ReferralStatus, Sex, Specialty, Urgency
from ..core.errors import ImportRejected, RowProblem
from ..core.inputs import check_instant
from ..core.tabular import detect_encoding
from ..domains.referrals import fhir
from ..domains.referrals import service as referrals
from ..domains.referrals.models import Referral
from ..domains.referrals.schemas import AgeBand, ReferralCreate
from ..domains.users.scope import Scope
from .context import db_session, settings
from .ops import validated
from .output import OutputFormat, emit, emit_one

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")
SYSTEM = Scope.system()
LIST_COLUMNS = ["id", "status", "version", "direction", "from", "to", "specialty", "diagnosis",
                "urgency", "requested_at", "overdue"]

app = typer.Typer(help="Two-way referrals (双向转诊): requested → accepted | rejected → "
                  "scheduled → arrived → completed → returned, or cancelled.",
                  no_args_is_help=True)


def _show(referral: Referral, fmt: OutputFormat, session: Any) -> None:
    emit_one(referrals.to_out(session, referral, sla_hours=settings().referral_sla)
             .model_dump(), fmt)


@app.command("create")
def create(
    frm: str = typer.Option(..., "--from", help="sending hospital code"),
    to: str = typer.Option(..., "--to", help="receiving hospital code"),
    specialty: Specialty = typer.Option(..., help="specialty"),
    diagnosis: str = typer.Option(..., help="ICD-10 code, e.g. I21.0"),
    urgency: Urgency = typer.Option(Urgency.routine, help="routine, urgent or emergency"),
    patient: str = typer.Option("", help="patient pseudonym (already keyed)"),
    sex: Sex = typer.Option(Sex.unknown, help="GB/T 2261.1: 1 male, 2 female, 9 unknown"),
    age_band: AgeBand | None = typer.Option(None, "--age-band", help="0-14, 15-44, 45-64, 65-79, 80+"),
    reason: str = typer.Option("", help="why the patient is referred"),
    idempotency_key: str | None = typer.Option(
        None, "--idempotency-key", help="repeat-safe key: the same key returns the first referral"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Request a referral; the direction (up/down/lateral) follows from the hospitals' tiers."""
    data = validated(ReferralCreate, from_hospital=frm, to_hospital=to, specialty=specialty,
                     diagnosis=diagnosis, urgency=urgency, patient_pseudonym=patient,
                     patient_sex=sex, age_band=age_band, reason=reason)
    with db_session() as session:
        referral = referrals.create(session=session, scope=SYSTEM, data=data,
                                    idempotency_key=idempotency_key, source="cli",
                                    pseudonym_key=settings().pseudonym_key)
        _show(referral, fmt, session)


def _mover(verb: str):  # type: ignore[no-untyped-def]
    target = referrals.ACTIONS[verb]

    def command(
        referral_id: int = typer.Argument(..., help="referral id"),
        version: int = typer.Option(..., help="the version you saw (refused if it has changed)"),
        reason: str = typer.Option("", help="why (required to reject or cancel)"),
        when: str | None = typer.Option(None, help="appointment time, ISO 8601 (schedule only); "
                                               "without an offset it is Beijing time"),
        fmt: OutputFormat = FormatOpt,
    ) -> None:
        scheduled = None
        if when:
            try:
                scheduled = check_instant(datetime.fromisoformat(when))
            except PydanticCustomError as exc:
                raise typer.BadParameter(f"--when: {exc.message()}") from exc
            except ValueError as exc:
                raise typer.BadParameter(f"{when!r} is not an ISO 8601 time") from exc
        with db_session() as session:
            referral = referrals.transition(
                session=session, scope=SYSTEM, referral_id=referral_id, to=target,
                version=version, reason=reason, scheduled_for=scheduled, source="cli")
            _show(referral, fmt, session)

    command.__doc__ = f"Move a referral to {target.value} (exit 5 if refused or stale)."
    return command


for _verb in referrals.ACTIONS:
    app.command(_verb)(_mover(_verb))


@app.command("list")
def list_cmd(
    hospital: str | None = typer.Option(None, help="either end is this hospital"),
    status: ReferralStatus | None = typer.Option(None, help="only this state"),
    direction: Direction | None = typer.Option(None, help="up, down or lateral"),
    overdue: bool = typer.Option(False, "--overdue", help="only requests past the SLA"),
    limit: int | None = typer.Option(None, help="at most this many rows"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List referrals, newest first; `overdue` marks requests unanswered past the SLA."""
    sla = settings().referral_sla
    with db_session() as session:
        rows = [{"id": r.id, "status": r.status, "version": r.version, "direction": r.direction,
                 "from": r.from_hospital_code, "to": r.to_hospital_code,
                 "specialty": r.specialty, "diagnosis": r.diagnosis, "urgency": r.urgency,
                 "requested_at": referrals.utc(r.requested_at),
                 "overdue": referrals.is_overdue(r, sla_hours=sla)}
                for r in referrals.list_referrals(
                    session=session, scope=SYSTEM, hospital=hospital, status=status,
                    direction=direction, overdue_only=overdue, sla_hours=sla, limit=limit)]
    emit(rows, fmt, columns=LIST_COLUMNS, title=f"{len(rows)} referrals")


@app.command("show")
def show(referral_id: int, fmt: OutputFormat = FormatOpt) -> None:
    """Show one referral."""
    with db_session() as session:
        _show(referrals.get(session=session, scope=SYSTEM, referral_id=referral_id), fmt, session)


@app.command("history")
def history(referral_id: int, fmt: OutputFormat = FormatOpt) -> None:
    """Every move of a referral: who, when, from what to what, and why."""
    with db_session() as session:
        rows = [{"at": e.at, "actor": e.actor or "system", "action": e.action,
                 "from": (e.before or {}).get("status"), "to": (e.after or {}).get("status"),
                 "reason": e.reason}
                for e in referrals.history(session=session, scope=SYSTEM, referral_id=referral_id)]
    emit(rows, fmt, title=f"referral {referral_id}")


@app.command("export")
def export(
    referral_id: int,
    as_fhir: bool = typer.Option(True, "--fhir/--no-fhir", help="FHIR R4 Bundle (the only form)"),
) -> None:
    """Print the referral as a FHIR R4 Bundle (ServiceRequest + Task) in JSON."""
    with db_session() as session:
        bundle = fhir.export_bundle(session=session, scope=SYSTEM, referral_id=referral_id,
                                    base=settings().fhir_base)
    sys.stdout.write(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n")


def _read_bundle(path: Path) -> Any:
    """The file as standard JSON (UTF-8 or GB18030; NaN/Infinity refused), or ImportRejected."""
    def refuse(reason: str) -> ImportRejected:
        return ImportRejected(str(path), [RowProblem(str(path), 0, "file", reason)])

    def non_standard(token: str) -> Any:
        raise refuse(f"{token} is not standard JSON")

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise refuse("is empty")
    try:
        bundle = json.loads(data.decode(detect_encoding(path, data[:65536])),
                            parse_constant=non_standard)
    except (ValueError, RecursionError) as exc:
        raise refuse(f"is not JSON ({str(exc)[:120]})") from exc
    if not isinstance(bundle, dict):
        raise refuse("is not a FHIR Bundle (a JSON object)")
    return bundle


@app.command("import")
def import_cmd(path: Path = typer.Argument(..., help="FHIR R4 Bundle JSON file"),
               fmt: OutputFormat = FormatOpt) -> None:
    """Store a referral received as a FHIR Bundle; the same bundle twice gives the same referral."""
    with db_session() as session:
        bundle = _read_bundle(path)
        _show(fhir.import_bundle(session=session, scope=SYSTEM, bundle=bundle, source=str(path),
                                base=settings().fhir_base),
              fmt, session)

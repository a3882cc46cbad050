"""A referral as FHIR R4: a Bundle holding a ServiceRequest (what is asked) and a Task (where
the request stands). Systems that speak FHIR (regional health platforms, hospital HIS) can
take the export as is; the import accepts the same shape back.

Status mapping (nrmc → Task.status / ServiceRequest.status); the exact nrmc state also travels
in Task.businessStatus (system …/CodeSystem/referral-status), so a round trip is lossless:

    requested → requested / active      arrived   → in-progress / active
    accepted  → accepted  / active      completed → completed / completed
    rejected  → rejected  / revoked     returned  → completed / completed
    scheduled → ready     / active      cancelled → cancelled / revoked

Hospitals are referenced by identifier (system ``{base}/sid/hospital``), the diagnosis as
ICD-10 (http://hl7.org/fhir/sid/icd-10). The patient is a Patient contained in the
ServiceRequest: its pseudonym (``…/sid/patient-pseudonym``), sex (administrative-gender) and
age band (extension ``…/StructureDefinition/patient-age-band``, a Range of years). Nothing more
identifying is stored, so nothing more is exported: no name, no birth date.

Strict validators want a Bundle entry's ``fullUrl`` to be an absolute URL or ``urn:uuid:``, every
reference inside the Bundle to resolve to an entry (or, ``#id``, to a contained resource), and
extension URLs to be absolute canonical URLs. So entries get ``urn:uuid:`` full URLs (UUID-5 of
the referral id under the base: the same referral exports the same UUIDs for the same base), the
Task points at its ServiceRequest by that URL, and nrmc's own systems live under one canonical
base, ``NRMC_FHIR_BASE`` (default ``https://nrmc.example.org/fhir``). Which older systems an
import still reads: :mod:`.fhir_terms`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ...core.enums import Direction, ReferralStatus, Specialty, Urgency
from ...core.errors import Forbidden, NotFound
from ...core.fhir import DEFAULT_FHIR_BASE
from ..audit import service as audit
from ..hospitals import service as hospitals
from ..hospitals.models import Hospital
from ..users.scope import Scope
from . import fhir_parts as parts
from . import service
from .fhir_parts import FhirInvalid
from .fhir_terms import (
    DEFAULT,
    FROM_PRIORITY,
    FROM_TASK_STATUS,
    LEGACY_URNS,
    PRIORITY,
    REQUEST_STATUS,
    SYS_ICD10,
    TASK_STATUS,
    Systems,
)
from .models import Referral
from .schemas import normalize_icd10

__all__ = ["FHIR_BASE", "LEGACY", "TASK_STATUS", "FhirInvalid", "export_bundle", "full_url",
           "import_bundle"]

#: The default canonical base (the ``NRMC_FHIR_BASE`` setting replaces it per site).
FHIR_BASE = DEFAULT_FHIR_BASE
#: Default-base systems → the names bundles exported before version 0.2 gave them.
LEGACY = {getattr(DEFAULT, name): urn for name, urn in LEGACY_URNS.items()}

S = ReferralStatus


def full_url(referral_id: int, resource: str, base: str = DEFAULT_FHIR_BASE) -> str:
    """The stable ``urn:uuid:`` full URL of one resource of one referral's Bundle."""
    return Systems.under(base).full_url(referral_id, resource)


def _iso(value: datetime | None) -> str | None:
    return service.utc(value).isoformat() if value else None


def _org(session: Session, code: str, systems: Systems) -> dict[str, Any]:
    hospital = hospitals.get(session=session, code=code)
    return {"identifier": {"system": systems.hospital, "value": code}, "display": hospital.name_zh}


# --- export -------------------------------------------------------------------------------------

def export_bundle(*, session: Session, scope: Scope, referral_id: int,
                  base: str = DEFAULT_FHIR_BASE) -> dict[str, Any]:
    """The referral as a FHIR R4 Bundle (type collection) of a ServiceRequest and a Task, with
    nrmc's systems under `base` (the site's ``settings.fhir_base``)."""
    systems = Systems.under(base)
    r = service.get(session=session, scope=scope, referral_id=referral_id)
    status = S(r.status)
    identifiers = [{"system": systems.referral, "value": str(r.id)}]
    if r.idempotency_key:
        identifiers.append({"system": systems.key, "value": r.idempotency_key})
    pseudonym = ({"identifier": {"system": systems.patient, "value": r.patient_pseudonym}}
                 if r.patient_pseudonym else {"display": "patient not identified"})
    sr_id = f"referral-{r.id}"
    sr_url, task_url = systems.full_url(r.id, "ServiceRequest"), systems.full_url(r.id, "Task")
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": sr_id,
        "contained": [parts.patient_resource(r, systems)], "identifier": identifiers,
        "status": REQUEST_STATUS[status], "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005",
                                  "display": "Patient referral"}]}],
        "priority": PRIORITY[Urgency(r.urgency)],
        "code": {"coding": [{"system": systems.specialty, "code": r.specialty,
                             "display": Specialty(r.specialty).label_zh}]},
        # The identifier stays beside the local reference: readers of the older form look there.
        "subject": {"reference": f"#{parts.PATIENT_ID}", **pseudonym},
        "authoredOn": _iso(r.requested_at),
        "requester": _org(session, r.from_hospital_code, systems),
        "performer": [_org(session, r.to_hospital_code, systems)],
        "reasonCode": [{"coding": [{"system": SYS_ICD10, "code": r.diagnosis}]}],
    }
    if r.returned_from_id is not None:
        request["basedOn"] = [parts.return_link(r.returned_from_id, systems)]
    if r.reason:
        request["note"] = [{"text": r.reason}]
    task: dict[str, Any] = {
        "resourceType": "Task", "id": f"{sr_id}-task",
        "meta": {"versionId": str(r.version), "lastUpdated": _iso(r.updated_at)},
        "identifier": identifiers, "basedOn": [{"reference": sr_url}],
        "status": TASK_STATUS[status],
        "businessStatus": {"coding": [{"system": systems.status, "code": status.value}]},
        "intent": "order", "priority": PRIORITY[Urgency(r.urgency)],
        # A contained Patient is only reachable from its own ServiceRequest: the Task names
        # the patient by pseudonym.
        "focus": {"reference": sr_url}, "for": pseudonym,
        "authoredOn": _iso(r.requested_at), "lastModified": _iso(r.updated_at),
        "requester": _org(session, r.from_hospital_code, systems),
        "owner": _org(session, r.to_hospital_code, systems),
    }
    if r.reply_note:
        task.update(parts.reply_elements(r, status, task["owner"]))
    if r.scheduled_for:
        task["executionPeriod"] = {"start": _iso(r.scheduled_for)}
    if r.responded_at:
        task["extension"] = [{"url": systems.responded, "valueDateTime": _iso(r.responded_at)}]
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": sr_url, "resource": request},
        {"fullUrl": task_url, "resource": task},
    ]}


# --- import -------------------------------------------------------------------------------------

def _need(resource: dict[str, Any], path: str) -> Any:
    value: Any = resource
    for part in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        value = value.get(part) if isinstance(value, dict) else None
        if value in (None, "", []):
            raise FhirInvalid(f"{resource.get('resourceType', '?')}.{path} is missing")
    return value


def _code(concept: dict[str, Any] | None, systems: tuple[str, ...]) -> str | None:
    for coding in (concept or {}).get("coding", []):
        if coding.get("system") in systems:
            return coding.get("code")
    return None


def _time(text: str | None, field: str) -> datetime | None:
    if not text:
        return None
    try:
        return service.utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise FhirInvalid(f"{field} is not a FHIR dateTime: {text!r}") from exc


def import_bundle(*, session: Session, scope: Scope, bundle: dict[str, Any],
                  source: str = "fhir", base: str = DEFAULT_FHIR_BASE) -> Referral:
    """Store a referral received as a FHIR Bundle (ServiceRequest + optional Task).

    The state is taken as recorded by the sender (it is history, not a move made here).
    Importing the same bundle twice returns the first referral: the idempotency key is the
    sender's key if it gave one, else `fhir:<ServiceRequest.id>`. Every check runs before
    anything is stored, so a refused bundle (FhirInvalid, naming the field) leaves no trace.
    """
    scope.require_write()
    systems = Systems.under(base)
    resources = [e.get("resource", {}) for e in bundle.get("entry", [])] \
        if bundle.get("resourceType") == "Bundle" else [bundle]
    request = next((r for r in resources if r.get("resourceType") == "ServiceRequest"), None)
    task = next((r for r in resources if r.get("resourceType") == "Task"), None) or {}
    if request is None:
        raise FhirInvalid("the bundle holds no ServiceRequest")
    key = next((i["value"] for i in request.get("identifier", [])
                if i.get("system") in systems.reads("key")), None) or f"fhir:{_need(request, 'id')}"
    existing = service.find_by_key(session, key)
    if existing is not None:
        return existing
    origin = _hospital(session, _need(request, "requester.identifier.value"), systems)
    target = _hospital(session, _need(request, "performer.identifier.value"), systems)
    if not scope.allows_hospital(origin.code, origin.region_code) and not scope.allows_hospital(
            target.code, target.region_code):
        raise Forbidden("neither hospital of this referral is in your scope")
    specialty = _code(request.get("code"), systems.reads("specialty")) or Specialty.other.value
    if specialty not in Specialty.__members__:
        raise FhirInvalid(f"ServiceRequest.code: unknown specialty {specialty!r}")
    diagnosis = _code((request.get("reasonCode") or [{}])[0], (SYS_ICD10,))
    if not diagnosis:
        raise FhirInvalid("ServiceRequest.reasonCode needs an ICD-10 coding")
    try:
        diagnosis = normalize_icd10(diagnosis)
    except ValueError as exc:
        raise FhirInvalid(f"ServiceRequest.reasonCode: {exc}") from exc
    status = _status(task, systems)
    priority = request.get("priority", "routine")
    if priority not in FROM_PRIORITY:
        raise FhirInvalid(f"ServiceRequest.priority {priority!r} is not a FHIR request priority")
    requested_at = _time(_need(request, "authoredOn"), "ServiceRequest.authoredOn")
    assert requested_at is not None
    responded = next((e.get("valueDateTime") for e in task.get("extension", [])
                      if e.get("url") in systems.reads("responded")), None)
    pseudonym, sex, age_band = parts.read_patient(request, systems)
    original = parts.read_return_link(session, scope, request, systems, origin=origin,
                                      target=target)
    referral = Referral(
        idempotency_key=key, from_hospital_code=origin.code, to_hospital_code=target.code,
        direction=Direction.between(origin.tier, target.tier).value,
        patient_pseudonym=pseudonym, patient_sex=sex, age_band=age_band,
        specialty=specialty, diagnosis=diagnosis, urgency=FROM_PRIORITY[priority].value,
        reason=" ".join(n.get("text", "") for n in request.get("note", [])).strip(),
        reply_note=parts.read_reply(task, target.code, systems),
        returned_from_id=original.id if original is not None else None,
        status=status.value, requested_at=requested_at,
        responded_at=_time(responded, "Task.extension(responded-at)"),
        scheduled_for=_time(task.get("executionPeriod", {}).get("start"), "Task.executionPeriod"),
        updated_at=_time(task.get("lastModified"), "Task.lastModified") or requested_at,
        created_by=scope.actor,
    )
    session.add(referral)
    session.flush()
    after: dict[str, Any] = {"status": referral.status, "version": referral.version}
    if referral.returned_from_id is not None:
        after["returned_from_id"] = referral.returned_from_id
    audit.record(session=session, actor=scope.actor, action="referral.import",
                 object_type="referral", object_id=referral.id, after=after,
                 reason=f"FHIR ServiceRequest {request.get('id', '')}", source=source)
    return referral


def _hospital(session: Session, code: str, systems: Systems) -> Hospital:
    try:
        return hospitals.get(session=session, code=code)
    except NotFound as exc:
        raise FhirInvalid(f"unknown hospital {code!r} (identifier system "
                          f"{systems.hospital})") from exc


def _status(task: dict[str, Any], systems: Systems) -> ReferralStatus:
    if not task:
        return S.requested
    exact = _code(task.get("businessStatus"), systems.reads("status"))
    if exact:
        if exact not in S.__members__:
            raise FhirInvalid(f"Task.businessStatus: unknown referral status {exact!r}")
        return S(exact)
    code = task.get("status")
    if code not in FROM_TASK_STATUS:
        raise FhirInvalid(f"Task.status {code!r} has no referral equivalent")
    return FROM_TASK_STATUS[code]



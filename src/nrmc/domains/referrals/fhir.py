"""A referral as FHIR R4: a Bundle holding a ServiceRequest (what is asked) and a Task (where
the request stands). Systems that speak FHIR (regional health platforms, hospital HIS) can
take the export as is; the import accepts the same shape back.

Status mapping (nrmc → Task.status / ServiceRequest.status); the exact nrmc state also travels
in Task.businessStatus (system …/CodeSystem/referral-status), so a round trip is lossless:

    requested → requested / active      arrived   → in-progress / active
    accepted  → accepted  / active      completed → completed / completed
    rejected  → rejected  / revoked     returned  → completed / completed
    scheduled → ready     / active      cancelled → cancelled / revoked

Hospitals are referenced by identifier (system ``{FHIR_BASE}/sid/hospital``), the patient by
pseudonym (``…/sid/patient-pseudonym``), the diagnosis as ICD-10 (http://hl7.org/fhir/sid/icd-10).

Strict validators want a Bundle entry's ``fullUrl`` to be an absolute URL or ``urn:uuid:``, every
reference inside the Bundle to resolve to an entry, and extension URLs to be absolute canonical
URLs. So entries get ``urn:uuid:`` full URLs (UUID-5 of the referral id: the same referral
exports the same UUIDs), the Task points at its ServiceRequest by that URL, and nrmc's own code
systems and extension live under one canonical base, ``FHIR_BASE``. Bundles exported before
(``urn:nrmc:…`` systems) are still read.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ...core.enums import Direction, ReferralStatus, Specialty, Urgency
from ...core.errors import Conflict, Forbidden, NotFound
from ..audit import service as audit
from ..hospitals import service as hospitals
from ..users.scope import Scope
from . import service
from .models import Referral
from .schemas import normalize_icd10

#: Canonical base of nrmc's own FHIR code systems and extension. A site that publishes its own
#: implementation guide replaces it; the import also reads the legacy ``urn:nrmc:`` systems.
FHIR_BASE = "https://nrmc.example.org/fhir"
SYS_HOSPITAL = f"{FHIR_BASE}/sid/hospital"
SYS_PATIENT = f"{FHIR_BASE}/sid/patient-pseudonym"
SYS_REFERRAL = f"{FHIR_BASE}/sid/referral"
SYS_KEY = f"{FHIR_BASE}/sid/idempotency-key"
SYS_STATUS = f"{FHIR_BASE}/CodeSystem/referral-status"
SYS_SPECIALTY = f"{FHIR_BASE}/CodeSystem/specialty"
SYS_ICD10 = "http://hl7.org/fhir/sid/icd-10"
EXT_RESPONDED = f"{FHIR_BASE}/StructureDefinition/task-responded-at"
#: The same systems as bundles exported before version 0.2 named them.
LEGACY = {SYS_HOSPITAL: "urn:nrmc:hospital", SYS_PATIENT: "urn:nrmc:patient-pseudonym",
          SYS_REFERRAL: "urn:nrmc:referral", SYS_KEY: "urn:nrmc:idempotency-key",
          SYS_STATUS: "urn:nrmc:referral-status", SYS_SPECIALTY: "urn:nrmc:specialty",
          EXT_RESPONDED: "urn:nrmc:fhir:responded-at"}
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, FHIR_BASE)


def _systems(system: str) -> tuple[str, ...]:
    return (system, LEGACY[system]) if system in LEGACY else (system,)


def full_url(referral_id: int, resource: str) -> str:
    """The stable ``urn:uuid:`` full URL of one resource of one referral's Bundle."""
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, f'referral/{referral_id}/{resource}')}"

S = ReferralStatus
TASK_STATUS = {S.requested: "requested", S.accepted: "accepted", S.rejected: "rejected",
               S.scheduled: "ready", S.arrived: "in-progress", S.completed: "completed",
               S.returned: "completed", S.cancelled: "cancelled"}
REQUEST_STATUS = {S.requested: "active", S.accepted: "active", S.scheduled: "active",
                  S.arrived: "active", S.completed: "completed", S.returned: "completed",
                  S.rejected: "revoked", S.cancelled: "revoked"}
# Reading a Task from elsewhere that carries no businessStatus: its status alone decides.
FROM_TASK_STATUS = {"requested": S.requested, "received": S.requested, "accepted": S.accepted,
                    "rejected": S.rejected, "ready": S.scheduled, "in-progress": S.arrived,
                    "completed": S.completed, "cancelled": S.cancelled}
PRIORITY = {Urgency.routine: "routine", Urgency.urgent: "urgent", Urgency.emergency: "stat"}
FROM_PRIORITY = {"routine": Urgency.routine, "urgent": Urgency.urgent, "asap": Urgency.urgent,
                 "stat": Urgency.emergency}


def _iso(value: datetime | None) -> str | None:
    return service.utc(value).isoformat() if value else None


def _org(session: Session, code: str) -> dict[str, Any]:
    hospital = hospitals.get(session=session, code=code)
    return {"identifier": {"system": SYS_HOSPITAL, "value": code}, "display": hospital.name_zh}


def export_bundle(*, session: Session, scope: Scope, referral_id: int) -> dict[str, Any]:
    """The referral as a FHIR R4 Bundle (type collection) of a ServiceRequest and a Task."""
    r = service.get(session=session, scope=scope, referral_id=referral_id)
    status = S(r.status)
    identifiers = [{"system": SYS_REFERRAL, "value": str(r.id)}]
    if r.idempotency_key:
        identifiers.append({"system": SYS_KEY, "value": r.idempotency_key})
    subject = ({"identifier": {"system": SYS_PATIENT, "value": r.patient_pseudonym}}
               if r.patient_pseudonym else {"display": "patient not identified"})
    sr_id = f"referral-{r.id}"
    sr_url, task_url = full_url(r.id, "ServiceRequest"), full_url(r.id, "Task")
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": sr_id, "identifier": identifiers,
        "status": REQUEST_STATUS[status], "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005",
                                  "display": "Patient referral"}]}],
        "priority": PRIORITY[Urgency(r.urgency)],
        "code": {"coding": [{"system": SYS_SPECIALTY, "code": r.specialty,
                             "display": Specialty(r.specialty).label_zh}]},
        "subject": subject, "authoredOn": _iso(r.requested_at),
        "requester": _org(session, r.from_hospital_code),
        "performer": [_org(session, r.to_hospital_code)],
        "reasonCode": [{"coding": [{"system": SYS_ICD10, "code": r.diagnosis}]}],
    }
    if r.reason:
        request["note"] = [{"text": r.reason}]
    task: dict[str, Any] = {
        "resourceType": "Task", "id": f"{sr_id}-task",
        "meta": {"versionId": str(r.version), "lastUpdated": _iso(r.updated_at)},
        "identifier": identifiers, "basedOn": [{"reference": sr_url}],
        "status": TASK_STATUS[status],
        "businessStatus": {"coding": [{"system": SYS_STATUS, "code": status.value}]},
        "intent": "order", "priority": PRIORITY[Urgency(r.urgency)],
        "focus": {"reference": sr_url}, "for": subject,
        "authoredOn": _iso(r.requested_at), "lastModified": _iso(r.updated_at),
        "requester": _org(session, r.from_hospital_code), "owner": _org(session, r.to_hospital_code),
    }
    if r.scheduled_for:
        task["executionPeriod"] = {"start": _iso(r.scheduled_for)}
    if r.responded_at:
        task["extension"] = [{"url": EXT_RESPONDED, "valueDateTime": _iso(r.responded_at)}]
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": sr_url, "resource": request},
        {"fullUrl": task_url, "resource": task},
    ]}


class FhirInvalid(Conflict):
    """The bundle is not a referral this system can read; the message names the field."""


def _need(resource: dict[str, Any], path: str) -> Any:
    value: Any = resource
    for part in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        value = value.get(part) if isinstance(value, dict) else None
        if value in (None, "", []):
            raise FhirInvalid(f"{resource.get('resourceType', '?')}.{path} is missing")
    return value


def _code(concept: dict[str, Any] | None, system: str) -> str | None:
    for coding in (concept or {}).get("coding", []):
        if coding.get("system") in _systems(system):
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
                  source: str = "fhir") -> Referral:
    """Store a referral received as a FHIR Bundle (ServiceRequest + optional Task).

    The state is taken as recorded by the sender (it is history, not a move made here).
    Importing the same bundle twice returns the first referral: the idempotency key is the
    sender's key if it gave one, else `fhir:<ServiceRequest.id>`.
    """
    scope.require_write()
    resources = [e.get("resource", {}) for e in bundle.get("entry", [])] \
        if bundle.get("resourceType") == "Bundle" else [bundle]
    request = next((r for r in resources if r.get("resourceType") == "ServiceRequest"), None)
    task = next((r for r in resources if r.get("resourceType") == "Task"), None) or {}
    if request is None:
        raise FhirInvalid("the bundle holds no ServiceRequest")
    key = next((i["value"] for i in request.get("identifier", [])
                if i.get("system") in _systems(SYS_KEY)), None) or f"fhir:{_need(request, 'id')}"
    existing = service.find_by_key(session, key)
    if existing is not None:
        return existing
    origin = _hospital(session, _need(request, "requester.identifier.value"))
    target = _hospital(session, _need(request, "performer.identifier.value"))
    if not scope.allows_hospital(origin.code, origin.region_code) and not scope.allows_hospital(
            target.code, target.region_code):
        raise Forbidden("neither hospital of this referral is in your scope")
    specialty = _code(request.get("code"), SYS_SPECIALTY) or Specialty.other.value
    if specialty not in Specialty.__members__:
        raise FhirInvalid(f"ServiceRequest.code: unknown specialty {specialty!r}")
    diagnosis = _code((request.get("reasonCode") or [{}])[0], SYS_ICD10)
    if not diagnosis:
        raise FhirInvalid("ServiceRequest.reasonCode needs an ICD-10 coding")
    try:
        diagnosis = normalize_icd10(diagnosis)
    except ValueError as exc:
        raise FhirInvalid(f"ServiceRequest.reasonCode: {exc}") from exc
    status = _status(task)
    priority = request.get("priority", "routine")
    if priority not in FROM_PRIORITY:
        raise FhirInvalid(f"ServiceRequest.priority {priority!r} is not a FHIR request priority")
    requested_at = _time(_need(request, "authoredOn"), "ServiceRequest.authoredOn")
    assert requested_at is not None
    responded = next((e.get("valueDateTime") for e in task.get("extension", [])
                      if e.get("url") in _systems(EXT_RESPONDED)), None)
    subject = request.get("subject", {}).get("identifier", {})
    referral = Referral(
        idempotency_key=key, from_hospital_code=origin.code, to_hospital_code=target.code,
        direction=Direction.between(origin.tier, target.tier).value,
        patient_pseudonym=(subject.get("value", "") if subject.get("system") in _systems(SYS_PATIENT)
                           else ""),
        specialty=specialty, diagnosis=diagnosis, urgency=FROM_PRIORITY[priority].value,
        reason=" ".join(n.get("text", "") for n in request.get("note", [])).strip(),
        status=status.value, requested_at=requested_at,
        responded_at=_time(responded, "Task.extension(responded-at)"),
        scheduled_for=_time(task.get("executionPeriod", {}).get("start"), "Task.executionPeriod"),
        updated_at=_time(task.get("lastModified"), "Task.lastModified") or requested_at,
        created_by=scope.actor,
    )
    session.add(referral)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="referral.import",
                 object_type="referral", object_id=referral.id,
                 after={"status": referral.status, "version": referral.version},
                 reason=f"FHIR ServiceRequest {request.get('id', '')}", source=source)
    return referral


def _hospital(session: Session, code: str):  # type: ignore[no-untyped-def]
    try:
        return hospitals.get(session=session, code=code)
    except NotFound as exc:
        raise FhirInvalid(f"unknown hospital {code!r} (identifier system {SYS_HOSPITAL})") from exc


def _status(task: dict[str, Any]) -> ReferralStatus:
    if not task:
        return S.requested
    exact = _code(task.get("businessStatus"), SYS_STATUS)
    if exact:
        if exact not in S.__members__:
            raise FhirInvalid(f"Task.businessStatus: unknown referral status {exact!r}")
        return S(exact)
    code = task.get("status")
    if code not in FROM_TASK_STATUS:
        raise FhirInvalid(f"Task.status {code!r} has no referral equivalent")
    return FROM_TASK_STATUS[code]

"""The parts of a referral's FHIR form that a receiving system needs beyond the request: the
patient (a contained Patient), the receiving hospital's reply (Task.note, Task.statusReason) and
the link from a return to the referral it returns (ServiceRequest.basedOn). Each is written and
read side by side here, so the two directions stay in step; :mod:`.fhir` assembles the Bundle.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import ReferralStatus
from ...core.errors import Conflict, NotFound
from ..hospitals.models import Hospital
from ..users.scope import Scope
from . import service
from .fhir_terms import AGE_RANGES, FROM_AGE_RANGE, FROM_GENDER, GENDER, Systems, years
from .models import Referral

PATIENT_ID = "patient"  # the contained Patient's id, local to its ServiceRequest


class FhirInvalid(Conflict):
    """The bundle is not a referral this system can read; the message names the field."""


def patient_resource(r: Referral, systems: Systems) -> dict[str, Any]:
    """The patient as far as the referral knows them: pseudonym, sex, age band; no more.

    Contained rather than a Bundle entry: it has no existence of its own outside this referral
    (no server id, a snapshot of what the sender recorded)."""
    out: dict[str, Any] = {"resourceType": "Patient", "id": PATIENT_ID}
    if r.age_band in AGE_RANGES:  # "" when not recorded
        low, high = AGE_RANGES[r.age_band]
        band: dict[str, Any] = {"low": years(low)}
        if high is not None:
            band["high"] = years(high)
        out["extension"] = [{"url": systems.age_band, "valueRange": band}]
    if r.patient_pseudonym:
        out["identifier"] = [{"system": systems.patient, "value": r.patient_pseudonym}]
    out["gender"] = GENDER.get(r.patient_sex, "unknown")
    return out


def reply_elements(r: Referral, status: ReferralStatus, owner: dict[str, Any]) -> dict[str, Any]:
    """The receiving hospital's answer: a Task.note authored by the Task's owner, because it is
    free text the receiver wrote as the task progressed and it outlives the move it answered
    (an acceptance note stays while the referral is scheduled, arrives, completes). While the
    referral still stands at that answer (accepted, rejected, returned) it is also
    Task.statusReason, FHIR's place for why a task is where it is (e.g. why it was refused)."""
    out: dict[str, Any] = {"note": [{"authorReference": owner, "text": r.reply_note}]}
    if status in service.REPLIES:
        out["statusReason"] = {"text": r.reply_note}
    return out


def return_link(original_id: int, systems: Systems) -> dict[str, Any]:
    """The referral a return sends back from, as ServiceRequest.basedOn by its identifier.

    basedOn because FHIR defines it as the request this one fulfils, and a return (下转) is how
    the receiving hospital completes the original referral. Not ``replaces``: that withdraws and
    supersedes the original, which stays (completed, then returned) and counts in the KPIs on
    its own. Not Task.partOf: that makes the return's Task a sub-step of the original's Task,
    which had already ended when the return was made. By identifier, because the original is
    not in this Bundle: a receiver links it to the copy it holds."""
    return {"type": "ServiceRequest",
            "identifier": {"system": systems.referral, "value": str(original_id)},
            "display": f"returns referral {original_id}"}


def read_patient(request: dict[str, Any], systems: Systems) -> tuple[str, str, str]:
    """Pseudonym, nrmc sex code and age band from ServiceRequest.subject and the Patient it
    points at (contained, ``#id``). Bundles of the older form have the identifier only."""
    subject = request.get("subject") or {}
    person: dict[str, Any] = {}
    local = subject.get("reference")
    if isinstance(local, str) and local.startswith("#"):
        found = [c for c in request.get("contained", [])
                 if c.get("resourceType") == "Patient" and c.get("id") == local[1:]]
        if not found:
            raise FhirInvalid(f"ServiceRequest.subject: {local} names no contained Patient")
        person = found[0]
    ids = [subject.get("identifier") or {}, *person.get("identifier", [])]
    pseudonym = next((i.get("value", "") for i in ids
                      if i.get("system") in systems.reads("patient")), "")
    gender = person.get("gender", "unknown")
    if gender not in FROM_GENDER:
        raise FhirInvalid(f"Patient.gender {gender!r} is not a FHIR administrative gender")
    ranges = [e.get("valueRange") or {} for e in person.get("extension", [])
              if e.get("url") in systems.reads("age_band")]
    band = ""
    if ranges:
        low, high = ((ranges[0].get(end) or {}).get("value") for end in ("low", "high"))
        bounds: tuple[Any, Any] = (low, high)  # JSON numbers; 45.0 finds 45 as well
        band = FROM_AGE_RANGE.get(bounds, "")
        if not band:
            raise FhirInvalid(f"Patient.extension(patient-age-band): {low}–{high or ''} years is "
                              f"not one of nrmc's age bands ({', '.join(AGE_RANGES)})")
    return pseudonym, FROM_GENDER[gender], band


def read_reply(task: dict[str, Any], receiver: str, systems: Systems) -> str:
    """The receiving hospital's answer: Task notes the owner authored, else Task.statusReason."""
    def by_receiver(note: dict[str, Any]) -> bool:
        author = (note.get("authorReference") or {}).get("identifier") or {}
        return author.get("value") == receiver and author.get("system") in systems.reads("hospital")

    notes = [n.get("text", "") for n in task.get("note", []) if by_receiver(n)]
    return "\n".join(notes).strip() or (task.get("statusReason") or {}).get("text", "").strip()


def read_return_link(session: Session, scope: Scope, request: dict[str, Any], systems: Systems, *,
                      origin: Hospital, target: Hospital) -> Referral | None:
    """The stored referral this one returns, named in ServiceRequest.basedOn by nrmc referral
    identifier; None when there is no such link (a basedOn of another system is not one).

    The identifier is the exporting store's id. The original is the referral imported from
    that store's bundle (idempotency key ``fhir:referral-<id>``), else this store's referral
    <id> (a bundle exported here); either way it must run the opposite way (the return goes
    receiver → sender), the caller must see it, and it must not have a return yet."""
    links = [b["identifier"] for b in request.get("basedOn", [])
             if isinstance(b.get("identifier"), dict)
             and b["identifier"].get("system") in systems.reads("referral")]
    if not links:
        return None
    if len(links) > 1:
        raise FhirInvalid("ServiceRequest.basedOn names more than one referral; a return "
                          "returns exactly one")
    value = str(links[0].get("value") or "")
    candidates = [service.find_by_key(session, f"fhir:referral-{value}")]
    if value.isascii() and value.isdigit() and int(value) < 2**31:  # an id the store can hold
        candidates.append(session.get(Referral, int(value)))
    for candidate in candidates:
        if candidate is None or (candidate.from_hospital_code, candidate.to_hospital_code) != (
                target.code, origin.code):
            continue
        try:
            original = service.get(session=session, scope=scope, referral_id=candidate.id)
        except NotFound:
            continue
        taken = session.scalar(select(Referral.id).where(Referral.returned_from_id == original.id))
        if taken is not None:
            raise FhirInvalid(f"ServiceRequest.basedOn: referral {original.id} already has its "
                              f"return (referral {taken})")
        return original
    raise FhirInvalid(
        f"ServiceRequest.basedOn: the referral this one returns ({links[0].get('system')} "
        f"{value!r}, {target.code} → {origin.code}) is not in this store or not visible to you; "
        "import that referral first")

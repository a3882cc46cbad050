"""The vocabulary of a referral's FHIR form: nrmc's systems under one canonical base, the older
names an import still reads, and the code maps between nrmc values and FHIR codes.

Which systems an import reads (:meth:`Systems.reads`): those under the site's own base
(``NRMC_FHIR_BASE``), those under the default base (bundles a site exported before it set its
own base, and those of sites that never set one), and the ``urn:nrmc:`` names of bundles
exported before version 0.2. The export writes the site's own base only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

from ...core.enums import ReferralStatus, Sex, Urgency
from ...core.fhir import DEFAULT_FHIR_BASE, normalise_base
from .schemas import AgeBand

# Where each of nrmc's systems lives under the base.
PATHS = {
    "hospital": "sid/hospital",
    "patient": "sid/patient-pseudonym",
    "referral": "sid/referral",
    "key": "sid/idempotency-key",
    "status": "CodeSystem/referral-status",
    "specialty": "CodeSystem/specialty",
    "responded": "StructureDefinition/task-responded-at",
    "age_band": "StructureDefinition/patient-age-band",
}
# The same systems as bundles exported before version 0.2 named them (the age band is newer).
LEGACY_URNS = {
    "hospital": "urn:nrmc:hospital", "patient": "urn:nrmc:patient-pseudonym",
    "referral": "urn:nrmc:referral", "key": "urn:nrmc:idempotency-key",
    "status": "urn:nrmc:referral-status", "specialty": "urn:nrmc:specialty",
    "responded": "urn:nrmc:fhir:responded-at",
}
SYS_ICD10 = "http://hl7.org/fhir/sid/icd-10"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class Systems:
    """nrmc's identifier systems, code systems and extension URLs under one canonical base."""

    base: str
    hospital: str
    patient: str
    referral: str
    key: str
    status: str
    specialty: str
    responded: str
    age_band: str

    @staticmethod
    @cache
    def under(base: str = DEFAULT_FHIR_BASE) -> Systems:
        clean = normalise_base(base)
        return Systems(base=clean, **{name: f"{clean}/{path}" for name, path in PATHS.items()})

    def reads(self, name: str) -> tuple[str, ...]:
        """Every system an import accepts for `name` (see the module docstring)."""
        found = [getattr(self, name), f"{DEFAULT_FHIR_BASE}/{PATHS[name]}", LEGACY_URNS.get(name)]
        return tuple(dict.fromkeys(s for s in found if s))

    def full_url(self, referral_id: int, resource: str) -> str:
        """The stable ``urn:uuid:`` full URL of one resource of one referral's Bundle: UUID-5
        under the base, so the same referral exports the same UUIDs for the same base."""
        namespace = uuid.uuid5(uuid.NAMESPACE_URL, self.base)
        return f"urn:uuid:{uuid.uuid5(namespace, f'referral/{referral_id}/{resource}')}"


DEFAULT = Systems.under(DEFAULT_FHIR_BASE)

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

# GB/T 2261.1 sex codes ↔ FHIR administrative-gender. nrmc has no "other": GB/T 2261.1's
# 9 (未说明, not stated) is the nearest and reveals nothing beyond what was sent.
GENDER = {Sex.male.value: "male", Sex.female.value: "female", Sex.unknown.value: "unknown"}
FROM_GENDER = {"male": Sex.male.value, "female": Sex.female.value,
               "unknown": Sex.unknown.value, "other": Sex.unknown.value}


def age_range(band: str) -> tuple[int, int | None]:
    """An age band's bounds in whole years ("45-64" → (45, 64), "80+" → (80, None))."""
    low, _, high = band.removesuffix("+").partition("-")
    return int(low), (int(high) if high else None)


AGE_RANGES = {band.value: age_range(band.value) for band in AgeBand}
FROM_AGE_RANGE = {bounds: band for band, bounds in AGE_RANGES.items()}


def years(value: int) -> dict[str, object]:
    """A FHIR Quantity of whole years (UCUM ``a``)."""
    return {"value": value, "unit": "a", "system": UCUM, "code": "a"}

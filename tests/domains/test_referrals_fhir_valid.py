"""The FHIR export passes an independent validator: urn:uuid full URLs, references that resolve
inside the Bundle, absolute canonical extension URLs; and older bundles still import."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from nrmc.core.enums import ReferralStatus as S
from nrmc.domains.referrals import fhir
from nrmc.domains.referrals import service as referrals

from .ops_factories import CITY, COUNTY, SYSTEM, T0, pyramid, refer

fhir_models = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources (dev)")


def _bundle(db) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    pyramid(db)
    referral = refer(db, frm=COUNTY, to=CITY, urgency="urgent", patient_pseudonym="p-1a2b",
                     reason="needs PCI", key="his-77")
    referrals.transition(session=db, scope=SYSTEM, referral_id=referral.id, to=S.accepted,
                         version=1, now=T0 + timedelta(hours=2))
    return json.loads(json.dumps(fhir.export_bundle(session=db, scope=SYSTEM,
                                                    referral_id=referral.id)))


def _references(node: Any, local: frozenset[str] = frozenset()) -> list[str]:
    """Every literal reference, with `#id` ones that name a contained resource of the resource
    holding them (the only place FHIR resolves them) left out."""
    if isinstance(node, dict):
        if "resourceType" in node:
            local = frozenset(f"#{c.get('id')}" for c in node.get("contained", []))
        ref = node.get("reference")
        found = [ref] if isinstance(ref, str) and ref not in local else []
        return found + [r for value in node.values() for r in _references(value, local)]
    if isinstance(node, list):
        return [r for value in node for r in _references(value, local)]
    return []


def test_the_export_is_a_valid_fhir_bundle(db):
    bundle = _bundle(db)
    parsed = fhir_models.Bundle.model_validate(bundle)  # raises on any invalid element
    assert [e.resource.get_resource_type() for e in parsed.entry] == ["ServiceRequest", "Task"]


def test_full_urls_are_uuids_and_every_reference_resolves_inside_the_bundle(db):
    bundle = _bundle(db)
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    for url in urls:
        assert url.startswith("urn:uuid:")
        uuid.UUID(url.removeprefix("urn:uuid:"))
    references = _references(bundle)
    assert references and set(references) <= set(urls)
    request = bundle["entry"][0]["resource"]
    assert request["subject"]["reference"] == "#patient" == f"#{request['contained'][0]['id']}"


def test_systems_and_extensions_are_absolute_canonical_urls(db):
    bundle = _bundle(db)
    text = json.dumps(bundle)
    assert "urn:nrmc:" not in text
    task = bundle["entry"][1]["resource"]
    for extension in task["extension"]:
        assert re.fullmatch(r"https?://[^\s/]+/\S+", extension["url"])
    systems = re.findall(r'"system": "([^"]+)"', text)
    assert systems and all(re.fullmatch(r"https?://\S+", s) for s in systems)


def test_the_same_referral_exports_the_same_uuids(db):
    first = _bundle(db)
    again = fhir.export_bundle(session=db, scope=SYSTEM, referral_id=1)
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in first["entry"]]


def test_a_bundle_with_the_older_urn_systems_still_imports(db):
    bundle = _bundle(db)
    legacy = json.dumps(bundle)
    for new, old in fhir.LEGACY.items():
        legacy = legacy.replace(new, old)
    legacy_bundle = json.loads(legacy.replace("his-77", "his-78"))
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=legacy_bundle)
    assert copy.idempotency_key == "his-78" and copy.patient_pseudonym == "p-1a2b"
    assert copy.status == "accepted" and copy.responded_at is not None

"""What a receiving system needs beyond the request itself: the patient's sex and age band, the
receiving hospital's reply, the link from a return to the referral it returns, and a site's own
FHIR base (with bundles of the default base still read)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from nrmc.core.enums import ReferralStatus as S
from nrmc.core.enums import Sex
from nrmc.domains.audit.models import AuditEntry
from nrmc.domains.referrals import fhir, fhir_terms
from nrmc.domains.referrals import service as referrals
from nrmc.domains.referrals.models import Referral
from tests.cli_runner import run, run_json

from .ops_factories import CITY, COUNTY, SYSTEM, T0, TOWNSHIP, pyramid, refer

fhir_models = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources (dev)")

SITE = "https://fhir.gansu.example.cn/nrmc"


def export(db, referral_id: int, base: str = fhir.FHIR_BASE) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Exported as a receiver gets it (plain JSON), after checking it with the FHIR model."""
    bundle = json.loads(json.dumps(fhir.export_bundle(session=db, scope=SYSTEM,
                                                      referral_id=referral_id, base=base)))
    fhir_models.Bundle.model_validate(bundle)  # raises on any invalid element
    return bundle


def parts(bundle: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    request, task = (entry["resource"] for entry in bundle["entry"])
    return request, task


def move(db, referral_id: int, *steps: tuple[S, str]) -> None:  # type: ignore[no-untyped-def]
    for to, reason in steps:
        version = referrals.get(session=db, scope=SYSTEM, referral_id=referral_id).version
        referrals.transition(session=db, scope=SYSTEM, referral_id=referral_id, to=to,
                             version=version, reason=reason, now=T0 + timedelta(hours=version),
                             scheduled_for=T0 + timedelta(days=1))


def forget(db, *found: Referral) -> None:  # type: ignore[no-untyped-def]
    """Delete referrals so their bundles can be imported back as new rows."""
    for referral in found:
        db.delete(referral)
        db.flush()


def returned_pair(db) -> tuple[Referral, Referral]:  # type: ignore[no-untyped-def]
    """An up-referral county → city taken to the end, and the return city → county it made."""
    pyramid(db)
    original = refer(db, frm=COUNTY, to=CITY, patient_pseudonym="p-7c1d", patient_sex="1",
                     age_band="65-79", reason="STEMI")
    move(db, original.id, (S.accepted, "cath lab ready"), (S.scheduled, ""), (S.arrived, ""),
         (S.completed, ""), (S.returned, "stable; rehab at the county"))
    back = db.scalars(select(Referral).where(Referral.returned_from_id == original.id)).one()
    return original, back


def stored(db) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return (db.scalar(select(func.count()).select_from(Referral)),
            db.scalar(select(func.count()).select_from(AuditEntry)))


# --- sex and age band -----------------------------------------------------------------------

@pytest.mark.parametrize(("sex", "band", "gender", "low", "high"), [
    ("2", "65-79", "female", 65, 79), ("1", "80+", "male", 80, None),
    ("1", "0-14", "male", 0, 14), ("9", None, "unknown", None, None),
])
def test_sex_and_age_band_travel_in_a_contained_patient_and_come_back(db, sex, band, gender,
                                                                      low, high):
    pyramid(db)
    original = refer(db, frm=COUNTY, to=CITY, key="his-5", patient_pseudonym="p-5",
                     patient_sex=sex, **({"age_band": band} if band else {}))
    request, task = parts(export(db, original.id))
    patient = request["contained"][0]
    assert request["subject"]["reference"] == f"#{patient['id']}"
    assert patient["gender"] == gender
    assert patient["identifier"] == [{"system": f"{fhir.FHIR_BASE}/sid/patient-pseudonym",
                                      "value": "p-5"}]
    # Never more identifying than what is stored: no name, no birth date, no address.
    assert set(patient) <= {"resourceType", "id", "identifier", "gender", "extension"}
    if band is None:
        assert "extension" not in patient
    else:
        (extension,) = patient["extension"]
        assert extension["url"] == f"{fhir.FHIR_BASE}/StructureDefinition/patient-age-band"
        assert extension["valueRange"]["low"]["value"] == low
        assert extension["valueRange"].get("high", {}).get("value") == high
        assert extension["valueRange"]["low"]["code"] == "a"  # UCUM years
    assert task["for"] == {"identifier": patient["identifier"][0]}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": request}, {"resource": task}]}
    forget(db, original)
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)
    assert (copy.patient_pseudonym, copy.patient_sex, copy.age_band) == ("p-5", sex, band or "")


def test_sex_codes_map_onto_fhir_administrative_gender():
    # fhir.resources does not check value-set bindings, so the mapping is checked here.
    assert set(fhir_terms.GENDER) == {s.value for s in Sex}
    assert set(fhir_terms.GENDER.values()) <= {"male", "female", "other", "unknown"}
    assert fhir_terms.FROM_GENDER.keys() == {"male", "female", "other", "unknown"}


def test_an_unknown_patient_is_still_a_valid_contained_patient(db):
    pyramid(db)
    request, _ = parts(export(db, refer(db).id))
    assert request["subject"] == {"reference": "#patient", "display": "patient not identified"}
    assert request["contained"] == [{"resourceType": "Patient", "id": "patient",
                                     "gender": "unknown"}]


@pytest.mark.parametrize(("change", "field"), [
    (lambda p: p.update(gender="M"), "Patient.gender"),
    (lambda p: p["extension"][0]["valueRange"]["low"].update(value=40), "patient-age-band"),
    (lambda p: p.update(id="someone-else"), "ServiceRequest.subject"),
])
def test_an_unreadable_patient_is_refused_naming_the_field(db, change, field):
    pyramid(db)
    bundle = export(db, refer(db, patient_sex="2", age_band="15-44").id)
    change(bundle["entry"][0]["resource"]["contained"][0])
    bundle["entry"][0]["resource"]["id"] = "elsewhere-1"
    before = stored(db)
    with pytest.raises(fhir.FhirInvalid, match=field):
        fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)
    assert stored(db) == before


def test_a_bundle_of_the_older_form_without_a_patient_imports_as_sex_not_stated(db):
    pyramid(db)
    bundle = export(db, refer(db, patient_pseudonym="p-9", patient_sex="2").id)
    request = bundle["entry"][0]["resource"]
    del request["contained"]
    request["subject"].pop("reference")
    request["id"] = "old-1"
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)
    assert (copy.patient_pseudonym, copy.patient_sex, copy.age_band) == ("p-9", "9", "")


# --- the reply note -------------------------------------------------------------------------

def test_a_rejection_note_is_the_tasks_status_reason_and_comes_back(db):
    pyramid(db)
    original = refer(db, frm=COUNTY, to=CITY)
    move(db, original.id, (S.rejected, "no ICU bed tonight"))
    bundle = export(db, original.id)
    _, task = parts(bundle)
    assert task["statusReason"] == {"text": "no ICU bed tonight"}
    assert task["note"] == [{"authorReference": task["owner"], "text": "no ICU bed tonight"}]
    forget(db, original)
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)
    assert (copy.status, copy.reply_note) == ("rejected", "no ICU bed tonight")


def test_an_acceptance_note_stays_a_note_once_the_referral_has_moved_on(db):
    pyramid(db)
    original = refer(db, frm=COUNTY, to=CITY)
    move(db, original.id, (S.accepted, "cath lab ready"), (S.scheduled, "8:00 ward 5"))
    bundle = export(db, original.id)
    _, task = parts(bundle)
    assert "statusReason" not in task  # it no longer explains where the task stands
    assert task["note"][0]["text"] == "cath lab ready"
    forget(db, original)
    assert fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle).reply_note == \
        "cath lab ready"


def test_no_reply_exports_no_note_and_a_foreign_task_status_reason_is_read(db):
    pyramid(db)
    bundle = export(db, refer(db).id)
    request, task = parts(bundle)
    assert "note" not in task and "statusReason" not in task
    task.update(status="rejected", statusReason={"text": "out of catchment"})
    del task["businessStatus"]
    request["id"] = "elsewhere-2"
    request["identifier"] = []
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)
    assert (copy.status, copy.reply_note) == ("rejected", "out of catchment")


# --- the return link ------------------------------------------------------------------------

def test_a_return_names_its_original_in_based_on_and_is_linked_again_on_import(db):
    original, back = returned_pair(db)
    bundle = export(db, back.id)
    request, task = parts(bundle)
    assert request["basedOn"] == [{
        "type": "ServiceRequest", "display": f"returns referral {original.id}",
        "identifier": {"system": f"{fhir.FHIR_BASE}/sid/referral", "value": str(original.id)}}]
    assert task["basedOn"] == [{"reference": bundle["entry"][0]["fullUrl"]}]
    assert "basedOn" not in parts(export(db, original.id))[0]
    assert request["contained"][0]["gender"] == "male"  # the return carries the patient on
    expected = {f: getattr(back, f) for f in ("from_hospital_code", "to_hospital_code", "direction",
                                              "patient_sex", "age_band", "reason", "status")}
    forget(db, back)
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)
    assert copy.returned_from_id == original.id
    assert {f: getattr(copy, f) for f in expected} == expected
    assert referrals.to_out(db, original).returned_as_id == copy.id
    # (SQLite may give the copy the deleted return's id: its last entry is the import.)
    entry = referrals.history(session=db, scope=SYSTEM, referral_id=copy.id)[-1]
    assert entry.action == "referral.import" and entry.after["returned_from_id"] == original.id


def test_a_return_links_to_the_copy_imported_from_the_senders_bundle(db):
    """Another store numbers referrals its own way: the original it imported is found by the
    import key its bundle gave it, not by the sender's id."""
    original, back = returned_pair(db)
    bundles = export(db, original.id), export(db, back.id)
    forget(db, back, original)
    unrelated = refer(db, frm=TOWNSHIP, to=COUNTY)  # may take the sender's id here
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundles[0])
    assert copy.idempotency_key == f"fhir:referral-{original.id}"
    back_copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundles[1])
    assert back_copy.returned_from_id == copy.id != unrelated.id


@pytest.mark.parametrize("named", ["99999", "not-a-number", "99999999999999999999", "unrelated"])
def test_a_return_whose_original_is_unknown_is_refused_and_nothing_is_stored(db, named):
    original, back = returned_pair(db)
    unrelated = refer(db, frm=TOWNSHIP, to=COUNTY)  # exists, but does not run city → county
    bundle = export(db, back.id)
    forget(db, back)
    link = bundle["entry"][0]["resource"]["basedOn"][0]["identifier"]
    link["value"] = str(unrelated.id) if named == "unrelated" else named
    before = stored(db)
    with pytest.raises(fhir.FhirInvalid,
                       match=r"^ServiceRequest\.basedOn: .* is not in this store"):
        fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)
    assert stored(db) == before
    assert referrals.to_out(db, original).returned_as_id is None


def test_a_second_return_of_one_referral_is_refused(db):
    original, back = returned_pair(db)
    bundle = export(db, back.id)
    bundle["entry"][0]["resource"]["id"] = "copy-of-return"
    before = stored(db)
    with pytest.raises(fhir.FhirInvalid, match=f"referral {original.id} already has its return"):
        fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)
    assert stored(db) == before


def test_a_based_on_of_another_system_is_not_a_return_link(db):
    pyramid(db)
    bundle = export(db, refer(db, frm=COUNTY, to=CITY).id)
    request = bundle["entry"][0]["resource"]
    request["basedOn"] = [{"identifier": {"system": "https://his.example.cn/orders",
                                          "value": "77"}}]
    request["id"] = "elsewhere-3"
    assert fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle).returned_from_id is None


# --- the site's own FHIR base ---------------------------------------------------------------

def test_a_changed_base_is_used_throughout_the_export_and_uuids_stay_stable(db):
    original, back = returned_pair(db)
    bundle = export(db, back.id, base=SITE)
    text = json.dumps(bundle)
    assert fhir.FHIR_BASE not in text and "urn:nrmc:" not in text
    request, task = parts(bundle)
    assert request["basedOn"][0]["identifier"]["system"] == f"{SITE}/sid/referral"
    assert request["contained"][0]["extension"][0]["url"].startswith(SITE + "/")
    assert task["businessStatus"]["coding"][0]["system"] == f"{SITE}/CodeSystem/referral-status"
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert urls == [e["fullUrl"] for e in export(db, back.id, base=SITE)["entry"]]
    assert urls != [e["fullUrl"] for e in export(db, back.id)["entry"]]
    forget(db, back)
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle, base=SITE)
    assert (copy.returned_from_id, copy.status, copy.age_band) == (original.id, "requested",
                                                                   "65-79")


def test_a_bundle_of_the_default_base_still_imports_after_the_base_changed(db):
    original, back = returned_pair(db)
    move(db, back.id, (S.accepted, "GP follow-up booked"))
    bundle = export(db, back.id)  # exported before the site set its own base
    expected = {f: getattr(back, f) for f in ("status", "specialty", "patient_pseudonym",
                                              "patient_sex", "age_band", "reply_note",
                                              "returned_from_id")}
    responded = referrals.utc(back.responded_at)
    forget(db, back)
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle, base=SITE)
    assert {f: getattr(copy, f) for f in expected} == expected
    assert referrals.utc(copy.responded_at) == responded
    assert copy.reply_note == "GP follow-up booked" and copy.returned_from_id == original.id


def test_the_cli_exports_under_nrmc_fhir_base(nrmc_env, monkeypatch, tmp_path):
    from nrmc.cli import context

    monkeypatch.setenv("NRMC_FHIR_BASE", SITE)
    context.reset()
    made = run_json("referrals", "create", "--from", "NRMC-P031", "--to", "NRMC-O005",
                    "--specialty", "oncology", "--diagnosis", "C34.9")
    exported = run("referrals", "export", str(made["id"]))
    assert exported.exit_code == 0, exported.output
    assert f"{SITE}/sid/referral" in exported.stdout and fhir.FHIR_BASE not in exported.stdout
    path = tmp_path / "b.json"
    # As another store's bundle: a ServiceRequest id this store has not imported.
    path.write_text(exported.stdout.replace(f"referral-{made['id']}", "referral-9001"),
                    encoding="utf-8")
    assert run_json("referrals", "import", str(path))["id"] != made["id"]

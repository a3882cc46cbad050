"""Referrals as FHIR R4, and the accept race on a real PostgreSQL server."""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from nrmc.core.enums import ReferralStatus as S
from nrmc.core.errors import Conflict
from nrmc.domains.referrals import fhir
from nrmc.domains.referrals import service as referrals

from .ops_factories import CITY, COUNTY, SYSTEM, T0, pyramid, refer

FIELDS = ("from_hospital_code", "to_hospital_code", "direction", "patient_pseudonym",
          "patient_sex", "age_band", "specialty", "diagnosis", "urgency", "reason", "reply_note",
          "status", "requested_at", "responded_at", "scheduled_for", "idempotency_key",
          "returned_from_id")


def fields(r):
    return {f: referrals.utc(v) if hasattr(v, "tzinfo") and v else v
            for f, v in ((f, getattr(r, f)) for f in FIELDS)}


def test_export_maps_states_to_fhir_task_status(db):
    pyramid(db)
    referral = refer(db, frm=COUNTY, to=CITY, urgency="emergency", patient_pseudonym="p-9f2c",
                     reason="needs PCI")
    referrals.transition(session=db, scope=SYSTEM, referral_id=referral.id, to=S.accepted,
                         version=1, now=T0 + timedelta(hours=2))
    referrals.transition(session=db, scope=SYSTEM, referral_id=referral.id, to=S.scheduled,
                         version=2, scheduled_for=T0 + timedelta(days=1))
    bundle = fhir.export_bundle(session=db, scope=SYSTEM, referral_id=referral.id)
    request, task = (e["resource"] for e in bundle["entry"])
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert request["resourceType"] == "ServiceRequest" and request["intent"] == "order"
    assert request["status"] == "active" and request["priority"] == "stat"
    assert request["reasonCode"][0]["coding"][0] == {"system": "http://hl7.org/fhir/sid/icd-10",
                                                     "code": "I21.0"}
    assert request["requester"]["identifier"]["value"] == COUNTY
    assert request["performer"][0]["identifier"]["value"] == CITY
    assert request["subject"]["identifier"]["value"] == "p-9f2c"
    assert task["resourceType"] == "Task" and task["status"] == "ready"
    assert task["basedOn"][0]["reference"] == bundle["entry"][0]["fullUrl"]  # resolves in the bundle
    assert task["businessStatus"]["coding"][0]["code"] == "scheduled"
    assert task["meta"]["versionId"] == "3"
    assert fhir.TASK_STATUS[S.arrived] == "in-progress" and fhir.TASK_STATUS[S.returned] == "completed"
    assert set(fhir.TASK_STATUS.values()) <= {"requested", "accepted", "rejected", "ready",
                                              "in-progress", "completed", "cancelled"}
    json.dumps(bundle)  # plain JSON, no Python objects


def test_fhir_round_trip_keeps_every_field(db):
    pyramid(db)
    original = refer(db, frm=COUNTY, to=CITY, key="his-77", urgency="urgent",
                     patient_pseudonym="p-1", patient_sex="2", age_band="45-64", reason="staging")
    for step, version in ((S.accepted, 1), (S.scheduled, 2)):
        referrals.transition(session=db, scope=SYSTEM, referral_id=original.id, to=step,
                             version=version, now=T0 + timedelta(hours=version),
                             scheduled_for=T0 + timedelta(days=2), reason="bed on ward 5")
    bundle = json.loads(json.dumps(fhir.export_bundle(session=db, scope=SYSTEM,
                                                      referral_id=original.id)))
    expected = fields(original)
    db.delete(original)
    db.flush()
    copy = fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)
    assert fields(copy) == expected
    assert (copy.patient_sex, copy.age_band, copy.reply_note) == ("2", "45-64", "bed on ward 5")
    assert fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle).id == copy.id


def test_a_task_without_business_status_is_read_by_its_fhir_status(db):
    pyramid(db)
    bundle = fhir.export_bundle(session=db, scope=SYSTEM, referral_id=refer(db).id)
    task = bundle["entry"][1]["resource"]
    del task["businessStatus"]
    task["status"] = "in-progress"
    bundle["entry"][0]["resource"]["id"] = "elsewhere-1"
    bundle["entry"][0]["resource"]["identifier"] = []
    assert fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle).status == "arrived"
    task["status"] = "on-hold"
    bundle["entry"][0]["resource"]["id"] = "elsewhere-2"
    with pytest.raises(fhir.FhirInvalid, match="on-hold"):
        fhir.import_bundle(session=db, scope=SYSTEM, bundle=bundle)


@pytest.mark.postgres
def test_twenty_concurrent_accepts_give_one_acceptance_and_nineteen_refusals(backend, workspace_url):
    if backend != "postgresql":
        pytest.skip("the race is about PostgreSQL row locking; SQLite serialises writers")
    engine = create_engine(workspace_url, poolclass=NullPool)
    with Session(engine) as session:
        pyramid(session)
        referral_id = refer(session).id
        session.commit()
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        with Session(engine) as session:
            referral = referrals.get(session=session, scope=SYSTEM, referral_id=referral_id)
            barrier.wait()
            try:
                referrals.transition(session=session, scope=SYSTEM, referral_id=referral_id,
                                     to=S.accepted, version=referral.version)
                session.commit()
                result = "accepted"
            except Conflict as exc:
                session.rollback()
                result = f"refused: {exc}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("accepted") == 1, outcomes
    refusals = [o for o in outcomes if o != "accepted"]
    assert len(refusals) == 19 and all("reload and retry" in o for o in refusals)
    with Session(engine) as session:
        stored = referrals.get(session=session, scope=SYSTEM, referral_id=referral_id)
        assert (stored.status, stored.version) == ("accepted", 2)
        assert len(referrals.history(session=session, scope=SYSTEM, referral_id=referral_id)) == 2
    engine.dispose()


@pytest.mark.postgres
def test_concurrent_creates_with_one_idempotency_key_make_one_referral(backend, workspace_url):
    if backend != "postgresql":
        pytest.skip("the race needs concurrent writers (PostgreSQL)")
    engine = create_engine(workspace_url, poolclass=NullPool)
    with Session(engine) as session:
        pyramid(session)
        session.commit()
    barrier = threading.Barrier(10)
    ids: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        with Session(engine) as session:
            barrier.wait()
            referral_id = refer(session, key="retry-storm").id
            session.commit()
        with lock:
            ids.append(referral_id)

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(ids) == 10 and len(set(ids)) == 1
    engine.dispose()

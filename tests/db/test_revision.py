"""The data revision advances exactly when a transaction that wrote commits, on both backends,
whoever wrote (an ORM session, a Core statement, another engine)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from nrmc.db import make_engine, revision
from nrmc.db.migrate import downgrade, upgrade
from nrmc.domains.hospitals.models import Hospital
from nrmc.domains.projects.models import Project
from nrmc.domains.referrals.models import Referral, hospital_part, row_part


def now(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return revision.current(conn)


def test_orm_commit_with_a_change_advances_the_revision_once(engine: Engine) -> None:
    before = now(engine)
    assert before is not None
    with Session(engine) as session:
        project = session.scalars(select(Project).limit(1)).one()
        project.notes = "site visit planned"
        session.flush()
        project.planned_beds = 800  # two statements, one transaction
        session.commit()
    assert now(engine) == before + 1


def test_reads_rollbacks_and_empty_commits_leave_it_alone(engine: Engine) -> None:
    before = now(engine)
    with Session(engine) as session:
        session.scalars(select(Project)).all()
        session.commit()
        session.execute(update(Project).values(notes="not kept"))
        session.rollback()
    with engine.begin() as conn:
        conn.execute(select(Project.id))
    assert now(engine) == before


def test_core_writes_and_other_engines_count_too(workspace_url: str, engine: Engine) -> None:
    before = now(engine)
    other = make_engine(workspace_url)  # another process's engine, say a CLI import
    try:
        with other.begin() as conn:
            conn.execute(update(Project).where(Project.id == 1).values(notes="from the CLI"))
        assert now(engine) == before + 1
        assert now(other) == before + 1
    finally:
        other.dispose()


def test_a_store_without_the_counter_still_writes(engine: Engine) -> None:
    downgrade(engine, "0002")
    with engine.begin() as conn:  # no counter table: the write must not fail
        conn.execute(update(Project).where(Project.id == 1).values(notes="old schema"))
    with engine.connect() as conn:
        assert revision.current(conn) is None
    upgrade(engine)
    migrated = now(engine)  # migrated: counting starts (later migrations' data writes count too)
    assert migrated is not None
    with engine.begin() as conn:
        conn.execute(update(Project).where(Project.id == 1).values(notes="new schema"))
    assert now(engine) == migrated + 1


def tables(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        found = revision._read(conn.connection.dbapi_connection, conn.dialect.loaded_dbapi.Error)
    assert found is not None
    return found.tables


def test_each_table_has_its_own_counter(engine: Engine) -> None:
    before = tables(engine)
    with engine.begin() as conn:
        conn.execute(update(Project).where(Project.id == 1).values(notes="one table"))
    after = tables(engine)
    assert after["projects"] == before.get("projects", 0) + 1
    assert {k: v for k, v in after.items() if k != "projects"} == {
        k: v for k, v in before.items() if k != "projects"}


def test_the_written_table_is_told_from_the_statement() -> None:
    assert revision.written_table("INSERT INTO referrals (id) VALUES (1)") == "referrals"
    assert revision.written_table('UPDATE "projects" SET notes=?') == "projects"
    assert revision.written_table("delete from public.audit_log where id = 1") == "audit_log"
    assert revision.written_table("INSERT OR REPLACE INTO hospitals VALUES (1)") == "hospitals"
    assert revision.written_table("SELECT * FROM projects") is None
    assert revision.written_table("UPDATE login_throttle SET n = 1") is None  # not data
    assert revision.written_table("INSERT /* hint */ INTO x") == revision.ANY_TABLE


def test_a_read_notes_every_table_its_statements_name(engine: Engine) -> None:
    with revision.reading() as names, Session(engine) as session:
        session.scalars(select(Project).where(Project.project_hospital_code != "")).all()
    assert "projects" in names and "referrals" not in names
    with Session(engine) as session:  # nobody listening: nothing collected, nothing fails
        session.scalars(select(Project)).all()


def _referral_between(session: Session, provinces: tuple[str, str]) -> Referral:
    codes = [session.scalars(select(Hospital.code).where(Hospital.region_code.like(f"{p}%"))
                             .order_by(Hospital.code).limit(2)).all() for p in provinces]
    frm, to = codes[0][0], codes[1][0] if provinces[0] != provinces[1] else codes[1][1]
    return Referral(from_hospital_code=frm, to_hospital_code=to, direction="lateral",
                    specialty="oncology", diagnosis="C34.9", status="requested",
                    requested_at=datetime.now(UTC), updated_at=datetime.now(UTC), created_by="t")


def test_a_referral_advances_the_counters_of_both_its_provinces(engine: Engine) -> None:
    before = tables(engine)
    with Session(engine) as session:
        session.add(_referral_between(session, ("62", "31")))
        session.commit()
    after = tables(engine)
    moved = {k for k in after if after[k] != before.get(k, 0)}
    with Session(engine) as session:
        sent = session.scalars(select(Referral).order_by(Referral.id.desc())).first()
        assert sent is not None
        ends = {f"referrals@{hospital_part(sent.from_hospital_code)}",
                f"referrals@{hospital_part(sent.to_hospital_code)}"}
        own = f"referrals@{row_part(sent.id)}"
    assert {"referrals", "referrals@62", "referrals@31", *ends} <= moved
    assert own not in moved  # a new row: no answer about it can have been kept
    assert "referrals@41" not in moved and "referrals@?" not in moved
    assert {k for k in moved if k.startswith("referrals@h:")} == ends
    with Session(engine) as session:  # a change of status: the same two provinces
        referral = session.scalars(select(Referral).order_by(Referral.id.desc())).first()
        assert referral is not None
        referral.status = "accepted"
        session.commit()
    again = tables(engine)
    assert again["referrals@62"] == after["referrals@62"] + 1
    assert again[own] == after.get(own, 0) + 1
    assert again.get("referrals@41", 0) == before.get("referrals@41", 0)


def test_a_write_with_no_known_partition_advances_the_unknown_one(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(_referral_between(session, ("62", "62")))
        session.commit()
    before = tables(engine)
    with engine.begin() as conn:  # Core: no ORM objects to tell the provinces from
        conn.execute(update(Referral).values(reason="bulk"))
    after = tables(engine)
    assert after["referrals@?"] == before.get("referrals@?", 0) + 1
    assert after.get("referrals@62") == before.get("referrals@62")


def test_reads_inside_a_narrowed_block_depend_on_its_partitions(engine: Engine) -> None:
    with revision.reading() as names, Session(engine) as session:
        with revision.within("referrals", {"62"}):
            session.scalars(select(Referral)).all()
        session.scalars(select(Project)).all()
    assert names == {"referrals@62", "referrals@?", "projects"}
    with revision.reading() as names, Session(engine) as session:
        session.scalars(select(Referral)).all()  # outside any block: the whole table
    assert names == {"referrals"}

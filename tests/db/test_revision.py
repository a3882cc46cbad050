"""The data revision advances exactly when a transaction that wrote commits, on both backends,
whoever wrote (an ORM session, a Core statement, another engine)."""

from __future__ import annotations

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from nrmc.db import make_engine, revision
from nrmc.db.migrate import downgrade, upgrade
from nrmc.domains.projects.models import Project


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

"""Aware instants come back as the same instant on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

from nrmc.db.types import UTCDateTime

BEIJING = timezone(timedelta(hours=8))


def test_an_instant_written_in_beijing_time_reads_back_unshifted(workspace_url: str) -> None:
    engine = create_engine(workspace_url)
    table = Table("t_instants", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UTCDateTime()))
    table.create(engine)
    written = datetime(2024, 5, 1, 10, 0, tzinfo=BEIJING)
    with engine.begin() as conn:
        conn.execute(insert(table).values(id=1, at=written))
        back = conn.execute(select(table.c.at)).scalar_one()
    assert back.tzinfo is not None
    assert back == written and back.astimezone(UTC).hour == 2
    engine.dispose()


def test_a_naive_instant_is_taken_as_utc() -> None:
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(table).values(id=1, at=datetime(2024, 5, 1, 10, 0)))
        back = conn.execute(select(table.c.at)).scalar_one()
    assert back == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

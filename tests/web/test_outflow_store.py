"""The published outflow tables are prepared once per dataset version and stored beside the
dataset: another worker (or the next start) reads them back, the same rows in the same order,
instead of preparing them again from the discharges."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nrmc.flows.geo import LEVELS
from nrmc.web.outflow import OutflowCache
from nrmc.web.outflow_store import FOLDER

from .cast import Cast
from .conftest import with_discharges


def test_another_worker_reads_the_stored_tables_not_the_discharges(
        web_store: tuple[Engine, Cast], tmp_path: Path) -> None:
    settings = with_discharges(web_store[0], tmp_path / "home")
    with Session(web_store[0]) as db:
        _check(db, settings.flows_dir)


def _check(db: Session, flows_dir: Path) -> None:
    first = OutflowCache(flows_dir)
    made = {level: first.sliced(db, level=level) for level in LEVELS}
    assert made["county"]
    stored = list((flows_dir / FOLDER).glob("outflow-*.json"))
    assert len(stored) == 1

    data = flows_dir / "data"
    data.rename(flows_dir / "elsewhere")  # a worker that read the discharges would fail
    second = OutflowCache(flows_dir)
    again = {level: second.sliced(db, level=level) for level in LEVELS}
    assert again == made
    assert all(list(again[level]) == list(made[level]) for level in LEVELS)  # slice order too

    stored[0].write_text("{damaged", encoding="utf-8")  # unreadable: prepared again, not trusted
    (flows_dir / "elsewhere").rename(data)
    third = OutflowCache(flows_dir)
    assert {level: third.sliced(db, level=level) for level in LEVELS} == made

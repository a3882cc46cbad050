"""The store of computed evaluations: keyed on what `evaluate` reads, computed once across
processes, the shared inputs giving the very numbers of a lone evaluation."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from nrmc.domains.hospitals.models import Hospital
from nrmc.domains.projects.models import Project
from nrmc.evaluation import service
from nrmc.evaluation.computed import EvaluationStore, Inputs, Record, read_inputs
from nrmc.evaluation.sources import EngineFlowSource

from .conftest import DemoWorkspace

JIUQUAN, ZHENGZHOU_CHILDREN = 31, 2


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def test_shared_inputs_give_the_numbers_of_a_lone_evaluation(demo_workspace: DemoWorkspace):
    """The refresher builds the panel once for every project; each project's evaluation must
    be exactly what evaluating it alone gives."""
    source = EngineFlowSource(demo_workspace.flows_dir, demo_workspace.regions)
    with Session(demo_workspace.engine) as session:
        shared = service.shared_inputs(session=session, source=source)
        ids = [JIUQUAN, ZHENGZHOU_CHILDREN, *sorted(shared.table["id"])[:6]]
        with_did = 0
        for project in ids:
            alone = service.evaluate(session=session, source=source, scope="project",
                                     key=project)
            together = service.evaluate(session=session, source=source, scope="project",
                                        key=project, shared=shared)
            a, b = alone.summary(), together.summary()
            assert all(_same(a[k], b[k]) for k in a), {k: (a[k], b[k]) for k in a
                                                        if not _same(a[k], b[k])}
            assert (alone.did is None) == (together.did is None)
            if alone.did is not None and together.did is not None:
                with_did += 1
                pd.testing.assert_frame_equal(alone.did.event_study, together.did.event_study)
            for name, ba in alone.before_after.items():
                pd.testing.assert_frame_equal(ba.table, together.before_after[name].table)
        assert with_did >= 2  # the DiD itself was compared, not only its absence


def test_the_key_names_the_data_every_project_and_the_title(demo_workspace: DemoWorkspace):
    with Session(demo_workspace.engine) as session:
        inputs = read_inputs(session, demo_workspace.flows_dir)
        assert inputs.loaded and inputs.version >= 1
        key = inputs.key(JIUQUAN)
        assert key is not None and key == read_inputs(session, demo_workspace.flows_dir).key(
            JIUQUAN)  # the same inputs give the same key
        assert inputs.key(99_999) is None
        other = Inputs(data="other load", version=inputs.version, common=inputs.common,
                       regions=inputs.regions, titles=inputs.titles)
        assert other.key(JIUQUAN) != key
        # another project's opening year moves Jiuquan's key (it times the DiD's controls)
        project = session.get(Project, ZHENGZHOU_CHILDREN)
        assert project is not None
        project.opening_year = (project.opening_year or 2020) + 1
        session.flush()
        assert read_inputs(session, demo_workspace.flows_dir).key(JIUQUAN) != key
        session.rollback()
        # the project's hospital name is its title; another hospital's name is not read
        own = session.get(Project, JIUQUAN)
        assert own is not None
        hospital = session.get(Hospital, own.project_hospital_code)
        assert hospital is not None
        hospital.name_zh += "（新名）"
        session.flush()
        assert read_inputs(session, demo_workspace.flows_dir).key(JIUQUAN) != key
        session.rollback()
        used = {p.project_hospital_code for p in session.scalars(select(Project))}
        unrelated = session.scalars(select(Hospital).where(
            Hospital.code.not_in(used))).first()
        assert unrelated is not None
        unrelated.name_zh += "（新名）"
        session.flush()
        assert read_inputs(session, demo_workspace.flows_dir).key(JIUQUAN) == key
        session.rollback()


def _compute_once(root: str, key: str, log: str, barrier: Any) -> None:
    store = EvaluationStore(Path(root))
    barrier.wait()

    def compute() -> Record:
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(0.5)  # long enough for the other process to arrive and wait
        return Record(key=key, project_id=7, evaluation=None, error=("NotFound", "x"))

    record = store.get_or_compute(key, compute)
    assert record is not None and record.key == key


def test_two_processes_racing_for_one_key_compute_it_once(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    log = tmp_path / "computed.log"
    workers = [context.Process(target=_compute_once,
                               args=(str(tmp_path / "evaluations"), "p7-v1-abc", str(log),
                                     barrier)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(log.read_text().split()) == 1
    assert EvaluationStore(tmp_path / "evaluations").load("p7-v1-abc") is not None


def test_a_damaged_or_foreign_record_is_computed_again(tmp_path: Path):
    store = EvaluationStore(tmp_path)
    record = Record(key="p1-v1-a", project_id=1, evaluation=None, error=("NotFound", "gone"))
    store.save(record)
    assert EvaluationStore(tmp_path).load("p1-v1-a") == record  # another process reads it
    store.path("p1-v1-b").write_bytes(store.path("p1-v1-a").read_bytes())  # under another key
    assert EvaluationStore(tmp_path).load("p1-v1-b") is None
    store.path("p1-v1-a").write_bytes(b"not a pickle")
    assert EvaluationStore(tmp_path).load("p1-v1-a") is None


def test_pruning_keeps_current_keys_and_recent_files(tmp_path: Path):
    store = EvaluationStore(tmp_path)
    for key in ("p1-v1-old", "p1-v2-new", "p2-v1-recent"):
        store.save(Record(key=key, project_id=1, evaluation=None))
    past = time.time() - 3600
    for key in ("p1-v1-old", "p1-v2-new"):
        os.utime(store.path(key), (past, past))
    assert store.prune({"p1-v2-new"}) == 1
    left = sorted(p.name.split(".")[0] for p in (tmp_path / "done").iterdir())
    assert left == ["p1-v2-new", "p2-v1-recent"]


def test_requests_are_answered_oldest_first_and_views_add_up_across_processes(tmp_path: Path):
    store = EvaluationStore(tmp_path)
    store.request(5, "p5-v1-a")
    time.sleep(0.01)
    store.request(3, "p3-v1-a")
    assert store.requested() == [(5, "p5-v1-a"), (3, "p3-v1-a")]
    store.answered(5, "p5-v1-a")
    assert store.requested() == [(3, "p3-v1-a")]
    (tmp_path / "views").mkdir(exist_ok=True)
    (tmp_path / "views" / "99999.json").write_text(json.dumps({"3": 4, "5": 1}))
    store.note_view(5, every=0.0)
    assert EvaluationStore(tmp_path).views() == {3: 4, 5: 2}



def test_the_evaluation_stretch_of_the_ledger_reads_as_the_whole_ledger_does(tmp_path: Path):
    from nrmc.core.privacy import WithheldLedger
    from nrmc.evaluation.disclosure import evaluation_cells

    path = tmp_path / "withheld-cells.json"
    assert evaluation_cells(path) == {}
    ledger = WithheldLedger(path)
    ledger.remember({"county|620921|2023|": {"discharges"}, "prefecture|6209|2023|": {"x"}})
    assert evaluation_cells(path) == {}
    ledger.remember({"evaluation|project:31|outflow_rate|2023": {"numerator"},
                     "evaluation|project:3|level4_share|2024": {"denominator", "numerator"},
                     "province|620000|2024|": {"treated_outside"}})
    whole = {k: v for k, v in ledger.read().items() if k.startswith("evaluation|")}
    assert evaluation_cells(path) == whole and len(whole) == 2
    path.write_text('{"cells": {"evaluation|project:31|outflow_rate|2023": [', encoding="utf-8")
    with pytest.raises(RuntimeError, match="withheld-cells ledger"):
        evaluation_cells(path)  # damaged: refused, never read as if nothing were withheld

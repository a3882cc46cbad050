"""The demo's programme layer: national figures of the published order, all flagged synthetic."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nrmc.config import Settings
from nrmc.demo.build import build_demo
from nrmc.domains.gaps.models import Gap
from nrmc.domains.milestones.models import Milestone
from nrmc.domains.programme import service
from nrmc.domains.projects.models import Project
from nrmc.domains.trusteeships.models import Trusteeship
from nrmc.domains.users.scope import Scope


@pytest.fixture
def demo_db(engine, db, tmp_path):
    report = build_demo(Settings(home=tmp_path), engine, seed=7, rows=20_000)
    assert "trusteeships" in report.steps["programme"]
    return db


def test_demo_national_figures_are_of_the_published_order(demo_db):
    scope = Scope.system()
    view = service.resolve_view(session=demo_db, scope=scope)
    made = service.dashboard(session=demo_db, scope=scope, view=view)
    v = {r.key: r.value for r in made.indicators}
    assert v["projects_approved"] == 77
    assert 30_000 <= v["planned_beds"] <= 200_000  # tens of thousands (published: >60,000)
    assert 1_000 <= v["co_directors"] <= 10_000  # thousands (published: >3,000)
    assert 20_000 <= v["staff_trained"] <= 200_000  # published: >50,000
    assert 100_000 <= v["outpatients"] <= 1_000_000  # five months; published: >300,000
    assert 30_000 <= v["surgeries"] <= 300_000  # published: >100,000
    assert 0.25 <= v["grade4_share"] <= 0.5  # published: >35 %
    assert 300 <= v["rare_disease_cases"] <= 5_000  # published: 1,200
    assert v["new_technologies"] >= 500 and v["gaps_filled"] >= 50
    assert made.not_reported  # some centres are silent in the last month
    assert made.synthetic  # the dashboard says it shows synthetic rows
    rows = {r.key: r for r in made.indicators}
    assert rows["outpatients"].change is not None and rows["outpatients"].change > 0


def test_every_programme_demo_row_is_flagged_synthetic(demo_db):
    for model in (Milestone, Gap, Trusteeship):
        assert demo_db.scalar(select(func.count()).select_from(model)) > 0
        assert not demo_db.scalar(select(func.count()).select_from(model)
                                  .where(model.synthetic.is_(False)))
    noted = demo_db.scalar(select(func.count()).select_from(Project)
                           .where(Project.notes.like("%planned_beds: synthetic%")))
    assert noted == 77

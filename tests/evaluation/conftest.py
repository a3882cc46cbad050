"""A small synthetic flows dataset, built once per session with the flows synthesizer.

The generator injects the truth the tests check: from a centre's opening year its host
province keeps 30% of the residents who used to leave for care in the centre's specialty
(``nrmc.flows.synth.RETENTION``; every specialty for a comprehensive centre).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nrmc.db import make_engine
from nrmc.domains.hospitals import service as hospitals
from nrmc.domains.projects import service as projects
from nrmc.domains.regions import service as regions
from nrmc.flows.synth import RETENTION, write_synthetic_dataset

DEMO_ROWS = 1_500_000
DEMO_YEARS = range(2018, 2025)


@dataclass(frozen=True)
class DemoFlows:
    engine: Engine
    flows_dir: Path
    regions: pd.DataFrame
    retention: float


@pytest.fixture(scope="session")
def demo_flows(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path
               ) -> Iterator[DemoFlows]:
    home = tmp_path_factory.mktemp("eval-demo")
    shutil.copy(_sqlite_template, home / "nrmc.db")
    engine = make_engine(f"sqlite:///{home / 'nrmc.db'}")
    with Session(engine) as session:
        tables = {"regions": regions.region_table(session=session),
                  "hospitals": hospitals.hospital_table(session=session),
                  "projects": projects.project_table(session=session)}
    write_synthetic_dataset(home / "flows", **tables, rows=DEMO_ROWS, years=DEMO_YEARS,
                            seed=2024, pseudonym_key="test-key")
    yield DemoFlows(engine, home / "flows", tables["regions"], RETENTION)
    engine.dispose()

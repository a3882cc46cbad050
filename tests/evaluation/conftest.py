"""A small demo workspace with synthetic flows, built once per session.

The flows synthesizer injects the truth these tests check (``nrmc.flows.synth_truth``): from a
centre's opening year its host province keeps a share of the residents who used to leave for
care in the centre's specialty (every specialty for a comprehensive centre) — 9% for most
opening years, 0 for 2022's, built up over three years — under province-year shocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nrmc.config import Settings
from nrmc.db import make_engine
from nrmc.demo.build import build_demo
from nrmc.domains.regions import service as regions

DEMO_ROWS = 1_000_000  # ~10 s; enough outside discharges for ~75 province × specialty cells


@dataclass(frozen=True)
class DemoWorkspace:
    home: Path
    url: str
    engine: Engine
    regions: pd.DataFrame

    @property
    def flows_dir(self) -> Path:
        return self.home / "flows"


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorkspace]:
    home = tmp_path_factory.mktemp("eval-demo")
    url = f"sqlite:///{home / 'nrmc.db'}"
    engine = make_engine(url)
    build_demo(Settings(home=home), engine, seed=2024, rows=DEMO_ROWS)
    with Session(engine) as session:
        table = regions.region_table(session=session)
    yield DemoWorkspace(home, url, engine, table)
    engine.dispose()

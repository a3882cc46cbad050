"""Where the evaluation's flow tables come from: an injected source, the flows engine by default.

The statistics take plain DataFrames; this module is the seam between them and the flows
dataset, so tests can hand in small tables and the CLI/web hand in the engine (DuckDB or Spark)
without the evaluation knowing which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd


class FlowSource(Protocol):
    """The flow tables an evaluation needs (column contracts as in ``nrmc.flows.metrics``)."""

    def outflow(self) -> pd.DataFrame:
        """Province × specialty × year: ``region, year, specialty, discharges, treated_outside``."""
        ...

    def transfers(self) -> pd.DataFrame:
        """Province (of the treating hospital) × specialty × year: ``region, year, specialty,
        discharges, transferred_out``."""
        ...

    def hospital_level4(self, hospitals: Sequence[str]) -> pd.DataFrame:
        """``unit`` (hospital code), ``year, surgeries, level4``."""
        ...

    def hospital_reach(self, hospitals: Sequence[str]) -> pd.DataFrame:
        """``hospital_code, year, discharges, from_outside_city, from_outside_province``."""
        ...

    def origins(self, city: str, specialty: str, year: int | None) -> pd.DataFrame:
        """Patients treated in ``city`` in ``specialty`` by prefecture of residence:
        ``origin, origin_name, discharges`` (``year`` None = the last year)."""
        ...


@dataclass
class EngineFlowSource:
    """A :class:`FlowSource` backed by ``nrmc.flows.engine`` (one backend, results cached)."""

    dataset_dir: Path
    regions: pd.DataFrame
    engine: str = "duckdb"
    spark_master: str = "local[2]"

    def __post_init__(self) -> None:
        from ..flows import engine as flows_engine

        self._engine = flows_engine
        self._backend = flows_engine.connect(self.engine, spark_master=self.spark_master)  # type: ignore[arg-type]
        self._cache: dict[str, pd.DataFrame] = {}

    def outflow(self) -> pd.DataFrame:
        if "outflow" not in self._cache:
            self._cache["outflow"] = self._engine.run_outflow(
                self.dataset_dir, self.regions, level="province", by_specialty=True, backend=self._backend)
        return self._cache["outflow"]

    def transfers(self) -> pd.DataFrame:
        if "transfers" not in self._cache:
            self._cache["transfers"] = self._engine.run_transfers(
                self.dataset_dir, self.regions, level="province", by_specialty=True, backend=self._backend)
        return self._cache["transfers"]

    def hospital_level4(self, hospitals: Sequence[str]) -> pd.DataFrame:
        if "level4" not in self._cache:
            self._cache["level4"] = self._engine.run_level4(
                self.dataset_dir, self.regions, by="hospital", backend=self._backend)
        frame = self._cache["level4"]
        return frame[frame["unit"].isin(list(hospitals))].reset_index(drop=True)

    def hospital_reach(self, hospitals: Sequence[str]) -> pd.DataFrame:
        # One scan for every hospital, then a filter: each project's evaluation asks for its own
        # hospital, and a scan per project cost more than the rest of its evaluation.
        if "reach" not in self._cache:
            self._cache["reach"] = self._engine.run_reach(self.dataset_dir, self.regions,
                                                          backend=self._backend)
        frame = self._cache["reach"]
        if not hospitals:  # as run_reach: no codes means every hospital
            return frame
        return frame[frame["hospital_code"].isin(list(hospitals))].reset_index(drop=True)

    def origins(self, city: str, specialty: str, year: int | None) -> pd.DataFrame:
        if "matrix" not in self._cache:
            self._cache["matrix"] = self._engine.run_matrix(
                self.dataset_dir, self.regions, origin_level="prefecture",
                destination_level="prefecture", by_specialty=True, backend=self._backend)
        m = self._cache["matrix"]
        m = m[m["destination"] == city]
        if specialty != "comprehensive":  # a comprehensive centre: every specialty
            m = m[m["specialty"] == specialty]
        if m.empty:
            return pd.DataFrame(columns=["origin", "origin_name", "discharges"])
        year = int(m["year"].max()) if year is None else year
        m = m[m["year"] == year]
        return (m.groupby(["origin", "origin_name"], as_index=False, dropna=False)["discharges"]
                .sum().sort_values("discharges", ascending=False).reset_index(drop=True))

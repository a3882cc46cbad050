"""Planning inputs computed from the workspace's patient-flows dataset.

`nrmc plan` used to ask for CSV files of demand, outflow and flows; the workspace can now
compute them from its discharges (``Settings().flows_dir``, built by ``nrmc demo`` or
``nrmc flows ingest/synth``). This adapter runs the public runners of ``nrmc.flows.engine``
and returns plain arrays / tables aligned to the planning demand units, so ``nrmc.planning``
still never reads anything itself.

Definitions (one specialty, one discharge year; ``comprehensive`` means all specialties):

* **outflow** of a county: its residents' discharges treated in a hospital outside their
  province — ``run_matrix(origin_level="county", destination_level="province")`` minus the
  home-province column;
* **demand** of a county: its residents' discharges wherever treated (``run_demand``);
* **flows**: residents' discharges by county of residence × county of the treating hospital
  (``run_matrix(origin_level="county", destination_level="county")``).

"County" is the flows' finest unit (``leaf=1`` in regions.csv), so county-less prefecture-level
cities such as 东莞 count as counties.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.enums import Specialty
from ..planning.errors import InvalidInput

ALL_SPECIALTIES = Specialty.comprehensive.value


@dataclass(frozen=True)
class FlowsSource:
    """The published flows dataset plus what the engine runners need to read it."""

    dataset_dir: Path
    regions: pd.DataFrame
    years: tuple[int, ...]
    engine: Any = "duckdb"
    spark_master: str = "local[2]"

    def year(self, year: int | None) -> int:
        """``year`` if the dataset holds it, else the latest year when ``year`` is None."""
        if year is None:
            return self.years[-1]
        if year not in self.years:
            raise InvalidInput(f"the flows dataset has no discharges for {year}; years held: "
                               f"{', '.join(map(str, self.years))}")
        return year

    def _run(self, runner: Any, year: int, **kwargs: Any) -> pd.DataFrame:
        frame: pd.DataFrame = runner(self.dataset_dir, self.regions, years=[year],
                                     engine=self.engine, spark_master=self.spark_master,
                                     **kwargs)
        return frame


def open_flows(override: str) -> FlowsSource:
    """The workspace's flows dataset; a clear error naming ``override`` when there is none."""
    from ..domains.regions.service import region_table
    from ..flows.store import read_manifest
    from .context import db_session, settings

    cfg = settings()
    manifest = read_manifest(cfg.flows_dir)
    if not manifest.files:
        raise InvalidInput(f"no patient-flows dataset in {cfg.flows_dir}: run `nrmc demo` or "
                           f"`nrmc flows ingest FILE…` first, or pass {override}")
    with db_session() as session:
        regions = region_table(session=session)
    return FlowsSource(cfg.flows_dir, regions, tuple(manifest.years), cfg.engine,
                       cfg.spark_master)


def check_specialty(specialty: str) -> str:
    """``specialty`` if it is a ``Specialty`` value (the flows' vocabulary), else an error."""
    if specialty not in {s.value for s in Specialty}:
        raise InvalidInput(f"unknown specialty {specialty!r} for the flows dataset; one of "
                           f"{', '.join(s.value for s in Specialty)}")
    return specialty


def _only(frame: pd.DataFrame, specialty: str) -> pd.DataFrame:
    if check_specialty(specialty) == ALL_SPECIALTIES:
        return frame
    return frame[frame["specialty"] == specialty]


def _aligned(per_code: pd.Series, codes: pd.Series, what: str, specialty: str,
             year: int) -> np.ndarray:
    weights = codes.map(per_code).fillna(0.0).to_numpy(dtype=float)
    if not weights.sum() > 0:
        raise InvalidInput(f"the flows dataset has no {what} in {specialty} in {year} "
                           "for the selected counties")
    return weights


def outflow_weights(src: FlowsSource, specialty: str, year: int,
                    codes: pd.Series) -> np.ndarray:
    """Per county in ``codes``: residents' ``specialty`` discharges in ``year`` treated
    outside their province (the recapture weights)."""
    from ..flows.engine import run_matrix
    from ..flows.geo import units_table

    m = _only(src._run(run_matrix, year, origin_level="county", destination_level="province",
                       by_specialty=True), specialty)
    units = units_table(src.regions)
    home = m["origin"].map(dict(zip(units["code"], units["province"], strict=True)))
    out = m[m["destination"] != home]
    return _aligned(out.groupby("origin")["discharges"].sum(), codes,
                    "discharges treated outside the home province", specialty, year)


def demand_weights(src: FlowsSource, specialty: str, year: int,
                   codes: pd.Series) -> np.ndarray:
    """Per county in ``codes``: residents' ``specialty`` discharges in ``year`` (``run_demand``)."""
    from ..flows.engine import run_demand

    d = _only(src._run(run_demand, year), specialty)
    return _aligned(d.groupby("region")["discharges"].sum(), codes, "discharges", specialty,
                    year)


def residence_flows(src: FlowsSource, specialty: str, year: int) -> pd.DataFrame:
    """``residence_code, hospital_region_code, patients``: ``specialty`` discharges in ``year``
    by county of residence × county of the treating hospital (the ``--flows`` file's shape)."""
    from ..flows.engine import run_matrix

    m = _only(src._run(run_matrix, year, origin_level="county", destination_level="county",
                       by_specialty=True), specialty)
    out = (m.groupby(["origin", "destination"], as_index=False)["discharges"].sum()
           .rename(columns={"origin": "residence_code", "destination": "hospital_region_code",
                            "discharges": "patients"}))
    return out.reset_index(drop=True)


def describe(what: str, specialty: str, year: int) -> str:
    """How a default input was computed, as stored in scenarios and printed in JSON."""
    scope = "all specialties" if specialty == ALL_SPECIALTIES else specialty
    return f"flows dataset: {what}, {scope}, {year}"


def specialty_demand_for(specialty: str, codes: pd.Series, *, population_only: bool = False,
                         year: int | None = None) -> Any:
    """The planning page's demand (``nrmc.domains.planning.demand.specialty_demand``) for the
    units ``codes``: the flows dataset's discharges when loaded, else census population × the
    national rate of ``specialty`` × age structure. ``--year`` without a dataset is an error."""
    from importlib import resources

    from ..domains.planning.demand import FlowsInput, specialty_demand
    from ..flows.store import read_manifest
    from .context import settings

    check_specialty(specialty)
    with resources.files("nrmc.data").joinpath("regions.csv").open("rb") as fh:
        regions = pd.read_csv(fh, dtype={"code": str, "parent_code": str})
    units = regions.set_index("code").reindex(codes.astype(str)).reset_index()
    units["population"] = units["population"].fillna(0)
    if population_only:
        return specialty_demand(units=units, specialty=specialty, prefer="population")
    if not read_manifest(settings().flows_dir).files:
        if year is not None:
            raise InvalidInput(f"--year {year} needs a patient-flows dataset; none in "
                               f"{settings().flows_dir}")
        return specialty_demand(units=units, specialty=specialty, prefer="population")
    src = open_flows("--demand FILE or --demand population")
    flows = FlowsInput(src.dataset_dir, src.regions, str(src.engine), src.spark_master)
    return specialty_demand(units=units, specialty=specialty, flows=flows, year=year)

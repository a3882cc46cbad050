"""Calibrated synthetic discharges, streamed in chunks into the flows dataset layout.

Calibration (targets from shared/data/health_statistics.md, checked in tests/flows/test_synth.py
and documented in docs/flows.md):

* residence ∝ county population × regional hospitalisation rate (East 17.0 %, Central 19.3 %,
  West 21.5 %, 2019); at full scale (≈ 250 M rows a year) the national rate is ≈ 18 %;
* where patients go: a four-way choice per discharge — own county's non-tertiary hospitals,
  the tertiary hospitals of the own prefecture, of the own province (capital weighted), or
  another province — shifted towards higher levels for complex specialties, so tertiary
  hospitals take about half of hospital discharges;
* cross-provincial discharges are a few percent overall, highest from Anhui, Hebei, Henan and
  Jiangsu; the destination province follows a gravity model (tertiary beds × pull /
  distance^1.2) with Beijing and Shanghai pulling hardest;
* stays are log-normal around 9–10 days (tertiary longer), cost ≈ 1,190 yuan a day;
* a programme centre keeps a share of the residents of its province in its specialty who would
  have left the province ("comprehensive" centres: every specialty) and cuts transfers out in
  that province and specialty by the same share: ``synth_truth.retention(opening year, year)``,
  9 % for most opening years and 0 for 2022's, built up over three years; each province-year's
  outflow also moves by a shared shock (``synth_truth.province_shocks``, log sd 0.10).

Nothing here reads the registry: regions, hospitals and projects come in as DataFrames.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import store
from . import synth_model as model
from . import synth_truth as truth
from .geo import units_table
from .pseudonym import PSEUDONYM_BITS, pseudonymise
from .schema import STORED_SCHEMA

CHUNK_ROWS = 1_000_000
EPOCH = np.datetime64("1970-01-01", "D")


def _dictionary(indices: np.ndarray, values: np.ndarray) -> pa.Array:
    """Strings from a small vocabulary without building Python objects per row."""
    dictionary = pa.array(values.astype(str).tolist(), type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary).cast(
        pa.string()
    )


def _chunk(world: model.World, rng: np.random.Generator, year: int, n: int, first_id: int,
           pseudonym_key: str, stats: model.Tally, shocks: np.ndarray) -> pa.Table:
    """Generate ``n`` discharges of ``year``: who, what, where, how long, how it ended."""
    residence = world.sample_residence(rng, n)
    spec = rng.choice(len(model.SPECIALTIES), size=n, p=model.SPECIALTY_MIX)
    age, sex = model.sample_age_sex(rng, spec)
    diagnosis = model.sample_diagnosis(rng, spec)
    prov = world.res_prov[residence]
    retention = truth.retention(world.eff_year[prov, spec], year)
    hospital, scope = world.sample_hospital(rng, residence, spec, year, retention,
                                            out_scale=np.exp(shocks[prov]))
    tier = world.hosp_tier[hospital]

    stay = model.sample_stay(rng, spec, tier)
    surgery = model.sample_surgery(rng, spec, tier)
    cost = model.sample_cost(rng, stay, tier, surgery)
    admission = model.sample_admission_route(rng, scope)
    discharge = model.sample_discharge_route(rng, tier, age, 1 - retention)

    start = (np.datetime64(f"{year}-01-01", "D") - EPOCH).astype(np.int64)
    days = 366 if year % 4 == 0 else 365
    discharged = start + rng.integers(0, days, size=n)
    admitted = discharged - stay

    # Patients: a pool per county, so some people have several stays (re-admissions).
    pool = np.maximum(world.res_pool[residence], 1)
    patient_no = residence.astype(np.int64) * 100_000_000 + rng.integers(0, pool)
    patient = pseudonymise(patient_no, pseudonym_key)
    record_ids = pa.array(np.arange(first_id, first_id + n, dtype=np.int64)).cast(pa.string())

    hospital_codes = _dictionary(hospital, world.hosp_code)
    columns = {
        "record_id": record_ids,
        "patient_id": pa.array(patient, type=pa.string()),
        "residence_code": _dictionary(residence, world.res_code),
        "hospital_code": hospital_codes,
        "admission_date": pa.array(admitted.astype(np.int32), type=pa.int32()).cast(pa.date32()),
        "discharge_date": pa.array(discharged.astype(np.int32), type=pa.int32()).cast(
            pa.date32()),
        "age": pa.array(age.astype(np.int16)),
        "sex": pa.array(sex.astype(np.int8)),
        "principal_diagnosis": _dictionary(diagnosis, model.DIAGNOSIS_CODES),
        "specialty": _dictionary(spec, np.array(model.SPECIALTIES)),
        "surgery_level": pa.array(surgery.astype(np.int8)),
        "admission_route": pa.array(admission.astype(np.int8)),
        "discharge_route": pa.array(discharge.astype(np.int8)),
        "total_cost": pa.array(np.round(cost, 2)),
        "hospital_region_code": _dictionary(world.hosp_leaf[hospital], world.leaf_code),
        "year": pa.array(np.full(n, year, dtype=np.int16)),
    }
    stats.add(world, residence, hospital, stay, cost)
    return pa.table(columns, schema=STORED_SCHEMA)


def _rows_per_year(rows: int, years: Sequence[int]) -> dict[int, int]:
    """Split ``rows`` over years following admissions (2020 dipped with COVID-19)."""
    weight = np.array([model.YEAR_VOLUME.get(y, 1.0) for y in years])
    share = np.floor(rows * weight / weight.sum()).astype(np.int64)
    share[-1] += rows - share.sum()
    return dict(zip(years, share.tolist(), strict=True))


def write_synthetic_dataset(
    out_dir: Path,
    *,
    regions: pd.DataFrame,
    hospitals: pd.DataFrame,
    projects: pd.DataFrame,
    rows: int,
    years: Sequence[int],
    seed: int,
    pseudonym_key: str,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Generate ``rows`` discharges over ``years``; publish them at ``out_dir`` as one load
    that *replaces* whatever the dataset held (atomically, like any load).

    Same layout and schema as ``ingest`` (patient ids already pseudonymised with
    ``pseudonym_key``); memory stays at one chunk (``CHUNK_ROWS``) whatever ``rows`` is.
    Returns a summary with the calibration figures of what was written.
    """
    began = time.perf_counter()
    years = sorted(int(y) for y in years)
    world = model.World.build(regions, hospitals, projects, units_table(regions),
                              rows_per_year=rows / max(len(years), 1))
    per_year = _rows_per_year(rows, years)
    stats = model.Tally()
    shock = truth.province_shocks(list(world.prov_code), years, seed=seed, sd=truth.SHOCK_SD)
    done, next_id = 0, 1
    with store.writing(Path(out_dir)) as load:
        for year in years:
            left, part = per_year[year], 0
            while left > 0:
                n = min(CHUNK_ROWS, left)
                rng = np.random.default_rng([seed, year, part])
                shocks = np.array([shock[(p, year)] for p in world.prov_code])
                table = _chunk(world, rng, year, n, next_id, pseudonym_key, stats, shocks)
                target = load.new_file(year)
                pq.write_table(table, target, compression="zstd", row_group_size=256_000)
                load.add(target, year=year, rows=n)
                left, next_id, part, done = left - n, next_id + n, part + 1, done + n
                if progress:
                    progress(done, rows)
        load.commit(replace=True, source="synth", seed=seed, years=years,
                    pseudonym_bits=PSEUDONYM_BITS)
    return {
        "dataset": str(out_dir),
        "rows": done,
        "years": years,
        "rows_per_year": per_year,
        "seed": seed,
        "seconds": round(time.perf_counter() - began, 2),
        **stats.summary(world, per_year),
    }

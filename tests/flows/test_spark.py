"""The same metrics on PySpark (local mode) give exactly the DuckDB results."""

from __future__ import annotations

import pandas as pd
import pytest

from nrmc.flows import engine

from .conftest import REGIONS

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CASES = [
    ("outflow province", engine.run_outflow, {"level": "province"}),
    ("outflow prefecture by specialty", engine.run_outflow,
     {"level": "prefecture", "by_specialty": True}),
    ("matrix", engine.run_matrix, {"origin_level": "county", "destination_level": "province"}),
    ("within county", engine.run_within_county, {}),
    ("reach", engine.run_reach, {}),
    ("level4 by prefecture", engine.run_level4, {"by": "prefecture"}),
    ("transfers", engine.run_transfers, {"level": "province", "by_specialty": True}),
    ("demand", engine.run_demand, {}),
]


@pytest.mark.parametrize(("name", "run", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_spark_matches_duckdb_on_fixture(name, run, kwargs, loaded_dataset, spark_backend):
    duck = run(loaded_dataset, REGIONS, engine="duckdb", **kwargs)
    spark = run(loaded_dataset, REGIONS, backend=spark_backend, **kwargs)
    assert len(duck) > 0
    pd.testing.assert_frame_equal(duck, spark, check_exact=True)


def test_spark_matches_duckdb_on_synthetic_sample(synthetic_dataset, spark_backend):
    """A few thousand generated rows exercise ties, nulls and many units at once."""
    root, regions = synthetic_dataset
    duck = engine.run_outflow(root, regions, level="prefecture", by_specialty=True)
    spark = engine.run_outflow(root, regions, level="prefecture", by_specialty=True,
                               backend=spark_backend)
    assert len(duck) > 500
    pd.testing.assert_frame_equal(duck, spark, check_exact=True)

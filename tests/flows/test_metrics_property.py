"""Outflow agrees with a plain-Python count on random small datasets (Hypothesis)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nrmc.flows import store
from nrmc.flows.engine import connect, run_outflow
from nrmc.flows.geo import units_table
from nrmc.flows.schema import STORED_SCHEMA

from .conftest import REGIONS

LEAVES = ["340102", "340121", "341221", "110105", "110108", "310104", "441900"]
PROVINCE = dict(zip(units_table(REGIONS)["code"], units_table(REGIONS)["province"], strict=True))
BACKEND = connect("duckdb")

records = st.lists(
    st.tuples(st.sampled_from(LEAVES), st.sampled_from(LEAVES), st.sampled_from([2022, 2023])),
    min_size=1, max_size=40,
)


def _write(root, rows) -> None:
    n = len(rows)
    day = date(2023, 1, 1)
    table = pa.table({
        "record_id": [str(i) for i in range(n)], "patient_id": ["p"] * n,
        "residence_code": [r[0] for r in rows], "hospital_code": ["H"] * n,
        "admission_date": [day] * n, "discharge_date": [day] * n, "age": [50] * n,
        "sex": [1] * n, "principal_diagnosis": ["I10"] * n, "specialty": ["other"] * n,
        "surgery_level": [0] * n, "admission_route": [2] * n, "discharge_route": [1] * n,
        "total_cost": [1.0] * n, "hospital_region_code": [r[1] for r in rows],
        "year": [r[2] for r in rows],
    }, schema=STORED_SCHEMA)
    with store.writing(root) as load:
        path = load.new_file(2023)
        pq.write_table(table, path)
        load.add(path, year=2023, rows=n)
        load.commit(replace=True)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=records)
def test_outflow_matches_python_count(tmp_path, rows):
    root = tmp_path / "flows"
    _write(root, rows)
    frame = run_outflow(root, REGIONS, level="province", backend=BACKEND)
    pairs: Counter = Counter()
    for res, hosp, year in rows:
        pairs[(PROVINCE[res], year, PROVINCE[hosp])] += 1
    units = {(o, y) for o, y, _ in pairs}
    assert len(frame) == len(units)
    for rec in frame.to_dict("records"):
        mine = {d: n for (o, y, d), n in pairs.items() if (o, y) == (rec["region"], rec["year"])}
        outside = {d: n for d, n in mine.items() if d != rec["region"]}
        assert rec["discharges"] == sum(mine.values())
        assert rec["treated_outside"] == sum(outside.values())
        if outside:
            best = min(outside, key=lambda d: (-outside[d], d))
            assert rec["top_destination"] == best
            assert rec["top_destination_share"] == outside[best] / sum(outside.values())
        else:
            assert rec["top_destination"] is None

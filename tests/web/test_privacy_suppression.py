"""Published outflow aggregates withhold small cells, and no withheld count comes back by
subtraction (the API is what other tools read).

The hand-made dataset ``SCENARIO`` (Gansu residents, each prefecture's residents in one county):

2024 — Jiuquan (Jinta): cardiovascular 300 (50 treated in Beijing), respiratory 80, oncology 5;
       Lanzhou (Chengguan): cardiovascular 400 (50 in Beijing), respiratory 150, oncology 200.
  Jiuquan's oncology 5 is small. Alone it would come back twice: Jiuquan all − the published
  specialties (385 − 300 − 80), and Gansu oncology − Lanzhou oncology (205 − 200). So Jiuquan's
  respiratory 80 (its next-smallest) and Lanzhou's oncology 200 (the only other prefecture) are
  withheld too, and then Lanzhou's respiratory 150 (Lanzhou's group now had one withheld).
2023 — the same, with oncology 5 / 6 and pediatrics 3 / 2: each prefecture's group has two
  small cells and needs nothing more; Gansu's pediatrics 5 is small and alone in Gansu's
  specialty group, so Gansu's oncology 11 (next-smallest) goes too.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from nrmc.config import Settings
from nrmc.flows import store
from nrmc.flows.engine import connect, run_outflow
from nrmc.flows.geo import LEVELS, load_regions, units_table
from nrmc.flows.schema import STORED_SCHEMA
from nrmc.web import create_app
from nrmc.web.outflow import ALL, publish

from .cast import Cast
from .conftest import login

JINTA, CHENGGUAN, BEIJING = "620921", "620102", "110105"
GANSU, JIUQUAN, LANZHOU = "620000", "620900", "620100"
CARDIO, RESP, ONC, PAED = "cardiovascular", "respiratory", "oncology", "pediatrics"

# (year, residence, treated in, specialty, discharges)
SCENARIO = [
    (2024, JINTA, JINTA, CARDIO, 250), (2024, JINTA, BEIJING, CARDIO, 50),
    (2024, JINTA, JINTA, RESP, 80), (2024, JINTA, JINTA, ONC, 5),
    (2024, CHENGGUAN, CHENGGUAN, CARDIO, 350), (2024, CHENGGUAN, BEIJING, CARDIO, 50),
    (2024, CHENGGUAN, CHENGGUAN, RESP, 150), (2024, CHENGGUAN, CHENGGUAN, ONC, 200),
    (2023, JINTA, JINTA, CARDIO, 250), (2023, JINTA, BEIJING, CARDIO, 50),
    (2023, JINTA, JINTA, RESP, 80), (2023, JINTA, JINTA, ONC, 5),
    (2023, JINTA, JINTA, PAED, 3),
    (2023, CHENGGUAN, CHENGGUAN, CARDIO, 350), (2023, CHENGGUAN, BEIJING, CARDIO, 50),
    (2023, CHENGGUAN, CHENGGUAN, RESP, 150), (2023, CHENGGUAN, CHENGGUAN, ONC, 6),
    (2023, CHENGGUAN, CHENGGUAN, PAED, 2),
]
REGIONS = load_regions()
UNITS = units_table(REGIONS)


def write_scenario(root: Path) -> None:
    """The SCENARIO as a published discharge dataset at `root`."""
    rows = [(year, home, there, spec) for year, home, there, spec, n in SCENARIO
            for _ in range(n)]
    day = date(2023, 6, 1)
    n = len(rows)
    table = pa.table({
        "record_id": [str(i) for i in range(n)], "patient_id": [f"p{i}" for i in range(n)],
        "residence_code": [r[1] for r in rows], "hospital_code": ["H"] * n,
        "admission_date": [day] * n, "discharge_date": [day] * n, "age": [50] * n,
        "sex": [1] * n, "principal_diagnosis": ["I10"] * n, "specialty": [r[3] for r in rows],
        "surgery_level": [0] * n, "admission_route": [2] * n, "discharge_route": [1] * n,
        "total_cost": [1.0] * n, "hospital_region_code": [r[2] for r in rows],
        "year": [r[0] for r in rows],
    }, schema=STORED_SCHEMA)
    with store.writing(root) as load:
        path = load.new_file(2024)
        pq.write_table(table, path)
        load.add(path, year=2024, rows=n)
        load.commit(replace=True)


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], pd.DataFrame]:
    root = tmp_path_factory.mktemp("scenario") / "flows"
    write_scenario(root)
    backend = connect("duckdb")
    return {(lv, by): run_outflow(root, REGIONS, level=lv, by_specialty=by, backend=backend)
            for lv in LEVELS for by in (False, True)}


def cell(out: dict, level: str, region: str, year: int, spec: str = ALL) -> dict:
    (row,) = [r for r in out[level][(spec, year)] if r["region"] == region]
    return row


def assert_nothing_comes_back_by_subtraction(rows_by_level: dict[str, list[dict]]) -> None:
    """Every additive group the rows form (a region-year's specialty rows and its all row; a
    unit's child units and the unit, per year and specialty) has zero or at least two withheld
    figures: discharges in both kinds of group, treated_outside in the specialty groups."""
    at = {(lv, r["region"], r["year"], r["specialty"] or ALL): r
          for lv, rows in rows_by_level.items() for r in rows}
    groups: dict[tuple, list[tuple]] = {}
    parent = {"prefecture": dict(zip(UNITS["code"], UNITS["province"], strict=True)),
              "county": dict(zip(UNITS["code"], UNITS["prefecture"], strict=True))}
    up = {"prefecture": "province", "county": "prefecture"}
    for lv, region, year, spec in at:
        if spec != ALL:
            groups.setdefault(("specialty", lv, region, year, ALL), []).append(
                (lv, region, year, spec))
        if lv in up:
            groups.setdefault(("region", up[lv], parent[lv][region], year, spec), []).append(
                (lv, region, year, spec))
    checked = 0
    for (kind, *total), members in groups.items():
        if tuple(total) not in at:
            continue
        cells = [at[tuple(total)], *(at[m] for m in members)]
        fields = ("discharges", "treated_outside") if kind == "specialty" else ("discharges",)
        for name in fields:
            hidden = [c for c in cells if c[name] is None]
            assert len(hidden) != 1, (kind, total, name, hidden)
        checked += 1
    assert checked


# --------------------------------------------------------------------------- publish()


def test_a_lone_small_specialty_cannot_be_recovered_from_the_all_row(frames):
    out = publish(frames, UNITS, 10)
    jiuquan = {spec: cell(out, "prefecture", JIUQUAN, 2024, spec) for spec in (CARDIO, RESP, ONC)}
    total = cell(out, "prefecture", JIUQUAN, 2024)
    assert jiuquan[ONC]["discharges"] is None and jiuquan[ONC]["suppressed"]
    assert jiuquan[RESP]["discharges"] is None and jiuquan[RESP]["suppressed"]
    assert jiuquan[RESP]["outflow_rate"] is None and jiuquan[RESP]["treated_outside"] is None
    published = sum(r["discharges"] for r in jiuquan.values() if r["discharges"] is not None)
    assert total["discharges"] - published == 85 != 5
    # the county (the same residents) is protected the same way
    assert cell(out, "county", JINTA, 2024, RESP)["discharges"] is None


def test_a_lone_small_prefecture_cannot_be_recovered_from_its_province(frames):
    out = publish(frames, UNITS, 10)
    province = cell(out, "province", GANSU, 2024, ONC)
    assert province["discharges"] == 205 and not province["suppressed"]
    assert cell(out, "prefecture", JIUQUAN, 2024, ONC)["discharges"] is None
    lanzhou = cell(out, "prefecture", LANZHOU, 2024, ONC)
    assert lanzhou["discharges"] is None and lanzhou["suppressed"]
    # Lanzhou's specialty group then had one withheld cell: its next-smallest goes too
    assert cell(out, "prefecture", LANZHOU, 2024, RESP)["discharges"] is None
    assert cell(out, "county", CHENGGUAN, 2024, ONC)["discharges"] is None


def test_large_cells_stay_exact(frames):
    out = publish(frames, UNITS, 10)
    cardio = cell(out, "prefecture", JIUQUAN, 2024, CARDIO)
    assert (cardio["discharges"], cardio["treated_outside"]) == (300, 50)
    assert cardio["outflow_rate"] == pytest.approx(50 / 300) and not cardio["suppressed"]
    assert cardio["top_destination"] == BEIJING and cardio["top_destination_share"] == 1.0
    assert cell(out, "prefecture", JIUQUAN, 2024)["discharges"] == 385
    assert cell(out, "province", GANSU, 2024)["discharges"] == 1135
    assert {r: cell(out, "province", GANSU, 2024, r)["discharges"] for r in (CARDIO, RESP)} == {
        CARDIO: 700, RESP: 230}


def test_groups_with_two_small_cells_get_nothing_more(frames):
    out = publish(frames, UNITS, 10)
    for prefecture in (JIUQUAN, LANZHOU):
        assert cell(out, "prefecture", prefecture, 2023, ONC)["discharges"] is None
        assert cell(out, "prefecture", prefecture, 2023, PAED)["discharges"] is None
        assert cell(out, "prefecture", prefecture, 2023, RESP)["discharges"] in (80, 150)
        assert not cell(out, "prefecture", prefecture, 2023, CARDIO)["suppressed"]
    # Gansu's pediatrics (5) is small and alone in Gansu's group: oncology (11) goes with it
    assert cell(out, "province", GANSU, 2023, PAED)["discharges"] is None
    assert cell(out, "province", GANSU, 2023, ONC)["discharges"] is None
    assert cell(out, "province", GANSU, 2023, RESP)["discharges"] == 230


def test_groups_with_no_small_cell_get_nothing(frames):
    out = publish(frames, UNITS, 10)
    assert not any(r["suppressed"] for r in out["province"][(CARDIO, 2024)])
    assert not any(r["suppressed"] for part in out["province"].values() for r in part
                   if r["specialty"] is None)


def test_every_group_at_every_level_has_zero_or_two_withheld(frames):
    out = publish(frames, UNITS, 10)
    assert_nothing_comes_back_by_subtraction(
        {lv: [r for part in sliced.values() for r in part] for lv, sliced in out.items()})


def test_threshold_one_publishes_every_count(frames):
    out = publish(frames, UNITS, 1)
    rows = [r for sliced in out.values() for part in sliced.values() for r in part]
    assert rows and not any(r["suppressed"] for r in rows)
    assert cell(out, "prefecture", JIUQUAN, 2024, ONC)["discharges"] == 5
    assert cell(out, "county", JINTA, 2023, PAED)["discharges"] == 3


def test_primary_rule_on_a_single_row():
    frame = pd.DataFrame([
        {"region": "620000", "region_name": "甘肃省", "year": 2023, "specialty": None,
         "discharges": 900, "treated_outside": 4, "outflow_rate": 4 / 900,
         "top_destination": "110000", "top_destination_share": 0.75},
        {"region": "110000", "region_name": "北京市", "year": 2023, "specialty": None,
         "discharges": 900, "treated_outside": 90, "outflow_rate": 0.1,
         "top_destination": "130000", "top_destination_share": 0.5},
    ])
    out = publish({("province", False): frame}, UNITS, 10)["province"][(ALL, 2023)]
    gansu, beijing = out
    assert gansu["suppressed"] and gansu["treated_outside"] is None and gansu["outflow_rate"] is None
    assert not beijing["suppressed"] and beijing["treated_outside"] == 90


# ----------------------------------------------------------------- API, download and page


@pytest.fixture(scope="module")
def app(web_store: tuple[Engine, Cast], tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The cast's app over the SCENARIO dataset instead of the synthetic one."""
    settings = Settings(home=tmp_path_factory.mktemp("scenario-home"), env="test")
    write_scenario(settings.flows_dir)
    return create_app(settings, engine=web_store[0])


@pytest.fixture(scope="module")
def admin(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        login(client, "admin")
        yield client


def api(client: TestClient, **params: object) -> list[dict]:
    response = client.get("/api/v1/metrics/outflow", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_api_does_not_give_back_a_lone_small_specialty(admin):
    total, = [r for r in api(admin, level="prefecture", year=2024) if r["region"] == JIUQUAN]
    specs = [r for r in api(admin, level="prefecture", year=2024, specialty="each")
             if r["region"] == JIUQUAN]
    published = sum(r["discharges"] for r in specs if r["discharges"] is not None)
    assert total["discharges"] - published != 5
    assert sorted(r["specialty"] for r in specs if r["suppressed"]) == [ONC, RESP]
    onc, = [r for r in api(admin, year=2024, specialty=ONC) if r["region"] == GANSU]
    prefectures = api(admin, level="prefecture", year=2024, specialty=ONC)
    assert onc["discharges"] - sum(r["discharges"] or 0 for r in prefectures) != 5
    assert all(r["discharges"] is None for r in prefectures)


def test_api_publishes_no_group_with_a_single_withheld_figure(admin):
    assert_nothing_comes_back_by_subtraction({
        lv: api(admin, level=lv) + api(admin, level=lv, specialty="each") for lv in LEVELS})


def test_csv_download_withholds_the_complementary_cell(admin):
    response = admin.get("/api/v1/metrics/outflow", params={
        "level": "prefecture", "year": 2024, "specialty": "each", "format": "csv"})
    assert response.status_code == 200
    rows = {(r["region"], r["specialty"]): r
            for r in csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")))}
    assert rows[(JIUQUAN, RESP)]["discharges"] == "" and rows[(JIUQUAN, RESP)]["suppressed"] == "True"
    assert rows[(JIUQUAN, ONC)]["discharges"] == "" and rows[(LANZHOU, ONC)]["discharges"] == ""
    assert rows[(JIUQUAN, CARDIO)]["discharges"] == "300"
    assert rows[(JIUQUAN, CARDIO)]["suppressed"] == "False"


def test_region_page_by_specialty_shows_the_same_published_rows(admin):
    html = admin.get(f"/regions/{JIUQUAN}").text
    block = re.search(r'<script type="application/json" data-chart="bars" '
                      r'data-target="by-specialty">(.*?)</script>', html, flags=re.S)
    chart = json.loads(block.group(1))  # type: ignore[union-attr]
    by = dict(zip(chart["categories"], chart["series"][0]["data"], strict=True))
    assert by[CARDIO] is not None  # 300 discharges: published
    assert by[RESP] is None and by[ONC] is None  # withheld, and its complement

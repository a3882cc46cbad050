"""`nrmc flows …` end to end on the hand-checkable fixture (registry reads stubbed)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nrmc.cli import context
from nrmc.cli import flows as flows_cli
from nrmc.cli.main import app

from .conftest import HOSPITALS, REGIONS, fixture_rows, write_csv

runner = CliRunner()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NRMC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NRMC_ENGINE", "duckdb")
    context.settings.cache_clear()
    monkeypatch.setattr(flows_cli, "_regions", lambda: REGIONS.copy())
    monkeypatch.setattr(flows_cli, "_hospitals", lambda: HOSPITALS.copy())
    yield tmp_path
    context.settings.cache_clear()


def _ingest(home, rows=None):
    source = write_csv(home / "d.csv", rows or fixture_rows())
    return runner.invoke(app, ["flows", "ingest", str(source)])


def test_outflow_json_has_exactly_the_contract_keys(home):
    assert _ingest(home).exit_code == 0
    result = runner.invoke(app, ["flows", "outflow", "--level", "province", "--year", "2023",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert all(list(r) == ["region", "region_name", "year", "specialty", "discharges",
                           "treated_outside", "outflow_rate", "top_destination",
                           "top_destination_share"] for r in data)
    anhui = next(r for r in data if r["region"] == "340000")
    assert anhui == {"region": "340000", "region_name": "安徽省", "year": 2023,
                     "specialty": None, "discharges": 8, "treated_outside": 4,
                     "outflow_rate": 0.5, "top_destination": "110000",
                     "top_destination_share": 0.5}
    beijing = next(r for r in data if r["region"] == "110000")
    assert beijing["top_destination"] is None and beijing["top_destination_share"] is None


def test_outflow_by_specialty_csv_and_table(home):
    _ingest(home)
    csv_out = runner.invoke(app, ["flows", "outflow", "--by", "specialty", "--format", "csv"])
    assert csv_out.exit_code == 0
    assert "340000,安徽省,2023,oncology,4,3," in csv_out.stdout
    table = runner.invoke(app, ["flows", "outflow", "--level", "county"])
    assert table.exit_code == 0 and "临泉县" in table.stdout


def test_other_reports_run(home):
    _ingest(home)
    for args in (["matrix", "--from", "county", "--to", "province"], ["within-county"],
                 ["reach", "--hospital", "H_SH"], ["level4", "--by", "province"]):
        result = runner.invoke(app, ["flows", *args, "--format", "json"])
        assert result.exit_code == 0, (args, result.output)
        assert json.loads(result.stdout), args
    reach = json.loads(runner.invoke(app, ["flows", "reach", "--hospital", "H_SH", "--year",
                                           "2023", "--format", "json"]).stdout)
    assert reach == [{"hospital_code": "H_SH", "year": 2023, "discharges": 2,
                      "from_outside_city": 2, "outside_city_share": 1.0,
                      "from_outside_province": 2, "outside_province_share": 1.0}]


def test_bad_file_exits_nonzero_listing_every_row(home):
    rows = fixture_rows()[:3]
    rows[0]["sex"] = "7"
    rows[2]["residence_code"] = "000001"
    result = _ingest(home, rows)
    assert result.exit_code == 6
    output = " ".join(result.output.split())  # Rich wraps long lines
    assert "row 1: sex: '7'" in output and "row 3: residence_code: '000001'" in output
    empty = runner.invoke(app, ["flows", "outflow"])
    assert empty.exit_code == 3 and "no discharges loaded" in " ".join(empty.output.split())


def test_reject_file_option(home):
    rows = fixture_rows()[:3]
    rows[1]["age"] = "abc"
    rejects = home / "rejects.csv"
    source = write_csv(home / "d.csv", rows)
    result = runner.invoke(app, ["flows", "ingest", str(source), "--reject-file", str(rejects)])
    assert result.exit_code == 0, result.output
    assert "loaded 2 of 3 rows" in result.output
    assert "is not a whole number" in rejects.read_text(encoding="utf-8")


def test_synth_command_writes_dataset(home, monkeypatch, national):
    import pandas as pd

    regions, hospitals = national
    monkeypatch.setattr(flows_cli, "_regions", lambda: regions)
    monkeypatch.setattr(flows_cli, "_hospitals", lambda: hospitals)
    monkeypatch.setattr(flows_cli, "_projects", lambda: pd.DataFrame())
    result = runner.invoke(app, ["flows", "synth", "--rows", "3000", "--years", "2020-2021",
                                 "--seed", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)[0]
    assert summary["rows"] == 3000 and summary["years"] == "2020, 2021"
    out = runner.invoke(app, ["flows", "outflow", "--format", "json"])
    assert sum(r["discharges"] for r in json.loads(out.stdout)) == 3000


def test_parse_years():
    assert flows_cli.parse_years("2018-2020,2024") == [2018, 2019, 2020, 2024]

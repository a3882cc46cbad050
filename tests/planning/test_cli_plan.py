"""`nrmc plan` end to end on tiny files (Ningxia, 22 counties); no database needed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nrmc.cli import context
from nrmc.cli.plan import app

runner = CliRunner()

CANDIDATES = """code,name_zh,lon,lat,capacity
H1,宁夏医科大学总医院,106.23,38.47,2000
H2,固原市人民医院,106.28,36.00,800
H3,中卫市人民医院,105.19,37.51,600
H4,石嘴山市第一人民医院,106.38,39.02,700
"""


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NRMC_HOME", str(tmp_path / "home"))
    context.settings.cache_clear()
    yield tmp_path
    context.settings.cache_clear()


@pytest.fixture
def candidates(tmp_path):
    path = tmp_path / "candidates.csv"
    path.write_text(CANDIDATES, encoding="utf-8")
    return path


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result


def test_beds_json_has_the_documented_keys():
    r = run("beds", "--admissions-per-year", "3650", "--mean-los", "5", "--target-wait", "0.1",
            "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert {"beds", "occupancy", "wait_probability", "block_probability"} <= set(data)
    assert data["beds"] == 61


def test_beds_needs_exactly_one_target():
    r = run("beds", "--admissions-per-year", "3650", "--mean-los", "5")
    assert r.exit_code != 0
    assert "exactly one" in r.output


def test_site_coverage_with_candidate_file_saves_a_scenario(candidates):
    r = run("site", "--specialty", "cardiovascular", "--p", "2", "--objective", "coverage",
            "--radius-min", "90", "--province", "640000", "--candidates", str(candidates),
            "--demand", "population", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["model"] == "mclp"
    assert len(data["sites"]) == 2
    assert "H1" in data["selected_codes"]  # Yinchuan: the most people within 90 minutes
    assert data["scenario"]
    listed = run("scenarios", "list", "--format", "json")
    assert json.loads(listed.stdout)[0]["id"] == data["scenario"]


def test_site_median_with_demand_file_and_existing(candidates, tmp_path):
    demand = tmp_path / "demand.csv"
    demand.write_text("region_code,weight\n640402,500\n640104,10\n640502,300\n")
    r = run("site", "--specialty", "oncology", "--p", "2", "--objective", "median",
            "--province", "64", "--candidates", str(candidates), "--demand", str(demand),
            "--existing", "H4", "--format", "json", "--no-save")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert sorted(data["selected_codes"]) == ["H2", "H4"]


def test_recapture_needs_an_outflow_file(candidates):
    r = run("site", "--specialty", "oncology", "--p", "1", "--objective", "recapture",
            "--province", "64", "--candidates", str(candidates))
    assert r.exit_code != 0
    assert "--outflow" in r.output


def test_recapture_uses_outflow_weights(candidates, tmp_path):
    outflow = tmp_path / "outflow.csv"
    outflow.write_text("region_code,weight\n640502,900\n640521,300\n640104,5\n")
    r = run("site", "--specialty", "oncology", "--p", "1", "--objective", "recapture",
            "--radius-min", "60", "--province", "64", "--candidates", str(candidates),
            "--outflow", str(outflow), "--format", "json", "--no-save")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["selected_codes"] == ["H3"]


def test_unknown_existing_code_is_a_clear_error(candidates):
    r = run("site", "--specialty", "x", "--p", "2", "--province", "64",
            "--candidates", str(candidates), "--existing", "NOPE")
    assert r.exit_code != 0
    assert "NOPE" in r.output


def test_tertiary_candidates_without_registry_fail_clearly(monkeypatch):
    import sys

    # None in sys.modules makes the import raise ImportError, as when the slice is absent
    monkeypatch.setitem(sys.modules, "nrmc.domains.hospitals.service", None)
    r = run("site", "--specialty", "x", "--p", "1", "--province", "64",
            "--candidates", "tertiary")
    assert r.exit_code != 0
    assert "hospital registry" in r.output


def test_scenarios_compare_two_runs(candidates):
    ids = []
    for p in ("1", "2"):
        r = run("site", "--specialty", "cardiovascular", "--p", p, "--province", "64",
                "--candidates", str(candidates), "--demand", "population", "--format", "json")
        ids.append(json.loads(r.stdout)["scenario"])
    r = run("scenarios", "compare", ids[0], ids[1], "--format", "json")
    assert r.exit_code == 0, r.output
    rows = {row["field"]: row for row in json.loads(r.stdout)}
    assert rows["p_facilities"]["difference"] == 1


def test_access_per_province_is_population_weighted(candidates):
    r = run("access", "--method", "e2sfca", "--supply", str(candidates), "--province", "64",
            "--radius-min", "60", "--level", "province", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [row["code"] for row in rows] == ["640000"]
    assert rows[0]["access_per_1000"] > 0


def test_access_gravity_per_county_as_csv(candidates):
    r = run("access", "--method", "gravity", "--supply", str(candidates), "--province", "64",
            "--format", "csv")
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "code,name_zh,population,access_per_1000"
    assert len(lines) == 23


def test_catchments_from_a_flows_file(tmp_path):
    flows = tmp_path / "flows.csv"
    flows.write_text(
        "residence_code,hospital_region_code,patients,specialty,year\n"
        "640104,640104,100,cardiology,2024\n640105,640104,80,cardiology,2024\n"
        "640402,640402,50,cardiology,2024\n640422,640402,40,cardiology,2024\n"
        "640422,640104,10,cardiology,2024\n640402,640104,99,oncology,2024\n")
    r = run("catchments", "--specialty", "cardiology", "--year", "2024", "--flows", str(flows),
            "--province", "64", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = {row["area_code"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"640104", "640402"}
    assert rows["640402"]["localization_index"] == pytest.approx(90 / 100)


def test_site_time_limit_answers_with_best_sites_status_and_gap(tmp_path):
    uncapacitated = tmp_path / "cand.csv"  # the same hospitals without the capacity column
    uncapacitated.write_text("".join(line.rsplit(",", 1)[0] + "\n"
                                     for line in CANDIDATES.splitlines()), encoding="utf-8")
    args = ("site", "--specialty", "oncology", "--p", "2", "--objective", "median",
            "--province", "64", "--candidates", str(uncapacitated), "--demand", "population",
            "--format", "json", "--no-save")
    spent = json.loads(run(*args, "--time-limit", "0").stdout)
    assert spent["status"] == "time_limit"  # no time to prove anything: never "optimal"
    assert len(spent["selected_codes"]) == 2
    assert 0 < spent["gap"] <= 1 and spent["seconds"] >= 0
    full = json.loads(run(*args, "--time-limit", "30").stdout)
    assert full["status"] == "optimal" and full["gap"] <= 1e-6
    assert full["objective"] <= spent["objective"] + 1e-6

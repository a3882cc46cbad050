"""`nrmc plan` on a real demo workspace: defaults computed from the flows dataset and the
hospital registry, checked against the flows engine (one demo per backend for the module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from nrmc.cli import context
from nrmc.domains.planning.demand import NATIONAL_65_SHARE, NATIONAL_RATE, share_65, specialty_share
from nrmc.flows.engine import run_matrix, run_outflow
from nrmc.flows.geo import load_regions
from tests.cli_runner import run, run_json
from tests.conftest import fresh_workspace_url

SITE_KEYS = {"scenario", "model", "objective", "covered_weight", "covered_share", "mean_cost",
             "total_weight", "status", "gap", "seconds", "weights", "year", "selected_codes",
             "sites", "population_vintage"}
SITE_ROW_KEYS = {"code", "name_zh", "lon", "lat", "regions_served", "weight_served", "existing"}
AREA_KEYS = {"area_code", "name_zh", "localization_index", "population", "counties"}
COUNTY_KEYS = {"code", "name_zh", "area_code", "area_name_zh", "residents"}
LATEST = 2024  # the demo's discharges cover 2018–2024
ANHUI = "340000"


@pytest.fixture(scope="module")
def demo_home(backend: str, tmp_path_factory: pytest.TempPathFactory,
              _sqlite_template: Path) -> Iterator[Path]:
    """One demo workspace (real registry, 500k synthetic discharges) shared by the module."""
    directory = tmp_path_factory.mktemp("plan-demo")
    url = fresh_workspace_url(backend, directory, _sqlite_template)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NRMC_HOME", str(directory / "home"))
        mp.setenv("NRMC_DATABASE_URL", url)
        context.reset()
        built = run("demo", "--rows", "500000", "--seed", "11")
        assert built.exit_code == 0, built.output
        yield directory / "home"
    context.reset()


@pytest.fixture
def home(demo_home: Path) -> Iterator[Path]:
    context.reset()  # another test may have pointed the CLI elsewhere
    yield demo_home
    context.reset()


def _outflow(home: Path, specialty: str, year: int) -> pd.DataFrame:
    """Province-level outflow of one specialty, straight from the flows engine."""
    frame = run_outflow(home / "flows", load_regions(), level="province", by_specialty=True,
                        years=[year])
    return frame[frame["specialty"] == specialty].set_index("region")


def test_recapture_weights_are_the_dataset_outflow(home: Path) -> None:
    data = run_json("plan", "site", "--specialty", "oncology", "--p", "2", "--objective",
                    "recapture", "--province", ANHUI, "--no-save")
    assert set(data) == SITE_KEYS - {"scenario"}
    assert data["year"] == LATEST and "outside the home province" in data["weights"]
    # Anhui's counties weigh exactly the Anhui oncology patients treated in other provinces
    assert data["total_weight"] == _outflow(home, "oncology", LATEST).at[ANHUI,
                                                                         "treated_outside"]
    older = run_json("plan", "site", "--specialty", "oncology", "--p", "2", "--objective",
                     "recapture", "--province", ANHUI, "--year", "2019", "--no-save")
    assert older["year"] == 2019
    assert older["total_weight"] == _outflow(home, "oncology", 2019).at[ANHUI,
                                                                        "treated_outside"]


def test_national_recapture_opens_a_site_where_patients_leave(home: Path) -> None:
    data = run_json("plan", "site", "--specialty", "oncology", "--p", "1", "--objective",
                    "recapture", "--radius-min", "120")
    assert set(data) == SITE_KEYS and data["scenario"]
    assert all(set(site) == SITE_ROW_KEYS for site in data["sites"])
    outflow = _outflow(home, "oncology", LATEST)
    assert data["total_weight"] == outflow["treated_outside"].sum()
    top = outflow.sort_values("treated_outside", ascending=False).index[:5]
    (site,) = data["sites"]
    assert site["weight_served"] > 0
    hospitals = run_json("hospitals", "list", "--tier", "tertiary", "--limit", "100000")
    region = {h["code"]: h["region_code"] for h in hospitals}[site["code"]]
    province = region[:2] + "0000"
    assert province in set(top), (province, list(top))
    saved = run_json("plan", "scenarios", "list")
    assert saved[-1]["id"] == data["scenario"]


def test_outflow_file_overrides_the_dataset(home: Path, tmp_path: Path) -> None:
    outflow = tmp_path / "outflow.csv"
    outflow.write_text("region_code,weight\n640502,900\n")  # Zhongwei, Ningxia
    data = run_json("plan", "site", "--specialty", "oncology", "--p", "1", "--objective",
                    "recapture", "--province", "64", "--outflow", str(outflow), "--no-save")
    assert data["total_weight"] == 900 and data["weights"] == str(outflow)
    assert data["year"] is None


def test_coverage_demand_is_discharges_unless_population_is_asked(home: Path) -> None:
    data = run_json("plan", "site", "--specialty", "cardiovascular", "--p", "2",
                    "--province", ANHUI, "--no-save")
    demand = run_matrix(home / "flows", load_regions(), origin_level="province",
                        destination_level="province", by_specialty=True, years=[LATEST])
    anhui = demand[(demand["origin"] == ANHUI) & (demand["specialty"] == "cardiovascular")]
    assert data["total_weight"] == anhui["discharges"].sum()
    assert data["weights"].startswith("flows dataset: discharges")
    population = run_json("plan", "site", "--specialty", "cardiovascular", "--p", "2",
                          "--province", ANHUI, "--demand", "population", "--no-save")
    regions = load_regions()
    leaves = regions[(regions["leaf"] == 1) & regions["code"].str.startswith("34")]
    # census population × the national hospitalisation rate × the specialty's share × each
    # county's age factor from its census 65+ share: the demand the planning page uses
    old = share_65("cardiovascular")
    s65 = leaves["share_65_plus"].astype(float)
    s65 = (s65 / 100 if s65.max() > 1 else s65).fillna(NATIONAL_65_SHARE)  # census gives percent
    factor = s65 * old / NATIONAL_65_SHARE + (1 - s65) * (1 - old) / (1 - NATIONAL_65_SHARE)
    expected = (leaves["population"] * factor).sum() * NATIONAL_RATE * specialty_share("cardiovascular")
    assert population["total_weight"] == pytest.approx(expected, rel=1e-9)
    assert population["weights"].startswith("population: estimated") and population["year"] is None


def test_median_on_registry_tertiary_hospitals(home: Path) -> None:
    # registry beds used to be (mis)read as capacity; only real tertiary hospitals are
    # candidates, never the demo's synthetic ones
    data = run_json("plan", "site", "--specialty", "oncology", "--p", "2", "--objective",
                    "median", "--province", ANHUI, "--no-save")
    assert data["status"] == "optimal" and len(data["selected_codes"]) == 2
    tertiary = run_json("hospitals", "list", "--region", ANHUI, "--tier", "tertiary",
                        "--limit", "10000")
    real = {h["code"] for h in tertiary if not h["synthetic"]}
    assert len(real) < len(tertiary) and set(data["selected_codes"]) <= real


def test_catchments_cover_every_county_with_residents(home: Path) -> None:
    areas = run_json("plan", "catchments", "--specialty", "cardiovascular",
                     "--province", ANHUI)
    counties = run_json("plan", "catchments", "--specialty", "cardiovascular",
                        "--province", ANHUI, "--counties")
    assert areas and all(set(a) == AREA_KEYS for a in areas)
    assert counties and all(set(c) == COUNTY_KEYS for c in counties)
    flows = run_matrix(home / "flows", load_regions(), origin_level="county",
                       destination_level="county", by_specialty=True, years=[LATEST])
    inside = flows[(flows["specialty"] == "cardiovascular")
                   & flows["origin"].str.startswith("34") & flows["destination"].str.startswith("34")]
    with_residents = set(inside["origin"])
    placed = {c["code"]: c["area_code"] for c in counties}
    assert with_residents and all(placed[code] is not None for code in with_residents)
    residents = inside.groupby("origin")["discharges"].sum()
    assert {c["code"]: c["residents"] for c in counties if c["residents"]} == residents.to_dict()
    assert sum(a["counties"] for a in areas) == sum(v is not None for v in placed.values())
    assert {a["area_code"] for a in areas} == {v for v in placed.values() if v is not None}


def test_unknown_specialty_and_year_are_clear_errors(home: Path) -> None:
    r = run("plan", "site", "--specialty", "cardiology", "--p", "1", "--province", ANHUI)
    assert r.exit_code != 0 and "cardiovascular" in r.output
    r = run("plan", "catchments", "--specialty", "oncology", "--year", "2030")
    assert r.exit_code != 0 and "2024" in r.output


def test_no_flows_dataset_says_how_to_build_one(nrmc_env: Path, tmp_path: Path) -> None:
    candidates = tmp_path / "candidates.csv"
    candidates.write_text("code,name_zh,lon,lat\nH1,宁夏医科大学总医院,106.23,38.47\n")
    r = run("plan", "site", "--specialty", "oncology", "--p", "1", "--objective", "recapture",
            "--province", "64", "--candidates", str(candidates))
    assert r.exit_code != 0 and "nrmc demo" in r.output and "--outflow" in r.output
    r = run("plan", "catchments", "--specialty", "oncology")
    assert r.exit_code != 0 and "nrmc flows ingest" in r.output


def test_access_from_registry_beds_per_province(home: Path) -> None:
    rows = run_json("plan", "access", "--level", "province")
    assert len(rows) == 31
    assert all(set(r) == {"code", "name_zh", "population", "access_per_1000"} for r in rows)
    assert sum(r["access_per_1000"] for r in rows) > 0


def test_in_the_demo_two_specialties_choose_different_real_hospitals(home: Path) -> None:
    """The page's service on the demo (real tertiary candidates, 500k synthetic discharges):
    specialty demand changes the answer somewhere, and each answer names its demand."""
    differ = []
    for province in ("410000", "440000", "110000", "310000", ANHUI):
        chosen = {}
        for specialty in ("cardiovascular", "pediatrics"):
            out = run_json("plan", "scenario", "run", "--province", province, "--specialty",
                           specialty, "--p", "2", "--objective", "median", "--no-existing")
            demand = out["results"]["demand"]
            assert demand["source"] == "flows" and demand["year"] == LATEST
            assert demand["synthetic"] and specialty in demand["note_en"]
            chosen[specialty] = set(out["results"]["selected_codes"])
        if chosen["cardiovascular"] != chosen["pediatrics"]:
            differ.append(province)
            break
    assert differ

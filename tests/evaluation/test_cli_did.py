"""`nrmc evaluate did PANEL …` as an analyst types it, on the public mpdta panel."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from nrmc.evaluation.csdid import did
from tests.cli_runner import run

md = pytest.importorskip("moderndid", reason="ships the public mpdta panel (dev dependency)")

ARGS = ["--unit", "countyreal", "--time", "year", "--cohort", "first.treat", "--outcome", "lemp"]


@pytest.fixture(scope="module")
def mpdta_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    frame = md.load_mpdta().to_pandas()
    frame["state"] = frame["countyreal"] // 1000  # FIPS: the first digits are the state
    folder = tmp_path_factory.mktemp("mpdta")
    frame.to_csv(folder / "mpdta.csv", index=False)
    frame.to_parquet(folder / "mpdta.parquet")
    return folder / "mpdta.csv", folder / "mpdta.parquet"


def test_json_has_group_time_rows_and_four_aggregations(mpdta_files: tuple[Path, Path]) -> None:
    result = run("evaluate", "did", str(mpdta_files[0]), *ARGS, "--control", "never",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"cohort", "year", "att", "se"} <= set(data["group_time"][0])
    assert len(data["group_time"]) == 12
    aggs = data["aggregations"]
    assert set(aggs) == {"simple", "dynamic", "group", "calendar"}
    assert "rows" not in aggs["simple"] and all("rows" in aggs[k] for k in
                                                ("dynamic", "group", "calendar"))
    assert round(aggs["simple"]["att"], 4) == -0.04 and round(aggs["simple"]["se"], 4) == 0.012
    assert [r["event_time"] for r in aggs["dynamic"]["rows"]] == [-3, -2, -1, 0, 1, 2, 3]


def test_parquet_and_csv_give_the_same_numbers(mpdta_files: tuple[Path, Path]) -> None:
    out = [json.loads(run("evaluate", "did", str(f), *ARGS, "--format", "json").stdout)
           for f in mpdta_files]
    assert out[0]["aggregations"] == out[1]["aggregations"]


def test_cluster_adds_a_seeded_wild_bootstrap_beside_the_analytic_interval(
    mpdta_files: tuple[Path, Path]
) -> None:
    args = ["evaluate", "did", str(mpdta_files[0]), *ARGS, "--cluster", "state", "--draws",
            "199", "--seed", "3", "--format", "json"]
    first, again = (json.loads(run(*args).stdout) for _ in range(2))
    assert first == again
    simple = first["aggregations"]["simple"]
    assert {"ci_low", "ci_high", "boot_ci_low", "boot_ci_high", "boot_p"} <= set(simple)
    assert first["method"] == ("wild cluster bootstrap (rademacher weights), 199 draws, "
                               "29 clusters (state)")
    assert all("boot_ci_low" in r for r in first["aggregations"]["dynamic"]["rows"])


def test_the_python_function_gives_what_the_command_prints(
    mpdta_files: tuple[Path, Path]
) -> None:
    data = json.loads(run("evaluate", "did", str(mpdta_files[0]), *ARGS, "--base", "universal",
                          "--format", "json").stdout)
    res = did(pd.read_csv(mpdta_files[0]), unit="countyreal", time="year",
              cohort="first.treat", outcome="lemp", base="universal")
    assert data["aggregations"]["dynamic"]["att"] == pytest.approx(
        res.aggregations["dynamic"].att, abs=1e-15)


def test_a_missing_column_is_named_with_the_file(mpdta_files: tuple[Path, Path]) -> None:
    result = run("evaluate", "did", str(mpdta_files[0]), "--unit", "countyreal", "--time",
                 "year", "--cohort", "first.treat", "--outcome", "employment")
    assert result.exit_code == 1
    assert "mpdta.csv" in result.output and "employment" in result.output


def test_a_duplicated_unit_period_row_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,t,g,y\na,1,0,1.0\na,1,0,2.0\n", encoding="utf-8")
    result = run("evaluate", "did", str(path), "--unit", "id", "--time", "t", "--cohort", "g",
                 "--outcome", "y")
    assert result.exit_code == 1 and "row 2" in result.output and "dup.csv" in result.output


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    result = run("evaluate", "did", str(tmp_path / "nope.csv"), *ARGS)
    assert result.exit_code == 1 and "no such file" in result.output

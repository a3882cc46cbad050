"""`nrmc programme` as a user types it."""

from tests.cli_runner import run, run_json


def test_programme_indicators_and_a_gap_import(nrmc_env, tmp_path):
    assert run("db", "upgrade").exit_code == 0
    rows = {r["key"]: r for r in run_json("programme", "indicators", "--as-of", "2025-06-30")}
    assert rows["projects_approved"]["value"] == 77 and rows["new_technologies"]["value"] == 0
    assert run_json("programme", "targets")[0]["source"]
    bad = tmp_path / "gaps.csv"
    bad.write_text("region_code,level,name,identified_on,source\n"
                   "620000,province,ECMO,2020-01-01,甘肃省卫健委\n"
                   "620000,provincial,TAVR,2020-01-01,甘肃省卫健委\n", encoding="utf-8")
    refused = run("programme", "import-gaps", str(bad))
    assert refused.exit_code == 6 and "row 2: level" in refused.output
    good = tmp_path / "ok.csv"
    good.write_text(bad.read_text(encoding="utf-8").splitlines()[0] + "\n"
                    + bad.read_text(encoding="utf-8").splitlines()[1] + "\n", encoding="utf-8")
    done = run("programme", "import-gaps", str(good))
    assert done.exit_code == 0 and "1 gaps added" in done.output

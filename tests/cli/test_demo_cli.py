"""The demo workspace end to end: registry + synthetic discharges read back by the flows CLI."""

from tests.cli_runner import run, run_json

OUTFLOW_KEYS = {"region", "region_name", "year", "specialty", "discharges", "treated_outside",
                "outflow_rate", "top_destination", "top_destination_share"}


def test_demo_discharges_answer_the_outflow_question_for_every_province(nrmc_env):
    built = run("demo", "--rows", "30000", "--seed", "5")
    assert built.exit_code == 0, built.output
    rows = run_json("flows", "outflow", "--level", "province", "--year", "2023")
    assert len(rows) == 31 and all(set(r) == OUTFLOW_KEYS for r in rows)
    assert all(r["specialty"] is None and 0 <= r["outflow_rate"] < 1 for r in rows)
    assert sum(r["discharges"] for r in rows) > 0
    again = run("demo")
    assert again.exit_code != 0 and "already holds a demo" in again.output
    assert run("demo", "--if-missing").exit_code == 0

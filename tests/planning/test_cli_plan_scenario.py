"""`nrmc plan scenario`: the planning page's service from the shell, on a real store (no flows
loaded, so demand is census population × the national specialty rate), scoped by --user."""

from __future__ import annotations

import json

import pytest

from nrmc.cli import context
from nrmc.core.enums import Role
from nrmc.db import session_scope
from nrmc.domains.users import service as users
from tests.cli_runner import run


@pytest.fixture
def accounts(nrmc_env):
    with session_scope(context.engine()) as session:
        users.create(session=session, username="gansu", password="planning-officer-2024!",
                     role=Role.provincial_officer, scope_code="620000")
        users.create(session=session, username="henan", password="planning-officer-2024!",
                     role=Role.provincial_officer, scope_code="410000")
        users.create(session=session, username="doctor", password="planning-clinician-2024!",
                     role=Role.clinician, scope_code="NRMC-P031")
    return nrmc_env


def _run(*args: str) -> dict:
    result = run("plan", "scenario", "run", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_named_run_is_saved_and_names_population_demand(accounts):
    out = _run("--province", "620000", "--specialty", "oncology", "--p", "2",
               "--candidates", "greenfield", "--name", "肿瘤 两中心", "--user", "gansu")
    assert out["id"]
    demand = out["results"]["demand"]
    assert demand["source"] == "population" and demand["estimated"]
    assert "oncology" in demand["note_en"] and demand["population_vintage"].startswith("census 2020")
    assert {"1h", "2h", "3h"} == set(out["results"]["within"])
    listed = run("plan", "scenario", "list", "--user", "gansu", "--format", "json")
    assert [s["name"] for s in json.loads(listed.stdout)] == ["肿瘤 两中心"]


def test_provincial_user_cannot_plan_or_read_another_province(accounts):
    saved = _run("--province", "620000", "--p", "1", "--candidates", "greenfield",
                 "--name", "甘肃", "--user", "gansu")["id"]
    assert run("plan", "scenario", "run", "--province", "620000", "--user", "henan").exit_code == 3
    assert json.loads(run("plan", "scenario", "list", "--user", "henan", "--format",
                          "json").stdout) == []
    assert run("plan", "scenario", "compare", str(saved), "--user", "henan").exit_code == 3


def test_clinician_cannot_run_siting_nor_read_scenarios(accounts):
    _run("--province", "620000", "--p", "1", "--candidates", "greenfield", "--name", "x")
    refused = run("plan", "scenario", "run", "--province", "620000", "--user", "doctor")
    assert refused.exit_code == 4 and "planning" in refused.output
    assert run("plan", "scenario", "list", "--user", "doctor").exit_code == 4


def test_compare_writes_the_workbook_and_says_who_gains(accounts, tmp_path):
    a = _run("--province", "620000", "--p", "1", "--candidates", "greenfield",
             "--no-existing", "--name", "A")["id"]
    b = _run("--province", "620000", "--p", "3", "--candidates", "greenfield",
             "--no-existing", "--name", "B")["id"]
    book = tmp_path / "cmp.xlsx"
    result = run("plan", "scenario", "compare", str(a), str(b), "--xlsx", str(book),
                 "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert any(line.startswith("“B” brings") for line in data["summary_en"])
    assert book.stat().st_size > 2000


def test_a_bad_candidate_file_is_named_and_nothing_is_run(accounts, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("code,name_zh,lon,lat\nX1,候选,103.8,99\n", encoding="utf-8")
    result = run("plan", "scenario", "run", "--province", "620000", "--candidates", str(path),
                 "--name", "bad")
    assert result.exit_code == 6 and "mine.csv: row 1: lat" in result.output


def test_plan_site_applies_the_user_role_too(accounts, tmp_path):
    candidates = tmp_path / "c.csv"
    candidates.write_text("code,name_zh,lon,lat\nH1,兰州,103.83,36.06\nH2,天水,105.72,34.58\n",
                          encoding="utf-8")
    args = ["plan", "site", "--specialty", "oncology", "--p", "1", "--demand", "population",
            "--candidates", str(candidates), "--no-save"]
    assert run(*args, "--province", "620000", "--user", "doctor").exit_code == 4
    assert run(*args, "--province", "620000", "--user", "henan").exit_code == 3
    assert run(*args, "--user", "gansu").exit_code == 4  # a province must be named
    assert run(*args, "--province", "620000", "--user", "gansu").exit_code == 0
    assert run("plan", "scenarios", "list", "--user", "doctor").exit_code == 4

"""`nrmc ops` and `nrmc referrals` as a user types them."""

import json

from tests.cli_runner import run, run_json

JIUQUAN = "31"  # NRMC-P031, Shanghai General Hospital → Jiuquan


def test_ops_kpis_for_the_jiuquan_demo_reproduces_the_reported_figures(nrmc_env):
    assert run("demo", "--rows", "20000").exit_code == 0
    projects = run_json("projects", "list", "--province", "62")
    jiuquan = next(p for p in projects if p["city_code"] == "620900")
    assert str(jiuquan["id"]) == JIUQUAN
    k = run_json("ops", "kpis", "--project", JIUQUAN)
    assert k["expert_teams"] >= 100
    assert (k["surgeries"], k["outpatients"], k["complex_cases"]) == (268, 3600, 158)
    assert {"expert_teams", "experts", "expert_days", "surgeries", "surgeries_grade34_share",
            "outpatients", "consultations", "complex_cases", "technologies", "trainees",
            "referrals_up", "referrals_down"} <= set(k)
    assert k["referrals_up"] > 0 and k["referrals_down"] > 0
    assert run_json("referrals", "list", "--overdue")  # a few requests are left waiting
    by_year = run_json("ops", "kpis", "--project", JIUQUAN, "--year", "2024")
    assert by_year["surgeries"] < 268 and "surgeries" in by_year["year_on_year"]


def test_dispatch_add_list_and_overlap_refusal(nrmc_env):
    args = ["ops", "dispatch", "add", "--project", JIUQUAN, "--name", "王医生", "--home",
            "NRMC-O005", "--from", "2024-03-01", "--to", "2024-03-31", "--role", "resident_expert",
            "--team", "第1批"]
    added = run_json(*args)
    assert (added["name"], added["days"], added["team"]) == ("王医生", 31, "第1批")
    clash = run(*args[:-6], "--from", "2024-03-15", "--to", "2024-04-15")
    assert clash.exit_code == 5 and "already dispatched" in clash.output
    listed = run_json("ops", "dispatch", "list", "--project", JIUQUAN)
    assert [d["id"] for d in listed] == [added["id"]]
    bad = run(*args[:-6], "--from", "2024-05-02", "--to", "2024-05-01")
    assert bad.exit_code == 2 and "end_date: end date is before the start date" in bad.output


def test_activity_add_and_import_report_every_bad_row(nrmc_env, tmp_path):
    d = run_json("ops", "dispatch", "add", "--project", JIUQUAN, "--name", "李", "--home",
                 "NRMC-O005", "--from", "2024-03-01", "--to", "2024-03-10")
    line = run_json("ops", "activity", "add", "--dispatch", str(d["id"]), "--date", "2024-03-02",
                    "--kind", "surgery", "--grade", "4")
    assert (line["project_id"], line["surgery_grade"]) == (int(JIUQUAN), 4)
    outside = run("ops", "activity", "add", "--dispatch", str(d["id"]), "--date", "2024-04-02",
                  "--kind", "outpatient", "--count", "20")
    assert outside.exit_code == 5 and "outside dispatch" in outside.output
    path = tmp_path / "ledger.csv"
    path.write_text("date,kind,project_id,dispatch_id,count,surgery_grade,complex_case,note\n"
                    f"2024-03-03,outpatient,{JIUQUAN},,25,,,\n"
                    f"2024-03-04,surgery,{JIUQUAN},,1,,,\n"
                    f"2024-03-05,consultation,{JIUQUAN},,-1,,yes,\n", encoding="utf-8")
    result = run("ops", "activity", "import", str(path))
    assert result.exit_code == 6
    assert "row 2: surgery_grade: a surgery needs a grade 1-4" in result.output
    assert "row 3: count" in result.output
    assert len(run_json("ops", "activity", "list", "--project", JIUQUAN)) == 1
    path.write_text("date,kind,project_id,count\n"
                    f"2024-03-03,outpatient,{JIUQUAN},25\n", encoding="utf-8")
    assert run("ops", "activity", "import", str(path)).exit_code == 0
    assert run_json("ops", "kpis", "--project", JIUQUAN)["outpatients"] == 25


def test_referral_create_accept_stale_and_export(nrmc_env, tmp_path):
    create = ["referrals", "create", "--from", "NRMC-P031", "--to", "NRMC-O005",
              "--specialty", "oncology", "--diagnosis", "c34.9", "--idempotency-key", "his-1"]
    first = run_json(*create)
    assert {"id", "status", "version", "direction"} <= set(first)
    assert (first["status"], first["version"], first["direction"]) == ("requested", 1, "lateral")
    assert run_json(*create)["id"] == first["id"]
    rid = str(first["id"])
    accepted = run_json("referrals", "accept", rid, "--version", "1", "--reason", "bed free")
    assert (accepted["status"], accepted["version"]) == ("accepted", 2)
    stale = run("referrals", "accept", rid, "--version", "1")
    assert stale.exit_code == 5 and "you saw version 1, it is now at version 2" in stale.output
    wrong = run("referrals", "arrive", rid, "--version", "2")
    assert wrong.exit_code == 5 and "cannot move from accepted to arrived" in wrong.output
    no_reason = run("referrals", "cancel", rid, "--version", "2")
    assert no_reason.exit_code == 5 and "give a reason" in no_reason.output
    listed = run_json("referrals", "list")
    assert [r["id"] for r in listed] == [first["id"]] and listed[0]["status"] == "accepted"
    exported = run("referrals", "export", rid, "--fhir")
    bundle = json.loads(exported.stdout)
    task = bundle["entry"][1]["resource"]
    assert task["resourceType"] == "Task" and task["status"] == "accepted"
    assert run("referrals", "show", "999").exit_code == 3
    bad = run("referrals", "create", "--from", "NRMC-P031", "--to", "NRMC-O005", "--specialty",
              "oncology", "--diagnosis", "lung cancer")
    assert bad.exit_code == 2 and "not an ICD-10 code" in bad.output

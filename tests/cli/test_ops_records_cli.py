"""`nrmc ops technology|trainee|visit` as a project hospital manager types them."""

from sqlalchemy.orm import Session

from nrmc.core.tabular import write_xlsx
from nrmc.db import make_engine
from nrmc.domains.audit import service as audit
from tests.cli_runner import run, run_json

JIUQUAN = "31"  # NRMC-P031, Shanghai General Hospital → Jiuquan
TAVR = ["ops", "technology", "add", "--project", JIUQUAN, "--name", "TAVR", "--department",
        "心内科", "--first-case", "2024-05-10", "--gap", "province", "--cases", "12"]
VISIT = ["ops", "visit", "add", "--project", JIUQUAN, "--date", "2023-02-20", "--lead", "张组长"]


def audit_trail(url: str, object_type: str) -> list[tuple[str | None, str, str]]:
    """(actor, action, source) of the audit entries about one kind of object, oldest first."""
    engine = make_engine(url)
    with Session(engine) as session:
        entries = audit.list_entries(session=session, object_type=object_type)
        trail = [(e.actor, e.action, e.source) for e in reversed(entries)]
    engine.dispose()
    return trail


def test_technology_add_then_list_shows_it_with_the_gap_it_fills(nrmc_env, workspace_url):
    tavr = run_json(*TAVR)
    assert (tavr["project_id"], tavr["name"], tavr["gap_level"], tavr["cases_since"]) == (
        31, "TAVR", "province", 12)
    pci = run_json("ops", "technology", "add", "--project", JIUQUAN, "--name", "PCI",
                   "--first-case", "2024-03-01", "--gap", "city")
    listed = run_json("ops", "technology", "list", "--project", JIUQUAN)
    assert [t["id"] for t in listed] == [pci["id"], tavr["id"]]  # by first case
    assert listed[1] == tavr
    firsts = run_json("ops", "technology", "list", "--project", JIUQUAN, "--gap", "province")
    assert [t["name"] for t in firsts] == ["TAVR"]
    csv = run("ops", "technology", "list", "--project", JIUQUAN, "--format", "csv")
    assert csv.stdout.splitlines() == [
        "id,project_id,name,department,first_case_on,cases_since,gap_level",
        f"{pci['id']},31,PCI,,2024-03-01,0,city",
        f"{tavr['id']},31,TAVR,心内科,2024-05-10,12,province"]
    table = run("ops", "technology", "list", "--project", JIUQUAN)
    assert "2 technologies" in table.stdout and "省内" in table.stdout and "市内" in table.stdout
    assert audit_trail(workspace_url, "technology") == [("system", "technology.create", "cli")] * 2


def test_a_bad_technology_is_refused_naming_the_field_and_nothing_is_stored(nrmc_env):
    negative = run(*TAVR[:-1], "-1")
    assert negative.exit_code == 2 and "cases_since: must not be negative" \
        in negative.output
    county = run(*TAVR[:-4], "--gap", "county")
    assert county.exit_code == 2 and "'county' is not one of" in county.output
    day = run(*TAVR[:9], "--first-case", "10/05/2024", "--gap", "city")
    assert day.exit_code == 2 and "'10/05/2024' is not a date" in day.output
    unknown = run("ops", "technology", "add", *TAVR[3:4], "9999", *TAVR[5:])
    assert unknown.exit_code == 3 and "no project with id 9999" in unknown.output
    assert run_json("ops", "technology", "list", "--project", JIUQUAN) == []


def test_technology_import_names_file_row_and_field_and_is_all_or_nothing(nrmc_env, tmp_path):
    path = tmp_path / "technologies.csv"
    path.write_text("project_id,name,department,first_case_on,cases_since,gap_level\n"
                    f"{JIUQUAN},TAVR,心内科,2024-05-10,12,province\n"
                    f"{JIUQUAN},ECMO,ICU,2024-05-12,,county\n"
                    f"{JIUQUAN},EBUS,呼吸科,2024-13-01,,national\n", encoding="utf-8")
    refused = run("ops", "technology", "import", str(path))
    assert refused.exit_code == 6
    assert f"{path}: row 2: gap_level: Input should be 'city', 'province' or 'national'" \
        in refused.output
    assert f"{path}: row 3: first_case_on:" in refused.output
    assert "2 problem(s); nothing was stored" in refused.output
    assert run_json("ops", "technology", "list", "--project", JIUQUAN) == []
    path.write_text("name,first_case_on,gap_level\nTAVR,2024-05-10,province\n"
                    "ECMO,2024-05-12,City\n", encoding="utf-8")
    missing = run("ops", "technology", "import", str(path))
    assert missing.exit_code == 6 and "project_id: required column is missing" in missing.output
    added = run("ops", "technology", "import", str(path), "--project", JIUQUAN)
    assert added.exit_code == 0 and "2 technologies added" in added.output
    listed = run_json("ops", "technology", "list", "--project", JIUQUAN)
    assert [(t["name"], t["gap_level"]) for t in listed] == [("TAVR", "province"), ("ECMO", "city")]


def test_trainee_add_and_import_then_list_shows_them(nrmc_env, workspace_url, tmp_path):
    first = run_json("ops", "trainee", "add", "--project", JIUQUAN, "--name", "张三",
                     "--programme", "PCI 进修", "--hours", "120", "--date", "2024-06-01")
    assert (first["name"], first["programme"], first["hours"], first["trained_on"]) == (
        "张三", "PCI 进修", 120.0, "2024-06-01")
    path = tmp_path / "trainees.xlsx"
    write_xlsx(path, [{"name": "李四", "programme": "ICU 规培", "hours": 40,
                       "trained_on": "2024-07-01"},
                      {"name": "王五", "programme": "护理", "hours": None,
                       "trained_on": "2024-05-01"}], ["name", "programme", "hours", "trained_on"])
    added = run("ops", "trainee", "import", str(path), "--project", JIUQUAN)
    assert added.exit_code == 0 and "2 trainees added" in added.output
    listed = run_json("ops", "trainee", "list", "--project", JIUQUAN)
    assert [(t["name"], t["hours"]) for t in listed] == [("王五", 0.0), ("张三", 120.0),
                                                         ("李四", 40.0)]
    assert listed[1] == first
    assert "3 trainees, 160 hours" in run("ops", "trainee", "list", "--project", JIUQUAN).stdout
    assert audit_trail(workspace_url, "trainee") == [("system", "trainee.create", "cli")]
    assert audit_trail(workspace_url, "trainee_import") == [
        ("system", "trainee.import", str(path))]


def test_bad_trainees_are_refused_naming_row_and_field_and_nothing_is_stored(nrmc_env, tmp_path):
    hours = run("ops", "trainee", "add", "--project", JIUQUAN, "--name", "张三", "--programme",
                "PCI", "--hours", "-8", "--date", "2024-06-01")
    assert hours.exit_code == 2 and "hours: must be at least 0" \
        in hours.output
    path = tmp_path / "trainees.csv"
    path.write_text("project_id,name,programme,hours,trained_on\n"
                    f"{JIUQUAN},李四,ICU 规培,40,2024-07-01\n"
                    f"{JIUQUAN},,ICU 规培,forty,2024-07-01\n"
                    f"32,王五,护理,,2024-05-01\n", encoding="utf-8")
    refused = run("ops", "trainee", "import", str(path), "--project", JIUQUAN)
    assert refused.exit_code == 6
    assert f"{path}: row 2: name: Field required" in refused.output
    assert f"{path}: row 2: hours: Input should be a valid number" in refused.output
    assert f"{path}: row 3: project_id: row is for project 32" in refused.output
    assert run_json("ops", "trainee", "list", "--project", JIUQUAN) == []


def test_visit_add_list_show_and_follow_up_actions(nrmc_env, workspace_url):
    visit = run_json(*VISIT, "--member", "李委员", "--member", "赵委员", "--findings",
                     "site ready", "--score", "86.5", "--action", "2023-06-30 staff the ICU",
                     "--action", "2099-01-01: open a cath lab")
    assert (visit["lead"], visit["members"], visit["score"]) == ("张组长", ["李委员", "赵委员"], 86.5)
    assert [(a["description"], a["status"], a["overdue"]) for a in visit["actions"]] == [
        ("staff the ICU", "open", True), ("open a cath lab", "open", False)]
    listed = run_json("ops", "visit", "list", "--project", JIUQUAN)
    assert [(v["id"], v["actions"], v["open_actions"], v["overdue_actions"]) for v in listed] == [
        (visit["id"], 2, 2, 1)]
    assert listed[0]["members"] == ["李委员", "赵委员"] and listed[0]["findings"] == "site ready"
    staff = str(visit["actions"][0]["id"])
    closed = run_json("ops", "visit", "close-action", staff, "--on", "2023-07-02",
                      "--reason", "hired")
    assert (closed["actions"][0]["status"], closed["actions"][0]["closed_on"]) == (
        "done", "2023-07-02")
    again = run("ops", "visit", "close-action", staff)
    assert again.exit_code == 5 and f"follow-up action {staff} is already done" in again.output
    more = run_json("ops", "visit", "add-action", str(visit["id"]), "--description",
                    "train nurses", "--due", "2024-01-01")
    assert [a["description"] for a in more["actions"]][-1] == "train nurses"
    actions_csv = run("ops", "visit", "show", str(visit["id"]), "--format", "csv").stdout
    assert actions_csv.splitlines()[0] == "id,description,due_on,status,closed_on,overdue"
    assert len(actions_csv.splitlines()) == 4
    assert "site ready" in run("ops", "visit", "show", str(visit["id"])).stdout
    assert audit_trail(workspace_url, "site_visit") == [("system", "site_visit.create", "cli")]
    assert audit_trail(workspace_url, "follow_up_action") == [
        ("system", "follow_up.done", "cli"), ("system", "follow_up.create", "cli")]


def test_a_bad_visit_is_refused_naming_the_field_and_nothing_is_stored(nrmc_env):
    score = run(*VISIT, "--score", "120")
    assert score.exit_code == 2 and "score: Input should be less than or equal to 100" \
        in score.output
    action = run(*VISIT, "--action", "soon staff the ICU")
    assert action.exit_code == 2 and "'soon' is not a date" in action.output
    empty = run(*VISIT, "--action", "2023-06-30")
    assert empty.exit_code == 2 and "description: String should have at least 1 character" \
        in empty.output
    assert run_json("ops", "visit", "list", "--project", JIUQUAN) == []
    missing = run("ops", "visit", "show", "999")
    assert missing.exit_code == 3 and "no site visit with id 999" in missing.output


def test_ops_help_lists_the_new_commands(nrmc_env):
    for group, commands in (("technology", ("add", "list", "import")),
                            ("trainee", ("add", "list", "import")),
                            ("visit", ("add", "list", "show", "add-action", "close-action"))):
        result = run("ops", group, "--help")
        assert result.exit_code == 0 and all(c in result.output for c in commands)

"""`nrmc ops trusteeship` as a programme officer types it: add, list, import, template."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import select

from nrmc.cli.context import db_session
from nrmc.domains.audit.models import AuditEntry
from tests.cli_runner import run, run_json

JIUQUAN = "NRMC-P031"  # 上海市第一人民医院酒泉医院（酒泉市人民医院）
SHANGHAI = "NRMC-O005"  # 上海市第一人民医院
ADD = ["ops", "trusteeship", "add", "--managed", "酒泉市人民医院", "--managing", SHANGHAI,
       "--start", "2024-01-01", "--term", "5", "--start-grade", "三级乙等",
       "--target-grade", "tertiary_a", "--deadline", "2027-01-01", "--posts", "20"]


def test_add_resolves_names_audits_and_lists(nrmc_env):
    made = run_json(*ADD)
    assert (made["managed_hospital_code"], made["managing_hospital_code"]) == (JIUQUAN, SHANGHAI)
    assert (made["start_grade"], made["target_grade"], made["posts_planned"]) == (
        "tertiary_b", "tertiary_a", 20)
    listed = run_json("ops", "trusteeship", "list", "--as-of", "2024-02-01")
    assert [t["id"] for t in listed] == [made["id"]] and listed[0]["behind"] == ""
    assert run_json("ops", "trusteeship", "list", "--province", "41") == []
    table = run("ops", "trusteeship", "list", "--as-of", "2024-02-01")
    assert table.exit_code == 0 and "1 trusteeships, 0 behind, as of 2024-02-01" in table.output
    csv = run("ops", "trusteeship", "list", "--format", "csv").output.lstrip("\ufeff").splitlines()
    assert csv[0].startswith("id,managed_hospital_code,managed_hospital,managing_hospital_code")
    with db_session() as session:  # audited like the other ops commands
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "trusteeship.create")).one()
        assert (entry.actor, entry.source, entry.object_id) == ("system", "cli", str(made["id"]))


def test_add_refuses_bad_values_by_field_and_stores_nothing(nrmc_env):
    bad = run(*ADD[:-6], "--target-grade", "二级甲等", "--deadline", "2023-06-01")
    assert bad.exit_code == 2
    assert ("target_grade: the target grade must be above the start grade / 目标等级须高于起始等级"
            in bad.output)
    assert "goal_deadline: the goal deadline must be after the start date" in bad.output
    same = run(*[SHANGHAI if a == "酒泉市人民医院" else a for a in ADD])
    assert same.exit_code == 2 and "managed_hospital_code: a hospital cannot manage itself" in same.output
    assert run_json("ops", "trusteeship", "list") == []
    assert run_json(*ADD)["id"]
    again = run(*ADD)
    assert again.exit_code == 2 and "start_date: this trusteeship is already recorded" in again.output


def test_import_is_all_or_nothing_and_names_file_row_and_field(nrmc_env, tmp_path):
    path = tmp_path / "托管.csv"
    header = "managed_hospital_code,managing_hospital_code,start_date,term_years,start_grade," \
             "target_grade,goal_deadline,separated\n"
    good = f"{JIUQUAN},{SHANGHAI},2024-01-01,5,三级乙等,三级甲等,2027-01-01,是\n"
    path.write_text(header + good + f"NOPE,{SHANGHAI},2024-01-01,5,三级乙等,三级甲等,2027-01-01,也许\n",
                    encoding="utf-8")
    refused = run("ops", "trusteeship", "import", str(path))
    assert refused.exit_code == 6 and "nothing was stored" in refused.output
    assert f"{path}: row 2: managed_hospital_code:" in refused.output
    assert f"{path}: row 2: separated: must be yes or no / 必须是“是”或“否”" in refused.output
    assert "row 1" not in refused.output
    assert run_json("ops", "trusteeship", "list") == []
    path.write_text(header + good, encoding="utf-8")
    done = run("ops", "trusteeship", "import", str(path))
    assert done.exit_code == 0 and "1 trusteeships added" in done.output
    assert len(run_json("ops", "trusteeship", "list")) == 1


def test_the_template_is_written_and_explains_itself(nrmc_env, tmp_path):
    path = tmp_path / "template.xlsx"
    assert run("ops", "trusteeship", "template", str(path)).exit_code == 0
    book = load_workbook(path)
    assert book.worksheets[0]["A1"].value == "被托管医院 Managed hospital [managed_hospital_code]"
    assert book.worksheets[1].title == "说明 notes"
    help_text = run("ops", "trusteeship", "add", "--help").output
    assert all(option in help_text for option in ("--managed", "--managing", "--start-grade",
                                                  "--deadline", "--separated"))

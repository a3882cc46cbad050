"""The registry commands as a user types them."""

from tests.cli_runner import run, run_json


def test_regions_show_gives_jinta_with_its_prefecture_and_province(nrmc_env):
    data = run_json("regions", "show", "620921")
    assert data["name_zh"] == "金塔县" and data["name_en"] == "Jinta County"
    assert data["parent_code"] == "620900"
    assert data["prefecture"]["name_zh"] == "酒泉市" and data["province"]["code"] == "620000"
    assert data["province"]["name_zh"] == "甘肃省"


def test_regions_list_by_parent_accepts_a_two_digit_province(nrmc_env):
    rows = run_json("regions", "list", "--parent", "62")
    assert {r["code"] for r in rows} >= {"620900", "620100"}
    assert set(rows[0]) == {"code", "name_zh", "name_en", "level", "parent_code", "lon", "lat",
                            "population", "population_estimated", "population_method"}
    lanzhou = next(r for r in rows if r["code"] == "620100")
    assert lanzhou["population"] == 4_359_446 and lanzhou["population_method"] == "sum_of_counties"


def test_projects_list_for_gansu_shows_shanghai_general_to_jiuquan(nrmc_env):
    rows = run_json("projects", "list", "--province", "62")
    match = [r for r in rows if r["project_hospital"]["name_zh"].startswith("上海市第一人民医院酒泉医院")]
    assert len(match) == 1
    row = match[0]
    assert row["batch"] == 5 and row["output_hospital"]["name_en"].startswith("Shanghai General")
    assert set(row["output_hospital"]) == {"code", "name_zh", "name_en"}
    assert set(row) == {"id", "batch", "output_hospital", "project_hospital", "province_code",
                        "city_code", "specialties", "status", "verification"}
    assert run_json("projects", "list", "--province", "620000") == rows


def test_hospital_import_with_a_bad_row_exits_non_zero_naming_it(nrmc_env, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("code,name_zh,name_en,region_code,tier,grade,beds,lon,lat\n"
                    "H1,x,,999999,secondary,a,1,,\n", encoding="utf-8")
    result = run("hospitals", "import", str(path))
    assert result.exit_code != 0
    assert "row 1: region_code: unknown region code '999999'" in result.output
    listed = run_json("hospitals", "list", "--tier", "secondary")
    assert all(r["code"] != "H1" for r in listed)


def test_hospitals_list_csv_uses_the_import_columns(nrmc_env):
    result = run("hospitals", "list", "--region", "620900", "--format", "csv")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0]
    assert header == "code,name_zh,name_en,region_code,tier,grade,beds,lon,lat,synthetic"


def test_unknown_project_exits_with_a_clear_message(nrmc_env):
    result = run("projects", "show", "9999")
    assert result.exit_code == 3 and "no project with id 9999" in result.output


def test_exported_hospital_xlsx_can_be_imported_back(nrmc_env, tmp_path):
    out = tmp_path / "gansu.xlsx"
    result = run("hospitals", "list", "--region", "62", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0 and out.exists()
    again = run("hospitals", "import", str(out))
    assert again.exit_code == 0, again.output
    assert " 0 added" in again.output

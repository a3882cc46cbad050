"""Every CLI importer refuses a malformed file with one clear line per problem on stderr
(FILE: row N: FIELD: reason), a non-zero exit and nothing stored; encodings are detected
(UTF-8, UTF-8 with BOM, GBK/GB18030) or refused by name (issue 14, item 10).

The corpus is generated here (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

from nrmc.cli import context
from nrmc.flows.schema import INPUT_COLUMNS as ALL_INPUT_COLUMNS
from tests.cli_runner import run

# the columns DISCHARGE_ROW fills: every input column but the optional TCM code
INPUT_COLUMNS = [c for c in ALL_INPUT_COLUMNS if c != "tcm_diagnosis"]

HOSPITAL_HEADER = "code,name_zh,name_en,region_code,tier,grade,beds,lon,lat"
HOSPITAL_ROW = "H-IMPORT-1,测试医院,Test,620921,secondary,a,10,98.9,40.0"
PROJECT_HEADER = "batch,output_hospital_code,project_hospital_code,specialty,planned_beds"
DISCHARGE_ROW = "R1,P1,620921,NRMC-P031,2024-01-01,2024-01-05,60,1,I21.0,,2,2,1,10000"


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


GOOD_XLSX = _xlsx([HOSPITAL_HEADER.split(","), HOSPITAL_ROW.split(",")])

# (case id, command, file name, content, expected words in the message)
CORPUS: list[tuple[str, list[str], str, bytes, str]] = [
    ("empty", ["hospitals", "import"], "h.csv", b"", "is empty"),
    ("bom-only", ["hospitals", "import"], "h.csv", b"\xef\xbb\xbf", "is empty"),
    ("blank-lines", ["hospitals", "import"], "h.csv", b"\n \n\r\n", "is empty"),
    ("header-only", ["hospitals", "import"], "h.csv", _csv(HOSPITAL_HEADER), "no data rows below the header"),
    ("no-header", ["hospitals", "import"], "h.csv", _csv(HOSPITAL_ROW, HOSPITAL_ROW),
     "required column is missing"),
    ("missing-column", ["hospitals", "import"], "h.csv",
     _csv("code,name_zh,region_code,grade", "H1,x,620921,a"), "tier: required column"),
    ("utf16", ["hospitals", "import"], "h.csv", _csv(HOSPITAL_HEADER, HOSPITAL_ROW, encoding="utf-16"),
     "UTF-16"),
    ("binary", ["hospitals", "import"], "h.csv", bytes(range(256)) * 4, "binary"),
    ("xlsx-named-csv", ["hospitals", "import"], "h.csv", GOOD_XLSX, "XLSX"),
    ("pdf-named-csv", ["hospitals", "import"], "h.csv", b"%PDF-1.7\n...", "PDF"),
    ("undecodable", ["hospitals", "import"], "h.csv", b"code,name_zh\n\xff\xff\x80\xff\n",
     "neither UTF-8 nor GBK"),
    ("duplicate-header", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER + ",tier", HOSPITAL_ROW + ",primary"), "appears twice"),
    ("extra-cells", ["hospitals", "import"], "h.csv", _csv(HOSPITAL_HEADER, HOSPITAL_ROW + ",x,y"),
     "row 1: row"),
    ("control-char", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER, HOSPITAL_ROW.replace("测试医院", "测试\x07医院")),
     "row 1: name_zh: contains control characters"),
    ("nul-in-cell", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER, "H1,a\x00b,Test,620921,secondary,a,10,98.9,40.0"), "NUL"),
    ("huge-field", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER, 'H1,"' + "长" * 200_000 + '",x,620921,secondary,a,1,,'), "row 1"),
    ("beds-1e400", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER, HOSPITAL_ROW.replace(",10,", ",1e400,")), "row 1: beds: not a number"),
    ("beds-20-digits", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER, HOSPITAL_ROW.replace(",10,", ",99999999999999999999,")),
     "row 1: beds: must be at most"),
    ("beds-nan", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER, HOSPITAL_ROW.replace(",10,", ",NaN,")), "row 1: beds"),
    ("lon-inf", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER, HOSPITAL_ROW.replace(",98.9,", ",inf,")), "row 1: lon"),
    ("name-too-long", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER, HOSPITAL_ROW.replace("测试医院", "医" * 201)), "row 1: name_zh: must be at most"),
    ("markup-in-value", ["hospitals", "import"], "h.csv",
     _csv(HOSPITAL_HEADER, HOSPITAL_ROW.replace("secondary", "[/bold]")),
     "row 1: tier: unknown tier '[/bold]'"),
    ("unsupported-suffix", ["hospitals", "import"], "h.json", b"{}", "unsupported format"),
    ("xlsx-corrupt", ["hospitals", "import"], "h.xlsx", b"PK\x03\x04" + bytes(500), "not a readable XLSX"),
    ("xlsx-truncated", ["hospitals", "import"], "h.xlsx", GOOD_XLSX[: len(GOOD_XLSX) // 2],
     "not a readable XLSX"),
    ("xlsx-is-text", ["hospitals", "import"], "h.xlsx", _csv(HOSPITAL_HEADER, HOSPITAL_ROW),
     "not a readable XLSX"),
    ("xlsx-empty", ["hospitals", "import"], "h.xlsx", _xlsx([]), "is empty"),
    ("xlsx-header-only", ["hospitals", "import"], "h.xlsx", _xlsx([HOSPITAL_HEADER.split(",")]),
     "no data rows"),
    ("xlsx-no-header", ["hospitals", "import"], "h.xlsx", _xlsx([HOSPITAL_ROW.split(",")] * 2),
     "required column is missing"),
    ("project-beds-1e400", ["projects", "import"], "p.csv",
     _csv(PROJECT_HEADER, "5,NRMC-O001,NRMC-P031,cardiovascular,1e400"), "row 1: planned_beds"),
    ("project-beds-20-digits", ["projects", "import"], "p.csv",
     _csv(PROJECT_HEADER, "5,NRMC-O001,NRMC-P031,cardiovascular,99999999999999999999"),
     "row 1: planned_beds"),
    ("project-batch-nan", ["projects", "import"], "p.csv",
     _csv(PROJECT_HEADER, "NaN,NRMC-O001,NRMC-P031,cardiovascular,10"), "row 1: batch"),
    ("activity-2099", ["ops", "activity", "import"], "a.csv",
     _csv("date,kind,project_id,count", "2099-01-01,lecture,31,10"), "row 1: date: date must not be after"),
    ("activity-1900", ["ops", "activity", "import"], "a.csv",
     _csv("date,kind,project_id,count", "1900-01-01,lecture,31,10"), "row 1: date: date must not be before"),
    ("activity-count-20-digits", ["ops", "activity", "import"], "a.csv",
     _csv("date,kind,project_id,count", "2024-05-01,lecture,31,99999999999999999999"), "row 1: count"),
    ("activity-gbk-invalid", ["ops", "activity", "import"], "a.csv", b"date,kind\n\x81\x30\xff\n",
     "neither UTF-8 nor GBK"),
    ("trainee-hours-inf", ["ops", "trainee", "import"], "t.csv",
     _csv("project_id,name,programme,hours,trained_on", "31,李四,ICU,inf,2024-05-01"), "row 1: hours"),
    ("technology-no-header", ["ops", "technology", "import"], "t.csv",
     _csv("31,PCI,心内科,2024-04-02,12,city"), "no data rows below the header (read as: '31'"),
    ("discharge-no-header", ["flows", "ingest"], "d.csv", _csv(DISCHARGE_ROW), "no header row"),
    ("discharge-header-only", ["flows", "ingest"], "d.csv", _csv(",".join(INPUT_COLUMNS)),
     "no data rows"),
    ("discharge-empty", ["flows", "ingest"], "d.csv", b"", "is empty"),
    ("discharge-utf16", ["flows", "ingest"], "d.csv",
     _csv(",".join(INPUT_COLUMNS), DISCHARGE_ROW, encoding="utf-16"), "UTF-16"),
    ("discharge-binary", ["flows", "ingest"], "d.csv", bytes(range(256)) * 8, "binary"),
    ("discharge-parquet-corrupt", ["flows", "ingest"], "d.parquet", b"PAR1" + bytes(100) + b"PAR1",
     "cannot be read as Parquet"),
    ("discharge-duplicate-header", ["flows", "ingest"], "d.csv",
     _csv(",".join(INPUT_COLUMNS) + ",age", DISCHARGE_ROW + ",61"), "appears twice"),
    ("fhir-not-json", ["referrals", "import"], "b.json", b"<Bundle/>", "is not JSON"),
    ("fhir-empty", ["referrals", "import"], "b.json", b"", "is empty"),
    ("fhir-nan", ["referrals", "import"], "b.json", b'{"resourceType": "Bundle", "x": NaN}',
     "NaN is not standard JSON"),
    ("fhir-array", ["referrals", "import"], "b.json", b"[]", "not a FHIR Bundle"),
    ("fhir-utf16", ["referrals", "import"], "b.json", json.dumps({"a": 1}).encode("utf-16"), "UTF-16"),
]


@pytest.fixture
def sqlite_home(tmp_path, monkeypatch, _sqlite_template):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(_sqlite_template, home / "nrmc.db")
    monkeypatch.setenv("NRMC_HOME", str(home))
    monkeypatch.delenv("NRMC_DATABASE_URL", raising=False)
    context.reset()
    yield home
    context.reset()


def _store_state(home: Path) -> tuple[int, ...]:
    import sqlite3

    with sqlite3.connect(home / "nrmc.db") as con:
        counts = tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                       for t in ("hospitals", "projects", "activities", "technologies", "trainees",
                                 "referrals", "audit_log"))
    flows = home / "flows"
    return (*counts, len(list(flows.rglob("*.parquet"))) if flows.exists() else 0)


PROBLEM_LINE = re.compile(r"^\s*\S.*: row \d+: [^:]+: .+$", re.MULTILINE)


@pytest.mark.parametrize(("case", "command", "name", "content", "expected"), CORPUS,
                         ids=[c[0] for c in CORPUS])
def test_a_malformed_file_is_refused_with_a_clear_line_and_nothing_stored(
        sqlite_home, tmp_path, case, command, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    before = _store_state(sqlite_home)
    result = run(*command, str(path))  # an uncaught exception fails the test (no traceback)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert expected in result.stderr, result.stderr
    assert str(path) in result.stderr and PROBLEM_LINE.search(result.stderr), result.stderr
    assert _store_state(sqlite_home) == before


def test_the_corpus_is_about_forty_files():
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_chinese_text_in_utf8_bom_or_gbk_is_read_alike(sqlite_home, tmp_path, encoding):
    path = tmp_path / "h.csv"
    path.write_bytes(_csv(HOSPITAL_HEADER, HOSPITAL_ROW.replace("测试医院", "金塔县测试医院"),
                          encoding=encoding))
    result = run("hospitals", "import", str(path))
    assert result.exit_code == 0, result.output
    shown = run("hospitals", "show", "H-IMPORT-1", "--format", "json")
    assert json.loads(shown.stdout)["name_zh"] == "金塔县测试医院"



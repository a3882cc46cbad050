"""A missing or read-only workspace is a clear error; only `nrmc db upgrade` and `nrmc demo`
create a store (issue 14, item 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nrmc.cli import context
from tests.cli_runner import run


@pytest.fixture
def home_at(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def point(home: Path, url: str | None = None) -> None:
        monkeypatch.setenv("NRMC_HOME", str(home))
        if url:
            monkeypatch.setenv("NRMC_DATABASE_URL", url)
        else:
            monkeypatch.delenv("NRMC_DATABASE_URL", raising=False)
        context.reset()

    yield point
    context.reset()


@pytest.mark.parametrize("command", [["hospitals", "list"], ["referrals", "list"], ["db", "current"],
                                     ["users", "list"]])
def test_a_mistyped_home_is_refused_and_nothing_is_created(home_at, tmp_path, command):
    typo = tmp_path / "nrmc-dta"
    home_at(typo)
    result = run(*command)
    assert result.exit_code == 2
    assert "workspace error" in result.output and "does not exist" in result.output
    assert "NRMC_HOME" in result.output and "nrmc db upgrade" in result.output
    assert not typo.exists()


def test_a_folder_without_a_store_is_refused(home_at, tmp_path):
    home = tmp_path / "empty"
    home.mkdir()
    home_at(home)
    result = run("projects", "list")
    assert result.exit_code == 2 and "holds no nrmc store" in result.output
    assert list(home.iterdir()) == []


def test_db_upgrade_creates_the_store_then_commands_work(home_at, tmp_path, _sqlite_template):
    home = tmp_path / "fresh"
    home_at(home)
    # `nrmc db upgrade` on a copy of the migrated template: the command that may create stores.
    home.mkdir()
    shutil.copy(_sqlite_template, home / "nrmc.db")
    assert run("db", "upgrade").exit_code == 0
    assert run("regions", "show", "620921").exit_code == 0


def test_db_upgrade_makes_a_store_where_there_was_none(home_at, tmp_path):
    home = tmp_path / "new"
    home_at(home)
    assert run("db", "upgrade").exit_code == 0
    assert (home / "nrmc.db").is_file()


def test_a_read_only_store_is_a_clear_error_not_a_traceback(home_at, tmp_path, _sqlite_template):
    home = tmp_path / "ro"
    home.mkdir()
    store = home / "nrmc.db"
    shutil.copy(_sqlite_template, store)
    home_at(home, f"sqlite:///file:{store}?mode=ro&uri=true")
    path = tmp_path / "h.csv"
    path.write_text("code,name_zh,name_en,region_code,tier,grade,beds,lon,lat\n"
                    "H1,测试医院,Test,620921,secondary,a,10,98.9,40.0\n", encoding="utf-8")
    result = run("hospitals", "import", str(path))
    assert result.exit_code == 2
    assert "read-only" in result.output and "Traceback" not in result.output

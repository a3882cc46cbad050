"""`nrmc --help` and `nrmc version` answer without importing the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nrmc.cli.main import AREAS, load_area

HEAVY = ("pandas", "numpy", "sqlalchemy", "statsmodels", "ibis", "duckdb", "pyarrow", "fastapi")
PROBE = """
import sys
from typer.testing import CliRunner
from nrmc.cli.main import app
result = CliRunner().invoke(app, {args!r})
assert result.exit_code == 0, result.output
print(sorted(m for m in {heavy!r} if m in sys.modules))
print(result.output)
"""


@pytest.mark.parametrize("args", [["--help"], ["version"]])
def test_help_and_version_import_no_heavy_library(args: list[str]) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "[]"
    if args == ["--help"]:
        for name in AREAS:
            assert name in out


@pytest.mark.parametrize("name", sorted(AREAS))
def test_each_listed_help_is_the_start_of_the_areas_own_help(name: str) -> None:
    """The table main.py lists cannot drift from the commands it stands for."""
    listed = " ".join(AREAS[name][2].split()).rstrip(".")
    real = " ".join((load_area(name).help or "").split())
    assert real.startswith(listed), (listed, real)


def test_an_area_still_runs_its_commands() -> None:
    from typer.testing import CliRunner

    from nrmc.cli.main import app

    result = CliRunner().invoke(app, ["ops", "visit", "--help"])
    assert result.exit_code == 0 and "follow-up" in result.output

"""Run `nrmc` in-process and parse its JSON output."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from nrmc.cli.main import app

runner = CliRunner()


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def run_json(*args: str) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)

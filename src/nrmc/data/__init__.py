"""Reference data shipped with nrmc (see the README, "Reference data", for sources)."""

from __future__ import annotations

import csv
from importlib.resources import files
from typing import Any


def open_text(name: str):  # type: ignore[no-untyped-def]
    return files(__name__).joinpath(name).open(encoding="utf-8")


def read_csv(name: str) -> list[dict[str, Any]]:
    with open_text(name) as handle:
        return list(csv.DictReader(handle))

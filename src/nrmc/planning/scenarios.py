"""Planning runs (inputs and results) saved as JSON files, listed and compared.

A scenario is one file ``<id>.json`` in a directory the caller chooses (the CLI passes
``Settings().scenarios_dir``); plain files keep runs diffable, portable and easy to attach to a
report. Ids sort by creation time: ``YYYYMMDDTHHMMSS-<6 hex>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import NotFound
from .errors import InvalidInput


@dataclass(frozen=True)
class Scenario:
    id: str
    created_at: str
    kind: str
    name: str
    inputs: dict[str, Any]
    results: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        r = self.results
        return {"id": self.id, "created_at": self.created_at, "kind": self.kind,
                "name": self.name, "objective": r.get("objective"),
                "covered_weight": r.get("covered_weight"),
                "selected": ";".join(str(s) for s in r.get("selected_codes", []))}


def save_scenario(directory: Path, *, kind: str, inputs: dict[str, Any],
                  results: dict[str, Any], name: str = "",
                  now: datetime | None = None) -> Scenario:
    """Write a run atomically (temp file + rename) and return it."""
    now = now or datetime.now(UTC)
    body = json.dumps({"inputs": inputs, "results": results}, sort_keys=True, default=str)
    digest = hashlib.sha256((now.isoformat() + body).encode()).hexdigest()[:6]
    sid = f"{now:%Y%m%dT%H%M%S}-{digest}"
    scenario = Scenario(sid, now.isoformat(timespec="seconds"), kind, name, inputs, results)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(scenario.__dict__, fh, ensure_ascii=False, indent=2, default=str)
    os.replace(tmp, directory / f"{sid}.json")
    return scenario


def list_scenarios(directory: Path) -> list[Scenario]:
    """All saved runs, oldest first."""
    if not directory.exists():
        return []
    return [_read(p) for p in sorted(directory.glob("*.json"))]


def load_scenario(directory: Path, scenario_id: str) -> Scenario:
    if "/" in scenario_id or "\\" in scenario_id or scenario_id.startswith("."):
        raise InvalidInput(f"not a scenario id: {scenario_id!r}")
    path = directory / f"{scenario_id}.json"
    if not path.exists():
        matches = sorted(directory.glob(f"{scenario_id}*.json")) if directory.exists() else []
        if len(matches) != 1:
            raise NotFound(f"no scenario {scenario_id!r} in {directory}")
        path = matches[0]
    return _read(path)


def _read(path: Path) -> Scenario:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Scenario(**data)


def compare(a: Scenario, b: Scenario) -> list[dict[str, Any]]:
    """Rows ``{field, a, b, difference}`` for the headline numbers and the chosen sites."""
    rows: list[dict[str, Any]] = []
    for key in ("objective", "covered_weight", "covered_share", "mean_cost", "p_facilities",
                "service_radius"):
        va = a.results.get(key, a.inputs.get(key))
        vb = b.results.get(key, b.inputs.get(key))
        if va is None and vb is None:
            continue
        diff = vb - va if isinstance(va, int | float) and isinstance(vb, int | float) else None
        rows.append({"field": key, "a": va, "b": vb, "difference": diff})
    sa, sb = set(a.results.get("selected_codes", [])), set(b.results.get("selected_codes", []))
    rows.append({"field": "sites in both", "a": len(sa & sb), "b": len(sa & sb),
                 "difference": ";".join(sorted(sa & sb))})
    rows.append({"field": "sites only in a", "a": len(sa - sb), "b": None,
                 "difference": ";".join(sorted(sa - sb))})
    rows.append({"field": "sites only in b", "a": None, "b": len(sb - sa),
                 "difference": ";".join(sorted(sb - sa))})
    return rows

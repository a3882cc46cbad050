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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

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


# --- what a siting answer means for people: the numbers a planner compares ---------------------

HOURS = (1, 2, 3)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value at or below which a share ``q`` of the total weight lies.

    >>> weighted_quantile(np.array([10.0, 20.0, 30.0]), np.array([1.0, 1.0, 8.0]), 0.95)
    30.0
    >>> weighted_quantile(np.array([10.0, 20.0, 30.0]), np.array([5.0, 4.0, 1.0]), 0.5)
    10.0
    """
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    keep = weights > 0
    if not keep.any():
        return float("nan")
    order = np.argsort(values[keep], kind="stable")
    v, w = values[keep][order], weights[keep][order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * cum[-1] - 1e-9 * cum[-1])])


@dataclass(frozen=True)
class Reach:
    """Travel to the nearest open site, weighted by people: within 1 / 2 / 3 h, mean, 95th
    percentile (minutes; unreachable rows count as beyond every threshold and are left out of
    the mean and the percentile, and counted in ``unreachable``)."""

    within: dict[int, float]
    mean_minutes: float
    p95_minutes: float
    unreachable: float
    total: float


def reach(minutes: np.ndarray, people: np.ndarray) -> Reach:
    """People within each of :data:`HOURS` of their nearest open site, and the travel spread.

    >>> r = reach(np.array([30.0, 90.0, 200.0, np.inf]), np.array([100.0, 50.0, 10.0, 5.0]))
    >>> r.within, round(r.mean_minutes, 2), r.p95_minutes, r.unreachable
    ({1: 100.0, 2: 150.0, 3: 150.0}, 59.38, 200.0, 5.0)
    """
    minutes, people = np.asarray(minutes, float), np.asarray(people, float)
    if minutes.shape != people.shape:
        raise InvalidInput("minutes and people must have one value per demand row")
    finite = np.isfinite(minutes)
    within = {h: float(people[minutes <= 60.0 * h].sum()) for h in HOURS}
    reached = people[finite].sum()
    mean = float((minutes[finite] * people[finite]).sum() / reached) if reached > 0 else float("nan")
    p95 = weighted_quantile(minutes[finite], people[finite], 0.95)
    return Reach(within, mean, p95, float(people[~finite].sum()), float(people.sum()))


def uncovered_by(groups: Sequence[str], minutes: np.ndarray, people: np.ndarray,
                 radius: float) -> dict[str, float]:
    """People farther than ``radius`` minutes from every open site, summed per group label
    (prefecture or county code); groups with nobody uncovered are left out.

    >>> uncovered_by(["a", "a", "b"], np.array([10.0, 150.0, 130.0]), np.array([5.0, 7.0, 1.0]), 120)
    {'a': 7.0, 'b': 1.0}
    """
    out: dict[str, float] = {}
    for g, m, p in zip(groups, np.asarray(minutes, float), np.asarray(people, float), strict=True):
        if not m <= radius and p > 0:
            out[g] = out.get(g, 0.0) + float(p)
    return out


def gain_by(groups: Sequence[str], before: np.ndarray, after: np.ndarray, people: np.ndarray,
            radius: float) -> dict[str, float]:
    """Net people brought within ``radius`` (after − before), per group label, largest first.

    >>> gain_by(["x", "y", "y"], np.array([200.0, 50, 200]), np.array([100.0, 50, 300]),
    ...         np.array([3.0, 9.0, 4.0]), 120)
    {'x': 3.0}
    """
    b = np.asarray(before, float) <= radius
    a = np.asarray(after, float) <= radius
    delta = (a.astype(float) - b.astype(float)) * np.asarray(people, float)
    out: dict[str, float] = {}
    for g, d in zip(groups, delta, strict=True):
        if d:
            out[g] = out.get(g, 0.0) + float(d)
    return dict(sorted(((g, v) for g, v in out.items() if v), key=lambda kv: -kv[1]))

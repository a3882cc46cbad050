"""The published outflow tables of a dataset version, kept on disk for every worker.

Preparing them (six reports over the discharges, then small-cell and complementary
suppression, see web/outflow.py) costs about 14 s of CPU on the 3 M-row demo. Each worker
process used to pay that at start and again after every load; now the first process to need a
version prepares it under a lock and writes it beside the dataset, and the others (and the
next start) read it back in a fraction of that. What is stored is exactly what was published:
the rows after suppression, in their order, so every worker answers the same figures.

Layout: ``<flows>/published/outflow-<version>-<min cell>-<region table digest>.json``, columns
once per slice and rows as lists; written to a temporary file and renamed, other keys removed.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

FOLDER = "published"
Sliced = dict[tuple[str, int], list[dict[str, Any]]]
Published = dict[str, Sliced]


def path_for(flows_dir: Path, key: str) -> Path:
    return Path(flows_dir) / FOLDER / f"outflow-{key}.json"


def load_or_make(flows_dir: Path, key: str, make: Callable[[], Published]) -> Published:
    """The stored tables under `key` (what they were made from: the dataset version, the
    smallest published cell, the region table), or `make()` them (one process at a time) and
    store them."""
    path = path_for(flows_dir, key)
    found = read(path)
    if found is not None:
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = read(path)  # made by another process while this one waited
            if found is not None:
                return found
            made = make()
            write(path, made)
            return made
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read(path: Path) -> Published | None:
    """The stored tables, or None when there are none (or they cannot be read: made again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        out: Published = {}
        for level, parts in data["levels"].items():
            out[level] = {(spec, int(year)): [dict(zip(columns, row, strict=True))
                                             for row in rows]
                          for spec, year, columns, rows in parts}
        return out
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(path: Path, published: Published) -> None:
    """Store the tables atomically and drop other versions' files. A table that does not fit
    the layout (rows of one slice with different columns) is not stored: it is made again."""
    levels: dict[str, list[Any]] = {}
    for level, parts in published.items():
        out = levels.setdefault(level, [])
        for (spec, year), rows in parts.items():
            columns = list(rows[0]) if rows else []
            if any(list(row) != columns for row in rows):
                return
            out.append([spec, year, columns, [list(row.values()) for row in rows]])
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"levels": levels}, ensure_ascii=False, separators=(",", ":")),
                       encoding="utf-8")
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        tmp.unlink(missing_ok=True)
        return
    for other in path.parent.glob("outflow-*.json"):
        if other != path:
            other.unlink(missing_ok=True)

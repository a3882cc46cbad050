"""The on-disk flows dataset: year-partitioned Parquet files published by a manifest swap.

Layout under ``root`` (``NRMC_HOME/flows``)::

    manifest.json                    the only source of truth: which files make the dataset
    data/year=2019/part-<load>-<n>.parquet
    staging/<load>/                  private to one load while it runs
    .lock                            writers serialise on it (fcntl.flock)

Why a manifest: a load writes its files into ``staging/``, moves them under ``data/`` (rename,
same filesystem) and then replaces ``manifest.json`` with ``os.replace`` — a single atomic
rename. Readers only open files the manifest names, so they see the dataset before or after a
load, never half of one. A process killed at any point leaves at worst unreferenced files,
which the next writer deletes (under the lock) before it starts.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def _checkpoint(stage: str) -> None:
    """No-op hook between publishing steps; tests replace it to kill the process there."""


@dataclass(frozen=True)
class Manifest:
    """What the dataset is: its files (relative paths) and a log of the loads that made it."""

    version: int = 0
    files: tuple[dict[str, Any], ...] = ()
    loads: tuple[dict[str, Any], ...] = ()

    @property
    def rows(self) -> int:
        return sum(int(f["rows"]) for f in self.files)

    @property
    def years(self) -> list[int]:
        return sorted({int(f["year"]) for f in self.files})


def read_manifest(root: Path) -> Manifest:
    """The published manifest, or an empty one for a dataset never written."""
    path = Path(root) / MANIFEST
    if not path.exists():
        return Manifest()
    data = json.loads(path.read_text(encoding="utf-8"))
    return Manifest(
        version=int(data["version"]),
        files=tuple(data["files"]),
        loads=tuple(data.get("loads", ())),
    )


def describe(root: Path) -> str:
    """What the dataset is, in one line, from its own manifest: every chart's and report's source
    line. Only the loads since the last replacement count (a synthetic dataset replaces)."""
    manifest = read_manifest(root)
    if not manifest.loads:
        return "no discharges loaded"
    start = max((i for i, load in enumerate(manifest.loads) if load.get("replace")), default=0)
    loads = manifest.loads[start:]
    synthetic = [load for load in loads if load.get("source") == "synth"]
    files = sorted({Path(str(f)).name for load in loads for f in load.get("files", ())})
    years = f"{manifest.years[0]}–{manifest.years[-1]}" if manifest.years else "no years"
    if synthetic and len(synthetic) == len(loads):
        kind = f"synthetic discharges (nrmc flows synth, seed {synthetic[-1].get('seed')})"
    elif synthetic:
        kind = f"synthetic discharges mixed with loaded files ({', '.join(files[:3])})"
    else:
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        kind = f"discharge records loaded from {shown or 'files'}"
    return f"{kind}, {manifest.rows:,} discharges {years}{_tcm_rules(loads)}"


def _tcm_rules(loads: tuple[dict[str, Any], ...]) -> str:
    """How the TCM rows were recognised (ICD-10 cannot tell a TCM stay), when any were loaded."""
    from .schema import SpecialtyRule

    counts: dict[str, int] = {}
    for load in loads:
        for rule, n in (load.get("tcm_rules") or {}).items():
            counts[rule] = counts.get(rule, 0) + int(n)
    parts = [f"{SpecialtyRule.LABELS.get(rule, rule)} {n:,}" for rule, n in sorted(counts.items()) if n]
    if any(load.get("source") == "synth" for load in loads):
        parts.append("stated by the generator (synthetic)")
    return "; TCM stays recognised by " + ", ".join(parts) if parts else ""


def dataset_files(root: Path, *, years: list[int] | None = None) -> list[Path]:
    """Absolute paths of the published Parquet files (optionally only some years)."""
    root = Path(root).resolve()
    wanted = set(years) if years else None
    return [
        root / f["path"]
        for f in read_manifest(root).files
        if wanted is None or int(f["year"]) in wanted
    ]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_manifest(root: Path, manifest: Manifest) -> None:
    body = {
        "format": FORMAT_VERSION,
        "version": manifest.version,
        "files": list(manifest.files),
        "loads": list(manifest.loads),
    }
    tmp = root / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(body, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    _checkpoint("before-manifest-swap")
    os.replace(tmp, root / MANIFEST)
    _fsync_dir(root)


def collect_garbage(root: Path) -> int:
    """Delete staging dirs and data files no manifest names; call only under the writer lock."""
    root = Path(root)
    keep = {(root / f["path"]).resolve() for f in read_manifest(root).files}
    removed = 0
    staging = root / "staging"
    if staging.exists():
        shutil.rmtree(staging)
    for tmp in root.glob(f".{MANIFEST}.*.tmp"):
        tmp.unlink()
    data = root / "data"
    if data.exists():
        for path in data.rglob("*.parquet"):
            if path.resolve() not in keep:
                path.unlink()
                removed += 1
    return removed


@dataclass
class Load:
    """One all-or-nothing write: add files with :meth:`new_file`, then :meth:`commit`."""

    root: Path
    load_id: str
    staging: Path
    _files: list[tuple[Path, int, int]] = field(default_factory=list)
    committed: bool = False
    _serial: int = 0

    def new_file(self, year: int) -> Path:
        """A fresh path in staging for one Parquet file of ``year``; register it with add()."""
        folder = self.staging / f"year={year}"
        folder.mkdir(parents=True, exist_ok=True)
        self._serial += 1
        return folder / f"part-{self.load_id}-{self._serial:05d}.parquet"

    def add(self, path: Path, *, year: int, rows: int) -> None:
        if rows > 0:
            self._files.append((path, year, rows))

    @property
    def rows(self) -> int:
        return sum(r for _, _, r in self._files)

    def commit(self, *, replace: bool = False, **summary: Any) -> Manifest:
        """Move staged files under data/ and publish a manifest naming them (atomic).

        ``replace`` publishes only this load's files (the old ones become garbage, removed by
        the next writer), which is how a synthetic dataset supersedes the previous one.
        """
        old = read_manifest(self.root)
        entries: list[dict[str, Any]] = []
        for path, year, rows in self._files:
            rel = Path("data") / f"year={year}" / path.name
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, self.root / rel)
            entries.append({"path": rel.as_posix(), "year": year, "rows": rows})
            _checkpoint("file-moved")
        for parent in {(self.root / str(e["path"])).parent for e in entries}:
            _fsync_dir(parent)
        log = {
            "id": self.load_id,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": self.rows,
            "replace": replace,
            **summary,
        }
        new = Manifest(
            version=old.version + 1,
            files=tuple(entries) if replace else (*old.files, *entries),
            loads=(*old.loads, log),
        )
        _write_manifest(self.root, new)
        self.committed = True
        return new


@contextmanager
def writing(root: Path) -> Iterator[Load]:
    """Open a load under the writer lock; anything not committed is discarded on exit."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            collect_garbage(root)
            load_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
            staging = root / "staging" / load_id
            staging.mkdir(parents=True)
            load = Load(root=root, load_id=load_id, staging=staging)
            try:
                yield load
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

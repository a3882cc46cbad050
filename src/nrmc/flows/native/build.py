"""Compile a helper's C file once per machine and load it (ctypes), or say why not.

The shared library goes to a per-user cache (``$XDG_CACHE_HOME/nrmc`` or ``~/.cache/nrmc``),
named by a hash of the source, the compiler flags and the platform, so an edited source or
another Python never loads a stale build. Compiling writes a temporary file and renames it into
place: two processes compiling at once both succeed. ``NRMC_NATIVE=0`` turns native helpers off.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

FLAGS = ("-O2", "-shared", "-fPIC")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nrmc" / "native"


@cache
def load(name: str, libraries: tuple[str, ...]) -> ctypes.CDLL | None:
    """The helper ``<name>.c`` beside this file, compiled and loaded; None when native helpers
    are off, no C compiler is found or compiling fails (the caller falls back)."""
    if os.environ.get("NRMC_NATIVE", "1") == "0":
        return None
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        return None
    source = Path(__file__).with_name(f"{name}.c")
    stamp = hashlib.sha256(source.read_bytes() + repr((FLAGS, libraries, sys.platform,
                                                       platform.machine())).encode()).hexdigest()
    target = cache_dir() / f"{name}-{stamp[:16]}.so"
    if not target.exists():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent) as work:
                built = Path(work) / target.name
                subprocess.run([compiler, *FLAGS, "-o", str(built), str(source),
                                *(f"-l:{lib}" for lib in libraries)],
                               check=True, capture_output=True, timeout=120)
                os.replace(built, target)
        except (OSError, subprocess.SubprocessError):
            return None
    try:
        return ctypes.CDLL(str(target))
    except OSError:
        return None

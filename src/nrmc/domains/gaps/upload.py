"""Keep an uploaded spreadsheet on disk for the import (under its own name, so problems name
the file the user chose), then remove it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

MAX_BYTES = 5 * 1024 * 1024


@contextmanager
def saved(upload: UploadFile) -> Iterator[tuple[Path, str]]:
    name = Path(upload.filename or "upload.csv").name[:100] or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="nrmc-upload-") as folder:
        path = Path(folder) / name
        data = upload.file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValueError(f"{name} is larger than {MAX_BYTES // 1024 // 1024} MB")
        path.write_bytes(data)
        yield path, name

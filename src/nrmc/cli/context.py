"""Settings and database access for commands; errors mapped to exit codes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

import typer
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..config import Settings, load_settings
from ..core.errors import Conflict, Forbidden, ImportRejected, NotFound, NrmcError
from ..db import make_engine, session_scope
from ..db.migrate import current_revision
from .output import err_console

EXIT_CODES = {NotFound: 3, Forbidden: 4, Conflict: 5, ImportRejected: 6}


@lru_cache(maxsize=1)
def settings() -> Settings:
    try:
        return load_settings()
    except ValueError as exc:
        err_console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


_ENGINES: dict[str, Engine] = {}


def engine(*, create: bool = False) -> Engine:
    """The workspace's store. Only `nrmc db upgrade` and `nrmc demo` pass `create=True`: every
    other command refuses a store that is missing (a mistyped NRMC_HOME would otherwise quietly
    start an empty one) or that it may not write."""
    url = settings().db_url
    if url not in _ENGINES:
        if not create:
            _require_store(url)
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def _sqlite_path(url: str) -> Path | None:
    made = make_url(url)
    if made.get_backend_name() != "sqlite" or not made.database or made.database == ":memory:":
        return None
    name = made.database.removeprefix("file:")
    return Path(name.split("?", 1)[0])


def _require_store(url: str) -> None:
    path = _sqlite_path(url)
    home = settings().home
    if path is not None:
        if not path.is_file():
            where = (f"the workspace folder {path.parent} does not exist" if not path.parent.exists()
                     else f"{path.parent} holds no nrmc store ({path.name})")
            _workspace_error(f"{where}. Check NRMC_HOME (now {home}); create a store with "
                             "`nrmc db upgrade` or a demo with `nrmc demo`.")
        for target in (path, path.parent):  # SQLite writes its journal beside the file
            if not os.access(target, os.W_OK):
                _workspace_error(f"the store {path} is read-only ({target} is not writable); "
                                 "nrmc needs to write to it and to its folder.")
        return
    probe = make_engine(url)
    try:
        revision = current_revision(probe)
    except OperationalError as exc:
        _workspace_error(f"cannot reach the store {_safe(url)}: {exc.orig or exc}")
    finally:
        probe.dispose()
    if revision is None:
        _workspace_error(f"the store {_safe(url)} holds no nrmc schema; create it with "
                         "`nrmc db upgrade`.")


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _workspace_error(message: str) -> NoReturn:
    err_console.print(f"[red]workspace error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def _read_only(exc: OperationalError) -> bool:
    return "readonly" in str(exc.orig or exc).replace("-", "").lower()


def reset() -> None:
    """Forget settings and engines (tests switch workspaces between commands)."""
    settings.cache_clear()
    for cached in _ENGINES.values():
        cached.dispose()
    _ENGINES.clear()


@contextmanager
def db_session() -> Iterator[Session]:
    """One unit of work per command; domain errors become a clear message and an exit code."""
    try:
        with session_scope(engine()) as session:
            yield session
    except NrmcError as exc:
        fail(exc)
    except OperationalError as exc:
        if _read_only(exc):
            _workspace_error(f"the store {_safe(settings().db_url)} is read-only; nothing was "
                             "written. nrmc needs to write to it and to its folder.")
        raise


def fail(exc: NrmcError) -> None:
    code = next((c for t, c in EXIT_CODES.items() if isinstance(exc, t)), 1)
    # The message may quote file content: escape it so "[/]" in a cell is text, not Rich markup.
    err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
    raise typer.Exit(code) from exc

"""Settings and database access for commands; errors mapped to exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..config import Settings, load_settings
from ..core.errors import Conflict, Forbidden, ImportRejected, NotFound, NrmcError
from ..db import make_engine, session_scope
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


def engine() -> Engine:
    url = settings().db_url
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


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


def fail(exc: NrmcError) -> None:
    code = next((c for t, c in EXIT_CODES.items() if isinstance(exc, t)), 1)
    err_console.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(code) from exc

"""`nrmc serve`: the web platform (pages and /api/v1) on the workspace's store."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import typer

from .context import engine, settings
from .output import console


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port"),
    workers: int = typer.Option(0, help="worker processes; 0 = NRMC_WEB_WORKERS, else one per "
                                "CPU core (they share sessions, the login throttle and cache "
                                "invalidation through the store)"),
) -> None:
    """Serve the web platform; pages at http://HOST:PORT/, API docs at /api/docs."""
    run(host=host, port=port, workers=workers)


def run(*, host: str, port: int, workers: int = 0) -> None:
    """Serve with `workers` processes (0: the configured number, by default one per core)."""
    import uvicorn

    from ..web import create_app
    from ..workspace import upgrade_workspace

    upgrade_workspace(engine())  # a store made by an older nrmc gets the current schema first
    # Forwarded headers (client address, https) are believed only from NRMC_TRUSTED_PROXIES,
    # never from uvicorn's default of 127.0.0.1: one list decides, here and in the app.
    trusted = settings().trusted_proxies.replace(" ", "")
    proxy: dict[str, Any] = {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}
    workers = workers or settings().workers
    console.print(f"serving nrmc on [bold]http://{host}:{port}/[/bold] (API docs at /api/docs; "
                  f"{workers} worker{'s' if workers > 1 else ''})")
    if workers > 1:
        # The workers share cached answers through one file, fresh for this run (the workers
        # read the setting from the environment they inherit).
        chosen = os.environ.get("NRMC_READ_CACHE_FILE")
        with tempfile.TemporaryDirectory(prefix="nrmc-cache-") as folder:
            os.environ["NRMC_READ_CACHE_FILE"] = chosen or str(Path(folder) / "read-cache.db")
            try:
                uvicorn.run("nrmc.web.app:create_app", factory=True, host=host, port=port,
                            workers=workers, log_level="warning", access_log=False, **proxy)
            finally:  # the file goes with the folder: no later app in this process may name it
                if chosen is None:
                    os.environ.pop("NRMC_READ_CACHE_FILE", None)
        return
    uvicorn.run(create_app(settings(), engine=engine()), host=host, port=port,
                log_level="warning", access_log=False, **proxy)

"""The web platform: one FastAPI app serving Jinja2/htmx pages and the JSON API under /api/v1.

`create_app` is imported lazily so that a slice's `api.py` can import `nrmc.web.deps` without
pulling in every router (which import the slices back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app(settings: Any = None, **kwargs: Any) -> FastAPI:
    from .app import create_app as factory

    return factory(settings, **kwargs)


__all__ = ["create_app"]

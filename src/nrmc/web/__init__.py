"""The web platform: one FastAPI app serving Jinja2/htmx pages and the JSON API under /api/v1."""

from .app import create_app

__all__ = ["create_app"]

"""Operational store: declarative base, engine/session factory, migrations."""

from .base import Base
from .session import make_engine, session_scope, sessionmaker_for

__all__ = ["Base", "make_engine", "session_scope", "sessionmaker_for"]

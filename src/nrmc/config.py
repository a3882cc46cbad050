"""One Settings object, read from NRMC_* variables and validated at start.

Library code takes a Settings (or the values it needs) as arguments; nothing reads the
environment at import time.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .core.privacy import DEFAULT_MIN_CELL

DEV_SECRET_KEY = "dev-secret-key-change-me"
DEV_PSEUDONYM_KEY = "dev-pseudonym-key-change-me"


class Settings(BaseSettings):
    """Runtime configuration; defaults give the embedded (SQLite + DuckDB) development setup."""

    model_config = SettingsConfigDict(env_prefix="NRMC_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    home: Path = Field(default=Path("nrmc-data"), description="workspace directory")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in home")
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark_master: str = "local[2]"
    secret_key: str = DEV_SECRET_KEY
    pseudonym_key: str = DEV_PSEUDONYM_KEY
    referral_sla_hours: float = 24.0
    min_cell_size: int = Field(default=DEFAULT_MIN_CELL, ge=1,
                               description="published counts below are withheld")
    read_cache_entries: int = Field(default=2000, ge=0, description="web read cache size; 0 = off")
    read_cache_seconds: float = Field(default=300.0, gt=0, description="web read cache lifetime")

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env == "production":
            if self.secret_key == DEV_SECRET_KEY:
                raise ValueError("NRMC_SECRET_KEY must be set outside development")
            if self.pseudonym_key == DEV_PSEUDONYM_KEY:
                raise ValueError("NRMC_PSEUDONYM_KEY must be set outside development")
            if len(self.secret_key) < 16:
                raise ValueError("NRMC_SECRET_KEY must be at least 16 characters")
        return self

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'nrmc.db').resolve()}"

    @property
    def flows_dir(self) -> Path:
        return self.home / "flows"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def scenarios_dir(self) -> Path:
        return self.home / "scenarios"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (used by the CLI and tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]

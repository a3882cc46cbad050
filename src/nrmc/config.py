"""One Settings object, read from NRMC_* variables and validated at start.

Library code takes a Settings (or the values it needs) as arguments; nothing reads the
environment at import time.
"""

from __future__ import annotations

import ipaddress
import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .core import keys
from .core.fhir import DEFAULT_FHIR_BASE, normalise_base
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
    referral_sla_hours: str = Field(
        default="emergency=2,urgent=24,routine=72",
        description="hours a receiving hospital has to answer a referral, by urgency "
                    "(one number: the same for all)")
    fhir_base: str = Field(
        default=DEFAULT_FHIR_BASE,
        description="canonical base URL of nrmc's FHIR identifier systems, code systems and "
                    "extensions (a site publishing its own implementation guide sets it)")
    min_cell_size: int = Field(default=DEFAULT_MIN_CELL, ge=1,
                               description="published counts below are withheld")
    read_cache_entries: int = Field(default=20000, ge=0,
                                    description="web read cache size (answers per worker); 0 = off")
    read_cache_seconds: float = Field(default=300.0, gt=0, description="web read cache lifetime")
    read_cache_file: Path | None = Field(
        default=None, description="SQLite file the web workers share cached answers through "
                                  "(nrmc serve names a fresh one per run when it starts workers)")
    evaluation_wait_seconds: float = Field(
        default=0.2, ge=0, le=600,
        description="how long a request waits for an evaluation being computed before "
                    "answering 202 (computing)")
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024,
                                description="largest request body (413 above it)")
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024,
                                  description="largest body on the file-upload routes")
    trusted_proxies: str = Field(
        default="", description="comma-separated addresses or networks of reverse proxies whose "
                                "X-Forwarded-For is believed (empty: none)")
    login_attempts_per_account: int = Field(default=10, ge=1)
    login_attempts_per_address: int = Field(default=100, ge=1)
    login_window_seconds: float = Field(default=300.0, gt=0)
    web_workers: int = Field(default=0, ge=0, le=64,
                             description="web worker processes; 0 = one per CPU core")
    web_concurrency: int = Field(
        default=0, ge=0, le=256,
        description="requests each web worker runs at once past the read cache (the rest wait "
                    "their turn, first come first served; uploads and downloads have a lane of "
                    "their own); 0 = one on SQLite, one per pooled connection on PostgreSQL")

    @property
    def workers(self) -> int:
        """How many web worker processes to run: the setting, or one per core."""
        return self.web_workers or max(1, os.cpu_count() or 1)

    @field_validator("fhir_base")
    @classmethod
    def _absolute_fhir_base(cls, value: str) -> str:
        return normalise_base(value)

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        self.trusted_networks  # noqa: B018 - a malformed NRMC_TRUSTED_PROXIES fails at start
        self.referral_sla  # noqa: B018 - and so does a malformed NRMC_REFERRAL_SLA_HOURS
        if self.env == "production":
            dev = (DEV_SECRET_KEY, DEV_PSEUDONYM_KEY)
            for name, value in (("NRMC_SECRET_KEY", self.secret_key),
                                ("NRMC_PSEUDONYM_KEY", self.pseudonym_key)):
                problem = keys.weakness(value, name=name, development_values=dev)
                if problem:
                    raise ValueError(problem)
        return self

    @cached_property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """NRMC_TRUSTED_PROXIES parsed (a bare address is a one-address network)."""
        out = []
        for part in self.trusted_proxies.split(","):
            if part.strip():
                try:
                    out.append(ipaddress.ip_network(part.strip(), strict=False))
                except ValueError as exc:
                    raise ValueError(f"NRMC_TRUSTED_PROXIES: {part.strip()!r} is not an address "
                                     "or network") from exc
        return tuple(out)

    @cached_property
    def referral_sla(self) -> dict[str, float]:
        """NRMC_REFERRAL_SLA_HOURS parsed: urgency -> hours to answer."""
        return parse_sla(self.referral_sla_hours)

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
    def evaluations_dir(self) -> Path:
        return self.home / "evaluations"

    @property
    def scenarios_dir(self) -> Path:
        return self.home / "scenarios"


URGENCIES = ("emergency", "urgent", "routine")


def parse_sla(text: str) -> dict[str, float]:
    """"emergency=2,urgent=24,routine=72" (every urgency named once, hours > 0), or one number
    for all three (the single `referral_sla_hours` of earlier versions)."""
    problem = (f"NRMC_REFERRAL_SLA_HOURS: {text!r} should read like "
               "'emergency=2,urgent=24,routine=72' (hours, each above 0)")
    try:
        if "=" not in text:
            hours = float(text)
            out = dict.fromkeys(URGENCIES, hours)
        else:
            pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
            out = {name.strip(): float(value) for name, value in pairs}
    except ValueError as exc:
        raise ValueError(problem) from exc
    if sorted(out) != sorted(URGENCIES) or not all(0 < h < 10_000 for h in out.values()):
        raise ValueError(problem)
    return out


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (used by the CLI and tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]

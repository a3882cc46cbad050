import pytest
from pydantic import ValidationError

from nrmc.config import Settings


def test_defaults_give_sqlite_inside_home(tmp_path):
    settings = Settings(home=tmp_path)
    assert settings.db_url == f"sqlite:///{(tmp_path / 'nrmc.db').resolve()}"
    assert settings.engine == "duckdb"


def test_production_refuses_the_default_secret(tmp_path):
    with pytest.raises(ValidationError, match="NRMC_SECRET_KEY"):
        Settings(home=tmp_path, env="production", pseudonym_key="x" * 32)


def test_production_refuses_the_default_pseudonym_key(tmp_path):
    with pytest.raises(ValidationError, match="NRMC_PSEUDONYM_KEY"):
        Settings(home=tmp_path, env="production", secret_key="s" * 32)


def test_settings_read_nrmc_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("NRMC_HOME", str(tmp_path))
    monkeypatch.setenv("NRMC_ENGINE", "spark")
    monkeypatch.setenv("NRMC_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = Settings()
    assert settings.home == tmp_path and settings.engine == "spark"
    assert settings.db_url == "postgresql+psycopg://u@h/db"


def test_unknown_engine_is_refused():
    with pytest.raises(ValidationError):
        Settings(engine="hadoop")
